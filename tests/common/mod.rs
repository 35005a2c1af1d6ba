//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::Request;
use serde_json::Value;

pub const DEMO: &str = "7a72d96a-03b1-4f1f-a16f-5d13f5c04757";
pub const UNLICENSED: &str = "5b875f84-aab1-4bd8-b27a-a567e1e4bbab";
pub const UNKNOWN: &str = "dc978412-7a96-4ea4-8444-94272e142bea";
pub const OES: &str = "/api/network/v1/enterprises";
pub const BRM: &str = "/brm/prepayBalanceManagement/v4";

/// A response as a test sees it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The bundled APIs behind the same stack users get (edge, admin API, journal), strict as every
/// test runs, started once per test binary on a runtime of its own so it outlives each test's.
pub fn server() -> &'static specmock::MockServer {
    static SERVER: OnceLock<specmock::MockServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                tx.send(specmock::MockServer::start().await).unwrap();
                std::future::pending::<()>().await
            })
        });
        rx.recv().expect("the bundled APIs load")
    })
}

/// Sends a request through the router in-process.
pub async fn send(method: &str, uri: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        request = request.header("host", "mock.test:4010");
    }
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = server().handle(request.body(Body::empty()).unwrap()).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("every body is JSON") };
    Reply { status, headers, body }
}

/// Sends a JSON body with the demo token, in `session` (None: the default session).
pub async fn send_json(method: &str, uri: &str, session: Option<&str>, body: &Value) -> Reply {
    let session: Vec<(&str, &str)> = session.map(|s| ("x-specmock-session", s)).into_iter().collect();
    send_json_with(method, uri, &session, body).await
}

/// Sends a JSON body with the demo token and these headers.
pub async fn send_json_with(method: &str, uri: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "mock.test:4010")
        .header("authorization", "Bearer demo-token")
        .header("content-type", "application/json");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = server().handle(request.body(Body::from(serde_json::to_vec(body).unwrap())).unwrap()).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("every body is JSON") };
    Reply { status, headers, body }
}

/// GET with the demo token, in `session`.
pub async fn get_in(session: &str, uri: &str) -> Reply {
    send("GET", uri, &[("authorization", "Bearer demo-token"), ("x-specmock-session", session)]).await
}

/// GET with the demo token.
pub async fn get(uri: &str) -> Reply {
    send("GET", uri, &[("authorization", "Bearer demo-token")]).await
}

/// GET with the given token (None sends no Authorization header).
pub async fn get_as(uri: &str, token: Option<&str>) -> Reply {
    match token {
        Some(t) => send("GET", uri, &[("authorization", &format!("Bearer {t}"))]).await,
        None => send("GET", uri, &[]).await,
    }
}

/// Snapshot settings: stored under snapshots/, request ids redacted.
pub fn snapshots() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.add_redaction(".requestId", "[request-id]");
    settings
}

pub fn allocations(extra: &str) -> String {
    format!("{OES}/{DEMO}/partners/allocations?{extra}")
}

pub fn balances(extra: &str) -> String {
    format!("{OES}/{DEMO}/partners/balances?{extra}")
}

/// Every allocation the filter query matches, walking pages of `size`.
pub async fn walk_allocations(query: &str, size: usize) -> Vec<Value> {
    let mut all = Vec::new();
    for page in 0.. {
        let reply = get(&allocations(&format!("{query}&pageSize={size}&pageNumber={page}"))).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let items = reply.body["allocations"].as_array().unwrap().clone();
        let done = items.len() < size;
        all.extend(items);
        if done {
            break;
        }
    }
    all
}
