//! Request bodies checked against the operation's `requestBody`: a declared Content-Type (else
//! 415), JSON validated against its schema, form and multipart fields read into an object and
//! validated the same way, a required body present.

use axum::body::Body;
use axum::http::{header, HeaderMap};
use serde_json::{Map, Value};

use crate::contract::Finding;
use crate::http::error::HttpError;
use crate::openapi::{is_form, Media, Operation, Scalar};

/// The largest request body read: a mock has no use for more, and a client that sends more is
/// told so rather than held.
pub(crate) const MAX_BODY_BYTES: usize = 4 << 20;

/// Reads the body when the operation declares one and checks it, returning it as JSON (null when
/// none came or it is not JSON, form or multipart); the refusal names the field (by JSON
/// pointer), what came and what was expected.
pub(crate) async fn check(op: &Operation, headers: &HeaderMap, body: Body) -> Result<Value, HttpError> {
    let Some(declared) = &op.request_body else { return Ok(Value::Null) };
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        HttpError::new(
            413,
            format!("the request body is larger than {} MiB, the most specmock reads", MAX_BODY_BYTES >> 20),
        )
    })?;
    let expected = || declared.content.iter().map(|m| m.media_type.as_str()).collect::<Vec<_>>().join(", ");
    if bytes.is_empty() {
        return match declared.required {
            true => Err(HttpError::bad_request(format!("the request body is required; expected {}", expected()))),
            false => Ok(Value::Null),
        };
    }
    if declared.content.is_empty() {
        return Ok(Value::Null);
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(media) = media_for(&declared.content, content_type) else {
        let sent = if content_type.is_empty() { "missing".to_string() } else { content_type.to_string() };
        return Err(HttpError::new(415, format!("Content-Type: {sent}; {} accepts {}", op.id, expected())));
    };
    let value = if media.is_json() {
        serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| HttpError::bad_request(format!("the body is not JSON: {e}; expected {}", media.media_type)))?
    } else if is_form(&media.media_type) && content_type.to_ascii_lowercase().starts_with("multipart/") {
        multipart(media, content_type, bytes).await?
    } else if is_form(&media.media_type) {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
        fields(media, pairs)?
    } else {
        // XML, text, binary: taken as sent.
        return Ok(Value::Null);
    };
    let Some(checker) = &media.checker else { return Ok(value) };
    // The quick yes first; the findings only for a body that fails.
    if checker.is_valid(&value) {
        return Ok(value);
    }
    match checker.findings(&value, 1).into_iter().next() {
        None => Ok(value),
        Some(violation) => {
            let finding = Finding::from(violation);
            let at = if finding.pointer.is_empty() { "body".to_string() } else { format!("body{}", finding.pointer) };
            Err(HttpError::bad_request(format!("{at}: {}", finding.message))
                .with_detail(format!("{at}: {} (rule {})", finding.message, finding.rule)))
        }
    }
}

/// The declared media type a Content-Type is: exact first, then a declared range.
fn media_for<'m>(content: &'m [Media], content_type: &str) -> Option<&'m Media> {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if essence.is_empty() {
        return None;
    }
    let declared = |m: &Media| m.media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    content.iter().find(|m| declared(m) == essence).or_else(|| {
        content.iter().find(|m| {
            let range = declared(m);
            range == "*/*" || range.strip_suffix("/*").is_some_and(|kind| essence.starts_with(&format!("{kind}/")))
        })
    })
}

/// Form fields as the object the schema describes: each declared field read as its type,
/// lists from repeated names.
fn fields(media: &Media, pairs: Vec<(String, String)>) -> Result<Value, HttpError> {
    let mut object = Map::new();
    for (name, raw) in pairs {
        let (scalar, list) =
            media.fields.iter().find(|(n, _, _)| *n == name).map_or((Scalar::String, false), |(_, s, l)| (*s, *l));
        let value = typed(&name, scalar, &raw)?;
        match (list, object.get_mut(&name)) {
            (true, Some(Value::Array(items))) => items.push(value),
            (true, _) => drop(object.insert(name, Value::Array(vec![value]))),
            (false, Some(_)) => {
                return Err(HttpError::bad_request(format!("body/{name}: given more than once; expected one value")))
            }
            (false, None) => drop(object.insert(name, value)),
        }
    }
    Ok(Value::Object(object))
}

/// A form field's text as its declared type.
fn typed(name: &str, scalar: Scalar, raw: &str) -> Result<Value, HttpError> {
    crate::openapi::params::read_scalar(scalar, raw)
        .map_err(|what| HttpError::bad_request(format!("body/{name}: got {raw:?}, which is not {what}")))
}

/// A multipart body's parts as form fields; a file part's value is its content as text (binary
/// content as an empty string: the schema says `format: binary`, which any string satisfies).
async fn multipart(media: &Media, content_type: &str, bytes: bytes::Bytes) -> Result<Value, HttpError> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| HttpError::bad_request(format!("Content-Type: {content_type}: {e}; expected a boundary")))?;
    let stream = futures_util::stream::once(std::future::ready(Ok::<_, std::io::Error>(bytes)));
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut pairs = Vec::new();
    loop {
        match parts.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let content = field.bytes().await.map_err(|e| HttpError::bad_request(format!("body/{name}: {e}")))?;
                pairs.push((name, String::from_utf8(content.to_vec()).unwrap_or_default()));
            }
            Ok(None) => break,
            Err(e) => return Err(HttpError::bad_request(format!("the multipart body cannot be read: {e}"))),
        }
    }
    fields(media, pairs)
}
