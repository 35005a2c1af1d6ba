//! Serving a request: the router, each operation's pipeline and its steps (scenario, auth,
//! parameters, answer from the store or a declared response, content negotiation), the error
//! envelope, CORS, and the edge every request passes first.

mod answer;
pub(crate) mod auth;
mod body;
mod cors;
pub(crate) mod edge;
pub(crate) mod error;
mod mock;
mod negotiate;
pub(crate) mod pipeline;
mod router;
pub(crate) mod scenario;
mod security;
pub(crate) mod switches;
mod written;

use axum::http::HeaderMap;

pub(crate) use answer::{base_url, request_origin};
pub(crate) use router::routes;
use scenario::Faults;

/// How the server behaves beyond the specs.
#[derive(Debug, Default)]
pub(crate) struct ServeOptions {
    /// Check every response against its operation; a violation becomes a 500 carrying the report.
    pub(crate) strict: bool,
    /// Latency and failure injection.
    pub(crate) faults: Faults,
    /// Refuse a query parameter the operation does not declare (400) instead of noting it.
    pub(crate) reject_unknown_params: bool,
    /// Scenario switches in force.
    pub(crate) switches: switches::Switches,
    /// What clients wrote, by session.
    pub(crate) sessions: crate::state::Sessions,
}

/// The request's id, as the edge set it.
pub(crate) fn request_id(headers: &HeaderMap) -> &str {
    headers.get(&edge::REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default()
}
