//! Writes that later reads see: BRM adjustments, top-ups, disputes and transfers moving buckets
//! and accumulated balances; OES allocations reserved, cleared and released; each session
//! isolated, reset and bounded.

mod common;

use common::*;
use serde_json::{json, Value};

const BUCKET: &str = "0.0.0.1+-balance_group+106463";
const ACCOUNT: &str = "0.0.0.1+-account+102879";
const FROM: &str = "0.0.0.1+-balance_group+2083846+1000095+38";
const TO: &str = "0.0.0.1+-balance_group+2090186+1000095+20";
const CONNECTION: &str = "f0b6e6f5-a314-4d03-bb47-e0f6b5aaab5f";

/// `+` travels as `%2B` in a path or query.
fn q(id: &str) -> String {
    id.replace('+', "%2B")
}

fn amount(reply: &Reply, pointer: &str) -> f64 {
    reply.body.pointer(pointer).and_then(Value::as_f64).unwrap_or_else(|| panic!("{pointer} in {}", reply.body))
}

async fn bucket_value(session: &str, bucket: &str) -> f64 {
    amount(&get_in(session, &format!("{BRM}/bucket/{}", q(bucket))).await, "/remainingValue/amount")
}

async fn total(session: &str, account: &str) -> f64 {
    amount(&get_in(session, &format!("{BRM}/accumulatedBalance/{}", q(account))).await, "/totalBalance/amount")
}

fn adjust(amount: f64, bucket: &str) -> Value {
    json!({"amount": {"amount": amount, "units": "EUR"}, "bucket": {"id": bucket}, "usageType": "monetary"})
}

/// Today's instants in written records, which differ run to run, as `[now]`.
fn without_now(mut value: Value) -> Value {
    let today = chrono::Utc::now().format("%Y-%m-%dT").to_string();
    fn walk(v: &mut Value, today: &str) {
        match v {
            Value::String(s) if s.starts_with(today) => *s = "[now]".into(),
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, today)),
            Value::Object(map) => map.values_mut().for_each(|i| walk(i, today)),
            _ => {}
        }
    }
    walk(&mut value, &today);
    value
}

#[tokio::test]
async fn an_adjustment_moves_the_bucket_and_the_accumulated_balance_in_its_session_only() {
    let session = "adjust-moves";
    let (before, total_before) = (bucket_value(session, BUCKET).await, total(session, ACCOUNT).await);
    let created = send_json("POST", &format!("{BRM}/adjustBalance"), Some(session), &adjust(5.1, BUCKET)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(id, "0.0.0.1+-event-audit-adjust_balance+900000000000000001", "ids are deterministic per session");
    assert_eq!(created.header("location"), Some(&*format!("http://mock.test:4010{BRM}/adjustBalance/{id}")));
    assert_eq!(created.body["href"], format!("http://mock.test:4010{BRM}/adjustBalance/{id}"));
    assert_eq!(created.body["partyAccount"]["id"], ACCOUNT, "the bucket's account");
    common::snapshots()
        .bind(|| insta::assert_json_snapshot!("state_adjust_created", without_now(created.body.clone())));

    assert_eq!(bucket_value(session, BUCKET).await, before + 5.1);
    assert_eq!(total(session, ACCOUNT).await, total_before + 5.1);
    let bucket = get_in(session, &format!("{BRM}/bucket/{}", q(BUCKET))).await;
    assert_eq!(bucket.body["remainingValueName"], "50.10 EUR", "the display text follows the amount");
    let read = get_in(session, &format!("{BRM}/adjustBalance/{}", q(id))).await;
    assert_eq!((read.status, &read.body["id"]), (200, &created.body["id"]));
    let listed = get_in(session, &format!("{BRM}/adjustBalance?bucket.id={}", q(BUCKET))).await;
    assert_eq!((listed.header("x-total-count"), listed.body.as_array().unwrap().len()), (Some("1"), 1));

    // Other sessions, and the default one, still read the fixtures.
    assert_eq!(bucket_value("adjust-moves-elsewhere", BUCKET).await, before);
    assert_eq!(amount(&get(&format!("{BRM}/bucket/{}", q(BUCKET))).await, "/remainingValue/amount"), before);
    let elsewhere = get_in("adjust-moves-elsewhere", &format!("{BRM}/adjustBalance/{}", q(id))).await;
    assert_eq!(elsewhere.status, 404);
}

#[tokio::test]
async fn money_stays_exact_through_many_small_writes() {
    let session = "exact-money";
    let before = bucket_value(session, BUCKET).await;
    for _ in 0..10 {
        let r = send_json("POST", &format!("{BRM}/adjustBalance"), Some(session), &adjust(0.1, BUCKET)).await;
        assert_eq!(r.status, 201);
    }
    // Ten binary-float additions of 0.1 to 45 give 46.00000000000001; decimals give 46.
    assert_eq!(bucket_value(session, BUCKET).await, before + 1.0);
    let text = get_in(session, &format!("{BRM}/bucket/{}?fields=remainingValue", q(BUCKET))).await;
    assert_eq!(text.body["remainingValue"]["amount"].to_string(), "46.0");
}

#[tokio::test]
async fn a_transfer_moves_both_buckets_and_both_accounts_with_its_cost() {
    let session = "transfer-moves";
    let (from, to) = (bucket_value(session, FROM).await, bucket_value(session, TO).await);
    let transfer = json!({"amount": {"amount": 3, "units": "Free Seconds"}, "transferCost": {"amount": 1, "units": "Free Seconds"},
        "costOwner": "originator", "bucket": {"id": FROM}, "receiverBucket": {"id": TO}, "usageType": "other"});
    let created = send_json("POST", &format!("{BRM}/transferBalance"), Some(session), &transfer).await;
    assert_eq!(created.status, 201, "{}", created.body);
    common::snapshots()
        .bind(|| insta::assert_json_snapshot!("state_transfer_created", without_now(created.body.clone())));
    assert_eq!(bucket_value(session, FROM).await, from - 4.0, "the amount and the cost leave");
    assert_eq!(bucket_value(session, TO).await, to + 3.0, "the amount arrives");
    let (payer, payee) = ("0.0.0.1+-account+2084346", "0.0.0.1+-account+2090314");
    assert_eq!(created.body["partyAccount"]["id"], payer);
    assert_eq!(created.body["receiverPartyAccount"]["id"], payee);
    let listed = get_in(session, &format!("{BRM}/transferBalance?partyAccount.id={}", q(payer))).await;
    let ids: Vec<&str> = listed.body.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids.last(), Some(&created.body["id"].as_str().unwrap()), "the new transfer lists after the fixtures'");
    assert_eq!(listed.header("x-total-count"), Some(&*ids.len().to_string()));
}

#[tokio::test]
async fn refused_writes_say_why_in_the_tmf_envelope_and_change_nothing() {
    let session = "refusals";
    let before = bucket_value(session, BUCKET).await;
    let cases = [
        ("state_refused_body", json!({"amount": {"amount": 1}, "usageType": "monetary"}), 400),
        ("state_refused_unknown_bucket", adjust(1.0, "0.0.0.1+-balance_group+404"), 404),
        ("state_refused_overdraw", adjust(-1000.0, BUCKET), 409),
    ];
    for (name, body, status) in cases {
        let reply = send_json("POST", &format!("{BRM}/adjustBalance"), Some(session), &body).await;
        assert_eq!(reply.status, status, "{}", reply.body);
        assert_eq!(reply.body["@type"], "Error");
        common::snapshots().bind(|| insta::assert_json_snapshot!(name, reply.body));
    }
    assert_eq!(bucket_value(session, BUCKET).await, before);
    let listed = get_in(session, &format!("{BRM}/adjustBalance")).await;
    assert_eq!(listed.body, json!([]), "nothing was created");
}

#[tokio::test]
async fn a_transfer_refused_after_its_cost_was_charged_leaves_every_record_as_it_was() {
    // Records a session already wrote change in place; a refusal must put every one back.
    let session = "refused-after-cost";
    let post = format!("{BRM}/transferBalance");
    let transfer = |seconds: f64, cost: f64| {
        json!({"amount": {"amount": seconds, "units": "Free Seconds"}, "transferCost": {"amount": cost, "units": "Free Seconds"},
               "costOwner": "originator", "bucket": {"id": FROM}, "receiverBucket": {"id": TO}, "usageType": "other"})
    };
    assert_eq!(send_json("POST", &post, Some(session), &transfer(1.0, 0.0)).await.status, 201);
    let (payer, payee) = ("0.0.0.1+-account+2084346", "0.0.0.1+-account+2090314");
    let read_all = || async {
        let records = [
            get_in(session, &format!("{BRM}/bucket/{}", q(FROM))).await.body,
            get_in(session, &format!("{BRM}/bucket/{}", q(TO))).await.body,
            get_in(session, &format!("{BRM}/accumulatedBalance/{}", q(payer))).await.body,
            get_in(session, &format!("{BRM}/accumulatedBalance/{}", q(payee))).await.body,
            get_in(session, &format!("{BRM}/transferBalance?partyAccount.id={}", q(payer))).await.body,
        ];
        records
    };
    let before = read_all().await;
    let from = before[0]["remainingValue"]["amount"].as_f64().unwrap();
    // The cost fits, so it is charged first; then the amount itself does not.
    let refused = send_json("POST", &post, Some(session), &transfer(from, 1.0)).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(read_all().await, before, "the bucket the cost was charged to, and its account's total, are back");
    assert_eq!(send_json("POST", &post, Some(session), &transfer(1.0, 0.0)).await.status, 201, "and still write");
    assert_eq!(bucket_value(session, FROM).await, from - 1.0);
}

fn allocation(client_id: &str, quantity: &str) -> Value {
    json!({"amount": {"currency": "USDT", "quantity": quantity}, "clientExternalId": client_id,
           "nonce": "n-1", "payload": "{}", "signature": "not-verified"})
}

fn settle(allocation: &Value, status: &str) -> Value {
    json!({"allocationId": allocation["id"], "amount": allocation["amount"], "clientId": "4a1bce01-4ef4-4263-af76-0f56e07eaa45",
           "connectionId": allocation["connectionId"], "partnersClientId": "pc-1", "partnersConnectionId": "acct-1",
           "partnersAllocationId": "pa-1", "status": status, "nonce": "n-2", "payload": "{}", "signature": "s"})
}

async fn usdt(session: &str) -> (u128, u128) {
    let reply = get_in(session, &balances(&format!("connectionIds={CONNECTION}"))).await;
    let b = &reply.body["networkBalances"][CONNECTION]["balances"]["USDT"];
    (b["available"].as_str().unwrap().parse().unwrap(), b["held"].as_str().unwrap().parse().unwrap())
}

#[tokio::test]
async fn an_allocation_is_reserved_then_cleared_and_a_repeat_never_reserves_twice() {
    let session = "allocation-flow";
    let (available, held) = usdt(session).await;
    let post = format!("{OES}/{DEMO}/clients/connections/{CONNECTION}/allocations");
    let first = send_json("POST", &post, Some(session), &allocation("alloc-1", "250000000")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let record = first.body["allocation"].clone();
    assert_eq!((record["status"].as_str(), record["type"].as_str()), (Some("reserved"), Some("allocation")));
    assert!(record.get("signature").is_none() && record.get("nonce").is_none(), "signatures are not kept");
    assert_eq!(usdt(session).await, (available, held + 250_000_000));

    let again = send_json("POST", &post, Some(session), &allocation("alloc-1", "250000000")).await;
    assert_eq!((again.status, &again.body["allocation"]["id"]), (200, &record["id"]));
    assert_eq!(usdt(session).await, (available, held + 250_000_000), "the repeat reserved nothing");

    // Sorted by updatedAt DESC, the new allocation takes its place among the fixtures'.
    let page = get_in(
        session,
        &allocations(&format!("connectionIds={CONNECTION}&sortField=updatedAt&sortDirection=DESC&pageSize=500")),
    )
    .await;
    let page = page.body["allocations"].as_array().unwrap().clone();
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> =
        page.iter().map(|a| chrono::DateTime::parse_from_rfc3339(a["updatedAt"].as_str().unwrap()).unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let at = page.iter().position(|a| a["id"] == record["id"]).expect("listed");
    assert!(page[..at].iter().all(|a| a["updatedAt"].as_str() >= record["updatedAt"].as_str()));
    let reserved =
        get_in(session, &allocations(&format!("statuses=reserved&connectionIds={CONNECTION}&pageSize=500"))).await;
    assert!(reserved.body["allocations"].as_array().unwrap().iter().any(|a| a["id"] == record["id"]));

    let cleared =
        send_json("PUT", &format!("{OES}/{DEMO}/partners/allocations"), Some(session), &settle(&record, "cleared"))
            .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(cleared.body["allocationId"], record["id"], "BitGo echoes the ids");
    assert_eq!(usdt(session).await, (available + 250_000_000, held), "held moved to available");
    let read = get_in(session, &format!("{OES}/{DEMO}/partners/allocations/{}", record["id"].as_str().unwrap())).await;
    assert_eq!(
        (read.body["allocation"]["status"].as_str(), &read.body["allocation"]["reason"]),
        (Some("cleared"), &Value::Null)
    );
    assert_ne!(read.body["allocation"]["updatedAt"], record["updatedAt"]);

    // Settled: a second settlement conflicts; a repeated create answers the allocation as it is now.
    let twice =
        send_json("PUT", &format!("{OES}/{DEMO}/partners/allocations"), Some(session), &settle(&record, "released"))
            .await;
    assert_eq!((twice.status, twice.body["name"].as_str()), (409, Some("ConflictError")));
    let repeat = send_json("POST", &post, Some(session), &allocation("alloc-1", "250000000")).await;
    assert_eq!((repeat.status, repeat.body["allocation"]["status"].as_str()), (200, Some("cleared")));
    assert_eq!(usdt(session).await, (available + 250_000_000, held));
    common::snapshots().bind(|| insta::assert_json_snapshot!("state_allocation_conflict", twice.body));
}

#[tokio::test]
async fn a_deallocation_beyond_what_is_available_is_unprocessable() {
    let session = "deallocation-limit";
    let (available, held) = usdt(session).await;
    let post = format!("{OES}/{DEMO}/clients/connections/{CONNECTION}/deallocations");
    let too_much = send_json("POST", &post, Some(session), &allocation("d-1", &(available + 1).to_string())).await;
    assert_eq!((too_much.status, too_much.body["name"].as_str()), (422, Some("UnprocessableEntityError")));
    let fine = send_json("POST", &post, Some(session), &allocation("d-2", "100")).await;
    assert_eq!(fine.status, 200);
    assert_eq!(fine.body["deallocation"]["type"], "deallocation");
    assert_eq!(usdt(session).await, (available - 100, held + 100));
    let released = send_json("PUT", &format!("{OES}/{DEMO}/partners/deallocations"), Some(session), &{
        let mut s = settle(&fine.body["deallocation"], "released");
        let id = s["allocationId"].take();
        s["deallocationId"] = id;
        s["partnersDeallocationId"] = json!("pd-1");
        s
    })
    .await;
    assert_eq!(released.status, 200, "{}", released.body);
    assert_eq!(usdt(session).await, (available, held), "a released deallocation returns the amount");
}

#[tokio::test]
async fn a_currency_with_a_slash_or_tilde_is_one_balance_not_a_path() {
    // Schemathesis found it: a currency spliced into `/balances/{currency}/held` unescaped made
    // nested members, which the connection's schema refused, and the write answered 500.
    let session = "odd-currency";
    let post = format!("{OES}/{DEMO}/clients/connections/{CONNECTION}/allocations");
    let mut body = allocation("odd-1", "5");
    body["amount"]["currency"] = json!("A/B~0");
    let reply = send_json("POST", &post, Some(session), &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let balances = get_in(session, &balances(&format!("connectionIds={CONNECTION}"))).await;
    let odd = &balances.body["networkBalances"][CONNECTION]["balances"]["A/B~0"];
    assert_eq!((odd["available"].as_str(), odd["held"].as_str()), (Some("0"), Some("5")), "{}", balances.body);
}

#[tokio::test]
async fn a_bad_session_name_is_refused_in_the_apis_envelope() {
    let reply =
        send("GET", &format!("{BRM}/bucket"), &[("authorization", "Bearer demo-token"), ("x-specmock-session", "a b")])
            .await;
    assert_eq!(reply.status, 400);
    assert!(reply.body["reason"].as_str().unwrap().starts_with("X-Specmock-Session: \"a b\" is not a session name"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_debits_never_spend_a_bucket_twice() {
    let session = "hammer";
    let before = bucket_value(session, BUCKET).await;
    assert_eq!(before, 45.0);
    // 32 writers each take 1.5 from a 45 EUR bucket: exactly 30 may succeed.
    let writers: Vec<_> = (0..32)
        .map(|_| {
            tokio::spawn(async move {
                send_json("POST", &format!("{BRM}/adjustBalance"), Some(session), &adjust(-1.5, BUCKET)).await.status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for w in writers {
        statuses.push(w.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 30, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 409).count(), 2, "{statuses:?}");
    assert_eq!(bucket_value(session, BUCKET).await, 0.0);
    assert_eq!(total(session, ACCOUNT).await, 0.0, "the account's total is still the sum of its one bucket");
    let listed = get_in(session, &format!("{BRM}/adjustBalance?limit=100")).await;
    assert_eq!(listed.header("x-total-count"), Some("30"));
}

#[tokio::test]
async fn the_admin_api_lists_drops_and_resets_sessions() {
    let server = specmock::MockServer::builder().session_writes(2).sessions(2).start().await;
    let http = reqwest::Client::new();
    let admin = |path: &str| format!("{}/__admin{path}", server.uri());
    let write = |session: &'static str| {
        let http = http.clone();
        let url = format!("{}{BRM}/adjustBalance", server.uri());
        async move {
            let reply = http
                .post(url)
                .bearer_auth("demo-token")
                .header("x-specmock-session", session)
                .json(&adjust(1.0, BUCKET))
                .send()
                .await
                .unwrap();
            (reply.status().as_u16(), reply.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(write("a").await.0, 201);
    assert_eq!(write("a").await.0, 201);
    let (status, capped) = write("a").await;
    assert_eq!(status, 507, "past --session-writes");
    assert_eq!(capped["@type"], "Error", "in the API's envelope");
    assert!(capped["reason"].as_str().unwrap().contains("--session-writes"), "{capped}");
    common::snapshots().bind(|| insta::assert_json_snapshot!("state_session_writes_cap", capped));

    let listed: Value = http.get(admin("/sessions")).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        listed,
        json!({"sessions": [{"name": "a", "writes": 2, "records": {
        "prepay-balance/accumulatedBalances": 1, "prepay-balance/adjustBalances": 2, "prepay-balance/buckets": 1}}]})
    );

    // Two sessions at most: a third drops the least recently used.
    assert_eq!(write("b").await.0, 201);
    assert_eq!(write("c").await.0, 201);
    let names = |v: Value| {
        v["sessions"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(names(http.get(admin("/sessions")).send().await.unwrap().json().await.unwrap()), ["b", "c"]);

    let dropped = http.delete(admin("/sessions/b")).send().await.unwrap();
    assert_eq!(dropped.status(), 204);
    assert_eq!(http.delete(admin("/sessions/b")).send().await.unwrap().status(), 404);

    // The data view shows a session's records.
    let data: Value =
        http.get(admin("/data/prepay-balance/adjustBalances?session=c")).send().await.unwrap().json().await.unwrap();
    assert_eq!((data["total"].as_u64(), data["records"].as_array().unwrap().len()), (Some(1), 1));
    let plain: Value =
        http.get(admin("/data/prepay-balance/adjustBalances")).send().await.unwrap().json().await.unwrap();
    assert_eq!(plain["total"], 0);

    let reset = http.post(admin("/reset")).header("content-type", "application/json").send().await.unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(names(http.get(admin("/sessions")).send().await.unwrap().json().await.unwrap()), Vec::<String>::new());
}

#[tokio::test]
async fn a_mock_server_session_handle_isolates_and_drops_its_writes() {
    let server = specmock::MockServer::start().await;
    let bucket_url = format!("{}{BRM}/bucket/{}", server.uri(), q(BUCKET));
    {
        let session = server.session("handle");
        let http = session.http("demo-token").unwrap();
        let created =
            http.post(format!("{}{BRM}/adjustBalance", server.uri())).json(&adjust(2.0, BUCKET)).send().await.unwrap();
        assert_eq!(created.status(), 201);
        assert_eq!(session.writes(), 1);
        let read: Value = http.get(&bucket_url).send().await.unwrap().json().await.unwrap();
        assert_eq!(read["remainingValue"]["amount"], 47.0);
    }
    // Dropped with the handle: the same name starts from the fixtures again.
    let again = server.session("handle");
    let read: Value = again.http("demo-token").unwrap().get(&bucket_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(read["remainingValue"]["amount"], 45.0);
    assert_eq!(again.writes(), 0);
}

#[tokio::test]
async fn writes_need_the_write_permission_and_credentials_come_before_the_body() {
    let post = |token: Option<&'static str>, body: &'static str| {
        let mut headers = vec![("content-type", "application/json"), ("x-specmock-session", "permissions")];
        if let Some(t) = token {
            headers.push(("authorization", t));
        }
        async move {
            let request = headers.iter().fold(
                axum::http::Request::builder()
                    .method("POST")
                    .uri(format!("{BRM}/adjustBalance"))
                    .header("host", "mock.test"),
                |r, (k, v)| r.header(*k, *v),
            );
            let response = server().handle(request.body(axum::body::Body::from(body)).unwrap()).await;
            let status = response.status().as_u16();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        }
    };
    let good =
        r#"{"amount": {"amount": 1}, "bucket": {"id": "0.0.0.1+-balance_group+106463"}, "usageType": "monetary"}"#;
    let (status, body) = post(Some("Bearer demo-read-only"), good).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (403, Some("The caller is not permitted to change prepay balances (prepay_balance_write)."))
    );
    assert_eq!(post(None, "{not json").await.0, 401, "who is calling is checked before what they sent");
    assert_eq!(post(Some("Bearer demo-token"), "{not json").await.0, 400);
}

#[tokio::test]
async fn prefer_a_success_status_on_a_create_still_creates() {
    let session = "prefer-201";
    let topup = json!({"amount": {"amount": 10, "units": "EUR"}, "bucket": {"id": BUCKET}, "partyAccount": {"id": ACCOUNT}, "usageType": "monetary"});
    let headers = [("x-specmock-session", session), ("prefer", "code=201")];
    let created = send_json_with("POST", &format!("{BRM}/topupBalance"), &headers, &topup).await;
    assert_eq!(created.status, 201);
    assert_eq!(
        created.body["id"], "0.0.0.1+-event-audit-topup_balance+900000000000000001",
        "a real record, not an example"
    );
    assert_eq!(bucket_value(session, BUCKET).await, 55.0);
    let wrong = json!({"amount": {"amount": 10, "units": "EUR"}, "bucket": {"id": BUCKET}, "partyAccount": {"id": "0.0.0.1+-account+2084346"}, "usageType": "monetary"});
    let refused = send_json("POST", &format!("{BRM}/topupBalance"), Some(session), &wrong).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.body["reason"],
        format!("partyAccount.id: the bucket {BUCKET} belongs to account {ACCOUNT}; expected that account.")
    );
}

#[tokio::test]
async fn sessions_records_are_bounded_by_bytes() {
    // 64 KiB in all: some dozens of adjustments (each kept as its text) fill it, and the next
    // write is refused with 507.
    let server = specmock::MockServer::builder().session_bytes(64 << 10).start().await;
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..200 {
        let reply = http
            .post(format!("{}{BRM}/adjustBalance", server.uri()))
            .bearer_auth("demo-token")
            .header("x-specmock-session", "big")
            .json(&adjust(0.5, BUCKET))
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        statuses.push(status);
        if status == 507 {
            let body: Value = reply.json().await.unwrap();
            assert!(body["reason"].as_str().unwrap().contains("--session-bytes"), "{body}");
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&507), "{statuses:?}");
    assert!(statuses.iter().filter(|&&s| s == 201).count() >= 2, "{statuses:?}");
    // Another session's write past the budget drops the least recently used one to make room.
    let other = http
        .post(format!("{}{BRM}/adjustBalance", server.uri()))
        .bearer_auth("demo-token")
        .header("x-specmock-session", "small")
        .json(&adjust(0.5, BUCKET))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 201);
    let sessions: Value =
        http.get(format!("{}/__admin/sessions", server.uri())).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> =
        sessions["sessions"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["small"]);
}

#[tokio::test]
async fn a_record_read_before_it_changes_reads_back_changed() {
    // A read keeps each record's serialisation; a change lets that record's go, and only it.
    let session = "reread";
    let post = format!("{OES}/{DEMO}/clients/connections/{CONNECTION}/allocations");
    let made =
        send_json("POST", &post, Some(session), &allocation("reread-1", "1000")).await.body["allocation"].clone();
    let other =
        send_json("POST", &post, Some(session), &allocation("reread-2", "2000")).await.body["allocation"].clone();
    let page =
        || allocations(&format!("connectionIds={CONNECTION}&sortField=updatedAt&sortDirection=DESC&pageSize=50"));
    let status_of = |page: &Reply, id: &Value| {
        let listed = page.body["allocations"].as_array().unwrap();
        listed.iter().find(|a| a["id"] == *id).map(|a| a["status"].as_str().unwrap().to_string())
    };
    let before = get_in(session, &page()).await;
    assert_eq!(status_of(&before, &made["id"]).as_deref(), Some("reserved"));
    let one = format!("{OES}/{DEMO}/partners/allocations/{}", made["id"].as_str().unwrap());
    assert_eq!(get_in(session, &one).await.body["allocation"]["status"], "reserved");

    let cleared =
        send_json("PUT", &format!("{OES}/{DEMO}/partners/allocations"), Some(session), &settle(&made, "cleared")).await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    let after = get_in(session, &page()).await;
    assert_eq!(status_of(&after, &made["id"]).as_deref(), Some("cleared"), "the page shows the change");
    assert_eq!(status_of(&after, &other["id"]).as_deref(), Some("reserved"), "and the record it did not change");
    assert_eq!(get_in(session, &one).await.body["allocation"]["status"], "cleared", "so does the record's own route");

    // An indexed record the session changed (a bucket a transfer moved) reads back moved too.
    let seconds = bucket_value(session, FROM).await;
    let transfer = json!({"amount": {"amount": 2, "units": "Free Seconds"}, "bucket": {"id": FROM},
                          "receiverBucket": {"id": TO}, "usageType": "other"});
    assert_eq!(send_json("POST", &format!("{BRM}/transferBalance"), Some(session), &transfer).await.status, 201);
    assert_eq!(bucket_value(session, FROM).await, seconds - 2.0);
    assert_eq!(send_json("POST", &format!("{BRM}/transferBalance"), Some(session), &transfer).await.status, 201);
    assert_eq!(bucket_value(session, FROM).await, seconds - 4.0);
}
