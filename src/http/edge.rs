//! The edge every request passes first: it gets a request id, echoed on the response, and API
//! responses get CORS headers for any origin, credentials included (`/__admin` responses get
//! none).
//!
//! One hand-written layer instead of tower-http's CORS and request-id layers: those cost about
//! a fifth of the instructions of serving a cached record (callgrind, transfer route), and
//! tower-http's `Any` for allowed headers answers `*`, which browsers do not accept for
//! `Authorization`; preflights are answered per route by the router (`http::cors`).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{ready, Context, Poll};

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::Response;
use pin_project_lite::pin_project;
use tower::Service;

use crate::http::cors::{allow_any_origin, allow_origin};

/// The header carrying each request's id, both ways. A `HeaderName` rather than text, so no
/// lookup parses and checks the name again.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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
        let id = match req.headers().get(&REQUEST_ID) {
            Some(given) if !given.is_empty() && given.len() <= MAX_GIVEN_ID && given.to_str().is_ok() => given.clone(),
            _ => {
                let made = new_request_id();
                req.headers_mut().insert(REQUEST_ID, made.clone());
                made
            }
        };
        let cors = match (is_admin(req.uri().path()), req.headers().get(header::ORIGIN)) {
            (true, _) => Cors::None,
            (false, Some(origin)) => Cors::Origin(origin.clone()),
            (false, None) => Cors::Any,
        };
        EdgeFuture { future: self.inner.call(req), id: Some(id), cors }
    }
}

/// Whether `path` is the admin API's, which no other origin may read.
pub(crate) fn is_admin(path: &str) -> bool {
    path == "/__admin" || path.starts_with("/__admin/")
}

pin_project! {
    /// The inner service's response, with the request id (and CORS headers) added.
    pub(crate) struct EdgeFuture<F> {
        #[pin]
        future: F,
        id: Option<HeaderValue>,
        cors: Cors,
    }
}

/// What CORS headers a response gets.
pub(crate) enum Cors {
    /// None: the admin API's.
    None,
    /// `*`: no `Origin` was sent.
    Any,
    /// This origin, with credentials allowed, so `fetch(url, {credentials: 'include'})` works.
    Origin(HeaderValue),
}

impl<F> Future for EdgeFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.future.poll(cx))?;
        let headers = response.headers_mut();
        if let Some(id) = this.id.take() {
            headers.insert(REQUEST_ID, id);
        }
        match std::mem::replace(this.cors, Cors::None) {
            Cors::None => {}
            Cors::Any => allow_any_origin(headers),
            Cors::Origin(origin) => allow_origin(headers, origin),
        }
        Poll::Ready(Ok(response))
    }
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
