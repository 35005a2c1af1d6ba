//! Compiled-store snapshots: a restart with the same inputs serves the same bytes without
//! rebuilding; changed inputs and damaged snapshots fall back to the fixtures.

mod common;

use common::{BRM, DEMO, OES, UNLICENSED};
use specmock::{MockServer, MockServerBuilder};
use std::path::Path;

/// The bundled APIs, keeping their stores in `cache`.
fn bundled(cache: &Path) -> MockServerBuilder {
    MockServer::builder().strict(false).cache_dir(cache)
}

/// Requests that touch every bundled operation: lookups (with an alias and a miss), filters
/// direct and joined, every sort and direction, deep pages, attribute selection, views, tenants.
fn requests() -> Vec<String> {
    let alloc = format!("{OES}/{DEMO}/partners/allocations");
    vec![
        format!("{OES}/{DEMO}/partners/balances"),
        format!("{OES}/{UNLICENSED}/partners/balances"),
        format!("{alloc}?pageSize=50&types=allocation&statuses=cleared&sortField=quantity"),
        format!("{alloc}?pageSize=7&pageNumber=3&sortField=quantity&sortDirection=DESC"),
        format!("{alloc}?connectionIds=1e7a9fe0-6b8d-498a-aa69-2d990a5e5fdb&pageSize=20"),
        format!("{alloc}?partnerIds=00000000-0000-4000-8000-000000000000"),
        format!("{alloc}?allocationIds=8551b0d1-17bb-4bf1-9d20-b9879b84ab70"),
        format!("{BRM}/transferBalance/0.0.0.1+-event-audit-transfer_balance+332070103776495457"),
        format!("{BRM}/transferBalance?limit=3&offset=7&fields=id,amount"),
        format!("{BRM}/transferBalance?partyAccount.id=0.0.0.1%2B-account%2B200058"),
        format!("{BRM}/transferBalance/nope"),
        format!("{BRM}/accumulatedBalance?limit=5&offset=190"),
        format!("{BRM}/accumulatedBalance/account+30001"),
        format!("{BRM}/bucket?limit=4&offset=2"),
        format!("{BRM}/bucket/0.0.0.1+-balance_group+106463"),
    ]
}

/// Each request's status and body bytes from a router over `apis`.
async fn answers(server: MockServer) -> Vec<(String, u16, bytes::Bytes)> {
    let mut out = Vec::new();
    for uri in requests() {
        let request = axum::http::Request::get(&uri)
            .header("authorization", "Bearer demo-token")
            .header("host", "mock.test:4010")
            // Error bodies carry the request id; a fixed one makes them comparable.
            .header("x-request-id", "snapshot-test")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = server.handle(request).await;
        let status = response.status().as_u16();
        out.push((uri, status, axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap()));
    }
    out
}

fn from_snapshot(server: &MockServer) -> Vec<bool> {
    specmock::internals::loaded_from_cache(server)
}

fn snapshot_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

#[tokio::test]
async fn a_restart_serves_the_same_bytes_from_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let snapshots = dir.path();
    let built = bundled(snapshots).start().await;
    assert_eq!(from_snapshot(&built), [false, false], "nothing to read yet");
    let files = snapshot_files(dir.path());
    assert_eq!(files.len(), 2, "one snapshot per API: {files:?}");
    assert!(files.iter().all(|f| f.extension().is_some_and(|e| e == "snapshot")), "no partial file is left: {files:?}");

    let restarted = bundled(snapshots).start().await;
    assert_eq!(from_snapshot(&restarted), [true, true]);
    let expected = answers(built).await;
    let statuses: Vec<u16> = expected.iter().map(|(_, s, _)| *s).collect();
    assert!(statuses.contains(&200) && statuses.contains(&404) && statuses.contains(&403), "{statuses:?}");
    for ((uri, status, body), (_, again_status, again_body)) in expected.iter().zip(answers(restarted).await) {
        assert_eq!((status, body), (&again_status, &again_body), "{uri}");
    }
}

/// One request through `server`'s router, with a JSON body when given.
async fn call(
    server: &MockServer,
    method: &str,
    uri: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", "Bearer demo-token")
        .header("host", "mock.test:4010")
        .header("content-type", "application/json")
        .body(body.map_or_else(axum::body::Body::empty, |b| axum::body::Body::from(b.to_string())))
        .unwrap();
    let response = server.handle(request).await;
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn writes_after_a_restart_from_a_snapshot_read_the_records_as_a_fresh_build_does() {
    // A snapshot keeps the records writes change unparsed until a write reads them.
    let dir = tempfile::tempdir().unwrap();
    let built = bundled(dir.path()).start().await;
    let restarted = bundled(dir.path()).start().await;
    assert_eq!(from_snapshot(&restarted), [true, true]);
    let from = "0.0.0.1+-balance_group+2083846+1000095+38";
    let to = "0.0.0.1+-balance_group+2090186+1000095+20";
    let transfer = serde_json::json!({"amount": {"amount": 2, "units": "Free Seconds"}, "bucket": {"id": from},
        "receiverBucket": {"id": to}, "usageType": "other"});
    let connection = "f0b6e6f5-a314-4d03-bb47-e0f6b5aaab5f";
    let allocation = serde_json::json!({"amount": {"currency": "USDT", "quantity": "1000"}, "clientExternalId": "snap-1",
        "nonce": "n", "payload": "p", "signature": "s"});
    let reads = [
        format!("{BRM}/bucket/{}", from.replace('+', "%2B")),
        format!("{BRM}/bucket/{}", to.replace('+', "%2B")),
        format!("{BRM}/accumulatedBalance/0.0.0.1%2B-account%2B2084346"),
        format!("{OES}/{DEMO}/partners/balances"),
    ];
    let mut seen = Vec::new();
    for server in [&built, &restarted] {
        let (status, _) = call(server, "POST", &format!("{BRM}/transferBalance"), Some(transfer.clone())).await;
        assert_eq!(status, 201);
        let post = format!("{OES}/{DEMO}/clients/connections/{connection}/allocations");
        let (status, created) = call(server, "POST", &post, Some(allocation.clone())).await;
        assert_eq!(status, 200, "{created}");
        let page = format!("{OES}/{DEMO}/partners/allocations?statuses=reserved&sortField=quantity&pageSize=20");
        let (_, listed) = call(server, "GET", &page, None).await;
        let ids: Vec<serde_json::Value> =
            listed["allocations"].as_array().unwrap().iter().map(|a| a["id"].clone()).collect();
        let mut answers = vec![serde_json::Value::Array(ids)];
        for uri in &reads {
            answers.push(call(server, "GET", uri, None).await.1);
        }
        seen.push(answers);
    }
    assert_eq!(seen[0], seen[1]);
    assert_ne!(seen[0][1], serde_json::Value::Null);
}

#[tokio::test]
async fn a_damaged_snapshot_is_ignored_and_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let snapshots = dir.path();
    let expected = answers(bundled(snapshots).start().await).await;
    let brm = snapshot_files(dir.path()).into_iter().find(|f| f.to_string_lossy().contains("prepay-balance")).unwrap();
    let good = std::fs::read(&brm).unwrap();
    let damages: Vec<(&str, Vec<u8>)> = vec![
        ("cut short", good[..good.len() / 2].to_vec()),
        ("one byte flipped in the rendered bodies", {
            let mut bytes = good.clone();
            let at = bytes.len() - 1000;
            bytes[at] ^= 0x20;
            bytes
        }),
        ("bytes to spare", [good.as_slice(), b"extra"].concat()),
        ("another format", [b"specmock snapshot 0\n".as_slice(), &good[20..]].concat()),
    ];
    for (damage, bytes) in damages {
        std::fs::write(&brm, &bytes).unwrap();
        let apis = bundled(snapshots).start().await;
        assert_eq!(from_snapshot(&apis), [true, false], "{damage}: the BRM store is rebuilt");
        let answered = answers(apis).await;
        assert!(expected.iter().zip(&answered).all(|(a, b)| a == b), "{damage}: the same answers");
        assert!(std::fs::read(&brm).unwrap() == good, "{damage}: the snapshot is written again, the same");
    }
}

/// A copy of the bundled OES spec and fixtures in a temporary folder.
fn oes_on_disk(root: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixtures = root.join("fixtures");
    std::fs::create_dir_all(fixtures.join("oes-partners")).unwrap();
    for entry in std::fs::read_dir(source.join("fixtures/oes-partners")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), fixtures.join("oes-partners").join(entry.file_name())).unwrap();
    }
    std::fs::copy(source.join("fixtures/identities.json"), fixtures.join("identities.json")).unwrap();
    let spec = root.join("oes-partners.yaml");
    std::fs::copy(source.join("spec/oes-partners.yaml"), &spec).unwrap();
    (spec, fixtures)
}

#[tokio::test]
async fn an_edited_fixture_is_read_again_and_a_broken_one_still_stops_the_load() {
    let dir = tempfile::tempdir().unwrap();
    let (spec, fixtures) = oes_on_disk(dir.path());
    let snapshots = dir.path().join("cache");
    let sources = || MockServer::builder().strict(false).spec(&spec).fixtures(&fixtures).cache_dir(&snapshots);
    sources().start().await;
    assert_eq!(from_snapshot(&sources().start().await), [true]);

    // Same length, new content: the key is made from the bytes, not the size or the time.
    let path = fixtures.join("oes-partners/allocations.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let quantity = text.split("\"quantity\":\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let changed = quantity.replacen(|c: char| c.is_ascii_digit(), "9", 1);
    assert_ne!(quantity, changed);
    std::fs::write(
        &path,
        text.replacen(&format!("\"quantity\":\"{quantity}\""), &format!("\"quantity\":\"{changed}\""), 1),
    )
    .unwrap();
    let apis = sources().start().await;
    assert_eq!(from_snapshot(&apis), [false]);
    // The edited record is the file's first.
    let first = answers(apis)
        .await
        .into_iter()
        .find(|(uri, ..)| uri.ends_with("allocationIds=8551b0d1-17bb-4bf1-9d20-b9879b84ab70"))
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&first.2).unwrap();
    assert_eq!(body["allocations"][0]["amount"]["quantity"], changed.as_str(), "the edited quantity is served");

    // A snapshot of the good data never stands in for a fixture that breaks its schema.
    std::fs::write(&path, text.replacen("\"quantity\":\"", "\"quantity\":\"12.5x", 1)).unwrap();
    let err = sources().try_start().await.err().unwrap().to_string();
    assert!(err.contains("record 0 breaks schema Allocation: at /records/0/amount/quantity"), "{err}");
}

#[tokio::test]
async fn a_snapshot_folder_that_cannot_be_written_only_costs_the_quick_start() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "a file where the folder would go").unwrap();
    let snapshots = blocker.as_path();
    let apis = bundled(snapshots).start().await;
    assert_eq!(from_snapshot(&apis), [false, false]);
    assert!(
        answers(apis).await == answers(MockServer::builder().strict(false).start().await).await,
        "the same answers as a load without snapshots"
    );
    assert!(blocker.is_file(), "the file in the folder's place is left alone");
}

/// Starts `specmock serve` with `args`, waits until it listens, stops it, and returns its log.
fn serve_log(args: &[&str]) -> String {
    use std::io::{BufRead, BufReader, Read};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_specmock"))
        .args(["serve", "--port", "0", "--no-admin", "--log", "info"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let first = BufReader::new(child.stdout.take().unwrap()).lines().next().unwrap().unwrap();
    assert!(first.starts_with("specmock listening on"), "{first}");
    child.kill().unwrap();
    child.wait().unwrap();
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    log
}

#[test]
fn serve_writes_snapshots_then_starts_from_them() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().to_str().unwrap();
    let first = serve_log(&["--cache-dir", cache]);
    assert_eq!(first.matches("wrote ").count(), 2, "{first}");
    let again = serve_log(&["--cache-dir", cache]);
    assert!(again.contains("loaded oes-partners from") && again.contains("loaded prepay-balance from"), "{again}");
    assert!(!again.contains("wrote "), "nothing to rewrite: {again}");
    let off = serve_log(&["--no-cache"]);
    assert!(!off.contains("snapshot"), "--no-cache reads and writes none: {off}");

    let both = std::process::Command::new(env!("CARGO_BIN_EXE_specmock"))
        .args(["serve", "--cache-dir", cache, "--no-cache"])
        .output()
        .unwrap();
    assert!(!both.status.success());
    assert!(String::from_utf8_lossy(&both.stderr).contains("cannot be used with"));
}
