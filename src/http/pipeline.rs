//! One operation's pipeline, in Prism's order of named steps: scenario (`Prefer`, faults),
//! authentication, parameter validation, authorisation, the answer, then strict conformance.
//! Each step may answer early with an [`HttpError`] in the API's envelope.
//!
//! The steps are plain functions called from one handler rather than six `from_fn` layers: each
//! layer boxed a future, cloned its inner service and stashed its result in the request's
//! extensions, and together they cost about a third of the transfer route's throughput.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use crate::contract::{conformance, Finding};
use crate::http::answer::{answer, base_url, example_response};
use crate::http::auth::{authenticate, authorize};
use crate::http::error::{HttpError, Refused};
use crate::http::scenario::Prefer;
use crate::http::{request_id, ServeOptions};
use crate::load::LoadedApi;
use crate::openapi::params::{extract, undeclared_message, undeclared_query_params, ParamValues};
use crate::openapi::Operation;

/// The operation that answered a request, set on the response for the journal.
#[derive(Clone, Debug)]
pub(crate) struct Matched(pub(crate) Arc<str>);

/// What strict validation found in a response, set on the response for the journal.
#[derive(Clone, Debug, Default)]
pub(crate) struct Findings(pub(crate) Vec<Finding>);

/// One operation of one API, resolved when the router is built.
pub(crate) struct Endpoint {
    api: Arc<LoadedApi>,
    op: usize,
    options: Arc<ServeOptions>,
    /// The operationId, for the journal.
    matched: Matched,
    /// Other wire spellings of its parameters (`type` for `@type`), looked up once here rather
    /// than hashed per request.
    aliases: Vec<(String, String)>,
}

impl Endpoint {
    pub(crate) fn new(api: Arc<LoadedApi>, op: usize, options: Arc<ServeOptions>) -> Endpoint {
        let matched = Matched(api.api.operations[op].id.as_str().into());
        let aliases = api.bindings.get(&api.api.operations[op].id).map_or_else(Vec::new, |b| b.param_aliases.clone());
        Endpoint { api, op, options, matched, aliases }
    }

    fn op(&self) -> &Operation {
        &self.api.api.operations[self.op]
    }
}

/// The handler every operation's route calls.
pub(crate) async fn serve(
    State(endpoint): State<Arc<Endpoint>>,
    path: Result<RawPathParams, RawPathParamsRejection>,
    req: Request,
) -> Response {
    let (parts, _body) = req.into_parts();
    let rid = request_id(&parts.headers);
    // Set when validation saw every query parameter declared, which spares a second pass.
    let mut all_declared = false;
    let response = match base_url(&endpoint.api, &parts.headers)
        .and_then(|base| Ok((base, scenario(&endpoint, &parts.headers)?)))
    {
        Err(refusal) => refusal.render(&endpoint.api.envelope, rid),
        Ok((base, (delay, prefer))) => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            match forced(&endpoint, &prefer, &base, rid) {
                Some(response) => response,
                None => respond(&endpoint, &parts, path, &base, &mut all_declared)
                    .unwrap_or_else(|refusal| refusal.render(&endpoint.api.envelope, rid)),
            }
        }
    };
    let mut response = conform(&endpoint, response, rid).await;
    response.extensions_mut().insert(endpoint.matched.clone());
    let undeclared = if all_declared { Vec::new() } else { undeclared_findings(&endpoint, parts.uri.query()) };
    if !undeclared.is_empty() {
        match response.extensions_mut().get_mut::<Findings>() {
            Some(found) => found.0.extend(undeclared),
            None => drop(response.extensions_mut().insert(Findings(undeclared))),
        }
    }
    response
}

/// Authenticate, validate, authorise, answer.
fn respond(
    endpoint: &Endpoint,
    parts: &Parts,
    path: Result<RawPathParams, RawPathParamsRejection>,
    base: &[u8],
    all_declared: &mut bool,
) -> Result<Response, HttpError> {
    let (api, op) = (&*endpoint.api, endpoint.op());
    let caller = match (op.secured, &api.auth) {
        (true, Some(rules)) => Some(authenticate(&api.identities, rules, &parts.headers)?),
        _ => None,
    };
    let params = validate(endpoint, parts, path)?;
    *all_declared = params.all_declared;
    let tenant = match (&api.auth, caller) {
        (Some(rules), Some(index)) => authorize(rules, &api.identities.identities[index], &params, &api.store)?,
        _ => None,
    };
    let tenant = tenant
        .zip(api.auth.as_ref().and_then(|a| a.tenant.as_ref()))
        .and_then(|(index, rule)| api.store.collection(&rule.collection).map(|c| (index, &c.records[index as usize])));
    answer(api, op, &params, tenant, base)
}

/// Parameters read and checked against the spec; a bad one is a 400 naming it.
fn validate(
    endpoint: &Endpoint,
    parts: &Parts,
    path: Result<RawPathParams, RawPathParamsRejection>,
) -> Result<ParamValues, HttpError> {
    let op = endpoint.op();
    let path = path.map_err(|rejection| {
        HttpError::bad_request(format!("the path could not be read: {}", rejection.body_text()))
    })?;
    let path: Vec<(&str, &str)> = path.iter().collect();
    let aliases = endpoint.aliases.as_slice();
    if endpoint.options.reject_unknown_params {
        if let Some((name, closest)) = undeclared_query_params(op, parts.uri.query(), aliases).into_iter().next() {
            return Err(HttpError::bad_request(undeclared_message(op, &name, closest.as_deref())));
        }
    }
    extract(op, &path, parts.uri.query(), &parts.headers, aliases).map_err(HttpError::bad_request)
}

/// A finding for each query parameter the operation does not declare: a typo such as
/// `?pagesize=1` is otherwise silently ignored, as the real services ignore it.
fn undeclared_findings(endpoint: &Endpoint, query: Option<&str>) -> Vec<Finding> {
    let op = endpoint.op();
    let aliases = endpoint.aliases.as_slice();
    undeclared_query_params(op, query, aliases)
        .into_iter()
        .map(|(name, closest)| Finding {
            pointer: String::new(),
            rule: format!("{} {} parameters", op.method, op.path),
            message: undeclared_message(op, &name, closest.as_deref()),
        })
        .collect()
}

/// `Prefer: code=N`, `example=NAME` and `delay=MS`, with the server-wide faults drawn in: the
/// delay to wait and what the caller prefers, or why the `Prefer` header is malformed.
fn scenario(endpoint: &Endpoint, headers: &HeaderMap) -> Result<(Duration, Prefer), HttpError> {
    let mut prefer = Prefer::parse(headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()))
        .map_err(HttpError::bad_request)?;
    let (mut delay, mut fail) = endpoint.options.faults.draw();
    // A switch applies to every caller and wins over the caller's own Prefer.
    if let Some(switched) = endpoint.options.switches.take(&endpoint.op().id) {
        if switched.status.is_some() || switched.example.is_some() {
            (prefer.code, prefer.example) = (switched.status, switched.example);
        }
        delay += switched.delay;
        fail |= switched.fail;
    }
    if fail && endpoint.op().responses.contains_key(&500) {
        prefer.code = Some(500);
        prefer.example = None;
    }
    Ok((delay + prefer.delay.unwrap_or_default(), prefer))
}

/// The response a `Prefer` header forces, if any.
fn forced(endpoint: &Endpoint, prefer: &Prefer, base: &[u8], rid: &str) -> Option<Response> {
    let (api, op) = (&*endpoint.api, endpoint.op());
    let refuse = |message: String| Some(HttpError::bad_request(message).render(&api.envelope, rid));
    if let Some(name) = &prefer.example {
        let found = op
            .responses
            .values()
            .filter(|r| prefer.code.is_none_or(|c| c == r.status))
            .find_map(|r| r.examples.iter().find(|(n, _)| n == name).map(|(_, v)| (r.status, v)));
        return match found {
            Some((status, value)) => Some(documented(api, status, value, base, rid)),
            None => {
                let names: Vec<&str> =
                    op.responses.values().flat_map(|r| r.examples.iter().map(|(n, _)| n.as_str())).collect();
                refuse(format!(
                    "Prefer: example={name} is not an example of {}; expected one of: {}",
                    op.id,
                    names.join(", ")
                ))
            }
        };
    }
    let code = prefer.code?;
    let Some(response) = op.responses.get(&code) else {
        let declared = op.responses.keys().map(u16::to_string).collect::<Vec<_>>().join(", ");
        return refuse(format!("Prefer: code={code} is not declared by {}; declared: {declared}", op.id));
    };
    if (200..300).contains(&code) && api.bindings.contains_key(&op.id) {
        return None;
    }
    Some(match response.examples.first() {
        Some((_, value)) => documented(api, code, value, base, rid),
        None => HttpError::new(code, response.description.clone()).render(&api.envelope, rid),
    })
}

/// A documented example as the response, an error example carrying this request's id.
fn documented(api: &LoadedApi, status: u16, example: &Value, base: &[u8], rid: &str) -> Response {
    let mut value = example.clone();
    if status >= 400 {
        api.envelope.refresh_request_id(&mut value, rid);
    }
    example_response(api, status, &value, base)
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
    if response.extensions().get::<Refused>().is_some() && !op.responses.contains_key(&response.status().as_u16()) {
        let finding = Finding {
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
    let findings = conformance::check(op, parts.status.as_u16(), &parts.headers, &bytes);
    if findings.is_empty() {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    let report = conformance::describe(op, parts.status.as_u16(), &findings);
    let mut failed = HttpError::new(500, format!("strict mode: {report}"))
        .with_detail(format!("strict: {report}"))
        .render(&endpoint.api.envelope, rid);
    failed.extensions_mut().insert(Findings(findings));
    failed
}
