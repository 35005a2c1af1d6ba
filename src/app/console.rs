//! `/__admin/ui/`: the web console's files, embedded so it works with no network. Swagger UI
//! (swagger-ui-dist, vendored under `console/vendor/`) renders the docs and Try-it; the rest
//! is a page of plain JavaScript over the admin API.
//!
//! The files are open without the admin token (they hold no data; the page asks for the token
//! and sends it on every admin call), but the admin guard's Host and Origin rules still apply.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::admin::problem;

/// Where the console lives.
pub(crate) const HOME: &str = "/__admin/ui/";

/// The embedded files: name, media type, bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    ("index.html", "text/html; charset=utf-8", include_bytes!("../../console/index.html")),
    ("console.js", "text/javascript; charset=utf-8", include_bytes!("../../console/console.js")),
    ("console.css", "text/css; charset=utf-8", include_bytes!("../../console/console.css")),
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../console/vendor/swagger-ui/swagger-ui-bundle.js"),
    ),
    ("swagger-ui.css", "text/css; charset=utf-8", include_bytes!("../../console/vendor/swagger-ui/swagger-ui.css")),
];

/// Scripts, styles and connections from this server only; Swagger UI sets inline styles. No
/// framing, so a page elsewhere cannot overlay the console.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// `/__admin/ui`: to the console.
pub(crate) async fn redirect() -> Response {
    (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, HOME)]).into_response()
}

/// `/__admin/ui/`: the page.
pub(crate) async fn page() -> Response {
    file("index.html")
}

/// `/__admin/ui/{name}`: one of its files.
pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    file(&name)
}

fn file(name: &str) -> Response {
    let Some((_, media_type, bytes)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        let names: Vec<&str> = FILES.iter().map(|(n, _, _)| *n).collect();
        return problem(
            StatusCode::NOT_FOUND,
            &format!("the console has no file {name:?}; it has {}", names.join(", ")),
        );
    };
    let mut response = (*bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
