//! `/__admin`: the request journal, fixture reload, readiness and the admin API's own OpenAPI.

use std::sync::{Arc, OnceLock};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::app::App;
use crate::openapi::Api;

/// The admin API's document, compiled once.
pub(crate) fn admin_api() -> &'static Api {
    static API: OnceLock<Api> = OnceLock::new();
    API.get_or_init(|| {
        Api::from_text("admin", "spec/admin/specmock-admin.yaml", include_str!("../../spec/admin/specmock-admin.yaml"))
            .expect("the admin spec compiles")
    })
}

fn problem(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn authorised(app: &App, req: &Request) -> Result<(), Response> {
    let Some(token) = &app.admin_token else { return Ok(()) };
    let given =
        req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if given == Some(token.as_str()) {
        Ok(())
    } else {
        Err(problem(
            StatusCode::UNAUTHORIZED,
            "the admin API needs 'Authorization: Bearer <admin token>' (--admin-token)",
        ))
    }
}

/// The routes under `/__admin`.
pub(crate) fn routes(app: Arc<App>) -> Router {
    Router::new()
        .route("/__admin/health", get(health))
        .route("/__admin/openapi.json", get(openapi))
        .route("/__admin/requests", get(list_requests).delete(clear_requests))
        .route("/__admin/reset", axum::routing::post(reset))
        .with_state(app)
}

async fn health(State(app): State<Arc<App>>) -> Json<Value> {
    Json(app.health())
}

async fn openapi() -> Json<Value> {
    Json(admin_api().document.clone())
}

async fn list_requests(State(app): State<Arc<App>>, req: Request) -> Response {
    if let Err(denied) = authorised(&app, &req) {
        return denied;
    }
    let op = admin_api().operation("listRequests").expect("declared");
    let params = match crate::openapi::params::extract(op, &[], req.uri().query(), req.headers(), &[]) {
        Ok(p) => p,
        Err(message) => return problem(StatusCode::BAD_REQUEST, &message),
    };
    let limit = params.int("limit").unwrap_or(100).max(1) as usize;
    let since = params.str("since").and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()).map(|t| t.to_utc());
    Json(json!({ "requests": app.journal.recent(limit, since) })).into_response()
}

async fn clear_requests(State(app): State<Arc<App>>, req: Request) -> Response {
    if let Err(denied) = authorised(&app, &req) {
        return denied;
    }
    app.journal.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn reset(State(app): State<Arc<App>>, req: Request) -> Response {
    if let Err(denied) = authorised(&app, &req) {
        return denied;
    }
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
