//! The axum router: one route per spec path, each method answered by an [`Endpoint`] that runs
//! the request through the pipeline's steps in order: scenario (`Prefer`, faults), authentication,
//! parameter validation, authorisation, the answer, then strict conformance. Request ids and CORS
//! come from the edge layer around everything ([`crate::edge`]).
//!
//! The steps are plain functions called from one handler rather than six `from_fn` layers: each
//! layer boxed a future, cloned its inner service and stashed its result in the request's
//! extensions, and together they cost about a third of the transfer route's throughput.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, Request, State};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter};
use axum::Router;

use crate::answer::{answer, base_url, example_response, json_bytes};
use crate::auth::authorize;
use crate::journal::{Findings, Matched};
use crate::params::{extract, ParamValues};
use crate::runtime::ApiRuntime;
use crate::scenario::{Faults, Prefer};
use crate::spec::Operation;

pub use crate::edge::REQUEST_ID;

/// How the server behaves beyond the specs.
#[derive(Debug, Default)]
pub struct ServeOptions {
    /// Check every response against its operation; a violation becomes a 500 carrying the report.
    pub strict: bool,
    /// Latency and failure injection.
    pub faults: Faults,
}

/// A service with the edge every request passes: request ids and CORS.
pub type Edge<S> = crate::edge::Edge<S>;

/// The APIs' router inside the edge: what a test can call in-process.
pub fn router(apis: Vec<Arc<ApiRuntime>>, options: Arc<ServeOptions>) -> Edge<Router> {
    edge(routes(apis, options))
}

/// Wraps a service in request ids and CORS. The edge sits outside the router, not on each
/// route, so it is built once per connection rather than boxed per request.
pub fn edge<S>(inner: S) -> Edge<S> {
    crate::edge::Edge::new(inner)
}

/// One route per spec path, each method answered by its operation's [`Endpoint`]; 404 and 405
/// in the owning API's envelope. Expects the edge around it for request ids.
pub fn routes(apis: Vec<Arc<ApiRuntime>>, options: Arc<ServeOptions>) -> Router {
    let mut routes: BTreeMap<String, (Arc<ApiRuntime>, Vec<(Method, usize)>)> = BTreeMap::new();
    for api in &apis {
        for (i, op) in api.api.operations.iter().enumerate() {
            let Ok(method) = Method::from_bytes(op.method.as_bytes()) else { continue };
            routes.entry(op.route.clone()).or_insert_with(|| (api.clone(), Vec::new())).1.push((method, i));
        }
    }
    let mut router = Router::new();
    for (route, (api, ops)) in routes {
        let allow = ops.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>().join(", ");
        let mut methods: MethodRouter = MethodRouter::new();
        for (method, op) in ops {
            let Ok(filter) = MethodFilter::try_from(method) else { continue };
            let endpoint = Arc::new(Endpoint::new(api.clone(), op, options.clone()));
            methods = methods.on_service(filter, serve.with_state(endpoint));
        }
        let fallback_api = api.clone();
        methods = methods.fallback(move |req: Request| {
            let api = fallback_api.clone();
            let allow = allow.clone();
            async move {
                let message = format!("{} is not allowed on {}; allowed: {allow}", req.method(), req.uri().path());
                let mut response = error(&api, 405, &message, request_id(req.headers()));
                if let Ok(v) = HeaderValue::from_str(&allow) {
                    response.headers_mut().insert(header::ALLOW, v);
                }
                response
            }
        });
        router = router.route(&route, methods);
    }
    let fallback_apis = apis.clone();
    router.fallback(move |req: Request| {
        let apis = fallback_apis.clone();
        async move { not_found(&apis, req.uri().path(), request_id(req.headers())) }
    })
}

/// The request's id, as the edge set it.
fn request_id(headers: &HeaderMap) -> &str {
    headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

fn not_found(apis: &[Arc<ApiRuntime>], path: &str, rid: &str) -> Response {
    let message = format!("no route matches {path}");
    match apis.iter().filter(|a| path.starts_with(&a.api.prefix)).max_by_key(|a| a.api.prefix.len()) {
        Some(api) => error(api, 404, &message, rid),
        None => json_bytes(
            StatusCode::NOT_FOUND,
            serde_json::to_vec(&serde_json::json!({"error": message, "requestId": rid})).unwrap(),
        ),
    }
}

/// Marks a response specmock made to refuse a request, rather than one the spec's data produced.
#[derive(Clone, Copy)]
struct Refusal;

/// An error response in the API's own envelope.
fn error(api: &ApiRuntime, status: u16, message: &str, rid: &str) -> Response {
    let body = api.envelope.body(status, message, rid);
    let mut response = json_bytes(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        serde_json::to_vec(&body).expect("a JSON value serialises"),
    );
    response.extensions_mut().insert(Refusal);
    response
}

/// One operation of one API, resolved when the router is built.
struct Endpoint {
    api: Arc<ApiRuntime>,
    op: usize,
    options: Arc<ServeOptions>,
    /// The operationId, for the journal.
    matched: Matched,
}

impl Endpoint {
    fn new(api: Arc<ApiRuntime>, op: usize, options: Arc<ServeOptions>) -> Endpoint {
        let matched = Matched(api.api.operations[op].id.as_str().into());
        Endpoint { api, op, options, matched }
    }

    fn op(&self) -> &Operation {
        &self.api.api.operations[self.op]
    }
}

/// The pipeline: every step may answer early with a refusal in the API's envelope.
async fn serve(
    State(endpoint): State<Arc<Endpoint>>,
    path: Result<RawPathParams, RawPathParamsRejection>,
    req: Request,
) -> Response {
    let (parts, _body) = req.into_parts();
    let rid = request_id(&parts.headers);
    let response = match scenario(&endpoint, &parts.headers) {
        Err(message) => error(&endpoint.api, 400, &message, rid),
        Ok((delay, prefer)) => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            match forced(&endpoint, &prefer, &parts.headers, rid) {
                Some(response) => response,
                None => respond(&endpoint, &parts, path)
                    .unwrap_or_else(|(status, message)| error(&endpoint.api, status, &message, rid)),
            }
        }
    };
    let mut response = conform(&endpoint, response, rid).await;
    response.extensions_mut().insert(endpoint.matched.clone());
    response
}

/// Authenticate, validate, authorise, answer.
fn respond(
    endpoint: &Endpoint,
    parts: &Parts,
    path: Result<RawPathParams, RawPathParamsRejection>,
) -> Result<Response, (u16, String)> {
    let (api, op) = (&*endpoint.api, endpoint.op());
    let caller = match (op.secured, &api.auth) {
        (true, Some(rules)) => {
            let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            Some(api.identities.authenticate(rules, header).map_err(|r| (r.status, r.message))?)
        }
        _ => None,
    };
    let params = validate(endpoint, parts, path)?;
    let tenant = match (&api.auth, caller) {
        (Some(rules), Some(index)) => authorize(rules, &api.identities.identities[index], &params, &api.store)
            .map_err(|r| (r.status, r.message))?,
        _ => None,
    };
    let tenant = tenant
        .zip(api.auth.as_ref().and_then(|a| a.tenant.as_ref()))
        .and_then(|(index, rule)| api.store.collection(&rule.collection).map(|c| (index, &c.records[index as usize])));
    answer(api, op, &params, tenant, &parts.headers).map_err(|r| (r.status, r.message))
}

/// Parameters read and checked against the spec; a bad one is a 400 naming it.
fn validate(
    endpoint: &Endpoint,
    parts: &Parts,
    path: Result<RawPathParams, RawPathParamsRejection>,
) -> Result<ParamValues, (u16, String)> {
    let (api, op) = (&*endpoint.api, endpoint.op());
    let path = path.map_err(|rejection| (400, format!("the path could not be read: {}", rejection.body_text())))?;
    let path: Vec<(&str, &str)> = path.iter().collect();
    let aliases = api.bindings.get(&op.id).map_or(&[][..], |b| b.param_aliases.as_slice());
    extract(op, &path, parts.uri.query(), &parts.headers, aliases).map_err(|e| (400, e.message))
}

/// `Prefer: code=N`, `example=NAME` and `delay=MS`, with the server-wide faults drawn in: the
/// delay to wait and what the caller prefers, or why the `Prefer` header is malformed.
fn scenario(endpoint: &Endpoint, headers: &HeaderMap) -> Result<(Duration, Prefer), String> {
    let mut prefer = Prefer::parse(headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()))?;
    let (delay, fail) = endpoint.options.faults.draw();
    if fail && endpoint.op().responses.contains_key(&500) {
        prefer.code = Some(500);
        prefer.example = None;
    }
    Ok((delay + prefer.delay.unwrap_or_default(), prefer))
}

/// The response a `Prefer` header forces, if any.
fn forced(endpoint: &Endpoint, prefer: &Prefer, headers: &HeaderMap, rid: &str) -> Option<Response> {
    let (api, op) = (&*endpoint.api, endpoint.op());
    let declared = || op.responses.keys().map(u16::to_string).collect::<Vec<_>>().join(", ");
    if let Some(name) = &prefer.example {
        let found = op
            .responses
            .values()
            .filter(|r| prefer.code.is_none_or(|c| c == r.status))
            .find_map(|r| r.examples.iter().find(|(n, _)| n == name).map(|(_, v)| (r.status, v)));
        return Some(match found {
            Some((status, value)) => {
                let mut value = value.clone();
                if status >= 400 {
                    api.envelope.refresh_request_id(&mut value, rid);
                }
                example_response(api, status, &value, &base_url(api, headers))
            }
            None => {
                let names: Vec<&str> =
                    op.responses.values().flat_map(|r| r.examples.iter().map(|(n, _)| n.as_str())).collect();
                error(
                    api,
                    400,
                    &format!(
                        "Prefer: example={name} is not an example of {}; expected one of: {}",
                        op.id,
                        names.join(", ")
                    ),
                    rid,
                )
            }
        });
    }
    let code = prefer.code?;
    let Some(response) = op.responses.get(&code) else {
        return Some(error(
            api,
            400,
            &format!("Prefer: code={code} is not declared by {}; declared: {}", op.id, declared()),
            rid,
        ));
    };
    if (200..300).contains(&code) && api.bindings.contains_key(&op.id) {
        return None;
    }
    Some(match response.examples.first() {
        Some((_, value)) => {
            let mut value = value.clone();
            if code >= 400 {
                api.envelope.refresh_request_id(&mut value, rid);
            }
            example_response(api, code, &value, &base_url(api, headers))
        }
        None => error(api, code, &response.description, rid),
    })
}

/// In strict mode, checks the response against the operation: a violation becomes a 500 that
/// carries the report, and both are journalled.
async fn conform(endpoint: &Endpoint, response: Response, rid: &str) -> Response {
    if !endpoint.options.strict {
        return response;
    }
    let op = endpoint.op();
    // A refusal with a status the spec does not declare (a 400 for a spec without one) is the
    // spec's gap, not a fixture bug: it is journalled, not turned into a 500.
    if response.extensions().get::<Refusal>().is_some() && !op.responses.contains_key(&response.status().as_u16()) {
        let finding = crate::schema::Finding {
            pointer: String::new(),
            rule: format!("{} {} responses", op.method, op.path),
            message: format!(
                "specmock refused the request with {}, which {} does not declare",
                response.status().as_u16(),
                op.id
            ),
        };
        tracing::warn!(operation = %op.id, "{}", finding.message);
        let mut response = response;
        response.extensions_mut().insert(Findings(vec![finding]));
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let findings = crate::conformance::check(op, parts.status.as_u16(), &parts.headers, &bytes);
    if findings.is_empty() {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    let report = crate::conformance::describe(op, parts.status.as_u16(), &findings);
    tracing::error!(operation = %op.id, "strict: {report}");
    let mut failed = error(&endpoint.api, 500, &format!("strict mode: {report}"), rid);
    failed.extensions_mut().insert(Findings(findings));
    failed
}
