//! The axum router: one route per spec path, each method answered by its operation's
//! [`Endpoint`]; 404 and 405 in the owning API's envelope. It expects the edge around it for
//! request ids.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter};
use axum::Router;

use crate::http::answer::json_bytes;
use crate::http::cors::{is_preflight, preflight};
use crate::http::error::HttpError;
use crate::http::pipeline::{serve, Endpoint};
use crate::http::{request_id, ServeOptions};
use crate::load::LoadedApi;

/// Routes every operation of `apis`.
pub(crate) fn routes(apis: Vec<Arc<LoadedApi>>, options: Arc<ServeOptions>) -> Router {
    // Each route's API and its (method, operation index) pairs.
    type Methods = (Arc<LoadedApi>, Vec<(Method, usize)>);
    let mut routes: BTreeMap<String, Methods> = BTreeMap::new();
    for api in &apis {
        for (i, op) in api.api.operations.iter().enumerate() {
            let Ok(method) = Method::from_bytes(op.method.as_bytes()) else { continue };
            routes.entry(op.pattern.clone()).or_insert_with(|| (api.clone(), Vec::new())).1.push((method, i));
        }
    }
    let mut router = Router::new();
    // Each document's routes were tried at load; two documents can still claim one route.
    let mut probe = matchit::Router::new();
    for (route, (api, ops)) in routes {
        if let Err(e) = probe.insert(route.as_str(), ()) {
            tracing::warn!("{}: {route} is not served: {e}", api.api.name);
            continue;
        }
        let allow = ops.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>().join(", ");
        let declares_options = ops.iter().any(|(m, _)| m == Method::OPTIONS);
        let mut methods: MethodRouter = MethodRouter::new();
        for (method, op) in ops {
            let Ok(filter) = MethodFilter::try_from(method) else { continue };
            let endpoint = Arc::new(Endpoint::new(api.clone(), op, options.clone()));
            methods = methods.on_service(filter, serve.with_state(endpoint));
        }
        let refuse = {
            let (api, allow) = (api.clone(), allow.clone());
            move |req: Request| {
                let message = format!("{} is not allowed on {}; allowed: {allow}", req.method(), req.uri().path());
                let mut response = HttpError::new(405, message).render(&api.envelope, request_id(req.headers()));
                if let Ok(v) = HeaderValue::from_str(&allow) {
                    response.headers_mut().insert(header::ALLOW, v);
                }
                response
            }
        };
        if !declares_options {
            let (refuse, allow) = (refuse.clone(), allow.clone());
            methods = methods.options(move |req: Request| {
                let answer = is_preflight(req.method(), req.headers())
                    .then(|| preflight(req.headers(), &allow))
                    .flatten()
                    .unwrap_or_else(|| refuse(req));
                std::future::ready(answer)
            });
        }
        methods = methods.fallback(move |req: Request| std::future::ready(refuse(req)));
        router = router.route(&route, methods);
    }
    let fallback_apis = apis.clone();
    router.fallback(move |req: Request| {
        let apis = fallback_apis.clone();
        async move { not_found(&apis, req.uri().path(), request_id(req.headers())) }
    })
}

/// 404 in the envelope of the API whose prefix the path shares, else a plain one.
fn not_found(apis: &[Arc<LoadedApi>], path: &str, rid: &str) -> Response {
    let message = format!("no route matches {path}");
    match apis.iter().filter(|a| path.starts_with(&a.api.prefix)).max_by_key(|a| a.api.prefix.len()) {
        Some(api) => HttpError::new(404, message).render(&api.envelope, rid),
        None => json_bytes(
            StatusCode::NOT_FOUND,
            serde_json::to_vec(&serde_json::json!({"error": message, "requestId": rid})).expect("JSON serialises"),
        ),
    }
}
