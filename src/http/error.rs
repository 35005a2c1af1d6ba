//! [`HttpError`]: the one way the pipeline refuses a request. It carries the status, a message
//! for the client and, optionally, detail for the log; the API's envelope renders it.

use axum::http::StatusCode;
use axum::response::Response;

use crate::behaviour::Envelope;
use crate::http::answer::{json_bytes, json_bytes_as};

/// A refusal with its HTTP meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HttpError {
    /// The status to answer with.
    pub(crate) status: u16,
    /// What the client reads: what was wrong and what was expected.
    pub(crate) message: String,
    /// What only the log reads.
    pub(crate) detail: Option<String>,
    /// A `WWW-Authenticate` challenge, for a 401.
    pub(crate) challenge: Option<String>,
}

/// RFC 9457 problem details: the error body of a document without a behaviour file's envelope.
pub(crate) fn problem(status: u16, message: &str, request_id: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({
        "type": "about:blank",
        "title": code.canonical_reason().unwrap_or("Error"),
        "status": status,
        "detail": message,
        "requestId": request_id,
    });
    let mut response = json_bytes(code, serde_json::to_vec(&body).expect("a JSON value serialises"));
    response
        .headers_mut()
        .insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/problem+json"));
    response
}

/// Marks a response specmock made to refuse a request, rather than one the spec's data produced.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Refused;

impl HttpError {
    /// A refusal with `status` saying `message`.
    pub(crate) fn new(status: u16, message: impl Into<String>) -> HttpError {
        HttpError { status, message: message.into(), detail: None, challenge: None }
    }

    /// 400: the request broke the spec.
    pub(crate) fn bad_request(message: impl Into<String>) -> HttpError {
        HttpError::new(400, message)
    }

    /// Adds detail for the log.
    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> HttpError {
        self.detail = Some(detail.into());
        self
    }

    /// Adds a `WWW-Authenticate` challenge.
    pub(crate) fn with_challenge(mut self, challenge: impl Into<String>) -> HttpError {
        self.challenge = Some(challenge.into());
        self
    }

    /// The response in `envelope`, carrying the request id, marked [`Refused`].
    pub(crate) fn render(&self, envelope: &Envelope, request_id: &str) -> Response {
        if let Some(detail) = &self.detail {
            match self.status {
                500.. => tracing::error!(status = self.status, "{detail}"),
                _ => tracing::warn!(status = self.status, "{detail}"),
            }
        }
        let mut response = match envelope.declared() {
            true => json_bytes_as(
                StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                serde_json::to_vec(&envelope.body(self.status, &self.message, request_id))
                    .expect("a JSON value serialises"),
                envelope.content_type().clone(),
            ),
            false => problem(self.status, &self.message, request_id),
        };
        if let Some(challenge) = self.challenge.as_deref().and_then(|c| axum::http::HeaderValue::from_str(c).ok()) {
            response.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, challenge);
        }
        response.extensions_mut().insert(Refused);
        response
    }
}
