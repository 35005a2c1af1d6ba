//! `specmock verify`: clean against specmock itself, and every kind of drift caught at its pointer.

use serde_json::{json, Value};
use specmock::verify::{self, Check, Config, Outcome};
use specmock::Api;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer as WireMock, ResponseTemplate};

const OES_SPEC: &str = include_str!("../spec/oes-partners.yaml");

/// The OES document's two read routes, which the drifting providers below serve: its writes
/// (from the PUT on /partners/allocations to the end of `paths`) are cut out.
fn oes() -> String {
    let writes = OES_SPEC
        .find("    put:\n      operationId: v1PartnerAllocationsPutRoute")
        .expect("the writes follow the reads");
    let components = OES_SPEC.find("\ncomponents:\n").expect("components");
    format!("{}{}", &OES_SPEC[..writes], &OES_SPEC[components + 1..])
}

fn api(name: &str, text: &str) -> Api {
    Api::from_text(name, name, text).unwrap()
}

fn config(base: String, negative: bool) -> Config {
    Config { base_url: base, token: Some("demo-token".into()), negative, writes: true }
}

#[tokio::test]
async fn verify_passes_clean_against_specmock_for_both_bundled_specs() {
    let server = specmock::MockServer::start().await;
    for (name, text) in [("oes-partners", OES_SPEC), ("prepay-balance", include_str!("../spec/prepay-balance.yaml"))] {
        let report = verify::run(&api(name, text), &config(server.uri(), true)).await;
        assert!(report.passed(), "{}", report.text());
        if name == "prepay-balance" {
            let examples = report.checks.iter().find(|c| c.operation == "listBucket" && c.name == "with examples");
            let request = &examples.expect("an examples check").request;
            assert!(
                request.contains("fields=usageType%2CremainingValue"),
                "an array example goes form style: {request}"
            );
        }
        assert!(report.checks.len() > 20, "{name}: {} checks", report.checks.len());
        let junit = report.junit(name);
        assert!(junit.contains(&format!("tests=\"{}\" failures=\"0\"", report.checks.len())), "{junit}");
    }
}

fn allocation() -> Value {
    json!({
        "id": "1f0e2d3c-4b5a-4968-8776-655443322110", "amount": {"currency": "BTC", "quantity": "25000000"},
        "connectionId": "0b3c8f8e-5d55-4e8e-9a34-0f3e6c1f4a21", "clientExternalId": "c-1", "initiatedBy": "5f1a2b3c4d5e6f7081920a1b",
        "createdAt": "2026-03-02T09:15:00.000Z", "updatedAt": "2026-03-02T09:15:00.000Z", "retriable": false,
        "reason": "Awaiting settlement", "status": "reserved", "type": "allocation"
    })
}

/// A provider whose balances are right and whose allocations answer with `drift`.
async fn drifting(drift: ResponseTemplate) -> WireMock {
    let server = WireMock::start().await;
    Mock::given(method("GET"))
        .and(path_regex("/partners/balances$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"networkBalances": {}})))
        .mount(&server)
        .await;
    Mock::given(method("GET")).and(path_regex("/partners/allocations$")).respond_with(drift).mount(&server).await;
    server
}

fn allocation_failure(report: &verify::Report) -> (u16, Vec<specmock::Finding>) {
    let failed: Vec<&Check> = report.failures().collect();
    // The baseline request and the one with example parameters both hit the drifting route.
    assert_eq!(failed.len(), 2, "{}", report.text());
    assert!(failed.iter().all(|c| c.operation == "v1PartnerAllocationsGetRoute"));
    match &failed[0].outcome {
        Outcome::Fail { status, findings, .. } => (*status, findings.clone()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_type_is_caught_at_its_pointer() {
    let mut body = allocation();
    body["retriable"] = json!("yes");
    let server = drifting(ResponseTemplate::new(200).set_body_json(json!({"allocations": [allocation(), body]}))).await;
    let report = verify::run(&api("oes", &oes()), &config(server.uri(), false)).await;
    let (_, findings) = allocation_failure(&report);
    assert_eq!(findings[0].pointer, "/allocations/1/retriable");
    assert!(findings[0].rule.ends_with("/type"), "{:?}", findings[0]);
    let text = report.text();
    assert!(text.contains("at /allocations/1/retriable") && text.contains("+ actual: \"yes\""), "{text}");
}

#[tokio::test]
async fn a_missing_required_field_is_caught() {
    let mut body = allocation();
    body.as_object_mut().unwrap().remove("status");
    let server = drifting(ResponseTemplate::new(200).set_body_json(json!({"allocations": [body]}))).await;
    let report = verify::run(&api("oes", &oes()), &config(server.uri(), false)).await;
    let (_, findings) = allocation_failure(&report);
    assert_eq!(findings[0].pointer, "/allocations/0");
    assert!(findings[0].message.contains("\"status\" is a required property"), "{:?}", findings[0]);
}

#[tokio::test]
async fn an_undeclared_status_is_caught() {
    let server = drifting(ResponseTemplate::new(418).set_body_json(json!({"error": "teapot"}))).await;
    let report = verify::run(&api("oes", &oes()), &config(server.uri(), false)).await;
    let (status, findings) = allocation_failure(&report);
    assert_eq!(status, 418);
    assert!(findings[0].message.starts_with("status 418 is not declared"), "{:?}", findings[0]);
}

#[tokio::test]
async fn a_wrong_content_type_is_caught() {
    let server = drifting(ResponseTemplate::new(200).set_body_raw("<html>oops</html>", "text/html")).await;
    let report = verify::run(&api("oes", &oes()), &config(server.uri(), false)).await;
    let (_, findings) = allocation_failure(&report);
    assert!(
        findings[0].message.contains("content type is \"text/html\"; expected application/json"),
        "{:?}",
        findings[0]
    );
}

#[tokio::test]
async fn an_extra_header_is_caught_where_the_spec_forbids_others() {
    // The same spec, with the allocations 200 closed to undeclared headers.
    let closed = oes().replacen(
        "          description: One page of allocations and deallocations.\n",
        "          description: One page of allocations and deallocations.\n          x-additional-headers: false\n",
        1,
    );
    assert_ne!(closed, oes());
    let drift =
        ResponseTemplate::new(200).insert_header("x-debug-sql", "select 1").set_body_json(json!({"allocations": []}));
    let server = drifting(drift).await;
    let report = verify::run(&api("oes", &closed), &config(server.uri(), false)).await;
    let (_, findings) = allocation_failure(&report);
    assert_eq!(findings[0].message, "header x-debug-sql is not declared, and this response allows no others");
    // The open spec accepts the same response.
    assert!(verify::run(&api("oes", &oes()), &config(server.uri(), false)).await.passed());
}

#[tokio::test]
async fn negative_checks_catch_a_provider_that_accepts_anything() {
    let server = drifting(ResponseTemplate::new(200).set_body_json(json!({"allocations": []}))).await;
    let report = verify::run(&api("oes", &oes()), &config(server.uri(), true)).await;
    let failed: Vec<&Check> = report.failures().collect();
    assert!(failed.iter().any(|c| c.name == "negative: pageSize=0"), "{}", report.text());
    assert!(failed.iter().all(|c| c.name.starts_with("negative:")));
    assert!(report.junit("oes").contains("an invalid request got 200; expected a declared 4xx"));
}

#[test]
fn the_verify_command_exits_non_zero_and_writes_junit() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(drifting(ResponseTemplate::new(500).set_body_raw("boom", "text/plain")));
    let junit = std::env::temp_dir().join(format!("specmock-verify-{}.xml", std::process::id()));
    let dir = std::env::temp_dir().join(format!("specmock-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("oes-partners.yaml");
    std::fs::write(&spec, oes()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_specmock"))
        .args(["verify", "--spec", spec.to_str().unwrap(), "--base-url", &server.uri(), "--junit"])
        .arg(&junit)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAIL 500") && stdout.contains("1 passed, 2 failed, 0 skipped"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    std::fs::remove_file(&junit).ok();
    std::fs::remove_dir_all(&dir).ok();
    assert!(xml.contains("<testsuite name=\"oes-partners\" tests=\"3\" failures=\"2\""), "{xml}");
}

#[tokio::test]
async fn operations_that_change_data_are_skipped_unless_writes_are_asked_for() {
    // The whole OES spec, writes included, against a provider that must not be changed.
    let server = drifting(ResponseTemplate::new(200).set_body_json(json!({"allocations": [allocation()]}))).await;
    let read_only = Config { writes: false, ..config(server.uri(), false) };
    let report = verify::run(&api("oes", OES_SPEC), &read_only).await;
    let skipped: Vec<&Check> = report.checks.iter().filter(|c| matches!(c.outcome, Outcome::Skip(_))).collect();
    assert!(
        skipped.iter().any(|c| c.request.starts_with("POST ") && c.request.ends_with("/allocations")),
        "{}",
        report.text()
    );
    assert!(skipped.iter().all(|c| !c.request.starts_with("GET ")), "{}", report.text());
    assert!(
        report.text().contains("(POST changes the provider's data; pass --writes to send it)"),
        "{}",
        report.text()
    );
    let sent = server.received_requests().await.unwrap();
    assert!(sent.iter().all(|r| r.method.as_str() == "GET"), "only reads reached the provider");

    let report = verify::run(&api("oes", OES_SPEC), &config(server.uri(), false)).await;
    assert!(report.checks.iter().all(|c| !matches!(c.outcome, Outcome::Skip(_))), "{}", report.text());
    let sent = server.received_requests().await.unwrap();
    assert!(sent.iter().any(|r| r.method.as_str() == "POST"), "with writes, they are sent");
}
