//! The edge every request passes first: it gets a request id, echoed on the response, and CORS
//! for any origin, so a browser app on another port can call the mock with a bearer token.
//!
//! One hand-written layer instead of tower-http's CORS and request-id layers: those cost about
//! a fifth of the instructions of serving a cached record (callgrind, transfer route), and
//! tower-http's `Any` for allowed headers answers `*`, which browsers do not accept for
//! `Authorization`; this layer mirrors the headers a preflight asks for.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{ready, Context, Poll};

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use pin_project_lite::pin_project;
use tower::Service;

/// The header carrying each request's id, both ways.
pub(crate) const REQUEST_ID: &str = "x-request-id";

/// The longest request id taken from a caller; a longer one is replaced.
const MAX_GIVEN_ID: usize = 200;

/// Request ids and CORS around `S`.
#[derive(Clone, Debug)]
pub(crate) struct Edge<S> {
    inner: S,
}

impl<S> Edge<S> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: S) -> Edge<S> {
        Edge { inner }
    }
}

impl<S> Service<Request> for Edge<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = EdgeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let id = match req.headers().get(REQUEST_ID) {
            Some(given) if !given.is_empty() && given.len() <= MAX_GIVEN_ID && given.to_str().is_ok() => given.clone(),
            _ => {
                let made = new_request_id();
                req.headers_mut().insert(REQUEST_ID, made.clone());
                made
            }
        };
        if is_preflight(&req) {
            return EdgeFuture::Answered { response: Some(preflight(req.headers(), id)) };
        }
        EdgeFuture::Inner { future: self.inner.call(req), id: Some(id) }
    }
}

pin_project! {
    /// The response of [`Edge`]: a preflight answered at once, or the inner service's response
    /// with the id and CORS headers added.
    #[project = EdgeProjection]
    pub(crate) enum EdgeFuture<F> {
        /// A preflight, answered without the inner service.
        Answered { response: Option<Response> },
        /// Waiting for the inner service.
        Inner { #[pin] future: F, id: Option<HeaderValue> },
    }
}

impl<F> Future for EdgeFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            EdgeProjection::Answered { response } => {
                Poll::Ready(Ok(response.take().expect("polled after it was ready")))
            }
            EdgeProjection::Inner { future, id } => {
                let mut response = ready!(future.poll(cx))?;
                let headers = response.headers_mut();
                if let Some(id) = id.take() {
                    headers.insert(REQUEST_ID, id);
                }
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
                headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("*"));
                Poll::Ready(Ok(response))
            }
        }
    }
}

/// A CORS preflight: `OPTIONS` from a browser asking whether a method may be used.
fn is_preflight(req: &Request) -> bool {
    req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ORIGIN)
        && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// Allows any origin, the method asked for and the headers asked for, `Authorization` included.
fn preflight(asked: &HeaderMap, id: HeaderValue) -> Response {
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(REQUEST_ID, id);
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if let Some(method) = asked.get(header::ACCESS_CONTROL_REQUEST_METHOD) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, method.clone());
    }
    if let Some(requested) = asked.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
    }
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    headers.insert(
        header::VARY,
        HeaderValue::from_static("access-control-request-method, access-control-request-headers"),
    );
    response
}

/// A UUID holding the process id and a counter: unique across restarts on one machine, and no
/// randomness per request.
fn new_request_id() -> HeaderValue {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    static PID: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let pid = *PID.get_or_init(|| std::process::id() as u64);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let id = uuid::Uuid::from_u64_pair(0x5eec_0000_0000_4000 | pid << 16, 0x8000_0000_0000_0000 | n);
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    HeaderValue::from_str(id.hyphenated().encode_lower(&mut text)).expect("a UUID is a valid header value")
}
