//! The axum router: one route per spec path, and the layers every request passes through:
//! request id and CORS for all; then, per operation, scenario (Prefer), authentication,
//! parameter validation and authorisation before the thin answering handler.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Request};
use axum::handler::Handler;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter};
use axum::{Extension, Router};
use tower::ServiceBuilder;
use tower_http::cors::{Any, CorsLayer};

use crate::answer::{answer, base_url, example_response, json_bytes};
use crate::auth::authorize;
use crate::params::{extract, ParamValues};
use crate::runtime::ApiRuntime;
use crate::journal::{Findings, Matched};
use crate::scenario::{Faults, Prefer};
use crate::spec::Operation;

/// The header carrying each request's id, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// The id of the request being served.
#[derive(Clone, Debug)]
pub struct RequestId(pub Arc<str>);

/// The operation a route serves, and its API.
#[derive(Clone)]
struct Target {
    api: Arc<ApiRuntime>,
    op: usize,
}

impl Target {
    fn op(&self) -> &Operation {
        &self.api.api.operations[self.op]
    }
}

/// The caller: an index into the API's identities.
#[derive(Clone, Copy)]
struct Caller(usize);

/// The tenant record a request addresses (its index), when the API has tenants.
#[derive(Clone, Copy)]
struct Tenant(Option<u32>);

/// How the server behaves beyond the specs.
#[derive(Debug, Default)]
pub struct ServeOptions {
    /// Check every response against its operation; a violation becomes a 500 carrying the report.
    pub strict: bool,
    /// Latency and failure injection.
    pub faults: Faults,
}

/// Builds the router for a set of loaded APIs.
pub fn router(apis: Vec<Arc<ApiRuntime>>, options: Arc<ServeOptions>) -> Router {
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
            let stack = ServiceBuilder::new()
                .layer(Extension(Target { api: api.clone(), op }))
                .layer(Extension(options.clone()))
                .layer(middleware::from_fn(conform))
                .layer(middleware::from_fn(scenario))
                .layer(middleware::from_fn(authenticate))
                .layer(middleware::from_fn(validate))
                .layer(middleware::from_fn(authorise));
            methods = methods.on(filter, handle.layer(stack));
        }
        let fallback_api = api.clone();
        methods = methods.fallback(move |Extension(rid): Extension<RequestId>, req: Request| {
            let api = fallback_api.clone();
            let allow = allow.clone();
            async move {
                let message = format!("{} is not allowed on {}; allowed: {allow}", req.method(), req.uri().path());
                let mut response = error(&api, 405, &message, &rid);
                if let Ok(v) = HeaderValue::from_str(&allow) {
                    response.headers_mut().insert(header::ALLOW, v);
                }
                response
            }
        });
        router = router.route(&route, methods);
    }
    let fallback_apis = apis.clone();
    router
        .fallback(move |Extension(rid): Extension<RequestId>, req: Request| {
            let apis = fallback_apis.clone();
            async move { not_found(&apis, req.uri().path(), &rid) }
        })
        .layer(middleware::from_fn(request_id))
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods(Any)
                .allow_headers(Any)
                .expose_headers(Any),
        )
}

fn not_found(apis: &[Arc<ApiRuntime>], path: &str, rid: &RequestId) -> Response {
    let message = format!("no route matches {path}");
    match apis.iter().filter(|a| path.starts_with(&a.api.prefix)).max_by_key(|a| a.api.prefix.len()) {
        Some(api) => error(api, 404, &message, rid),
        None => json_bytes(
            StatusCode::NOT_FOUND,
            serde_json::to_vec(&serde_json::json!({"error": message, "requestId": &*rid.0})).unwrap(),
        ),
    }
}

/// Marks a response specmock made to refuse a request, rather than one the spec's data produced.
#[derive(Clone, Copy)]
struct Refusal;

/// An error response in the API's own envelope.
fn error(api: &ApiRuntime, status: u16, message: &str, rid: &RequestId) -> Response {
    let body = api.envelope.body(status, message, &rid.0);
    let mut response = json_bytes(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        serde_json::to_vec(&body).expect("a JSON value serialises"),
    );
    response.extensions_mut().insert(Refusal);
    response
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Gives every request an id (the caller's `X-Request-Id`, or a new one) and echoes it.
async fn request_id(mut req: Request, next: Next) -> Response {
    let id: Arc<str> = match req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()) {
        Some(given) if !given.is_empty() && given.len() <= 200 => given.into(),
        _ => {
            static PID: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
            let pid = *PID.get_or_init(|| std::process::id() as u64);
            let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            uuid::Uuid::from_u64_pair(0x5eec_0000_0000_4000 | pid << 16, 0x8000_0000_0000_0000 | n)
                .to_string()
                .into()
        }
    };
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    response
}

/// Names the operation on the response and, in strict mode, checks the response against it.
async fn conform(Extension(t): Extension<Target>, Extension(options): Extension<Arc<ServeOptions>>, Extension(rid): Extension<RequestId>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let op = t.op();
    // A refusal with a status the spec does not declare (a 400 for a spec without one) is the
    // spec's gap, not a fixture bug: it is journalled, not turned into a 500.
    let undeclared_refusal = response.extensions().get::<Refusal>().is_some() && !op.responses.contains_key(&response.status().as_u16());
    if options.strict && undeclared_refusal {
        let finding = crate::schema::Finding {
            pointer: String::new(),
            rule: format!("{} {} responses", op.method, op.path),
            message: format!("specmock refused the request with {}, which {} does not declare", response.status().as_u16(), op.id),
        };
        tracing::warn!(operation = %op.id, "{}", finding.message);
        response.extensions_mut().insert(Findings(vec![finding]));
    } else if options.strict {
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
        let findings = crate::conformance::check(op, parts.status.as_u16(), &parts.headers, &bytes);
        response = if findings.is_empty() {
            Response::from_parts(parts, axum::body::Body::from(bytes))
        } else {
            let report = crate::conformance::describe(op, parts.status.as_u16(), &findings);
            tracing::error!(operation = %op.id, "strict: {report}");
            let mut failed = error(&t.api, 500, &format!("strict mode: {report}"), &rid);
            failed.extensions_mut().insert(Findings(findings));
            failed
        };
    }
    response.extensions_mut().insert(Matched(op.id.as_str().into()));
    response
}

/// `Prefer: code=N`, `example=NAME` and `delay=MS`, and the server-wide faults.
async fn scenario(Extension(t): Extension<Target>, Extension(options): Extension<Arc<ServeOptions>>, Extension(rid): Extension<RequestId>, req: Request, next: Next) -> Response {
    let mut prefer = match Prefer::parse(req.headers().get_all("prefer").iter().filter_map(|v| v.to_str().ok())) {
        Ok(p) => p,
        Err(message) => return error(&t.api, 400, &message, &rid),
    };
    let (delay, fail) = options.faults.draw();
    let delay = delay + prefer.delay.unwrap_or_default();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if fail && t.op().responses.contains_key(&500) {
        prefer.code = Some(500);
        prefer.example = None;
    }
    match forced(&t, &prefer, req.headers(), &rid) {
        Some(response) => response,
        None => next.run(req).await,
    }
}

fn forced(t: &Target, prefer: &Prefer, headers: &HeaderMap, rid: &RequestId) -> Option<Response> {
    let op = t.op();
    let api = &t.api;
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
                    api.envelope.refresh_request_id(&mut value, &rid.0);
                }
                example_response(api, status, &value, &base_url(api, headers))
            }
            None => {
                let names: Vec<&str> = op
                    .responses
                    .values()
                    .flat_map(|r| r.examples.iter().map(|(n, _)| n.as_str()))
                    .collect();
                error(api, 400, &format!("Prefer: example={name} is not an example of {}; expected one of: {}", op.id, names.join(", ")), rid)
            }
        });
    }
    let code = prefer.code?;
    let Some(response) = op.responses.get(&code) else {
        return Some(error(api, 400, &format!("Prefer: code={code} is not declared by {}; declared: {}", op.id, declared()), rid));
    };
    if (200..300).contains(&code) && api.bindings.contains_key(&op.id) {
        return None;
    }
    Some(match response.examples.first() {
        Some((_, value)) => {
            let mut value = value.clone();
            if code >= 400 {
                api.envelope.refresh_request_id(&mut value, &rid.0);
            }
            example_response(api, code, &value, &base_url(api, headers))
        }
        None => error(api, code, &response.description, rid),
    })
}

/// Who is calling: a missing or unknown token is refused before anything else is checked.
async fn authenticate(Extension(t): Extension<Target>, Extension(rid): Extension<RequestId>, mut req: Request, next: Next) -> Response {
    if let (true, Some(rules)) = (t.op().secured, &t.api.auth) {
        let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        match t.api.identities.authenticate(rules, header) {
            Ok(index) => {
                req.extensions_mut().insert(Caller(index));
            }
            Err(refusal) => return error(&t.api, refusal.status, &refusal.message, &rid),
        }
    }
    next.run(req).await
}

/// Parameters read and checked against the spec; a bad one is a 400 naming it.
async fn validate(Extension(t): Extension<Target>, Extension(rid): Extension<RequestId>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let path: Vec<(String, String)> = match <Path<Vec<(String, String)>> as FromRequestParts<()>>::from_request_parts(&mut parts, &()).await {
        Ok(Path(pairs)) => pairs,
        Err(rejection) => {
            return error(&t.api, 400, &format!("the path could not be read: {}", rejection.body_text()), &rid);
        }
    };
    let aliases = t.api.bindings.get(&t.op().id).map_or(&[][..], |b| b.param_aliases.as_slice());
    match extract(t.op(), &path, parts.uri.query(), &parts.headers, aliases) {
        Ok(values) => {
            parts.extensions.insert(Arc::new(values));
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e) => error(&t.api, 400, &e.message, &rid),
    }
}

/// Tenant and permission checks, which need validated parameters.
async fn authorise(Extension(t): Extension<Target>, Extension(rid): Extension<RequestId>, mut req: Request, next: Next) -> Response {
    let mut tenant = None;
    if let (Some(rules), Some(&Caller(index))) = (&t.api.auth, req.extensions().get::<Caller>()) {
        let params = req.extensions().get::<Arc<ParamValues>>().cloned().unwrap_or_default();
        match authorize(rules, &t.api.identities.identities[index], &params, &t.api.store) {
            Ok(found) => tenant = found,
            Err(refusal) => return error(&t.api, refusal.status, &refusal.message, &rid),
        }
    }
    req.extensions_mut().insert(Tenant(tenant));
    next.run(req).await
}

async fn handle(
    Extension(t): Extension<Target>,
    Extension(rid): Extension<RequestId>,
    Extension(params): Extension<Arc<ParamValues>>,
    Extension(tenant): Extension<Tenant>,
    headers: HeaderMap,
) -> Response {
    let tenant = tenant.0.zip(t.api.auth.as_ref().and_then(|a| a.tenant.as_ref())).and_then(|(index, rule)| {
        t.api.store.collection(&rule.collection).map(|c| &c.records[index as usize])
    });
    match answer(&t.api, t.op(), &params, tenant, &headers) {
        Ok(response) => response,
        Err(refused) => error(&t.api, refused.status, &refused.message, &rid),
    }
}
