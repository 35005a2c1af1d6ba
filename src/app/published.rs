//! `/__specmock/apis`: each served API's OpenAPI document, JSON or YAML, with `servers` set to
//! this server, so `npx openapi-typescript http://127.0.0.1:4010/__specmock/apis/oes-partners/openapi.json`
//! makes types for a client that calls the mock. Public and readable cross-origin, like the APIs.

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::app::admin::problem;
use crate::app::App;
use crate::http::request_origin;

/// The path prefix of the published documents.
pub(crate) const PREFIX: &str = "/__specmock/";

/// Whether this server answers `path` here: under [`PREFIX`], or the root when no served spec
/// has a route there.
pub(crate) fn answers(app: &App, path: &str) -> bool {
    path.starts_with(PREFIX)
        || (path == "/" && !app.apis().iter().any(|a| a.api.operations.iter().any(|o| o.route == "/")))
}

/// Answers a request under [`PREFIX`], or the root.
pub(crate) fn answer(app: &App, method: &Method, path: &str, headers: &axum::http::HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut refused = problem(StatusCode::METHOD_NOT_ALLOWED, &format!("{path} answers GET only"));
        refused.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return refused;
    }
    let origin = match request_origin(headers) {
        Ok(origin) => origin,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &e.message),
    };
    let apis = app.apis();
    let listing = || -> Vec<Value> {
        apis.iter()
            .map(|a| {
                let at = format!("{origin}{PREFIX}apis/{}", a.api.name);
                json!({
                    "name": a.api.name,
                    "title": a.api.title,
                    "json": format!("{at}/openapi.json"),
                    "yaml": format!("{at}/openapi.yaml"),
                })
            })
            .collect()
    };
    if path == "/" {
        // The root, when no served spec claims it: a browser goes on to the console; curl reads
        // what is here instead of a bare 404.
        let console = app.admin_served().then(|| format!("{origin}{}", crate::app::console::HOME));
        let here = json!({ "specmock": env!("CARGO_PKG_VERSION"), "apis": listing(), "console": console });
        let mut answer = axum::Json(here).into_response();
        if app.admin_served() {
            *answer.status_mut() = StatusCode::FOUND;
            answer.headers_mut().insert(header::LOCATION, HeaderValue::from_static(crate::app::console::HOME));
        }
        return answer;
    }
    let rest = path.strip_prefix(PREFIX).and_then(|p| p.strip_prefix("apis")).unwrap_or("-");
    if rest.is_empty() || rest == "/" {
        return axum::Json(json!({ "apis": listing() })).into_response();
    }
    let found = rest.strip_prefix('/').and_then(|r| r.split_once('/')).and_then(|(name, file)| {
        let api = apis.iter().find(|a| a.api.name == name)?;
        Some((api, file))
    });
    let names: Vec<&str> = apis.iter().map(|a| a.api.name.as_str()).collect();
    match found {
        Some((api, "openapi.json")) => axum::Json(api.api.published(&origin)).into_response(),
        Some((api, "openapi.yaml")) => match serde_saphyr::to_string(&api.api.published(&origin)) {
            Ok(yaml) => ([(header::CONTENT_TYPE, "application/yaml")], yaml).into_response(),
            Err(e) => problem(StatusCode::INTERNAL_SERVER_ERROR, &format!("the document does not write as YAML: {e}")),
        },
        _ => problem(
            StatusCode::NOT_FOUND,
            &format!(
                "no published document at {path}; expected {PREFIX}apis/NAME/openapi.json or .yaml, NAME one of {}",
                names.join(", ")
            ),
        ),
    }
}
