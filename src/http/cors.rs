//! CORS for the served APIs, so a browser app on another port can call the mock with a bearer
//! token or cookies: any origin may read API responses (its own origin is named back, with
//! credentials allowed), and a preflight is approved only for a method its route serves. `/__admin` gets none of it (see `app::admin`).

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;

/// Response headers a page may read: `*` covers requests without credentials; with credentials
/// browsers take `*` literally, so the usual paging and tracing headers are named too.
const EXPOSED: &str = "*, x-total-count, x-result-count, x-request-id, link, location, retry-after";

/// Adds the headers that let any origin read an API response.
pub(crate) fn allow_any_origin(headers: &mut HeaderMap) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED));
}

/// Adds the headers that let `origin` read an API response, credentials included: browsers
/// refuse `*` for a request made with credentials.
pub(crate) fn allow_origin(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED));
    headers.append(header::VARY, HeaderValue::from_static("origin"));
}

/// A CORS preflight: `OPTIONS` from a browser asking whether a method may be used.
pub(crate) fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The answer to a preflight for a route serving `allowed` (its `Allow` list): 204 approving the
/// method and the headers asked for (`Authorization` included), or None when the route does not
/// serve that method, which the caller refuses as it refuses the method itself.
pub(crate) fn preflight(asked: &HeaderMap, allowed: &str) -> Option<Response> {
    let method = asked.get(header::ACCESS_CONTROL_REQUEST_METHOD)?;
    let wanted = method.to_str().ok()?;
    if !allowed.split(", ").any(|m| m == wanted) {
        return None;
    }
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, method.clone());
    if let Some(requested) = asked.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
    }
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    headers.insert(
        header::VARY,
        HeaderValue::from_static("access-control-request-method, access-control-request-headers"),
    );
    Some(response)
}
