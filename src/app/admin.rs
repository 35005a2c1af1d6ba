//! `/__admin`: the request journal, fixture reload, readiness and the admin API's own OpenAPI.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{json, Value};

use crate::app::journal::Journal;
use crate::app::App;
use crate::http::auth::bearer_token;
use crate::http::switches::Switch;
use crate::openapi::Api;

/// The admin API's document, compiled once.
pub(crate) fn admin_api() -> &'static Api {
    static API: OnceLock<Api> = OnceLock::new();
    API.get_or_init(|| {
        Api::from_text("admin", "spec/admin/specmock-admin.yaml", include_str!("../../spec/admin/specmock-admin.yaml"))
            .expect("the admin spec compiles")
    })
}

/// An `{"error": ...}` body: the shape of specmock's own answers outside the APIs.
pub(crate) fn problem(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Who may use the admin API. Browsers are the threat: the mock runs beside them on developers'
/// laptops, so a page from anywhere must neither read nor drive it.
/// - No CORS headers (the edge adds none here), so no other origin can read an answer.
/// - The Host must be a localhost name, the address listened on, or one given with
///   `--admin-host`: a DNS-rebinding page sends its own name.
/// - A request carrying another origin's `Origin` is refused before it acts.
/// - POST must be `Content-Type: application/json`, which a page cannot send to another origin
///   without a preflight that gets no approval; DELETE is never simple.
/// - With `--admin-token`, everything but health and openapi.json needs the token.
async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if let Err(refusal) = admitted(&app, &req) {
        return refusal;
    }
    next.run(req).await
}

fn admitted(app: &App, req: &Request) -> Result<(), Response> {
    let headers = req.headers();
    let forbidden = |message: String| problem(StatusCode::FORBIDDEN, &message);
    if let Some(host) = headers.get(header::HOST) {
        let host = host.to_str().unwrap_or_default();
        if !app.admin_access.allows(host_name(host)) {
            return Err(forbidden(format!(
                "the admin API answers to localhost names and the address specmock listens on; Host '{}' is not one \
                 (allow it with --admin-host NAME)",
                host.escape_default()
            )));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        let host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or_default();
        if !app.admin_access.allows(host_name(host)) {
            return Err(forbidden(format!(
                "the admin API refuses requests from other origins; Origin '{}' is not this server",
                origin.escape_default()
            )));
        }
    }
    if req.method() == Method::POST {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
        if !json {
            return Err(problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "admin POST needs 'Content-Type: application/json' (the body may be empty), so a web page cannot send it",
            ));
        }
    }
    let path = req.uri().path();
    let open =
        matches!(path, "/__admin/health" | "/__admin/openapi.json" | "/__admin/ui") || path.starts_with("/__admin/ui/");
    if let (Some(token), false) = (&app.admin_access.token, open) {
        let given = bearer_token(headers).ok().flatten();
        if given != Some(token.as_str()) {
            return Err(problem(
                StatusCode::UNAUTHORIZED,
                "the admin API needs 'Authorization: Bearer <admin token>' (--admin-token)",
            ));
        }
    }
    Ok(())
}

/// The name part of `host[:port]` or `[v6]:port`.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(name, _)| name);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The names the admin API answers to.
#[derive(Debug, Default)]
pub(crate) struct AdminAccess {
    /// Bearer token the admin API requires, if any.
    pub(crate) token: Option<String>,
    /// Names allowed beside localhost's (`--admin-host`).
    pub(crate) hosts: Vec<String>,
    /// The address listened on, once bound.
    pub(crate) listening: OnceLock<IpAddr>,
}

impl AdminAccess {
    fn allows(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.');
        if name.eq_ignore_ascii_case("localhost") || name.to_ascii_lowercase().ends_with(".localhost") {
            return true;
        }
        if let Ok(ip) = name.parse::<IpAddr>() {
            return ip.is_loopback() || self.listening.get().is_some_and(|l| !l.is_unspecified() && *l == ip);
        }
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(name))
    }
}

/// The routes under `/__admin`.
pub(crate) fn routes(app: Arc<App>) -> Router {
    Router::new()
        .route("/__admin/health", get(health))
        .route("/__admin/openapi.json", get(openapi))
        .route("/__admin/requests", get(list_requests).delete(clear_requests))
        .route("/__admin/requests/live", get(live_requests))
        .route("/__admin/requests/{seq}", get(one_request))
        .route("/__admin/reset", axum::routing::post(reset))
        .route("/__admin/sessions", get(list_sessions))
        .route("/__admin/sessions/{name}", axum::routing::delete(drop_session))
        .route("/__admin/scenarios", get(list_scenarios).post(add_scenario).delete(clear_scenarios))
        .route("/__admin/scenarios/{id}", axum::routing::delete(remove_scenario))
        .route("/__admin/apis", get(list_apis))
        .route("/__admin/data/{api}/{collection}", get(crate::app::data::records))
        .route("/__admin/ui", get(crate::app::console::redirect))
        .route("/__admin/ui/", get(crate::app::console::page))
        .route("/__admin/ui/{name}", get(crate::app::console::asset))
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

async fn list_scenarios(State(app): State<Arc<App>>) -> Json<Value> {
    Json(app.switches().to_json())
}

async fn add_scenario(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    let switch = match serde_json::from_slice::<Switch>(&body) {
        Ok(switch) => switch,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                &format!(
                    "the body is not a scenario: {e}; expected {{\"operation\": ID, \"status\": N, \"times\": N, ...}}"
                ),
            )
        }
    };
    match app.switch(switch) {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "id": id }))).into_response(),
        Err(message) => problem(StatusCode::BAD_REQUEST, &message),
    }
}

async fn clear_scenarios(State(app): State<Arc<App>>) -> Response {
    app.switches().clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn remove_scenario(
    State(app): State<Arc<App>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    match id.parse::<u64>().ok().filter(|&id| app.switches().remove(id)) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => problem(StatusCode::NOT_FOUND, &format!("no scenario {id} is in force")),
    }
}

async fn list_apis(State(app): State<Arc<App>>) -> Json<Value> {
    Json(crate::app::catalogue::catalogue(&app.apis()))
}

async fn health(State(app): State<Arc<App>>) -> Json<Value> {
    Json(app.health())
}

async fn openapi() -> Json<Value> {
    Json(admin_api().document.clone())
}

async fn list_requests(State(app): State<Arc<App>>, req: Request) -> Response {
    let op = admin_api().operation("listRequests").expect("declared");
    let params = match crate::openapi::params::extract(op, &[], req.uri().query(), req.headers(), &[]) {
        Ok(p) => p,
        Err(message) => return problem(StatusCode::BAD_REQUEST, &message),
    };
    let limit = params.int("limit").unwrap_or(100).max(1) as usize;
    let before = params.int("before").map(|b| b.max(0) as u64);
    let since = params.str("since").and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()).map(|t| t.to_utc());
    let chunks = journal_chunks(app.journal.clone(), before, limit, since);
    let body = axum::body::Body::from_stream(futures_util::stream::iter(chunks.map(Ok::<_, Infallible>)));
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A journal page as JSON, newest first, written 32 entries at a time as the client reads. Each
/// chunk is taken from the journal when it is written, so a reader holds one chunk, never a copy
/// of a journal that may hold 16 MiB; entries that leave the journal meanwhile are not written.
fn journal_chunks(
    journal: Arc<Journal>,
    mut before: Option<u64>,
    mut left: usize,
    since: Option<chrono::DateTime<chrono::Utc>>,
) -> impl Iterator<Item = Bytes> {
    let (mut opened, mut wrote, mut done) = (false, false, false);
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut out = Vec::with_capacity(16 * 1024);
        if !opened {
            out.extend_from_slice(b"{\"requests\":[");
            opened = true;
        }
        let page = journal.page(before, left.min(32), since);
        for entry in &page.requests {
            if wrote {
                out.push(b',');
            }
            wrote = true;
            serde_json::to_writer(&mut out, &**entry).expect("journal entries serialise");
        }
        left -= page.requests.len();
        before = page.next_before;
        if left == 0 || before.is_none() {
            out.extend_from_slice(b"],\"nextBefore\":");
            serde_json::to_writer(&mut out, &before.filter(|_| left == 0)).expect("a number serialises");
            out.push(b'}');
            done = true;
        }
        Some(Bytes::from(out))
    })
}

/// New journal entries as they come, one JSON object a line (NDJSON), until the client goes:
/// each without its headers and bodies, which `/__admin/requests/{seq}` gives. Read it with
/// `fetch` and a stream reader, which can send the admin token in a header (an EventSource could
/// only put it in the URL).
///
/// Lines go out in batches, at most every [`LIVE_BATCH`], each at most [`LIVE_ROWS`] of the
/// newest entries and a line `{"skipped": N}` for the rest, which the journal still holds.
/// Woken, written and serialised per entry, an open console cut the transfer route's throughput
/// to 0.7x (bench/live.sh); batched and capped, the feed's cost is bounded per second, not per
/// request, and a person cannot read 2,000 rows a second anyway.
async fn live_requests(State(app): State<Arc<App>>) -> Response {
    let feed = app.journal.follow();
    let lines = futures_util::stream::unfold(feed, |mut feed| async move {
        use tokio::sync::broadcast::error::{RecvError, TryRecvError};
        let mut batch: Vec<Arc<crate::app::journal::ReceivedRequest>> = Vec::new();
        let mut missed = 0;
        match feed.entries.recv().await {
            Ok(entry) => batch.push(entry),
            Err(RecvError::Lagged(n)) => missed += n,
            Err(RecvError::Closed) => return None,
        }
        tokio::time::sleep(LIVE_BATCH).await;
        loop {
            match feed.entries.try_recv() {
                Ok(entry) => batch.push(entry),
                Err(TryRecvError::Lagged(n)) => missed += n,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        let skipped = missed as usize + batch.len().saturating_sub(LIVE_ROWS);
        let mut out = Vec::with_capacity(256 * batch.len().min(LIVE_ROWS) + 32);
        if skipped > 0 {
            serde_json::to_writer(&mut out, &json!({ "skipped": skipped })).expect("JSON");
            out.push(b'\n');
        }
        for entry in &batch[batch.len().saturating_sub(LIVE_ROWS)..] {
            serde_json::to_writer(&mut out, &entry.summary()).expect("journal entries serialise");
            out.push(b'\n');
        }
        Some((Ok::<_, Infallible>(Bytes::from(out)), feed))
    });
    (
        [(header::CONTENT_TYPE, "application/x-ndjson"), (header::CACHE_CONTROL, "no-store")],
        axum::body::Body::from_stream(lines),
    )
        .into_response()
}

/// How long the live feed gathers entries before writing them.
const LIVE_BATCH: std::time::Duration = std::time::Duration::from_millis(50);

/// The most entries one batch of the live feed writes: 2,000 a second.
const LIVE_ROWS: usize = 100;

async fn one_request(State(app): State<Arc<App>>, axum::extract::Path(seq): axum::extract::Path<String>) -> Response {
    let Ok(seq) = seq.parse::<u64>() else {
        return problem(StatusCode::BAD_REQUEST, &format!("seq: got {seq:?}; expected a journal sequence number"));
    };
    match app.journal.get(seq) {
        Some(entry) => Json(&*entry).into_response(),
        None => problem(
            StatusCode::NOT_FOUND,
            &format!("request {seq} is not in the journal (it keeps the newest --journal-size entries within --journal-bytes)"),
        ),
    }
}

async fn clear_requests(State(app): State<Arc<App>>) -> Response {
    app.journal.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn list_sessions(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({ "sessions": app.sessions().list() }))
}

async fn drop_session(State(app): State<Arc<App>>, axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    match app.sessions().remove(&name) {
        true => StatusCode::NO_CONTENT.into_response(),
        false => problem(
            StatusCode::NOT_FOUND,
            &format!("no session {name:?} holds writes; GET /__admin/sessions lists them"),
        ),
    }
}

/// Every session back to the fixtures, then specs and fixtures reloaded.
async fn reset(State(app): State<Arc<App>>) -> Response {
    app.reset_sessions();
    let reloaded = tokio::task::spawn_blocking({
        let app = app.clone();
        move || app.reload()
    })
    .await;
    match reloaded {
        Ok(Ok(())) => Json(app.health()).into_response(),
        Ok(Err(e)) => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("reload refused, the last good state keeps serving: {e}"),
        ),
        Err(e) => problem(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
