//! `specmock verify`: contract-tests a real provider (or a staging copy) against a spec. Every
//! operation gets requests built from the spec's examples and parameter schemas, and every
//! response is checked for its status, content type, headers and body.

use serde_json::Value;

use crate::contract::Finding;
use crate::json::text_of;
use crate::openapi::{Api, Location, Operation, Param, Scalar};

/// Characters a path segment must escape; `+`, `-` and `.` stay as they are.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// What to verify against.
#[derive(Clone, Debug)]
pub struct Config {
    /// The provider's base URL; the spec's server path is appended.
    pub base_url: String,
    /// Bearer token for every request.
    pub token: Option<String>,
    /// Also send invalid requests and expect a declared 4xx.
    pub negative: bool,
}

/// How one check ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// The response matched the spec.
    Pass,
    /// The response broke the spec.
    Fail {
        /// The status received.
        status: u16,
        /// What was wrong.
        findings: Vec<Finding>,
        /// The body received, parsed when it was JSON.
        body: Option<Value>,
    },
    /// Not checked, and why.
    Skip(String),
}

/// One request and what its response showed.
#[derive(Clone, Debug)]
pub struct Check {
    /// The operationId.
    pub operation: String,
    /// What the check sent, e.g. `baseline` or `negative: pageSize=0`.
    pub name: String,
    /// Method and URL.
    pub request: String,
    /// The result.
    pub outcome: Outcome,
}

/// Every check of one run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// In the order they ran.
    pub checks: Vec<Check>,
}

/// Runs every check of `api` against the provider.
pub async fn run(api: &Api, config: &Config) -> Report {
    let http = reqwest::Client::new();
    let mut report = Report::default();
    for op in &api.operations {
        if !matches!(op.method.as_str(), "GET" | "DELETE" | "HEAD") {
            report.checks.push(Check {
                operation: op.id.clone(),
                name: "baseline".into(),
                request: format!("{} {}", op.method, op.path),
                outcome: Outcome::Skip("operations with request bodies are not generated yet".into()),
            });
            continue;
        }
        let baseline: Vec<(&Param, String)> =
            op.params.iter().filter(|p| p.required).map(|p| (p, sample(api, p))).collect();
        let mut plans = vec![("baseline".to_string(), baseline.clone(), false)];
        let optional: Vec<(&Param, String)> = op
            .params
            .iter()
            .filter(|p| !p.required && p.location == Location::Query)
            .filter_map(|p| p.example.as_ref().map(wire_text).or_else(|| enum_first(api, p)).map(|v| (p, v)))
            .collect();
        if !optional.is_empty() {
            plans.push(("with examples".to_string(), baseline.iter().cloned().chain(optional).collect(), false));
        }
        if config.negative {
            for param in &op.params {
                for bad in invalid_values(api, param) {
                    let mut values: Vec<(&Param, String)> =
                        baseline.iter().filter(|(p, _)| p.name != param.name).cloned().collect();
                    values.push((param, bad.clone()));
                    plans.push((format!("negative: {}={bad}", param.name), values, true));
                }
            }
        }
        for (name, values, negative) in plans {
            let (url, headers) = build(api, op, config, &values);
            let request = format!("{} {url}", op.method);
            let outcome = match send(&http, op, &url, &headers).await {
                Ok((status, header_map, bytes)) => judge(op, status, &header_map, &bytes, negative),
                Err(e) => {
                    Outcome::Fail { status: 0, findings: vec![Finding::new("", "transport".into(), e)], body: None }
                }
            };
            report.checks.push(Check { operation: op.id.clone(), name, request, outcome });
        }
    }
    report
}

fn judge(op: &Operation, status: u16, headers: &http::HeaderMap, bytes: &[u8], negative: bool) -> Outcome {
    let mut findings = crate::contract::conformance::check(op, status, headers, bytes);
    if negative && !(400..500).contains(&status) {
        findings.insert(
            0,
            Finding::new("", "negative".into(), format!("an invalid request got {status}; expected a declared 4xx")),
        );
    }
    if findings.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail { status, findings, body: serde_json::from_slice(bytes).ok() }
    }
}

async fn send(
    http: &reqwest::Client,
    op: &Operation,
    url: &str,
    headers: &[(String, String)],
) -> Result<(u16, http::HeaderMap, Vec<u8>), String> {
    let method = reqwest::Method::from_bytes(op.method.as_bytes()).map_err(|e| e.to_string())?;
    let mut request = http.request(method, url);
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let response = request.send().await.map_err(|e| format!("request failed: {e}"))?;
    let status = response.status().as_u16();
    let mut map = http::HeaderMap::new();
    for (k, v) in response.headers() {
        if let (Ok(name), Ok(value)) =
            (http::HeaderName::from_bytes(k.as_str().as_bytes()), http::HeaderValue::from_bytes(v.as_bytes()))
        {
            map.append(name, value);
        }
    }
    let bytes = response.bytes().await.map_err(|e| format!("reading the body failed: {e}"))?;
    Ok((status, map, bytes.to_vec()))
}

fn build(api: &Api, op: &Operation, config: &Config, values: &[(&Param, String)]) -> (String, Vec<(String, String)>) {
    let mut path = op.path.clone();
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut headers = Vec::new();
    for (param, value) in values {
        match param.location {
            Location::Path => {
                let encoded: String = percent_encoding::utf8_percent_encode(value, PATH_SEGMENT).collect();
                path = path.replace(&format!("{{{}}}", param.name), &encoded);
            }
            Location::Query => {
                query.append_pair(&param.name, value);
            }
            Location::Header => headers.push((param.name.to_string(), value.clone())),
            Location::Cookie => headers.push(("cookie".into(), format!("{}={value}", param.name))),
        }
    }
    if let Some(token) = &config.token {
        headers.push(("authorization".into(), format!("Bearer {token}")));
    }
    let query = query.finish();
    let base = config.base_url.trim_end_matches('/');
    let url = if query.is_empty() {
        format!("{base}{}{path}", api.base_path)
    } else {
        format!("{base}{}{path}?{query}", api.base_path)
    };
    (url, headers)
}

fn enum_first(api: &Api, param: &Param) -> Option<String> {
    crate::json::enum_texts(item_schema(api, param)).into_iter().next()
}

/// An example as the request carries it: an array's items comma-separated (form style), not JSON.
fn wire_text(value: &Value) -> String {
    match value {
        Value::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join(","),
        other => text_of(other),
    }
}

/// A valid value: the parameter's example, its default, its first enum value, or one its type allows.
fn sample(api: &Api, param: &Param) -> String {
    if let Some(example) = &param.example {
        return wire_text(example);
    }
    if let Some(default) = &param.default {
        return text_of(default);
    }
    if let Some(first) = enum_first(api, param) {
        return first;
    }
    let schema = item_schema(api, param);
    match (param.array_of.unwrap_or(param.scalar), schema.get("format").and_then(Value::as_str)) {
        (Scalar::Integer | Scalar::Number, _) => schema.get("minimum").map(text_of).unwrap_or_else(|| "1".into()),
        (Scalar::Boolean, _) => "true".into(),
        (_, Some("uuid")) => "00000000-0000-4000-8000-000000000000".into(),
        (_, Some("date-time")) => "2026-01-01T00:00:00Z".into(),
        _ => "x".into(),
    }
}

/// Values the parameter's schema forbids: a bad UUID, an unknown enum value, a number out of range.
/// The schema of the parameter's value, or of each item of an array, with `$ref`s followed.
fn item_schema<'a>(api: &'a Api, param: &'a Param) -> &'a Value {
    let schema = api.schemas.resolve(&param.schema);
    api.schemas.resolve(schema.get("items").unwrap_or(schema))
}

fn invalid_values(api: &Api, param: &Param) -> Vec<String> {
    let schema = item_schema(api, param);
    let mut bad = Vec::new();
    if schema.get("format").and_then(Value::as_str) == Some("uuid") {
        bad.push("not-a-uuid".to_string());
    }
    if schema.get("enum").is_some() {
        bad.push("__not_a_member__".to_string());
    }
    match param.array_of.unwrap_or(param.scalar) {
        Scalar::Integer | Scalar::Number => {
            bad.push("not-a-number".to_string());
            if let Some(min) = schema.get("minimum").and_then(Value::as_i64) {
                bad.push((min - 1).to_string());
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_i64) {
                bad.push((max + 1).to_string());
            }
        }
        Scalar::Boolean => bad.push("maybe".to_string()),
        Scalar::String => {}
    }
    bad
}

impl Report {
    /// True when no check failed.
    pub fn passed(&self) -> bool {
        !self.checks.iter().any(|c| matches!(c.outcome, Outcome::Fail { .. }))
    }

    /// Failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| matches!(c.outcome, Outcome::Fail { .. }))
    }

    /// One line per check, then each failure with its pointers and what was found there.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let mark = match &c.outcome {
                Outcome::Pass => "PASS".to_string(),
                Outcome::Fail { status, .. } => format!("FAIL {status}"),
                Outcome::Skip(_) => "SKIP".to_string(),
            };
            out.push_str(&format!("{mark:<9} {:<32} {:<40} {}\n", c.operation, c.name, c.request));
        }
        let failed: Vec<&Check> = self.failures().collect();
        if !failed.is_empty() {
            out.push_str("\nfailures:\n");
        }
        for c in &failed {
            let Outcome::Fail { status, findings, body } = &c.outcome else { continue };
            out.push_str(&format!("\n{} ({}) -> {status}\n  {}\n", c.operation, c.name, c.request));
            for f in findings {
                out.push_str(&format!("  at {}: {}\n", if f.pointer.is_empty() { "/" } else { &f.pointer }, f.message));
                out.push_str(&format!("    - spec:   {}\n", f.rule));
                if let Some(actual) = body.as_ref().and_then(|b| b.pointer(&f.pointer)) {
                    let mut shown = actual.to_string();
                    if shown.len() > 160 {
                        shown.truncate(160);
                        shown.push('…');
                    }
                    out.push_str(&format!("    + actual: {shown}\n"));
                }
            }
        }
        let count = |f: fn(&Outcome) -> bool| self.checks.iter().filter(|c| f(&c.outcome)).count();
        out.push_str(&format!(
            "\n{} passed, {} failed, {} skipped\n",
            count(|o| matches!(o, Outcome::Pass)),
            count(|o| matches!(o, Outcome::Fail { .. })),
            count(|o| matches!(o, Outcome::Skip(_)))
        ));
        out
    }

    /// JUnit XML: one test case per check.
    pub fn junit(&self, suite: &str) -> String {
        let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
        let failures = self.failures().count();
        let skipped = self.checks.iter().filter(|c| matches!(c.outcome, Outcome::Skip(_))).count();
        let mut out = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">\n",
            esc(suite),
            self.checks.len()
        );
        for c in &self.checks {
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\">",
                esc(&c.operation),
                esc(&format!("{} {}", c.name, c.request))
            ));
            match &c.outcome {
                Outcome::Pass => {}
                Outcome::Skip(why) => out.push_str(&format!("<skipped message=\"{}\"/>", esc(why))),
                Outcome::Fail { status, findings, .. } => {
                    let detail: Vec<String> = findings.iter().map(|f| f.to_string()).collect();
                    out.push_str(&format!(
                        "<failure message=\"status {status}: {}\">{}</failure>",
                        esc(&findings.first().map(|f| f.message.clone()).unwrap_or_default()),
                        esc(&detail.join("\n"))
                    ));
                }
            }
            out.push_str("</testcase>\n");
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        out
    }
}
