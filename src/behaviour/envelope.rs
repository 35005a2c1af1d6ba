//! The error body of each API dialect, rendered from the behaviour file's template.

use serde_json::Value;

use crate::behaviour::ErrorEnvelope;

/// A compiled error envelope.
#[derive(Clone, Debug)]
pub(crate) struct Envelope {
    def: ErrorEnvelope,
    /// Whether a behaviour file gave it, rather than specmock's default.
    declared: bool,
    /// The Content-Type of its bodies: the one the spec's error responses declare.
    content_type: http::HeaderValue,
}

impl Default for Envelope {
    /// For specs served without a behaviour file, which answer RFC 9457 problem details instead
    /// (see [`crate::http::error::problem`]); its body is only a placeholder.
    fn default() -> Self {
        Envelope {
            def: ErrorEnvelope {
                body: serde_json::json!({"error": "{message}", "status": "{status}", "requestId": "{requestId}"}),
                names: Default::default(),
                codes: Default::default(),
                request_id_field: Some("/requestId".into()),
            },
            declared: false,
            content_type: http::HeaderValue::from_static("application/json"),
        }
    }
}

impl Envelope {
    /// Wraps a behaviour file's envelope.
    pub(crate) fn new(def: ErrorEnvelope) -> Self {
        Envelope { def, declared: true, content_type: http::HeaderValue::from_static("application/json") }
    }

    /// The same envelope, its bodies sent as `content_type`.
    pub(crate) fn with_content_type(mut self, content_type: http::HeaderValue) -> Self {
        self.content_type = content_type;
        self
    }

    /// Whether a behaviour file gave this envelope.
    pub(crate) fn declared(&self) -> bool {
        self.declared
    }

    /// The Content-Type of its bodies.
    pub(crate) fn content_type(&self) -> &http::HeaderValue {
        &self.content_type
    }

    /// The body for `status` saying `message`.
    pub(crate) fn body(&self, status: u16, message: &str, request_id: &str) -> Value {
        let name = self.def.names.get(&status).cloned().unwrap_or_else(|| {
            http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error").to_string()
        });
        let code = self.def.codes.get(&status).cloned().unwrap_or_else(|| status.to_string());
        fill(&self.def.body, &|key| match key {
            "status" => Some(status.to_string()),
            "code" => Some(code.clone()),
            "name" => Some(name.clone()),
            "message" => Some(message.to_string()),
            "requestId" => Some(request_id.to_string()),
            _ => None,
        })
    }

    /// Puts this request's id into a documented example body, where the envelope carries one.
    pub(crate) fn refresh_request_id(&self, body: &mut Value, request_id: &str) {
        if let Some(slot) = self.def.request_id_field.as_deref().and_then(|p| body.pointer_mut(p)) {
            *slot = Value::String(request_id.to_string());
        }
    }
}

fn fill(template: &Value, lookup: &dyn Fn(&str) -> Option<String>) -> Value {
    match template {
        Value::String(s) => Value::String(substitute(s, lookup)),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill(v, lookup)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), fill(v, lookup))).collect()),
        other => other.clone(),
    }
}

fn substitute(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        match rest[open..].find('}') {
            Some(close) => {
                let key = &rest[open + 1..open + close];
                match lookup(key) {
                    Some(v) => out.push_str(&v),
                    None => out.push_str(&rest[open..=open + close]),
                }
                rest = &rest[open + close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tmf_envelope_fills_strings() {
        let env = Envelope::new(ErrorEnvelope {
            body: json!({"code": "{code}", "reason": "{name}", "message": "{message}", "status": "{status}", "@type": "Error"}),
            names: [(404, "Not Found".to_string())].into(),
            codes: Default::default(),
            request_id_field: None,
        });
        assert_eq!(
            env.body(404, "no {such} id", "r1"),
            json!({"code": "404", "reason": "Not Found", "message": "no {such} id", "status": "404", "@type": "Error"})
        );
    }
}
