//! `specmock verify`: contract-tests a real provider (or a staging copy) against a spec. Every
//! operation gets requests built from the spec's examples and parameter schemas, and every
//! response is checked for its status, content type, headers and body.

use serde_json::Value;

use crate::contract::Finding;
use crate::json::text_of;
use crate::openapi::{Api, Credential, Location, Operation, Param, Scalar, Style};

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
    /// Also send the operations that change data (any method but GET, HEAD, OPTIONS and TRACE).
    /// Off, they are skipped: pointing verify at a shared staging service changes nothing there.
    pub writes: bool,
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
    // A redirect is an answer to check, not one to follow.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap_or_default();
    let mut report = Report::default();
    for op in &api.operations {
        let baseline: Vec<(&Param, Value)> =
            op.params.iter().filter(|p| p.required).map(|p| (p, sample(api, p))).collect();
        let mut plans = vec![("baseline".to_string(), baseline.clone(), false)];
        let optional: Vec<(&Param, Value)> = op
            .params
            .iter()
            .filter(|p| !p.required && p.location == Location::Query)
            .filter_map(|p| valid_example(p).or_else(|| enum_first(api, p)).map(|v| (p, v)))
            .collect();
        if !optional.is_empty() {
            plans.push(("with examples".to_string(), baseline.iter().cloned().chain(optional).collect(), false));
        }
        if config.negative {
            for param in &op.params {
                for bad in invalid_values(api, param) {
                    let mut values: Vec<(&Param, Value)> =
                        baseline.iter().filter(|(p, _)| p.name != param.name).cloned().collect();
                    values.push((param, Value::String(bad.clone())));
                    plans.push((format!("negative: {}={bad}", param.name), values, true));
                }
            }
        }
        if !config.writes && !safe(&op.method) {
            let prepared = build(api, op, config, &baseline);
            let why = format!("{} changes the provider's data; pass --writes to send it", op.method);
            let request = format!("{} {}", op.method, prepared.url);
            report.checks.push(Check {
                operation: op.id.clone(),
                name: "baseline".into(),
                request,
                outcome: Outcome::Skip(why),
            });
            continue;
        }
        for (name, values, negative) in plans {
            let prepared = build(api, op, config, &values);
            let request = format!("{} {}", op.method, prepared.url);
            let outcome = match send(&http, op, &prepared).await {
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

/// Whether a method only reads (RFC 9110's safe methods).
fn safe(method: &str) -> bool {
    ["GET", "HEAD", "OPTIONS", "TRACE"].iter().any(|m| m.eq_ignore_ascii_case(method))
}

/// A ready curl command for `op`, built as `verify`'s baseline request is: its required
/// parameters (`values` first, e.g. real record ids, else an example or a valid value), the
/// credentials its first security requirement asks for, and its body.
pub(crate) fn curl_line(
    api: &Api,
    op: &Operation,
    base_url: &str,
    token: Option<&str>,
    values: &serde_json::Map<String, Value>,
) -> String {
    let config =
        Config { base_url: base_url.to_string(), token: token.map(str::to_string), negative: false, writes: true };
    let chosen: Vec<(&Param, Value)> = op
        .params
        .iter()
        .filter(|p| p.required || values.contains_key(&*p.name))
        .map(|p| (p, values.get(&*p.name).cloned().unwrap_or_else(|| sample(api, p))))
        .collect();
    let prepared = build(api, op, &config, &chosen);
    let mut args = String::new();
    for (name, value) in &prepared.headers {
        args.push_str(&format!(" -H '{name}: {value}'"));
    }
    if op.method != "GET" {
        args.push_str(&format!(" -X {}", op.method));
    }
    if let Some(body) = &prepared.body {
        let text = String::from_utf8_lossy(body);
        match text.len() > 400 || text.contains('\'') || text.contains('\r') {
            true => args.push_str(" --data-binary @body"),
            false => args.push_str(&format!(" -d '{text}'")),
        }
    }
    format!("curl -s{args} '{}'", prepared.url)
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

/// One request, ready to send.
struct Prepared {
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

async fn send(
    http: &reqwest::Client,
    op: &Operation,
    prepared: &Prepared,
) -> Result<(u16, http::HeaderMap, Vec<u8>), String> {
    let method = reqwest::Method::from_bytes(op.method.as_bytes()).map_err(|e| e.to_string())?;
    let mut request = http.request(method, &prepared.url);
    for (k, v) in &prepared.headers {
        request = request.header(k, v);
    }
    if let Some(body) = &prepared.body {
        request = request.body(body.clone());
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

/// The request for these parameter values: each written in its declared style, the declared
/// body (its example or one built from its schema), and the credentials the first security
/// requirement asks for.
fn build(api: &Api, op: &Operation, config: &Config, values: &[(&Param, Value)]) -> Prepared {
    let template = op.path.split('#').next().unwrap_or_default();
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut headers = Vec::new();
    let mut cookies = Vec::new();
    let mut path_values: Vec<(&str, String)> = Vec::new();
    for (param, value) in values {
        match param.location {
            Location::Path => {
                let text = styled(param, value, PATH_SEGMENT);
                path_values.push((&param.name, text));
            }
            Location::Query => query_pairs(param, value, &mut query),
            Location::Header => {
                headers.push((param.name.to_string(), styled(param, value, percent_encoding::CONTROLS)))
            }
            Location::Cookie => {
                cookies.push(format!("{}={}", param.name, styled(param, value, percent_encoding::CONTROLS)))
            }
        }
    }
    let token = config.token.clone().unwrap_or_else(|| "specmock-token".into());
    let requirement = op.security.iter().find(|r| r.is_empty()).or(op.security.first());
    let mut bearer = config.token.is_some();
    for scheme in requirement.into_iter().flatten() {
        match &scheme.credential {
            Credential::Bearer => bearer = true,
            Credential::Basic => {
                use base64::Engine;
                let pair = base64::engine::general_purpose::STANDARD.encode(format!("specmock:{token}"));
                headers.push(("Authorization".into(), format!("Basic {pair}")));
                bearer = false;
            }
            Credential::Http(kind) => {
                headers.push(("Authorization".into(), format!("{kind} {token}")));
                bearer = false;
            }
            Credential::ApiKey(Location::Header, name) => headers.push((name.clone(), token.clone())),
            Credential::ApiKey(Location::Query, name) => drop(query.append_pair(name, &token)),
            Credential::ApiKey(_, name) => cookies.push(format!("{name}={token}")),
        }
    }
    if bearer {
        headers.push(("Authorization".into(), format!("Bearer {token}")));
    }
    if !cookies.is_empty() {
        headers.push(("Cookie".into(), cookies.join("; ")));
    }
    let body = op.request_body.as_ref().and_then(|declared| declared.content.first()).and_then(|media| {
        let value = media.body.as_ref()?;
        let content_type = if media.media_type.contains('*') { "application/json" } else { &media.media_type };
        let (content_type, bytes) = encode_body(content_type, value);
        headers.push(("Content-Type".into(), content_type));
        Some(bytes)
    });
    let query = query.finish();
    let mut path = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        path.extend(percent_encoding::utf8_percent_encode(&rest[..open], LITERAL));
        let Some(close) = rest[open..].find('}') else { break };
        let name = &rest[open + 1..open + close];
        path.push_str(path_values.iter().find(|(n, _)| *n == name).map_or("x", |(_, v)| v.as_str()));
        rest = &rest[open + close + 1..];
    }
    path.extend(percent_encoding::utf8_percent_encode(rest, LITERAL));
    let base = config.base_url.trim_end_matches('/');
    let url = if query.is_empty() {
        format!("{base}{}{path}", api.base_path)
    } else {
        format!("{base}{}{path}?{query}", api.base_path)
    };
    Prepared { url, headers, body }
}

/// Characters a path's literal text escapes: `/` stays.
const LITERAL: &percent_encoding::AsciiSet = &PATH_SEGMENT.remove(b'/');

/// A body's Content-Type and bytes: JSON as JSON, forms as their fields, text as written.
fn encode_body(content_type: &str, value: &Value) -> (String, Vec<u8>) {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let fields = || -> Vec<(String, String)> {
        value
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(k, v)| match v {
                Value::Array(items) => items.iter().map(|i| (k.clone(), text_of(i))).collect::<Vec<_>>(),
                other => vec![(k.clone(), text_of(other))],
            })
            .collect()
    };
    match essence.as_str() {
        "application/x-www-form-urlencoded" => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in fields() {
                form.append_pair(&k, &v);
            }
            (content_type.to_string(), form.finish().into_bytes())
        }
        "multipart/form-data" => {
            const BOUNDARY: &str = "specmock-verify-boundary";
            let mut out = String::new();
            for (k, v) in fields() {
                out.push_str(&format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"));
            }
            out.push_str(&format!("--{BOUNDARY}--\r\n"));
            (format!("multipart/form-data; boundary={BOUNDARY}"), out.into_bytes())
        }
        _ if crate::openapi::is_json_media(&essence) => {
            (content_type.to_string(), serde_json::to_vec(value).expect("a JSON value serialises"))
        }
        _ => match value {
            Value::String(text) => (content_type.to_string(), text.clone().into_bytes()),
            other => (content_type.to_string(), other.to_string().into_bytes()),
        },
    }
}

/// A path, header or cookie value in the parameter's style (simple, label or matrix).
fn styled(param: &Param, value: &Value, escape: &'static percent_encoding::AsciiSet) -> String {
    let encode = |text: &str| percent_encoding::utf8_percent_encode(text, escape).to_string();
    let items: Vec<String> = match value {
        Value::Array(items) => items.iter().map(|i| encode(&text_of(i))).collect(),
        Value::Object(map) if param.explode => {
            map.iter().map(|(k, v)| format!("{}={}", encode(k), encode(&text_of(v)))).collect()
        }
        Value::Object(map) => map.iter().flat_map(|(k, v)| [encode(k), encode(&text_of(v))]).collect(),
        other => vec![encode(&text_of(other))],
    };
    match param.style {
        Style::Label => format!(".{}", items.join(if param.explode { "." } else { "," })),
        Style::Matrix if param.explode && value.is_array() => {
            items.iter().map(|i| format!(";{}={i}", param.name)).collect::<String>()
        }
        Style::Matrix => format!(";{}={}", param.name, items.join(",")),
        _ => items.join(","),
    }
}

/// A query parameter's pairs in its style: repeated (form, exploded), joined (`,`, space or
/// `|`), spread (an exploded object) or `name[key]` (deepObject).
fn query_pairs(param: &Param, value: &Value, query: &mut form_urlencoded::Serializer<'_, String>) {
    let name = &*param.name;
    match value {
        Value::Array(items) if param.explode && param.style == Style::Form => {
            for item in items {
                query.append_pair(name, &text_of(item));
            }
        }
        Value::Array(items) => {
            let separator = match param.style {
                Style::SpaceDelimited => " ",
                Style::PipeDelimited => "|",
                _ => ",",
            };
            query.append_pair(name, &items.iter().map(text_of).collect::<Vec<_>>().join(separator));
        }
        Value::Object(map) if param.style == Style::DeepObject => {
            for (k, v) in map {
                query.append_pair(&format!("{name}[{k}]"), &text_of(v));
            }
        }
        Value::Object(map) if param.explode => {
            for (k, v) in map {
                query.append_pair(k, &text_of(v));
            }
        }
        Value::Object(map) => {
            let flat: Vec<String> = map.iter().flat_map(|(k, v)| [k.clone(), text_of(v)]).collect();
            query.append_pair(name, &flat.join(","));
        }
        other => drop(query.append_pair(name, &text_of(other))),
    }
}

/// The parameter's example when it is a valid value (a list's example may be written as text).
fn valid_example(param: &Param) -> Option<Value> {
    let example = param.example.as_ref()?;
    let value = match (param.array_of, example) {
        (Some(_), Value::String(text)) => {
            Value::Array(text.split(',').map(|t| Value::String(t.trim().into())).collect())
        }
        _ => example.clone(),
    };
    param.checker.is_valid(&value).then_some(value)
}

fn enum_first(api: &Api, param: &Param) -> Option<Value> {
    let values = item_schema(api, param).get("enum")?.as_array()?;
    let first = values.iter().find(|v| !v.is_null())?.clone();
    Some(if param.array_of.is_some() { Value::Array(vec![first]) } else { first })
}

/// A valid value: the parameter's example, its default, its first enum value, or one built
/// from its schema.
fn sample(api: &Api, param: &Param) -> Value {
    let valid = |v: &&Value| param.checker.is_valid(v);
    if let Some(found) = valid_example(param).or_else(|| param.default.as_ref().filter(valid).cloned()) {
        return found;
    }
    if let Some(first) = enum_first(api, param) {
        return first;
    }
    if let Some(built) = &param.sample {
        return built.clone();
    }
    let schema = item_schema(api, param);
    Value::String(match (param.array_of.unwrap_or(param.scalar), schema.get("format").and_then(Value::as_str)) {
        (Scalar::Integer | Scalar::Number, _) => schema.get("minimum").map(text_of).unwrap_or_else(|| "1".into()),
        (Scalar::Boolean, _) => "true".into(),
        (_, Some("uuid")) => "00000000-0000-4000-8000-000000000000".into(),
        (_, Some("date-time")) => "2026-01-01T00:00:00Z".into(),
        _ => "x".into(),
    })
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
            out.push_str(&format!("{mark:<9} {:<32} {:<40} {}", c.operation, c.name, c.request));
            if let Outcome::Skip(why) = &c.outcome {
                out.push_str(&format!(" ({why})"));
            }
            out.push('\n');
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
