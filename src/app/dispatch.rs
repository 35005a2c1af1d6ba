//! The service behind the edge: `/__admin` to the admin API, the published documents, and
//! everything else to the APIs served now.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use axum::Router;
use tower::ServiceExt;

use crate::app::App;

/// Sends `/__admin` to the admin API and everything else to the APIs served now.
#[derive(Clone)]
pub(crate) struct Dispatch {
    app: Arc<App>,
    admin: Option<Router>,
}

impl Dispatch {
    pub(crate) fn new(app: Arc<App>, admin: Option<Router>) -> Dispatch {
        Dispatch { app, admin }
    }
}

impl tower::Service<Request> for Dispatch {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if crate::app::published::answers(&self.app, req.uri().path()) {
            let answer = crate::app::published::answer(&self.app, req.method(), req.uri().path(), req.headers());
            return Box::pin(std::future::ready(Ok(answer)));
        }
        let is_admin = crate::http::edge::is_admin(req.uri().path());
        if let (true, Some(admin)) = (is_admin, &self.admin) {
            return Box::pin(admin.clone().oneshot(req));
        }
        // Taken per request, so a reload applies to the next request and in-flight ones finish.
        Box::pin(self.app.router().oneshot(req))
    }
}
