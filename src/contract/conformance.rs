//! Checks a response against its operation: declared status, content type, headers and body schema.
//! The server uses it in strict mode; `specmock verify` uses it against a real provider.

use serde_json::Value;

use crate::contract::Finding;
use crate::openapi::Operation;

/// Header names HTTP itself or the transport adds, never a spec's concern.
const TRANSPORT_HEADERS: [&str; 16] = [
    "content-type",
    "content-length",
    "date",
    "server",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "vary",
    "access-control-allow-origin",
    "access-control-expose-headers",
    "access-control-allow-credentials",
    "x-request-id",
    "allow",
    "cache-control",
    "etag",
    "content-encoding",
];

/// What a response broke, located by JSON pointer where it is about the body.
pub(crate) fn check(op: &Operation, status: u16, headers: &http::HeaderMap, body: &[u8]) -> Vec<Finding> {
    let finding = Finding::new;
    if op.all_responses().next().is_none() {
        // An operation that declares no responses allows any.
        return Vec::new();
    }
    let Some(declared) = op.response_for(status) else {
        return vec![finding(
            "",
            format!("{} {} responses", op.method, op.path),
            format!("status {status} is not declared for {}; declared: {}", op.id, op.declared_statuses()),
        )];
    };
    let key = &declared.key;
    let mut findings = Vec::new();
    let content_type = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media = if declared.content.is_empty() {
        if !body.is_empty() {
            findings.push(finding(
                "",
                format!("responses/{key}"),
                format!("the response declares no content, but {} bytes came", body.len()),
            ));
        }
        None
    } else {
        match declared.media_for(content_type) {
            Some(media) => Some(media),
            None => {
                let expected: Vec<&str> = declared.content.iter().map(|m| m.media_type.as_str()).collect();
                findings.push(finding(
                    "",
                    format!("responses/{key}/content"),
                    format!("content type is {content_type:?}; expected {}", expected.join(" or ")),
                ));
                return findings;
            }
        }
    };
    for name in &declared.required_headers {
        if !headers.contains_key(name.as_str()) {
            findings.push(finding("", format!("responses/{key}/headers/{name}"), format!("header {name} is missing")));
        }
    }
    for (name, checker) in &declared.header_checkers {
        if let Some(raw) = headers.get(name.as_str()).and_then(|v| v.to_str().ok()) {
            // A header is text; a number or boolean schema reads it as JSON.
            let as_text = Value::String(raw.to_string());
            let fits = checker.is_valid(&as_text)
                || serde_json::from_str::<Value>(raw).is_ok_and(|value| checker.is_valid(&value));
            if !fits {
                findings.push(finding(
                    "",
                    format!("responses/{key}/headers/{name}/schema"),
                    format!("header {name}: {raw:?} breaks its schema"),
                ));
            }
        }
    }
    if declared.closed_headers {
        for name in headers.keys() {
            let name = name.as_str();
            if !TRANSPORT_HEADERS.contains(&name)
                && !declared.headers.iter().any(|h| h == name)
                && !name.starts_with("access-control-")
            {
                findings.push(finding(
                    "",
                    format!("responses/{key}/x-additional-headers"),
                    format!("header {name} is not declared, and this response allows no others"),
                ));
            }
        }
    }
    if let Some(checker) = media.filter(|m| m.is_json()).and_then(|m| m.checker.as_ref()) {
        match serde_json::from_slice::<Value>(body) {
            Ok(value) => findings.extend(checker.findings(&value, 20).into_iter().map(Finding::from)),
            Err(e) => {
                findings.push(finding("", format!("responses/{key}/content"), format!("the body is not JSON: {e}")))
            }
        }
    }
    findings
}

/// One line per finding, for logs and reports.
pub(crate) fn describe(op: &Operation, status: u16, findings: &[Finding]) -> String {
    let mut out = format!("{} {} answered {status} against its spec:", op.id, op.path);
    for f in findings {
        out.push_str(&format!("\n  {f}"));
    }
    out
}
