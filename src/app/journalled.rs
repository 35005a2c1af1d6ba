//! The outermost layer: every request outside `/__admin` and the published documents is
//! journalled as the caller sent it and answered as the caller got it (request id and CORS
//! headers included), so it wraps the edge.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use http_body::Body as _;
use http_body_util::BodyExt;
use pin_project_lite::pin_project;
use tower::{Service, ServiceExt};

use crate::app::journal::{Journal, KeptBody, Pending, BODY_LIMIT};

/// Journals each exchange through `S`.
#[derive(Clone)]
pub(crate) struct Journalled<S> {
    journal: Arc<Journal>,
    inner: S,
}

impl<S> Journalled<S> {
    pub(crate) fn new(journal: Arc<Journal>, inner: S) -> Journalled<S> {
        Journalled { journal, inner }
    }
}

/// Whether requests to `path` are journalled: the admin API's and the published documents' are
/// specmock's own traffic (the console's polling among it), not the caller's.
fn journalled(path: &str) -> bool {
    !crate::http::edge::is_admin(path) && !path.starts_with(crate::app::published::PREFIX)
}

impl<S> Service<Request> for Journalled<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = JournalledFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let pending = if journalled(req.uri().path()) { self.journal.begin(&req) } else { None };
        match pending {
            Some(pending) if !req.body().is_end_stream() => {
                // A body is read (its first BODY_LIMIT bytes) before the route sees it, then
                // handed on whole.
                let (journal, inner) = (self.journal.clone(), self.inner.clone());
                JournalledFuture::Body { future: Box::pin(with_body(journal, inner, pending, req)) }
            }
            pending => JournalledFuture::Head {
                future: self.inner.call(req),
                journal: pending.map(|p| (self.journal.clone(), p)),
            },
        }
    }
}

async fn with_body<S>(
    journal: Arc<Journal>,
    inner: S,
    mut pending: Pending,
    req: Request,
) -> Result<Response, Infallible>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let (parts, body) = req.into_parts();
    let (kept, body) = read_prefix(body).await;
    pending.set_body(kept);
    let response = inner.oneshot(Request::from_parts(parts, body)).await?;
    Ok(journal.end(pending, response))
}

/// The body's first [`BODY_LIMIT`] bytes, kept, and a body that yields the whole of it.
async fn read_prefix(mut body: Body) -> (KeptBody, Body) {
    let len = body.size_hint().exact();
    let mut read = BytesMut::new();
    loop {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    read.extend_from_slice(&data);
                }
                if read.len() > BODY_LIMIT {
                    let read = read.freeze();
                    let kept = KeptBody { bytes: Bytes::copy_from_slice(&read[..BODY_LIMIT]), len };
                    let rest = futures_util::stream::once(std::future::ready(Ok::<Bytes, axum::Error>(read)));
                    use futures_util::StreamExt;
                    return (kept, Body::from_stream(rest.chain(body.into_data_stream())));
                }
            }
            Some(Err(e)) => {
                let read = read.freeze();
                let kept = KeptBody::of(&read);
                let failed = futures_util::stream::iter([Ok(read), Err(e)]);
                return (kept, Body::from_stream(failed));
            }
            None => {
                let read = read.freeze();
                return (KeptBody::of(&read), Body::from(read));
            }
        }
    }
}

pin_project! {
    /// The inner service's answer, journalled when it comes.
    #[project = Projected]
    pub(crate) enum JournalledFuture<F> {
        /// A request without a body, or one not journalled.
        Head { #[pin] future: F, journal: Option<(Arc<Journal>, Pending)> },
        /// A request whose body is read first.
        Body { future: Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>> },
    }
}

impl<F> Future for JournalledFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            Projected::Head { future, journal } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(match journal.take() {
                    Some((journal, pending)) => journal.end(pending, response),
                    None => response,
                }))
            }
            Projected::Body { future } => future.as_mut().poll(cx),
        }
    }
}
