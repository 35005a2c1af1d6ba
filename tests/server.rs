//! Cross-cutting behaviour: routing errors, CORS, request ids, serving your own spec, the CLI.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn unknown_paths_get_404_in_the_nearest_api_envelope() {
    let oes = get(&format!("{OES}/{DEMO}/partners/settlements")).await;
    assert_eq!(oes.status, 404);
    assert_eq!(oes.body["name"], "NotFoundError");
    let brm = get(&format!("{BRM}/reserveBalance")).await;
    assert_eq!(brm.status, 404);
    assert_eq!(brm.body["@type"], "Error");
    let elsewhere = get("/nothing/here").await;
    assert_eq!(elsewhere.status, 404);
    assert_eq!(elsewhere.body["error"], "no route matches /nothing/here");
}

#[tokio::test]
async fn wrong_methods_get_405_with_allow() {
    for method in ["POST", "DELETE", "PATCH"] {
        let reply = send(method, &format!("{OES}/{DEMO}/partners/allocations"), &[]).await;
        assert_eq!(reply.status, 405, "{method}");
        assert_eq!(reply.header("allow"), Some("GET, PUT"));
        assert_eq!(reply.body["name"], "MethodNotAllowedError");
    }
}

#[tokio::test]
async fn cors_lets_browser_frontends_call() {
    let preflight = send(
        "OPTIONS",
        &format!("{BRM}/bucket"),
        &[
            ("origin", "http://localhost:3000"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "authorization"),
        ],
    )
    .await;
    assert_eq!(preflight.status, 204);
    // The page's own origin is named back, credentials allowed, so fetch(..., {credentials: 'include'}) works.
    assert_eq!(preflight.header("access-control-allow-origin"), Some("http://localhost:3000"));
    assert_eq!(preflight.header("access-control-allow-credentials"), Some("true"));
    assert!(preflight.headers.get_all("vary").iter().any(|v| v == "origin"));
    // Browsers do not let `*` cover Authorization: the headers asked for are named back.
    assert_eq!(preflight.header("access-control-allow-headers"), Some("authorization"));
    assert_eq!(preflight.header("access-control-allow-methods"), Some("GET"));
    let simple = send(
        "GET",
        &format!("{BRM}/bucket?limit=1"),
        &[("origin", "http://localhost:3000"), ("authorization", "Bearer demo-token")],
    )
    .await;
    assert_eq!(simple.header("access-control-allow-origin"), Some("http://localhost:3000"));
    let exposed = simple.header("access-control-expose-headers").unwrap();
    assert!(exposed.contains("x-total-count"), "X-Total-Count must be readable with credentials too: {exposed}");
    let no_origin = send("GET", &format!("{BRM}/bucket?limit=1"), &[("authorization", "Bearer demo-token")]).await;
    assert_eq!(no_origin.header("access-control-allow-origin"), Some("*"));
    assert_eq!(no_origin.header("access-control-allow-credentials"), None);
    // A preflight for a method the route does not serve gets the route's 405, approving nothing.
    let refused = send(
        "OPTIONS",
        &format!("{BRM}/bucket"),
        &[("origin", "http://localhost:3000"), ("access-control-request-method", "DELETE")],
    )
    .await;
    assert_eq!(refused.status, 405);
    assert_eq!(refused.header("allow"), Some("GET"));
    assert_eq!(refused.header("access-control-allow-methods"), None);
    assert_eq!(refused.body["@type"], "Error", "in the API's own envelope");
}

#[tokio::test]
async fn the_admin_api_is_neither_readable_nor_drivable_cross_origin() {
    let evil = [("origin", "http://evil.example"), ("host", "127.0.0.1:4010")];
    let read = send("GET", "/__admin/requests", &evil).await;
    assert_eq!(read.status, 403);
    assert!(read.body["error"].as_str().unwrap().contains("'http://evil.example'"), "{:?}", read.body);
    assert_eq!(read.header("access-control-allow-origin"), None);
    // Even answers it gives carry no CORS headers, so no other origin can read them.
    let health =
        send("GET", "/__admin/health", &[("host", "localhost:4010"), ("origin", "http://localhost:4010")]).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.header("access-control-allow-origin"), None);
    let preflight = send(
        "OPTIONS",
        "/__admin/reset",
        &[("host", "localhost:4010"), ("origin", "http://evil.example"), ("access-control-request-method", "POST")],
    )
    .await;
    assert_ne!(preflight.status / 100, 2);
    assert_eq!(preflight.header("access-control-allow-methods"), None);
    // DNS rebinding: the page's own name arrives as Host.
    let rebound = send("GET", "/__admin/requests", &[("host", "evil.example:4010")]).await;
    assert_eq!(rebound.status, 403);
    assert!(rebound.body["error"].as_str().unwrap().contains("--admin-host"));
    for host in ["localhost:4010", "127.0.0.1:4010", "[::1]:4010", "app.localhost"] {
        assert_eq!(send("GET", "/__admin/health", &[("host", host)]).await.status, 200, "{host}");
    }
    // A form post is a simple request a page may send anywhere: it is refused before it acts.
    let form = send("POST", "/__admin/reset", &[("host", "localhost"), ("content-type", "text/plain")]).await;
    assert_eq!(form.status, 415);
}

#[tokio::test]
async fn odd_hosts_and_authorization_headers_are_refused_in_the_api_envelope() {
    for host in ["mock\ttest", "user@mock.test", "mock test", "a:b:c"] {
        let reply =
            send("GET", &balances("pageSize=1"), &[("authorization", "Bearer demo-token"), ("host", host)]).await;
        assert_eq!(reply.status, 400, "{host:?}");
        assert_eq!(reply.body["name"], "InvalidRequestError", "{:?}", reply.body);
        assert!(reply.body["error"].as_str().unwrap().contains("expected host[:port]"), "{:?}", reply.body);
    }
    let upper = send("GET", &balances("pageSize=1"), &[("authorization", "BEARER demo-token")]).await;
    assert_eq!(upper.status, 200, "auth schemes are case-insensitive");
    let twice = send(
        "GET",
        &balances("pageSize=1"),
        &[("authorization", "Bearer demo-token"), ("authorization", "Bearer other")],
    )
    .await;
    assert_eq!(twice.status, 400);
    let plus = send("GET", &balances("pageNumber=+1"), &[("authorization", "Bearer demo-token")]).await;
    assert_eq!(plus.status, 400);
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let given =
        send("GET", &balances("pageSize=1"), &[("authorization", "Bearer demo-token"), ("x-request-id", "trace-123")])
            .await;
    assert_eq!(given.header("x-request-id"), Some("trace-123"));
    let error =
        send("GET", &balances("pageSize=0"), &[("authorization", "Bearer demo-token"), ("x-request-id", "trace-456")])
            .await;
    assert_eq!(error.body["requestId"], "trace-456");
    let a = get(&balances("pageSize=1")).await;
    let b = get(&balances("pageSize=1")).await;
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"));
    // An empty or overlong id is replaced by a made one, which the error body carries too.
    let long = "x".repeat(201);
    let replaced =
        send("GET", &balances("pageSize=0"), &[("authorization", "Bearer demo-token"), ("x-request-id", &long)]).await;
    let made = replaced.header("x-request-id").unwrap();
    assert_eq!(made.len(), 36, "a UUID: {made}");
    assert_eq!(replaced.body["requestId"], made);
}

#[tokio::test]
async fn delays_are_honoured_and_bad_preferences_refused() {
    let started = std::time::Instant::now();
    let slow =
        send("GET", &balances("pageSize=1"), &[("authorization", "Bearer demo-token"), ("prefer", "delay=120")]).await;
    assert_eq!(slow.status, 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(120));
    let bad = send("GET", &balances(""), &[("prefer", "delay=soon")]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body["error"].as_str().unwrap().contains("delay=\"soon\""));
}

#[tokio::test]
async fn hostile_input_never_panics_or_500s() {
    let nasty = [
        format!("{OES}/%FF%FE/partners/balances"),
        format!("{OES}/{DEMO}/partners/allocations?pageSize=%00"),
        format!("{OES}/{DEMO}/partners/allocations?statuses=%E2%80%8B"),
        format!("{OES}/{DEMO}/partners/allocations?sortField=quantity&sortField=id"),
        format!("{OES}/{DEMO}/partners/allocations?pageNumber=99999999999999999999999"),
        format!("{BRM}/accumulatedBalance/%2e%2e%2f%2e%2e?fields=,,,"),
        format!("{BRM}/accumulatedBalance?limit=1&offset=18446744073709551615"),
        format!("{BRM}/transferBalance?fields=none,id"),
    ];
    for uri in nasty {
        let reply = get(&uri).await;
        assert!(reply.status < 500, "{uri}: {}", reply.status);
    }
}

#[tokio::test]
async fn your_own_spec_answers_from_its_examples() {
    let dir = std::env::temp_dir().join(format!("specmock-own-spec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("pets.yaml");
    std::fs::write(
        &spec,
        r#"openapi: 3.0.3
info: { title: Pets, version: "1" }
servers: [{ url: "https://pets.example/v1" }]
paths:
  /pets/{id}:
    get:
      operationId: getPet
      parameters:
        - { name: id, in: path, required: true, schema: { type: integer, minimum: 1 } }
      responses:
        "200":
          description: A pet
          content:
            application/json:
              schema: { type: object, required: [name], properties: { name: { type: string } } }
              examples:
                rex: { value: { name: Rex } }
        "404":
          description: No such pet
"#,
    )
    .unwrap();
    let server = specmock::MockServer::builder().spec(spec).start().await;
    let http = reqwest::Client::new();
    let ok = http.get(format!("{}/v1/pets/7", server.uri())).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<serde_json::Value>().await.unwrap(), json!({"name": "Rex"}));
    let bad = http.get(format!("{}/v1/pets/0", server.uri())).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let body = bad.json::<serde_json::Value>().await.unwrap();
    assert_eq!(body["detail"], "id: got 0; expected an integer of at least 1");
    let forced = http.get(format!("{}/v1/pets/7", server.uri())).header("prefer", "code=404").send().await.unwrap();
    assert_eq!(forced.status(), 404);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_cli_checks_bundled_data_and_explains_bad_flags() {
    let bin = env!("CARGO_BIN_EXE_specmock");
    let check = std::process::Command::new(bin).arg("check").output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(out.contains("ok  oes-partners") && out.contains("ok  prepay-balance"), "{out}");
    let missing = std::process::Command::new(bin).args(["check", "--spec", "/no/such.yaml"]).output().unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/no/such.yaml"));
    let bad_api = std::process::Command::new(bin).args(["fixtures", "generate", "--api", "nope"]).output().unwrap();
    assert!(String::from_utf8_lossy(&bad_api.stderr).contains("possible values: oes-partners, prepay-balance"));
}

#[test]
fn serve_prints_the_base_url_and_a_curl_line_per_route() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_specmock"))
        .args(["serve", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("specmock listening on http://127.0.0.1:"), "{first}");
    let port: u16 = first.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(port, 0);
    let curls: Vec<String> =
        lines.map_while(Result::ok).take_while(|_| true).filter(|l| l.contains("curl -s")).take(8).collect();
    child.kill().ok();
    child.wait().ok();
    assert_eq!(curls.len(), 8, "one per operation");
    assert!(curls[0].contains("Authorization: Bearer demo-token"));
}

#[tokio::test]
async fn an_openapi_3_1_spec_loads_with_json_schema_types() {
    let text = r#"openapi: 3.1.0
info: { title: Notes, version: "1" }
paths:
  /notes:
    get:
      operationId: listNotes
      parameters:
        - { name: tag, in: query, schema: { type: [string, "null"], enum: [work, home] } }
      responses:
        "200":
          description: Notes
          content:
            application/json:
              schema: { type: array, items: { type: string } }
              example: [buy milk]
"#;
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("notes.yaml");
    std::fs::write(&spec, text).unwrap();
    let server = specmock::MockServer::builder().spec(spec).start().await;
    let http = reqwest::Client::new();
    let ok = http.get(format!("{}/notes?tag=work", server.uri())).send().await.unwrap();
    assert_eq!(ok.json::<serde_json::Value>().await.unwrap(), json!(["buy milk"]));
    let bad = http.get(format!("{}/notes?tag=gym", server.uri())).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(
        bad.json::<serde_json::Value>().await.unwrap()["detail"],
        "tag: got \"gym\"; expected one of work, home"
    );
}

#[tokio::test]
async fn bundled_data_reloads_the_same_after_its_pages_are_released() {
    // Each load hands the embedded files' pages back to the kernel; the next load reads them again.
    let body = |server: specmock::MockServer| async move {
        let request = axum::http::Request::get(format!("{BRM}/transferBalance?limit=3&offset=7"))
            .header("authorization", "Bearer demo-token")
            .header("host", "mock.test:4010")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = server.handle(request).await;
        assert_eq!(response.status(), 200);
        axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap()
    };
    let first = body(specmock::MockServer::start().await).await;
    let again = body(specmock::MockServer::start().await).await;
    assert!(first.len() > 1000, "three transfer balances");
    assert_eq!(first, again);
}

#[tokio::test]
async fn each_api_document_is_published_for_client_generators() {
    let index = get("/__specmock/apis").await;
    assert_eq!(index.status, 200);
    let names: Vec<&str> = index.body["apis"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["oes-partners", "prepay-balance"]);
    assert_eq!(index.body["apis"][0]["json"], "http://mock.test:4010/__specmock/apis/oes-partners/openapi.json");
    for name in names {
        let json =
            send("GET", &format!("/__specmock/apis/{name}/openapi.json"), &[("origin", "http://localhost:5173")]).await;
        assert_eq!(json.status, 200, "{name}");
        assert_eq!(json.header("access-control-allow-origin"), Some("http://localhost:5173"), "readable cross-origin");
        let server = json.body["servers"][0]["url"].as_str().unwrap();
        let expected = if name == "prepay-balance" {
            "http://mock.test:4010/brm/prepayBalanceManagement/v4"
        } else {
            "http://mock.test:4010"
        };
        assert_eq!(server, expected, "generated clients call this server");
        assert!(json.body["paths"].as_object().unwrap().len() >= 2);
        let request = axum::http::Request::get(format!("/__specmock/apis/{name}/openapi.yaml"))
            .header("host", "mock.test:4010")
            .body(axum::body::Body::empty())
            .unwrap();
        let yaml = server_handle(request).await;
        let parsed: serde_json::Value = serde_saphyr::from_str(&yaml).expect("the YAML form parses");
        assert_eq!(parsed, json.body, "{name}: YAML and JSON say the same");
    }
    let root = get("/").await;
    assert_eq!(root.status, 302, "the root leads to the console and says what is here rather than 404");
    assert_eq!(root.body["apis"], index.body["apis"]);
    assert_eq!(root.body["console"], "http://mock.test:4010/__admin/ui/");
    let missing = get("/__specmock/apis/pets/openapi.json").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body["error"].as_str().unwrap().contains("oes-partners, prepay-balance"));
    assert_eq!(send("POST", "/__specmock/apis", &[]).await.status, 405);
}

async fn server_handle(request: axum::http::Request<axum::body::Body>) -> String {
    let response = server().handle(request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/yaml");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}
