//! The journal and /__admin, strict mode, faults and hot reload, over real HTTP.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use specmock::MockServer;

const ALLOCATIONS: &str = "/api/network/v1/enterprises/7a72d96a-03b1-4f1f-a16f-5d13f5c04757/partners/allocations";

async fn json_get(http: &reqwest::Client, url: String) -> (u16, Value) {
    let r = http.get(url).bearer_auth("demo-token").send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_journal_lists_recent_requests_newest_first() {
    let server = MockServer::start().await;
    let http = reqwest::Client::new();
    let before = chrono::Utc::now();
    for size in [1, 2, 0] {
        http.get(format!("{}{ALLOCATIONS}?pageSize={size}", server.uri()))
            .bearer_auth("demo-token")
            .header("user-agent", "journal-test/1")
            .send()
            .await
            .unwrap();
    }
    let (status, body) = json_get(&http, format!("{}/__admin/requests?limit=2", server.uri())).await;
    assert_eq!(status, 200);
    let entries = body["requests"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["url"], format!("{ALLOCATIONS}?pageSize=0"));
    assert_eq!(entries[0]["status"], 400);
    assert_eq!(entries[1]["url"], format!("{ALLOCATIONS}?pageSize=2"));
    assert_eq!(entries[0]["operation"], "v1PartnerAllocationsGetRoute");
    assert_eq!(entries[0]["userAgent"], "journal-test/1");
    assert_eq!(entries[0]["method"], "GET");
    assert!(entries[0]["durationMs"].as_f64().unwrap() >= 0.0);
    assert!(entries[0]["findings"].as_array().unwrap().is_empty());
    let since = (before - chrono::Duration::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (_, all) = json_get(&http, format!("{}/__admin/requests?since={since}", server.uri())).await;
    assert_eq!(all["requests"].as_array().unwrap().len(), 3, "admin calls are not journalled");
    let (_, later) = json_get(&http, format!("{}/__admin/requests?since=2999-01-01T00:00:00Z", server.uri())).await;
    assert_eq!(later["requests"], json!([]));
    let (bad, problem) = json_get(&http, format!("{}/__admin/requests?limit=0", server.uri())).await;
    assert_eq!(bad, 400);
    assert!(problem["error"].as_str().unwrap().starts_with("limit: got 0"));
    let cleared = http.delete(format!("{}/__admin/requests", server.uri())).send().await.unwrap();
    assert_eq!(cleared.status(), 204);
    assert!(server.received_requests().is_empty());
}

#[tokio::test]
async fn the_journal_keeps_the_whole_exchange_with_credentials_masked() {
    let server = MockServer::start().await;
    let http = reqwest::Client::new();
    let token = "partner-secret-token-0042";
    let answer = http
        .get(format!("{}{ALLOCATIONS}?pageSize=1", server.uri()))
        .bearer_auth(token)
        .header("origin", "http://app.example")
        .header("x-api-key", "k-123")
        .send()
        .await
        .unwrap();
    let request_id = answer.headers()["x-request-id"].to_str().unwrap().to_string();
    let sent = answer.text().await.unwrap();
    let (_, body) = json_get(&http, format!("{}/__admin/requests?limit=1", server.uri())).await;
    let entry = &body["requests"][0];
    let header = |list: &str, name: &str| {
        entry[list].as_array().unwrap().iter().find(|h| h["name"] == name).map(|h| h["value"].clone())
    };
    assert_eq!(header("requestHeaders", "authorization"), Some(json!("Bearer ****0042")));
    assert_eq!(header("requestHeaders", "x-api-key"), Some(json!("****")));
    assert_eq!(header("requestHeaders", "origin"), Some(json!("http://app.example")));
    assert_eq!(header("responseHeaders", "x-request-id"), Some(json!(request_id)), "as the caller got it");
    assert_eq!(header("responseHeaders", "access-control-allow-origin"), Some(json!("http://app.example")));
    assert_eq!(entry["responseBody"], json!(sent), "the body as sent");
    assert_eq!(entry["requestBody"], Value::Null, "a GET has none");
    let everything = serde_json::to_string(&body).unwrap();
    assert!(!everything.contains(token), "the token never reaches the journal");

    // A body is kept as sent, up to 64 KiB, and the route still gets all of it.
    let long = format!("{{\"note\":\"{}\"}}", "x".repeat(100_000));
    let posted = http
        .post(format!("{}{ALLOCATIONS}", server.uri()))
        .bearer_auth("demo-token")
        .header("content-type", "application/json")
        .body(long.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 405);
    let kept = server.received_requests().pop().unwrap();
    assert_eq!(kept.request_body.len, Some(long.len() as u64));
    assert_eq!(kept.request_body.bytes.len(), 64 * 1024);
    let (_, body) = json_get(&http, format!("{}/__admin/requests?limit=1", server.uri())).await;
    let text = body["requests"][0]["requestBody"].as_str().unwrap();
    assert!(text.ends_with(&format!("…[{} bytes cut]", long.len() - 64 * 1024)), "{}", &text[text.len() - 40..]);
    assert!(body["requests"][0]["responseBody"].as_str().unwrap().contains("not allowed"));
}

#[tokio::test]
async fn the_journal_is_bounded() {
    let server = MockServer::builder().journal_size(5).start().await;
    let http = reqwest::Client::new();
    for _ in 0..12 {
        http.get(format!("{}{ALLOCATIONS}?pageSize=1", server.uri())).bearer_auth("demo-token").send().await.unwrap();
    }
    assert_eq!(server.received_requests().len(), 5);
    let newest: Vec<_> = server.received_requests().into_iter().rev().collect();
    assert_eq!(newest[0].seq, 12);
}

#[tokio::test]
async fn health_openapi_token_and_no_admin() {
    let server = MockServer::builder().admin_token("s3cret").start().await;
    let http = reqwest::Client::new();
    let health: Value =
        http.get(format!("{}/__admin/health", server.uri())).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["apis"].as_array().unwrap().len(), 2);
    let doc: Value =
        http.get(format!("{}/__admin/openapi.json", server.uri())).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["info"]["title"], "specmock admin API");
    assert!(doc["paths"]["/requests"]["get"].is_object());
    let denied = http.get(format!("{}/__admin/requests", server.uri())).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    let allowed = http.get(format!("{}/__admin/requests", server.uri())).bearer_auth("s3cret").send().await.unwrap();
    assert_eq!(allowed.status(), 200);

    let hidden = MockServer::builder().without_admin().start().await;
    let gone = http.get(format!("{}/__admin/health", hidden.uri())).send().await.unwrap();
    assert_eq!(gone.status(), 404);
}

#[tokio::test]
async fn fail_rate_answers_the_documented_500_and_repeats_with_its_seed() {
    let run = |seed| async move {
        let server = MockServer::builder().fail_rate(0.5, seed).start().await;
        let http = reqwest::Client::new();
        let mut statuses = Vec::new();
        for _ in 0..40 {
            let r = http
                .get(format!("{}{ALLOCATIONS}?pageSize=1", server.uri()))
                .bearer_auth("demo-token")
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            if status == 500 {
                let body: Value = r.json().await.unwrap();
                assert_eq!(body["name"], "InternalServerError");
            }
            statuses.push(status);
        }
        statuses
    };
    let first = run(7).await;
    assert_eq!(first, run(7).await, "the same seed fails the same requests");
    let failures = first.iter().filter(|s| **s == 500).count();
    assert!((8..=32).contains(&failures), "{failures} of 40 at 0.5");
    assert!(first.iter().all(|s| *s == 200 || *s == 500));
}

#[tokio::test]
async fn global_delay_and_jitter_slow_every_response() {
    let server =
        MockServer::builder().strict(false).delay(Duration::from_millis(60), Duration::from_millis(40)).start().await;
    let http = reqwest::Client::new();
    let started = Instant::now();
    let r =
        http.get(format!("{}{ALLOCATIONS}?pageSize=1", server.uri())).bearer_auth("demo-token").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(60), "{took:?}");
}

#[tokio::test]
async fn strict_mode_turns_a_response_that_breaks_the_spec_into_a_500_with_the_report() {
    let dir = scratch("strict");
    let spec = dir.join("things.yaml");
    std::fs::write(
        &spec,
        "openapi: 3.0.3\ninfo: {title: Things, version: '1'}\npaths:\n  /things:\n    get:\n      operationId: listThings\n      responses:\n        '200':\n          description: things\n          content:\n            application/json:\n              schema: {type: object, required: [things], properties: {things: {type: string, format: email, maxLength: 3}}}\n",
    )
    .unwrap();
    let server = MockServer::builder().spec(spec).start().await;
    let http = reqwest::Client::new();
    let r = http.get(format!("{}/things", server.uri())).send().await.unwrap();
    assert_eq!(r.status(), 500);
    let body: Value = r.json().await.unwrap();
    let message = body["detail"].as_str().unwrap();
    assert!(message.starts_with("strict mode: listThings /things answered 200 against its spec:"), "{message}");
    // The schema contradicts itself: no email fits in 3 characters, so the body built breaks it.
    assert!(message.contains("at /things: "), "{message}");
    let journal: Vec<_> = server.received_requests().into_iter().rev().collect();
    assert_eq!(journal[0].findings.len(), 1);
    assert_eq!(journal[0].findings[0].pointer, "/things");
    std::fs::remove_dir_all(dir).ok();
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("specmock-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[tokio::test]
async fn reset_and_watch_reload_and_a_bad_reload_keeps_the_last_good_state() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = scratch("reload");
    copy_dir(&root.join("fixtures"), &dir.join("fixtures"));
    let spec = root.join("spec/oes-partners.yaml");
    // --watch polls from the start; the steps below hold whether it or the reset reloads first.
    let server = MockServer::builder()
        .spec(spec)
        .fixtures(dir.join("fixtures"))
        .strict(false)
        .watch(Duration::from_millis(50))
        .start()
        .await;
    let http = reqwest::Client::new();
    let enterprises = dir.join("fixtures/oes-partners/enterprises.json");
    let original = std::fs::read_to_string(&enterprises).unwrap();
    let url =
        format!("{}/api/network/v1/enterprises/5b875f84-aab1-4bd8-b27a-a567e1e4bbab/partners/balances", server.uri());
    assert_eq!(json_get(&http, url.clone()).await.0, 403, "unlicensed at first");

    // POST /__admin/reset picks up a licence.
    std::fs::write(&enterprises, original.replace("\"oesLicensed\":false", "\"oesLicensed\":true")).unwrap();
    // A web page cannot send this: without the JSON content type it is refused before it acts.
    let simple = http.post(format!("{}/__admin/reset", server.uri())).send().await.unwrap();
    assert_eq!(simple.status(), 415);
    assert_eq!(json_get(&http, url.clone()).await.0, 403, "the refused reset did not reload");
    let reset = http.post(format!("{}/__admin/reset", server.uri())).header("content-type", "application/json");
    let reset = reset.send().await.unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(json_get(&http, url.clone()).await.0, 200);

    // A broken file is refused; the last good state keeps serving.
    std::fs::write(&enterprises, original.replace("\"oesLicensed\":false", "\"oesLicensed\":\"maybe\"")).unwrap();
    let refused = http.post(format!("{}/__admin/reset", server.uri())).header("content-type", "application/json");
    let refused = refused.send().await.unwrap();
    assert_eq!(refused.status(), 422);
    let problem: Value = refused.json().await.unwrap();
    let message = problem["error"].as_str().unwrap();
    assert!(message.contains("enterprises.json") && message.contains("/records/1/oesLicensed"), "{message}");
    assert_eq!(json_get(&http, url.clone()).await.0, 200);
    // Health says which load serves and why the last attempt was refused.
    let (_, health) = json_get(&http, format!("{}/__admin/health", server.uri())).await;
    assert!(health["lastAttempt"]["refused"].as_str().unwrap().contains("/records/1/oesLicensed"), "{health}");
    assert_eq!(health["loaded"]["refused"], Value::Null);
    assert!(health["loaded"]["ms"].as_f64().unwrap() > 0.0);
    assert_eq!(health["apis"][0]["fromSnapshot"], false);

    // --watch: a good change is picked up without a call.
    std::fs::write(&enterprises, &original).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while json_get(&http, url.clone()).await.0 != 403 {
        assert!(Instant::now() < deadline, "the watcher did not reload");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn undeclared_query_parameters_are_noted_or_refused() {
    let server = MockServer::start().await;
    let http = reqwest::Client::new();
    let (status, _) = json_get(&http, format!("{}{ALLOCATIONS}?pagesize=1&colour=red", server.uri())).await;
    assert_eq!(status, 200, "served, as the real service ignores it");
    let entry = server.received_requests().pop().unwrap();
    let messages: Vec<&str> = entry.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0]
        .starts_with("pagesize: not a query parameter of v1PartnerAllocationsGetRoute; did you mean pageSize?"));
    assert!(messages[1].starts_with("colour: not a query parameter"), "{}", messages[1]);
    assert!(messages[1].contains("pageSize"), "the declared ones are listed: {}", messages[1]);
    // Names are compared decoded: an escaped declared name is not a typo.
    json_get(&http, format!("{}{ALLOCATIONS}?page%53ize=1&sortField=id", server.uri())).await;
    assert!(server.received_requests().pop().unwrap().findings.is_empty());

    let strict = MockServer::builder().reject_unknown_params(true).start().await;
    let (status, body) = json_get(&http, format!("{}{ALLOCATIONS}?pagesize=1", strict.uri())).await;
    assert_eq!(status, 400);
    assert_eq!(body["name"], "InvalidRequestError");
    assert!(body["error"].as_str().unwrap().contains("did you mean pageSize?"), "{body}");
    let (status, _) = json_get(&http, format!("{}{ALLOCATIONS}?pageSize=1", strict.uri())).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn scenario_switches_apply_to_every_caller_until_lifted() {
    let server = MockServer::start().await;
    let http = reqwest::Client::new();
    let admin = |path: &str| format!("{}/__admin/{path}", server.uri());
    let post = |body: Value| {
        http.post(admin("scenarios")).header("content-type", "application/json").body(body.to_string()).send()
    };
    let bad = post(json!({"operation": "v1PartnerAllocationsGetRoute", "status": 418})).await.unwrap();
    assert_eq!(bad.status(), 400);
    let message = bad.json::<Value>().await.unwrap()["error"].as_str().unwrap().to_string();
    assert!(message.contains("does not declare 418") && message.contains("declared: 200, 400"), "{message}");
    let unknown = post(json!({"operation": "listThings"})).await.unwrap();
    assert_eq!(unknown.status(), 400);

    let added = post(json!({"operation": "v1PartnerAllocationsGetRoute", "status": 500, "times": 2})).await.unwrap();
    assert_eq!(added.status(), 201);
    let url = format!("{}{ALLOCATIONS}?pageSize=1", server.uri());
    let (listed_status, listed) = json_get(&http, admin("scenarios")).await;
    assert_eq!(listed_status, 200);
    assert_eq!(listed["scenarios"][0]["operation"], "v1PartnerAllocationsGetRoute");
    assert_eq!(json_get(&http, url.clone()).await.0, 500);
    assert_eq!(json_get(&http, url.clone()).await.0, 500);
    assert_eq!(json_get(&http, url.clone()).await.0, 200, "lifted after two calls");

    post(json!({"operation": "v1PartnerAllocationsGetRoute", "status": 404})).await.unwrap();
    assert_eq!(json_get(&http, url.clone()).await.0, 404);
    let cleared = http.delete(admin("scenarios")).send().await.unwrap();
    assert_eq!(cleared.status(), 204);
    assert_eq!(json_get(&http, url.clone()).await.0, 200, "cleared with one call");

    // The same store from Rust: lifted when the guard drops.
    {
        let _outage = server.force(specmock::Switch::operation("v1PartnerAllocationsGetRoute").status(400)).unwrap();
        assert_eq!(json_get(&http, url.clone()).await.0, 400);
    }
    assert_eq!(json_get(&http, url.clone()).await.0, 200);
    assert!(server.force(specmock::Switch::operation("v1PartnerAllocationsGetRoute").example("nope")).is_err());
}

#[tokio::test]
async fn the_live_feed_counts_what_it_leaves_out_under_heavy_traffic() {
    let server = MockServer::start().await;
    let http = reqwest::Client::new();
    let mut live = http.get(format!("{}/__admin/requests/live", server.uri())).send().await.unwrap();
    let sent = 400;
    let calls = (0..sent).map(|_| json_get(&http, format!("{}{ALLOCATIONS}?pageSize=1", server.uri())));
    futures_util::future::join_all(calls).await;
    let (mut rows, mut skipped, mut seen, mut text) = (0, 0, Vec::new(), String::new());
    while rows + skipped < sent {
        let chunk = tokio::time::timeout(Duration::from_secs(5), live.chunk()).await.expect("a batch within 5 s");
        text.push_str(std::str::from_utf8(&chunk.unwrap().expect("the stream stays open")).unwrap());
        let Some(end) = text.rfind('\n') else { continue };
        let lines: Vec<Value> = text[..end].lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        text.drain(..=end);
        rows += lines.iter().filter(|l| l.get("seq").is_some()).count();
        skipped += lines.iter().filter_map(|l| l["skipped"].as_u64()).sum::<u64>() as usize;
        seen.extend(lines.iter().filter_map(|l| l["seq"].as_u64()));
    }
    assert_eq!(rows + skipped, sent, "every request is shown or counted");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "rows come oldest first");
}

#[tokio::test]
async fn the_live_feed_streams_new_entries_and_outlasts_the_idle_timeout() {
    let server = MockServer::builder().idle_timeout(Duration::from_millis(500)).start().await;
    let http = reqwest::Client::new();
    let mut live = http.get(format!("{}/__admin/requests/live", server.uri())).send().await.unwrap();
    assert_eq!(live.status(), 200);
    assert_eq!(live.headers()["content-type"], "application/x-ndjson");
    // Longer than the idle timeout with nothing sent: a stream being written is not idle.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for size in [1, 0] {
        json_get(&http, format!("{}{ALLOCATIONS}?pageSize={size}", server.uri())).await;
    }
    let mut text = String::new();
    while text.lines().count() < 2 {
        let chunk = tokio::time::timeout(Duration::from_secs(5), live.chunk()).await.expect("a line within 5 s");
        text.push_str(std::str::from_utf8(&chunk.unwrap().expect("the stream stays open")).unwrap());
    }
    let entries: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!((entries[0]["status"].as_u64(), entries[1]["status"].as_u64()), (Some(200), Some(400)));
    assert_eq!(entries[1]["url"], format!("{ALLOCATIONS}?pageSize=0"));
    assert!(entries[1].get("responseBody").is_none(), "the feed sends rows, not whole exchanges");

    // The whole exchange is one request away, while the journal keeps it.
    let seq = entries[1]["seq"].as_u64().unwrap();
    let (status, whole) = json_get(&http, format!("{}/__admin/requests/{seq}", server.uri())).await;
    assert_eq!(status, 200);
    assert_eq!(whole["url"], entries[1]["url"]);
    assert!(whole["responseBody"].as_str().unwrap().contains("pageSize"), "{whole}");
    let (status, gone) = json_get(&http, format!("{}/__admin/requests/999999", server.uri())).await;
    assert_eq!(status, 404);
    assert!(gone["error"].as_str().unwrap().contains("999999"));
    assert_eq!(json_get(&http, format!("{}/__admin/requests/x", server.uri())).await.0, 400);
}

#[tokio::test]
async fn a_reload_keeps_sessions_whose_records_still_fit_and_resets_the_others() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = scratch("sessions-reload");
    copy_dir(&root.join("fixtures"), &dir.join("fixtures"));
    std::fs::create_dir_all(dir.join("spec")).unwrap();
    let spec = dir.join("spec/oes-partners.yaml");
    let original = std::fs::read_to_string(root.join("spec/oes-partners.yaml")).unwrap();
    std::fs::write(&spec, &original).unwrap();
    let server =
        MockServer::builder().spec(&spec).fixtures(dir.join("fixtures")).watch(Duration::from_millis(50)).start().await;
    let http = reqwest::Client::new();
    let connection = "f0b6e6f5-a314-4d03-bb47-e0f6b5aaab5f";
    const DEMO: &str = "7a72d96a-03b1-4f1f-a16f-5d13f5c04757";
    let post =
        format!("{}/api/network/v1/enterprises/{DEMO}/clients/connections/{connection}/allocations", server.uri());
    let body = serde_json::json!({"amount": {"currency": "USDT", "quantity": "5"}, "clientExternalId": "reload-1",
        "nonce": "n", "payload": "p", "signature": "s"});
    let created = http
        .post(&post)
        .bearer_auth("demo-token")
        .header("x-specmock-session", "kept")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let id = created.json::<Value>().await.unwrap()["allocation"]["id"].as_str().unwrap().to_string();
    let read = |id: String| {
        let http = http.clone();
        let url = format!("{}/api/network/v1/enterprises/{DEMO}/partners/allocations/{id}", server.uri());
        async move {
            http.get(url).bearer_auth("demo-token").header("x-specmock-session", "kept").send().await.unwrap().status()
        }
    };
    // Writes the spec and waits for --watch to load it.
    let reload = |text: String| {
        let (http, health, spec) = (http.clone(), format!("{}/__admin/health", server.uri()), spec.clone());
        async move {
            // The time the serving load finished changes once the new one serves.
            let loads = |h: Value| h["loaded"]["at"].clone();
            let before = loads(json_get(&http, health.clone()).await.1);
            std::fs::write(&spec, text).unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while loads(json_get(&http, health.clone()).await.1) == before {
                assert!(Instant::now() < deadline, "the watcher did not reload");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    // A change every record still fits: the session is carried over.
    reload(original.replace("One allocation or deallocation of the partner's connections, by id.", "By id.")).await;
    assert_eq!(read(id.clone()).await, 200, "kept across the reload");
    // A change the session's record no longer fits (its reason is 48 characters): reset.
    let stricter = original.replace(
        "          minLength: 1\n          description: Why the record is in its status; null when cleared.",
        "          minLength: 1\n          maxLength: 40\n          description: Why the record is in its status; null when cleared.",
    );
    assert_ne!(stricter, original);
    reload(stricter).await;
    assert_eq!(read(id).await, 404, "the session was reset");
    let sessions: Value =
        http.get(format!("{}/__admin/sessions", server.uri())).send().await.unwrap().json().await.unwrap();
    assert_eq!(sessions["sessions"], serde_json::json!([]));
    std::fs::remove_dir_all(dir).ok();
}
