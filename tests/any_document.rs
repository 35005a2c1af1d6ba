//! A team's own document, served as Prism serves it or better: tests/openapi/rules.yaml holds
//! one small example of each rule. The server is strict throughout, so every answer is also
//! checked against the document.

use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{json, Value};
use specmock::MockServer;

const RULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/openapi/rules.yaml");

async fn rules() -> (MockServer, reqwest::Client, String) {
    let server = MockServer::builder().spec(RULES).start().await;
    let base = format!("{}/v1", server.uri());
    (server, reqwest::Client::new(), base)
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

#[test]
fn slips_are_warnings_with_pointers_and_a_derived_operation_id() {
    let api = specmock::Api::from_file(RULES).unwrap();
    let ids: Vec<&str> = api.operations().iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["getPets", "addPet", "getPet", "deletePet", "styledThing", "getDoc"]);
    let warnings: Vec<String> = api.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(warnings, ["at /paths/~1pets/get: the operation has no operationId; it is called `getPets`"]);
    let strict = specmock::Api::load("rules", RULES, &std::fs::read_to_string(RULES).unwrap(), true);
    assert!(strict.unwrap_err().to_string().contains("1 problem (--strict-spec makes warnings errors)"));
}

#[tokio::test]
async fn the_success_body_is_built_from_the_schema_with_declared_headers() {
    let (_server, http, base) = rules().await;
    let ok = http.get(format!("{base}/pets")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["x-rate-limit"], "100");
    assert_eq!(ok.headers()[CONTENT_TYPE], "application/json");
    let body = json_of(ok).await;
    assert_eq!(body, json!([{"id": 1, "name": "string", "tag": body[0]["tag"], "born": "2024-01-01"}]));
    let tag = body[0]["tag"].as_str().unwrap();
    assert!(!tag.is_empty() && tag.bytes().all(|b| b.is_ascii_lowercase()), "{tag} matches ^[a-z]+$");
    let again = json_of(http.get(format!("{base}/pets")).send().await.unwrap()).await;
    assert_eq!(again, body, "the same document gives the same bytes");
}

#[tokio::test]
async fn accept_chooses_the_media_type_and_non_json_is_served_as_written() {
    let (_server, http, base) = rules().await;
    let get = |accept: &'static str| http.get(format!("{base}/pets")).header(ACCEPT, accept).send();
    let xml = get("application/xml").await.unwrap();
    assert_eq!(xml.headers()[CONTENT_TYPE], "application/xml");
    assert_eq!(xml.text().await.unwrap(), "<pets><pet><id>1</id></pet></pets>");
    let csv = get("text/csv;q=0.9, application/json;q=0.5").await.unwrap();
    assert_eq!(csv.headers()[CONTENT_TYPE], "text/csv");
    assert_eq!(csv.text().await.unwrap(), "id,name\n1,Rex\n");
    let none = get("image/png").await.unwrap();
    assert_eq!(none.status(), 406);
    // The refusal takes the declared 4XX response, the finding written into its message.
    assert_eq!(none.headers()[CONTENT_TYPE], "application/problem+json");
    let body = json_of(none).await;
    assert_eq!(body["code"], 4);
    assert!(body["message"].as_str().unwrap().starts_with("Accept: image/png matches nothing"), "{body}");
}

#[tokio::test]
async fn parameters_are_read_in_their_declared_styles() {
    let (_server, http, base) = rules().await;
    let status = |url: String| {
        let http = http.clone();
        async move { http.get(url).header("cookie", "sid=s1").send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(format!("{base}/pets?tags=a|b&filter[kind]=cat&filter[age]=3")).await, 200);
    assert_eq!(status(format!("{base}/pets?q=")).await, 200, "allowEmptyValue");
    assert_eq!(status(format!("{base}/things/;a=1,2/.x.y")).await, 200, "matrix and exploded label");
    let bad = |url: String| {
        let http = http.clone();
        async move { json_of(http.get(url).send().await.unwrap()).await["message"].as_str().unwrap().to_string() }
    };
    assert_eq!(
        bad(format!("{base}/pets?tags=")).await,
        "tags: empty; expected a comma-separated list (or repeated `tags=`) of a non-empty string"
    );
    assert!(bad(format!("{base}/pets?filter[age]=old"))
        .await
        .starts_with("filter: got \"old\", which is not an integer"));
    let cookie = http.get(format!("{base}/pets")).header("cookie", "sid=x1").send().await.unwrap();
    let message = json_of(cookie).await["message"].as_str().unwrap().to_string();
    assert!(message.contains("sid: got \"x1\"") && message.contains("^s[0-9]+$"), "the pattern is quoted: {message}");
}

#[tokio::test]
async fn paths_match_percent_encoded_and_not_empty_segments() {
    let (_server, http, base) = rules().await;
    let found = http.get(format!("{base}/my%20docs/42")).send().await.unwrap();
    assert_eq!(found.status(), 200);
    assert_eq!(json_of(found).await, json!({"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}));
    assert_eq!(http.get(format!("{base}/my%20docs/")).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn request_bodies_are_checked_against_their_media_type_and_schema() {
    let (_server, http, base) = rules().await;
    let post = || http.post(format!("{base}/pets")).header("x-api-key", "k");
    let created = post().json(&json!({"id": 2, "name": "Rex"})).send().await.unwrap();
    assert_eq!(created.status(), 201);
    // This operation declares 422 and no 400: a refusal uses it, message and all.
    let invalid = post().json(&json!({"id": 0, "name": "Rex"})).send().await.unwrap();
    assert_eq!(invalid.status(), 422);
    assert_eq!(json_of(invalid).await["message"], "body/id: 0 is less than the minimum of 1");
    let missing = post().send().await.unwrap();
    assert_eq!(missing.status(), 422);
    assert!(json_of(missing).await["message"].as_str().unwrap().starts_with("the request body is required"));
    let text = post().header(CONTENT_TYPE, "text/plain").body("Rex").send().await.unwrap();
    assert_eq!(text.status(), 415);
    let form = post().header(CONTENT_TYPE, "application/x-www-form-urlencoded").body("id=3&name=Rex").send().await;
    assert_eq!(form.unwrap().status(), 201);
    let typo = post().header(CONTENT_TYPE, "application/x-www-form-urlencoded").body("id=three&name=Rex").send().await;
    assert_eq!(json_of(typo.unwrap()).await["message"], "body/id: got \"three\", which is not an integer");
    let boundary = "XyZ";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n4\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nRex\r\n--{boundary}--\r\n"
    );
    let sent = post().header(CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}")).body(multipart).send();
    assert_eq!(sent.await.unwrap().status(), 201);
}

#[tokio::test]
async fn security_requirements_are_enforced_any_of_all_of() {
    let (server, http, base) = rules().await;
    let anonymous = http.post(format!("{base}/pets")).json(&json!({"id": 2, "name": "Rex"})).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()[WWW_AUTHENTICATE], "Basic realm=\"specmock\"");
    let message = json_of(anonymous).await["message"].as_str().unwrap().to_string();
    assert!(message.contains("header X-API-Key (key), or Authorization: Basic"), "{message}");
    let basic = http.post(format!("{base}/pets")).basic_auth("user", Some("pass")).json(&json!({"id": 2, "name": "R"}));
    assert_eq!(basic.send().await.unwrap().status(), 201);
    // Both schemes of one requirement are needed.
    let bearer_only = http.delete(format!("{base}/pets/1")).bearer_auth("t").send().await.unwrap();
    assert_eq!(bearer_only.status(), 401);
    let both =
        http.delete(format!("{base}/pets/1?api_key=secretsecretsecret1234")).bearer_auth("t").send().await.unwrap();
    assert_eq!(both.status(), 204);
    assert!(both.headers().get(CONTENT_TYPE).is_none() && both.headers().get(CONTENT_LENGTH).is_none());
    assert!(both.bytes().await.unwrap().is_empty());
    // `security: []` opts out.
    assert_eq!(http.get(format!("{base}/pets/1")).send().await.unwrap().status(), 200);
    let urls: Vec<String> = server.received_requests().iter().map(|r| r.url().into_owned()).collect();
    assert!(urls.contains(&"/v1/pets/1?api_key=****1234".to_string()), "the query's key is masked: {urls:?}");
}

#[tokio::test]
async fn default_and_ranges_answer_prefer_code_and_head_answers_get() {
    let (_server, http, base) = rules().await;
    let pet = http.get(format!("{base}/pets/1")).send().await.unwrap();
    assert_eq!(pet.status(), 200, "default answers as 200");
    let missing = http.get(format!("{base}/pets/1")).header("prefer", "code=404").send().await.unwrap();
    assert_eq!(missing.status(), 404, "default covers any status");
    let teapot = http.get(format!("{base}/pets")).header("prefer", "code=418").send().await.unwrap();
    assert_eq!((teapot.status().as_u16(), json_of(teapot).await), (418, json!({"message": "bad request", "code": 4})));
    let head = http.head(format!("{base}/pets")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["x-rate-limit"], "100");
    assert!(head.bytes().await.unwrap().is_empty());
}

#[test]
fn swagger_2_and_files_referred_to_load() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("api.yaml"),
        "swagger: '2.0'\ninfo: {title: Two, version: '1'}\nbasePath: /api\nproduces: [application/json]\npaths:\n  /pets:\n    get:\n      operationId: listPets\n      responses:\n        '200': {description: ok, schema: {type: array, items: {$ref: 'pet.yaml#/definitions/Pet'}}}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pet.yaml"),
        "definitions:\n  Pet: {type: object, required: [name], properties: {name: {type: string}}}\n",
    )
    .unwrap();
    let api = specmock::Api::from_file(dir.path().join("api.yaml")).unwrap();
    assert_eq!(api.operations()[0].route, "/api/pets");
    let remote = dir.path().join("remote.yaml");
    std::fs::write(&remote, "openapi: 3.0.3\ninfo: {title: R, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200': {$ref: 'https://example.com/r.yaml'}\n").unwrap();
    let refused = specmock::Api::from_file(&remote).unwrap_err().to_string();
    assert!(refused.contains("is remote; specmock runs offline"), "{refused}");
}

#[test]
fn documents_that_are_not_openapi_are_named() {
    let bin = env!("CARGO_BIN_EXE_specmock");
    let dir = tempfile::tempdir().unwrap();
    let postman = dir.path().join("collection.json");
    std::fs::write(&postman, r#"{"info": {"_postman_id": "1", "name": "x"}, "item": []}"#).unwrap();
    let out = std::process::Command::new(bin).args(["check", "--spec"]).arg(&postman).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("this looks like a Postman collection"));
    let warned = std::process::Command::new(bin).args(["check", "--spec", RULES]).output().unwrap();
    assert!(warned.status.success());
    assert!(String::from_utf8_lossy(&warned.stdout).contains("ok  rules (6 operations, 0 bound records, 1 warning)"));
    assert!(String::from_utf8_lossy(&warned.stderr)
        .contains("warning: at /paths/~1pets/get: the operation has no operationId"));
    let strict = std::process::Command::new(bin).args(["check", "--strict-spec", "--spec", RULES]).output().unwrap();
    assert!(!strict.status.success(), "--strict-spec refuses a document with warnings");
}

#[tokio::test]
async fn an_empty_value_is_refused_where_the_items_take_no_empty_string() {
    let server = MockServer::start().await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", server.uri())).bearer_auth("demo-token").send();
    let partners = "/api/network/v1/enterprises/7a72d96a-03b1-4f1f-a16f-5d13f5c04757/partners";
    let currencies = get(&format!("{partners}/allocations?currencies=")).await.unwrap();
    assert_eq!(currencies.status(), 400);
    assert!(json_of(currencies).await["error"].as_str().unwrap().starts_with("currencies: empty; expected"));
    let bucket = get("/brm/prepayBalanceManagement/v4/accumulatedBalance?bucket.id=").await.unwrap();
    assert_eq!(bucket.status(), 400);
    assert!(json_of(bucket).await["reason"].as_str().unwrap().starts_with("bucket.id: empty; expected"));
}

#[test]
fn serve_prints_a_ready_curl_line_per_operation_with_its_credentials_and_body() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_specmock"))
        .args(["serve", "--port", "0", "--spec", RULES])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let curls: Vec<String> = lines.map_while(Result::ok).filter(|l| l.contains("curl -s")).take(6).collect();
    child.kill().ok();
    child.wait().ok();
    assert_eq!(curls.len(), 6, "{curls:#?}");
    // The same requests `verify` sends, which tests/corpus.rs shows each document accepts.
    assert!(
        curls[1].contains("-H 'X-API-Key: specmock-token' -H 'Content-Type: application/json' -X POST -d '{\"id\":1")
    );
    assert!(curls[3].contains("-H 'Authorization: Bearer specmock-token' -X DELETE") && curls[3].contains("?api_key="));
    assert!(curls[4].contains("/v1/things/;a=0/.string'"), "styled path values: {}", curls[4]);
    assert!(curls[5].contains("/v1/my%20docs/"), "percent-encoded: {}", curls[5]);
}

#[tokio::test]
async fn the_console_catalogue_offers_range_and_default_statuses() {
    let (server, http, _) = rules().await;
    let catalogue = json_of(http.get(format!("{}/__admin/apis", server.uri())).send().await.unwrap()).await;
    let operations = catalogue["apis"][0]["operations"].as_array().unwrap();
    let statuses = |id: &str| operations.iter().find(|o| o["id"] == id).unwrap()["statuses"].clone();
    assert_eq!(statuses("getPets"), json!([200, 400]), "4XX is offered as 400");
    assert_eq!(statuses("getPet"), json!([200]), "default is offered as 200");
    assert_eq!(statuses("addPet"), json!([201, 401, 422]));
}
