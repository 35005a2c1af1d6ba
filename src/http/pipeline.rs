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
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;

use crate::contract::{conformance, Finding};
use crate::http::answer::{answer, base_url};
use crate::http::auth::{authenticate, authorize};
use crate::http::error::{problem, HttpError, Refused};
use crate::http::mock;
use crate::http::scenario::Prefer;
use crate::http::{body, security};
use crate::http::{request_id, ServeOptions};
use crate::load::LoadedApi;
use crate::openapi::params::{extract, undeclared_message, undeclared_query_params, ParamValues};
use crate::openapi::{Operation, ResponseSpec};

/// The operation that answered a request, set on the response for the journal.
#[derive(Clone, Debug)]
pub(crate) struct Matched(pub(crate) Arc<str>, pub(crate) QuerySecrets);

/// The query parameters of an operation that carry credentials (its apiKey-in-query schemes),
/// for the journal and the log to mask; None for most, which then pay nothing.
pub(crate) type QuerySecrets = Option<Arc<[Box<str>]>>;

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
    /// Whether the document's security schemes or a request body are checked before the
    /// parameters: false for the bundled read routes, which skip the step.
    checks_first: bool,
    /// Whether the behaviour file makes the operation a write.
    writes: bool,
}

impl Endpoint {
    pub(crate) fn new(api: Arc<LoadedApi>, op: usize, options: Arc<ServeOptions>) -> Endpoint {
        let operation = &api.api.operations[op];
        let mut secrets: Vec<Box<str>> = Vec::new();
        for scheme in operation.security.iter().flatten() {
            let crate::openapi::Credential::ApiKey(crate::openapi::Location::Query, name) = &scheme.credential else {
                continue;
            };
            if !secrets.iter().any(|s| &**s == name) {
                secrets.push(name.as_str().into());
            }
        }
        let matched = Matched(operation.id.as_str().into(), (!secrets.is_empty()).then(|| secrets.into()));
        let aliases = api.bindings.get(&api.api.operations[op].id).map_or_else(Vec::new, |b| b.param_aliases.clone());
        let operation = &api.api.operations[op];
        let checks_first = operation.request_body.is_some() || (api.auth.is_none() && operation.secured);
        let writes = api.writes.contains_key(&operation.id);
        Endpoint { api, op, options, matched, aliases, checks_first, writes }
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
    let (parts, body) = req.into_parts();
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
            match forced(&endpoint, &prefer, &parts.headers, &base, rid) {
                Some(response) => response,
                None => {
                    let checked = match endpoint.checks_first {
                        true => check_security_and_body(&endpoint, &parts, body).await,
                        false => Ok(serde_json::Value::Null),
                    };
                    checked
                        .and_then(|body| respond(&endpoint, &parts, path, &body, &base, rid, &mut all_declared))
                        .unwrap_or_else(|refusal| refuse(&endpoint, refusal, &parts.headers, &base, rid))
                }
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

/// The document's own security schemes (where no behaviour file checks identities), then the
/// request body: only for operations that have either.
async fn check_security_and_body(
    endpoint: &Endpoint,
    parts: &Parts,
    body: axum::body::Body,
) -> Result<serde_json::Value, HttpError> {
    let op = endpoint.op();
    match &endpoint.api.auth {
        None => security::check(op, &parts.headers, parts.uri.query())?,
        // Who is calling comes before what they sent, as on the reads: a 401 before a 400.
        Some(rules) if op.secured => drop(authenticate(&endpoint.api.identities, rules, &parts.headers)?),
        Some(_) => {}
    }
    body::check(op, &parts.headers, body).await
}

/// A refused request's response. With a behaviour file's envelope, in that envelope. Else as
/// the document declares it: 400, or the 422 an operation declares without a 400; the body of
/// the response declared for that status (its example, or one built from its schema, with the
/// finding where the schema has room for a message); else RFC 9457 problem+json. The finding
/// always goes to the log line and the journal.
fn refuse(endpoint: &Endpoint, refusal: HttpError, headers: &HeaderMap, base: &[u8], rid: &str) -> Response {
    let (api, op) = (&*endpoint.api, endpoint.op());
    if api.envelope.declared() {
        return refusal.render(&api.envelope, rid);
    }
    let status = match refusal.status {
        400 if !op.responses.contains_key(&400) && op.responses.contains_key(&422) => 422,
        other => other,
    };
    // A refusal is sent whatever the request accepts: its declared media type when none fits.
    let no_accept = HeaderMap::new();
    let mut response = op
        .response_for(status)
        .filter(|r| !r.content.is_empty())
        .and_then(|spec| {
            let answer = |headers| {
                mock::respond(api, spec, status, &mock::Asked { headers, base, rid }, None, Some(&refusal.message))
            };
            answer(headers).or_else(|_| answer(&no_accept)).ok()
        })
        .unwrap_or_else(|| problem(status, &refusal.message, rid));
    if let Some(challenge) = refusal.challenge.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    }
    let detail = refusal.detail.as_deref().unwrap_or(&refusal.message);
    let finding = Finding {
        pointer: String::new(),
        rule: format!("{} {} request", op.method, op.path),
        message: detail.to_string(),
    };
    response.extensions_mut().insert(Findings(vec![finding]));
    response.extensions_mut().insert(Refused);
    response
}

/// Authenticate, validate, authorise, then write or answer.
fn respond(
    endpoint: &Endpoint,
    parts: &Parts,
    path: Result<RawPathParams, RawPathParamsRejection>,
    body: &serde_json::Value,
    base: &[u8],
    rid: &str,
    all_declared: &mut bool,
) -> Result<Response, HttpError> {
    let (api, op) = (&*endpoint.api, endpoint.op());
    let caller = match (op.secured, &api.auth) {
        (true, Some(rules)) => Some(authenticate(&api.identities, rules, &parts.headers)?),
        _ => None,
    };
    let params = validate(endpoint, parts, path)?;
    *all_declared = params.all_declared;
    // Looked up only for the operations that write: reads pay nothing for it.
    let write = if endpoint.writes { api.writes.get(&op.id) } else { None };
    let tenant = match (&api.auth, caller) {
        (Some(rules), Some(index)) => {
            authorize(rules, &api.identities.identities[index], &params, &api.store, write.is_some())?
        }
        _ => None,
    };
    let session = crate::state::session_of(&parts.headers)?;
    let sessions = &endpoint.options.sessions;
    if let Some(write) = write {
        let user = caller.and_then(|i| api.identities.identities.get(i)).map(|i| i.user.as_str());
        let asked = crate::http::written::Asked { params: &params, body, base, headers: &parts.headers, session, user };
        return crate::http::written::write(api, op, write, &asked, sessions);
    }
    let tenant = tenant
        .zip(api.auth.as_ref().and_then(|a| a.tenant.as_ref()))
        .and_then(|(index, rule)| api.store.collection(&rule.collection).map(|c| (index, &c.records[index as usize])));
    let asked = crate::http::answer::Asked { params: &params, tenant, base, headers: &parts.headers, rid };
    match sessions.touched() {
        false => answer(api, op, &asked, None),
        true => {
            let mut answered = None;
            sessions.read(session, &api.api.name, &mut |changes| answered = Some(answer(api, op, &asked, changes)));
            answered.expect("read calls back once")
        }
    }
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
    // The router names captures by position; the operation knows their names.
    let names = &op.path_names;
    let no_route = || HttpError::new(404, format!("no route matches {}", parts.uri.path()));
    let mut values: Vec<(&str, &str)> = Vec::with_capacity(names.len());
    for (capture, (_, value)) in names.iter().zip(path.iter()) {
        capture.split(value, &mut values).ok_or_else(no_route)?;
    }
    let path = values;
    // An empty segment is not a value for a template's parameter: no route matches.
    if path.iter().any(|(_, v)| v.is_empty()) {
        return Err(no_route());
    }
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
    if fail && endpoint.op().response_for(500).is_some() {
        prefer.code = Some(500);
        prefer.example = None;
    }
    Ok((delay + prefer.delay.unwrap_or_default(), prefer))
}

/// The response a `Prefer` header forces, if any: `code=N` picks the response that covers N
/// (its own, its range's or `default`), `example=NAME` one of its examples.
fn forced(endpoint: &Endpoint, prefer: &Prefer, headers: &HeaderMap, base: &[u8], rid: &str) -> Option<Response> {
    let (api, op) = (&*endpoint.api, endpoint.op());
    let refuse = |message: String| Some(HttpError::bad_request(message).render(&api.envelope, rid));
    let named = |r: &ResponseSpec, name: &str| r.content.iter().any(|m| m.examples.iter().any(|(n, _)| n == name));
    let (status, spec) = match (prefer.code, &prefer.example) {
        (Some(code), _) => match op.response_for(code) {
            Some(spec) => (code, spec),
            None => {
                return refuse(format!(
                    "Prefer: code={code} is not declared by {}; declared: {}",
                    op.id,
                    op.declared_statuses()
                ))
            }
        },
        (None, Some(name)) => match op.all_responses().find(|r| named(r, name)) {
            Some(spec) => (spec.status, spec),
            None => {
                let names: Vec<&str> = op
                    .all_responses()
                    .flat_map(|r| r.content.iter().flat_map(|m| m.examples.iter().map(|(n, _)| n.as_str())))
                    .collect();
                return refuse(format!(
                    "Prefer: example={name} is not an example of {}; expected one of: {}",
                    op.id,
                    names.join(", ")
                ));
            }
        },
        (None, None) => return None,
    };
    // Data answers a bound read's and a write's success: `code=201` on a create still creates.
    let from_data = api.bindings.contains_key(&op.id) || api.writes.contains_key(&op.id);
    if prefer.example.is_none() && (200..300).contains(&status) && from_data {
        return None;
    }
    // An API with its own error envelope answers an error status without examples in it.
    if prefer.example.is_none() && status >= 400 && api.envelope.declared() && spec.examples().is_empty() {
        return Some(HttpError::new(status, spec.description.clone()).render(&api.envelope, rid));
    }
    Some(
        mock::respond(api, spec, status, &mock::Asked { headers, base, rid }, prefer.example.as_deref(), None)
            .unwrap_or_else(|refusal| refusal.render(&api.envelope, rid)),
    )
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
    if response.extensions().get::<Refused>().is_some() && op.response_for(response.status().as_u16()).is_none() {
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
