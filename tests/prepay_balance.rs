//! The Oracle BRM TMF654 routes: ids, @type, fields, nulls, TMF errors and offset paging.

mod common;

use std::collections::HashSet;

use common::*;
use serde_json::{json, Value};

const POID: &str = "0.0.0.1+-account+102879";
const TRANSFER: &str = "0.0.0.1+-event-audit-transfer_balance+332070103776495457";

fn seed_examples(path: &str) -> Vec<Value> {
    let spec: Value = serde_saphyr::from_str(include_str!("../spec/prepay-balance.yaml")).unwrap();
    let examples = spec
        .pointer(&format!("/paths/{path}/get/responses/200/content/application~1json;charset=utf-8/examples"))
        .unwrap()
        .as_object()
        .unwrap();
    examples.values().map(|e| e["value"].clone()).collect()
}

/// The seed example as served to host mock.test:4010: Oracle's placeholder host replaced.
fn as_served(example: &Value) -> Value {
    let text = example
        .to_string()
        .replace(
            "http://host:port/brm/prepayBalanceManagement/version",
            "http://mock.test:4010/brm/prepayBalanceManagement/v4",
        )
        .replace(
            "http://host:port/brm/prepayBalanceManagement/v4",
            "http://mock.test:4010/brm/prepayBalanceManagement/v4",
        );
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn seed_examples_answer_verbatim_at_their_ids() {
    let accumulated = seed_examples("~1accumulatedBalance~1{id}");
    assert_eq!(accumulated.len(), 2);
    for example in &accumulated {
        let id = example["id"].as_str().unwrap();
        let reply = get(&format!("{BRM}/accumulatedBalance/{id}")).await;
        assert_eq!(reply.status, 200, "{id}");
        assert_eq!(reply.body, as_served(example), "{id}");
        // Byte order too: the seed's attribute order is kept.
        let keys: Vec<_> = reply.body.as_object().unwrap().keys().cloned().collect();
        let seed_keys: Vec<_> = example.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, seed_keys);
    }
    let transfer = &seed_examples("~1transferBalance~1{id}")[0];
    let reply = get(&format!("{BRM}/transferBalance/{TRANSFER}")).await;
    assert_eq!(reply.body, as_served(transfer));
    let snap = common::snapshots();
    snap.bind(|| {
        insta::assert_json_snapshot!(
            "brm_accumulated_balance_200",
            get_blocking(&format!("{BRM}/accumulatedBalance/{POID}"))
        );
        insta::assert_json_snapshot!("brm_transfer_balance_200", reply.body);
    });
}

fn get_blocking(uri: &str) -> Value {
    let uri = uri.to_string();
    std::thread::spawn(move || tokio::runtime::Runtime::new().unwrap().block_on(get(&uri)).body).join().unwrap()
}

#[tokio::test]
async fn both_id_forms_and_percent_encoding_find_the_account() {
    let poid = get(&format!("{BRM}/accumulatedBalance/0.0.0.1+-account+200001")).await;
    let external = get(&format!("{BRM}/accumulatedBalance/account+30001")).await;
    let encoded = get(&format!("{BRM}/accumulatedBalance/account%2B30001")).await;
    assert_eq!(poid.status, 200);
    assert_eq!(poid.body, external.body);
    assert_eq!(poid.body, encoded.body);
    assert_eq!(
        poid.body["href"],
        "http://mock.test:4010/brm/prepayBalanceManagement/v4/accumulatedBalance/0.0.0.1+-account+200001"
    );
    assert_eq!(get(&format!("{BRM}/accumulatedBalance/account%2B12345")).await.body["name"], "Juan Lopez");
}

#[tokio::test]
async fn hrefs_follow_the_request_host_and_scheme() {
    let reply = send(
        "GET",
        &format!("{BRM}/bucket/0.0.0.1+-balance_group+106463"),
        &[("authorization", "Bearer demo-token"), ("host", "brm.example:8443"), ("x-forwarded-proto", "https")],
    )
    .await;
    assert_eq!(
        reply.body["href"],
        "https://brm.example:8443/brm/prepayBalanceManagement/v4/bucket/0.0.0.1+-balance_group+106463"
    );
}

#[tokio::test]
async fn at_type_picks_the_base_or_extended_object() {
    let url = |q: &str| format!("{BRM}/accumulatedBalance/account+30002?{q}");
    let base = get(&url("")).await.body;
    assert_eq!(base["@type"], "AccumulatedBalance");
    assert!(base.get("billStructure").is_none());
    assert_eq!(get(&url("@type=AccumulatedBalance")).await.body, base);
    assert_eq!(get(&url("type=AccumulatedBalance")).await.body, base, "the seed's spelling is accepted");
    let extended = get(&url("%40type=AccumulatedBalanceOracle")).await.body;
    assert_eq!(extended["@type"], "AccumulatedBalanceOracle");
    assert!(extended["billStructure"].is_object());
    assert!(extended["billingCycleSpecification"]["billingDateShift"].is_number());
    // The seed record has no extension attributes: Oracle shows them as null.
    let seed = get(&format!("{BRM}/accumulatedBalance/{POID}?type=AccumulatedBalanceOracle")).await.body;
    assert_eq!(seed["billStructure"], Value::Null);
    let bad = get(&url("@type=Balance")).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.body["reason"],
        "@type: got \"Balance\"; expected one of AccumulatedBalance, AccumulatedBalanceOracle"
    );
    common::snapshots().bind(|| insta::assert_json_snapshot!("brm_accumulated_balance_oracle_200", extended));
}

#[tokio::test]
async fn fields_selects_first_level_attributes() {
    let url = |q: &str| format!("{BRM}/transferBalance/{TRANSFER}?{q}");
    let picked = get(&url("fields=requestor,requestedDate")).await.body;
    let keys: HashSet<_> = picked.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["id", "href", "@type", "requestor", "requestedDate"].map(String::from).into());
    assert_eq!(get(&url("fields=requestor%20,%20requestedDate")).await.body, picked, "spaces around commas");
    // The spec declares an array: generators that ignore `explode: false` (progenitor) repeat the name.
    assert_eq!(get(&url("fields=requestor&fields=requestedDate")).await.body, picked, "repeated");
    assert_eq!(get(&url("fields=requestor,,requestedDate,")).await.body, picked, "empty names are skipped");
    let none = get(&url("fields=none")).await.body;
    assert_eq!(get(&url("fields=")).await.body, none, "an empty selection");
    assert_eq!(
        none.as_object().unwrap().keys().cloned().collect::<HashSet<_>>(),
        ["id", "href", "@type"].map(String::from).into()
    );
    let unknown = get(&url("fields=amount,colour")).await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.body["reason"].as_str().unwrap().starts_with("fields: unknown attribute 'colour'; expected"));
    let extension = get(&format!("{BRM}/accumulatedBalance/{POID}?fields=billStructure")).await;
    assert_eq!(extension.status, 400);
    assert!(extension.body["reason"].as_str().unwrap().contains("@type=AccumulatedBalanceOracle"));
    let allowed =
        get(&format!("{BRM}/accumulatedBalance/{POID}?fields=billStructure&@type=AccumulatedBalanceOracle")).await;
    assert_eq!(allowed.status, 200);
    assert_eq!(allowed.body["billStructure"], Value::Null);
    let snap = common::snapshots();
    snap.bind(|| {
        insta::assert_json_snapshot!("brm_transfer_fields", picked);
        insta::assert_json_snapshot!("brm_fields_none", none);
        insta::assert_json_snapshot!("brm_400_unknown_field", unknown.body);
    });
}

#[tokio::test]
async fn tmf_errors_for_every_status() {
    let unknown = get(&format!("{BRM}/accumulatedBalance/0.0.0.1+-account+999")).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.body,
        json!({"code": "404", "reason": "The accumulated balance for account 0.0.0.1+-account+999 wasn't found.",
               "message": "Not Found: check the id, or list the collection to find one.",
               "status": "404", "referenceError": null, "@baseType": "Error", "@schemaLocation": null, "@type": "Error"})
    );
    let missing = get_as(&format!("{BRM}/bucket"), None).await;
    assert_eq!(missing.status, 401);
    assert_eq!(get_as(&format!("{BRM}/bucket"), Some("wrong")).await.status, 401);
    let forbidden = get_as(&format!("{BRM}/bucket"), Some("demo-no-permission")).await;
    assert_eq!(forbidden.status, 403);
    let post =
        send("POST", &format!("{BRM}/accumulatedBalance/{POID}"), &[("authorization", "Bearer demo-token")]).await;
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET"));
    assert_eq!(post.body["code"], "405");
    let conflict = send("GET", &format!("{BRM}/accumulatedBalance/{POID}"), &[("prefer", "code=409")]).await;
    assert_eq!(conflict.status, 409);
    let internal = send("GET", &format!("{BRM}/transferBalance/{TRANSFER}"), &[("prefer", "code=500")]).await;
    assert_eq!(internal.status, 500);
    assert_eq!(internal.body["@type"], "Error");
    let example = send("GET", &format!("{BRM}/accumulatedBalance/x"), &[("prefer", "example=byExternalId")]).await;
    assert_eq!(example.body["id"], "account+12345");
    // Oracle's documented media type, on refusals, forced errors and examples alike.
    for reply in [&unknown, &missing, &forbidden, &post, &conflict, &internal, &example] {
        assert_eq!(reply.header("content-type"), Some("application/json;charset=utf-8"), "{}", reply.status);
    }
    let snap = common::snapshots();
    snap.bind(|| {
        insta::assert_json_snapshot!("brm_401", missing.body);
        insta::assert_json_snapshot!("brm_403", forbidden.body);
        insta::assert_json_snapshot!("brm_404", unknown.body);
        insta::assert_json_snapshot!("brm_405", post.body);
        insta::assert_json_snapshot!("brm_409", conflict.body);
        insta::assert_json_snapshot!("brm_500", internal.body);
    });
}

#[tokio::test]
async fn lists_page_with_offset_and_limit_and_count_headers() {
    let first = get(&format!("{BRM}/accumulatedBalance?limit=5")).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("x-total-count"), Some("204"));
    assert_eq!(first.header("x-result-count"), Some("5"));
    assert_eq!(first.header("content-type"), Some("application/json;charset=utf-8"), "as Oracle documents it");
    assert_eq!(first.body.as_array().unwrap().len(), 5);
    let past = get(&format!("{BRM}/accumulatedBalance?offset=204")).await;
    assert_eq!((past.body.clone(), past.header("x-result-count")), (json!([]), Some("0")));
    for bad in ["limit=0", "limit=1001", "offset=-1", "offset=a"] {
        assert_eq!(get(&format!("{BRM}/transferBalance?{bad}")).await.status, 400, "{bad}");
    }
    let mut seen = HashSet::new();
    let mut offset = 0;
    loop {
        let page = get(&format!("{BRM}/transferBalance?limit=97&offset={offset}&fields=none")).await;
        let items = page.body.as_array().unwrap();
        for item in items {
            assert!(seen.insert(item["id"].as_str().unwrap().to_string()));
        }
        if items.len() < 97 {
            break;
        }
        offset += 97;
    }
    assert_eq!(seen.len(), 1001);
    let snap = common::snapshots();
    snap.bind(|| insta::assert_json_snapshot!("brm_bucket_list", get_blocking(&format!("{BRM}/bucket?limit=2"))));
}

#[tokio::test]
async fn list_filters_match_their_fields() {
    let account = "0.0.0.1+-account+200003";
    // In a query string `+` means a space, so ids with `+` travel as %2B.
    let q = account.replace('+', "%2B");
    let mine = get(&format!("{BRM}/transferBalance?partyAccount.id={q}&limit=1000")).await.body;
    assert!(!mine.as_array().unwrap().is_empty());
    assert!(mine.as_array().unwrap().iter().all(|t| t["partyAccount"]["id"] == account));
    let to_me = get(&format!("{BRM}/transferBalance?receiverPartyAccount.id={q}&limit=1000")).await.body;
    assert!(!to_me.as_array().unwrap().is_empty());
    assert!(to_me.as_array().unwrap().iter().all(|t| t["receiverPartyAccount"]["id"] == account));
    let receivers = get(&format!("{BRM}/transferBalance?costOwner=receiver&usageType=other&limit=1000")).await.body;
    let receivers = receivers.as_array().unwrap();
    assert!(!receivers.is_empty());
    assert!(receivers.iter().all(|t| t["costOwner"] == "receiver" && t["usageType"] == "other"));
    let buckets = get(&format!("{BRM}/bucket?partyAccount.id={q}&status=active")).await.body;
    let buckets = buckets.as_array().unwrap();
    assert!(buckets.len() >= 3, "a currency bucket and two free-unit buckets");
    let bucket_id = buckets[0]["id"].as_str().unwrap().replace('+', "%2B");
    let by_bucket = get(&format!("{BRM}/accumulatedBalance?bucket.id={bucket_id}")).await;
    assert_eq!(by_bucket.header("x-total-count"), Some("1"));
    assert_eq!(by_bucket.body[0]["partyAccount"]["id"], account);
    let product = mine.as_array().unwrap().first().map(|t| t["product"]["id"].as_str().unwrap().to_string());
    let product = product.expect("the account sends transfers");
    let by_product =
        get(&format!("{BRM}/transferBalance?product.id={}&limit=1000", product.replace('+', "%2B"))).await.body;
    assert!(!by_product.as_array().unwrap().is_empty());
    assert!(by_product.as_array().unwrap().iter().all(|t| t["product"]["id"] == product.as_str()));
    assert_eq!(get(&format!("{BRM}/transferBalance?costOwner=nobody")).await.status, 400);
}

/// Money is exact: every amount BRM serves reads as the decimal it is (at most two places),
/// never a binary float's noise such as 17.099999999999998.
#[tokio::test]
async fn no_served_amount_carries_float_noise() {
    let mut noisy = Vec::new();
    let mut seen = 0;
    for collection in ["transferBalance", "bucket", "accumulatedBalance"] {
        let mut offset = 0;
        loop {
            let page = get(&format!("{BRM}/{collection}?limit=1000&offset={offset}")).await;
            assert_eq!(page.status, 200);
            let records = page.body.as_array().unwrap().clone();
            for record in &records {
                let mut numbers = Vec::new();
                collect_numbers(record, &mut numbers);
                seen += numbers.len();
                noisy.extend(numbers.into_iter().filter(|n| n.split_once('.').is_some_and(|(_, f)| f.len() > 2)));
            }
            if records.len() < 1000 {
                break;
            }
            offset += 1000;
        }
    }
    assert!(seen > 2_000, "amounts were read: {seen}");
    assert!(noisy.is_empty(), "{} amounts with float noise, e.g. {:?}", noisy.len(), &noisy[..noisy.len().min(5)]);
}

fn collect_numbers(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| collect_numbers(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_numbers(v, out)),
        _ => {}
    }
}

/// Every reference in the BRM data resolves, so a client (or a write) can follow it: each
/// bucket a record names is served at `/bucket/{id}`, and each account at
/// `/accumulatedBalance/{id}`.
#[tokio::test]
async fn every_reference_in_the_data_resolves() {
    let mut buckets = std::collections::BTreeSet::new();
    let mut accounts = std::collections::BTreeSet::new();
    for collection in ["transferBalance", "bucket", "accumulatedBalance"] {
        let mut offset = 0;
        loop {
            let page = get(&format!("{BRM}/{collection}?limit=1000&offset={offset}")).await;
            let records = page.body.as_array().unwrap().clone();
            for record in &records {
                collect_refs(record, &mut buckets, &mut accounts);
            }
            if records.len() < 1000 {
                break;
            }
            offset += 1000;
        }
    }
    assert!(buckets.len() > 500 && accounts.len() > 100, "{} buckets, {} accounts", buckets.len(), accounts.len());
    let mut dangling = Vec::new();
    for (kind, ids) in [("bucket", &buckets), ("accumulatedBalance", &accounts)] {
        for id in ids {
            let encoded: String = id.replace('+', "%2B");
            if get(&format!("{BRM}/{kind}/{encoded}")).await.status != 200 {
                dangling.push(format!("{kind}/{id}"));
            }
        }
    }
    assert!(dangling.is_empty(), "references that resolve nowhere: {dangling:?}");
}

/// Bucket references (`@type` BucketRef, or under `bucket`) and account references
/// (`partyAccount`, `receiver`), wherever they sit in a record.
fn collect_refs(
    value: &Value,
    buckets: &mut std::collections::BTreeSet<String>,
    accounts: &mut std::collections::BTreeSet<String>,
) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                let id = item.get("id").and_then(Value::as_str);
                match (key.as_str(), id) {
                    ("bucket" | "receiverBucket", Some(id)) => drop(buckets.insert(id.to_string())),
                    ("partyAccount" | "receiverPartyAccount", Some(id)) => drop(accounts.insert(id.to_string())),
                    _ => {}
                }
                if let (Value::Array(items), "bucket") = (item, key.as_str()) {
                    buckets.extend(items.iter().filter_map(|b| b["id"].as_str().map(str::to_string)));
                }
                collect_refs(item, buckets, accounts);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, buckets, accounts)),
        _ => {}
    }
}
