//! A declared response as the answer, the way Prism's static mock writes it: the negotiated
//! media type, its named or first example (else the body built from its schema), and the
//! declared headers with their example values. A response without content has no body and no
//! Content-Type.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::http::error::HttpError;
use crate::http::negotiate;
use crate::load::LoadedApi;
use crate::openapi::{Media, ResponseSpec};
use crate::store::render::Template;

/// What of the request a declared response depends on.
pub(crate) struct Asked<'r> {
    /// The request's headers, for `Accept`.
    pub(crate) headers: &'r HeaderMap,
    /// The request's base URL, for `href` placeholders.
    pub(crate) base: &'r [u8],
    /// The request's id, for error bodies that carry one.
    pub(crate) rid: &'r str,
}

/// Answers with `spec` at `status`: `example` names one of its examples, else the default body;
/// `message` is a refusal's, written into the body's message field where it has one.
pub(crate) fn respond(
    api: &LoadedApi,
    spec: &ResponseSpec,
    status: u16,
    asked: &Asked<'_>,
    example: Option<&str>,
    message: Option<&str>,
) -> Result<Response, HttpError> {
    let Asked { headers: request, base, rid } = *asked;
    let media = negotiate::choose(request, &spec.content)?;
    let body = match (media, example) {
        (None, _) => None,
        (Some(media), Some(name)) => Some((media, chosen(media, name)?)),
        (Some(media), None) => media.body.as_ref().map(|b| (media, b)),
    };
    let mut response = match body {
        None => Response::new(axum::body::Body::empty()),
        Some((media, value)) => {
            let mut value = value.clone();
            if status >= 400 {
                api.envelope.refresh_request_id(&mut value, rid);
            }
            if let Some(message) = message {
                say(media, &mut value, message);
            }
            let mut response = Response::new(axum::body::Body::from(encode(api, media, &value, base)));
            if let Ok(content_type) = HeaderValue::from_str(content_type(media)) {
                response.headers_mut().insert(header::CONTENT_TYPE, content_type);
            }
            response
        }
    };
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    if matches!(status, 204 | 304) {
        *response.body_mut() = axum::body::Body::empty();
        response.headers_mut().remove(header::CONTENT_TYPE);
    }
    for (name, value) in &spec.header_values {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name.as_str()), HeaderValue::from_str(value)) {
            response.headers_mut().entry(name).or_insert(value);
        }
    }
    Ok(response)
}

/// Puts a refusal's message into the body's message field, where the schema has one and the
/// body still matches it with the message in.
fn say(media: &Media, value: &mut Value, message: &str) {
    const FIELDS: [&str; 6] = ["message", "detail", "error_description", "error", "description", "title"];
    let Value::Object(map) = value else { return };
    let Some(field) = FIELDS.iter().find(|f| map.get(**f).is_some_and(Value::is_string)) else { return };
    let before = map.insert(field.to_string(), Value::String(message.to_string()));
    let fits = media.checker.as_ref().is_none_or(|c| c.is_valid(&Value::Object(map.clone())));
    if !fits {
        if let Some(before) = before {
            map.insert(field.to_string(), before);
        }
    }
}

/// The example called `name`, or a 400 naming the ones there are.
fn chosen<'m>(media: &'m Media, name: &str) -> Result<&'m Value, HttpError> {
    media.examples.iter().find(|(n, _)| n == name).map(|(_, v)| v).ok_or_else(|| {
        let names: Vec<&str> = media.examples.iter().map(|(n, _)| n.as_str()).collect();
        HttpError::bad_request(format!(
            "Prefer: example={name} is not an example of this {} response; expected one of: {}",
            media.media_type,
            if names.is_empty() { "(it has none)".to_string() } else { names.join(", ") }
        ))
    })
}

/// The Content-Type for a declared media type; a declared range such as `*/*` answers JSON.
fn content_type(media: &Media) -> &str {
    if media.media_type.contains('*') {
        "application/json"
    } else {
        &media.media_type
    }
}

/// The body's bytes: JSON media types as JSON (with the request's base URL where the data has
/// a placeholder); any other type's string example as written.
fn encode(api: &LoadedApi, media: &Media, value: &Value, base: &[u8]) -> Vec<u8> {
    if !media.is_json() {
        if let Value::String(text) = value {
            return text.clone().into_bytes();
        }
        if media.media_type.contains("xml") {
            return xml(value);
        }
    }
    let mut out = Vec::new();
    Template::new(value, &api.placeholders).write(&mut out, base);
    out
}

/// A JSON value as XML for an XML media type without a string example: objects as elements,
/// arrays as repeated elements, under a `<root>`.
fn xml(value: &Value) -> Vec<u8> {
    fn write(out: &mut String, name: &str, value: &Value) {
        match value {
            Value::Array(items) => items.iter().for_each(|item| write(out, name, item)),
            Value::Object(map) => {
                out.push_str(&format!("<{name}>"));
                for (key, item) in map {
                    write(out, &element_name(key), item);
                }
                out.push_str(&format!("</{name}>"));
            }
            Value::Null => out.push_str(&format!("<{name}/>")),
            other => {
                let text = crate::json::text(other);
                let escaped = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
                out.push_str(&format!("<{name}>{escaped}</{name}>"));
            }
        }
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    write(&mut out, "root", value);
    out.into_bytes()
}

/// A JSON key as an XML element name: characters XML names cannot hold become `_`.
fn element_name(key: &str) -> String {
    let mut name: String =
        key.chars().map(|c| if c.is_alphanumeric() || "_-.".contains(c) { c } else { '_' }).collect();
    if !name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        name.insert(0, '_');
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_become_well_formed_xml() {
        let value = serde_json::json!({"id": 1, "tags": ["a", "b<c"], "@type": "Pet", "owner": null});
        assert_eq!(
            String::from_utf8(xml(&value)).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><root><id>1</id><tags>a</tags><tags>b&lt;c</tags>\
             <_type>Pet</_type><owner/></root>"
        );
    }
}
