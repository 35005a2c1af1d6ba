//! The benchmark's ceiling: a bare axum server answering the benchmarked routes with fixed bytes,
//! rendered once by specmock itself so both send the same bodies. Nothing per request but routing.
//!
//! `cargo run --release --example ceiling -- 4011`

use axum::body::Bytes;
use axum::http::{header, Request};
use axum::routing::get;
use axum::Router;

const ROUTES: [&str; 3] = [
    "/brm/prepayBalanceManagement/v4/transferBalance/0.0.0.1+-event-audit-transfer_balance+332070103776495457",
    "/api/network/v1/enterprises/7a72d96a-03b1-4f1f-a16f-5d13f5c04757/partners/allocations",
    "/api/network/v1/enterprises/7a72d96a-03b1-4f1f-a16f-5d13f5c04757/partners/balances",
];
const QUERIES: [&str; 3] = ["", "?pageSize=50&types=allocation&statuses=cleared&sortField=quantity", ""];

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(4011);
    let specmock = specmock::MockServer::builder().strict(false).without_admin().start().await;
    let mut app = Router::new();
    for (route, query) in ROUTES.iter().zip(QUERIES) {
        let request = Request::get(format!("{route}{query}"))
            .header(header::HOST, format!("127.0.0.1:{port}"))
            .header(header::AUTHORIZATION, "Bearer demo-token")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = specmock.handle(request).await;
        assert!(response.status().is_success(), "{route}");
        let body: Bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        app =
            app.route(route, get(move || async move { ([(header::CONTENT_TYPE, "application/json")], body.clone()) }));
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    println!("ceiling listening on http://127.0.0.1:{port}");
    axum::serve(listener, app).await.unwrap();
}
