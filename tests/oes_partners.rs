//! The BitGo OES partner routes: identities, filters, paging, sorting, errors and forced scenarios.

mod common;

use std::collections::HashSet;

use common::*;
use serde_json::Value;

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|a| a["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn balances_answer_with_the_partner_and_network_balances() {
    let reply = get(&balances("pageSize=3")).await;
    assert_eq!(reply.status, 200);
    assert!(reply.header("x-request-id").is_some());
    assert_eq!(reply.body["networkBalances"].as_object().unwrap().len(), 3);
    assert!(reply.body["balances"]["BTC"]["available"].is_string());
    common::snapshots().bind(|| insta::assert_json_snapshot!("oes_balances_200", reply.body));
}

#[tokio::test]
async fn balances_page_over_connections_and_cover_all_sixty() {
    let mut seen = HashSet::new();
    for page in 0..7 {
        let reply = get(&balances(&format!("pageSize=10&pageNumber={page}"))).await;
        let map = reply.body["networkBalances"].as_object().unwrap();
        assert_eq!(map.len(), if page < 6 { 10 } else { 0 }, "page {page}");
        for key in map.keys() {
            assert!(seen.insert(key.clone()), "{key} seen twice");
        }
    }
    assert_eq!(seen.len(), 60);
}

#[tokio::test]
async fn balance_filters_narrow_connections() {
    let all = get(&balances("pageSize=500")).await.body;
    let map = all["networkBalances"].as_object().unwrap();
    let (conn, first) = map.iter().next().unwrap();
    let partner = first["partnerId"].as_str().unwrap();
    let client = first["clientId"].as_str().unwrap();
    let pcid = first["partnersConnectionId"].as_str().unwrap();

    let by_partner = get(&balances(&format!("pageSize=500&partnerIds={partner}"))).await.body;
    let by_partner = by_partner["networkBalances"].as_object().unwrap();
    assert_eq!(by_partner.len(), 20, "60 connections spread over 3 partners");
    assert!(by_partner.values().all(|v| v["partnerId"] == partner));

    let by_client = get(&balances(&format!("clientIds={client}"))).await.body;
    let by_client = by_client["networkBalances"].as_object().unwrap();
    assert!(!by_client.is_empty());
    assert!(by_client.values().all(|v| v["clientId"] == client));

    let one = get(&balances(&format!("connectionIds={conn}"))).await.body;
    assert_eq!(one["networkBalances"].as_object().unwrap().keys().collect::<Vec<_>>(), vec![conn]);

    let mine = get(&balances(&format!("partnersConnectionIds={pcid}"))).await.body;
    assert_eq!(mine["networkBalances"].as_object().unwrap().len(), 1);

    let none = get(&balances(&format!("partnerIds={partner}&connectionIds={UNKNOWN}"))).await.body;
    assert_eq!(none["networkBalances"], serde_json::json!({}));
}

#[tokio::test]
async fn allocations_default_order_is_created_at_then_id() {
    let items = walk_allocations("", 500).await;
    assert_eq!(items.len(), 2000);
    for pair in items.windows(2) {
        let key = |a: &Value| (a["createdAt"].as_str().unwrap().to_string(), a["id"].as_str().unwrap().to_string());
        assert!(key(&pair[0]) <= key(&pair[1]));
    }
    let page = get(&allocations("pageSize=2")).await;
    common::snapshots().bind(|| insta::assert_json_snapshot!("oes_allocations_200", page.body));
}

#[tokio::test]
async fn every_type_and_status_is_present_and_reason_is_null_only_when_cleared() {
    let items = walk_allocations("", 500).await;
    for kind in ["allocation", "deallocation"] {
        for status in ["cleared", "released", "reserved"] {
            assert!(items.iter().any(|a| a["type"] == kind && a["status"] == status), "{kind}/{status}");
        }
    }
    for a in &items {
        assert_eq!(a["reason"].is_null(), a["status"] == "cleared", "{a}");
    }
}

#[tokio::test]
async fn array_filters_accept_commas_and_repeats_and_or_within_and_across() {
    let comma = walk_allocations("types=deallocation&statuses=reserved,released", 500).await;
    let repeated = walk_allocations("types=deallocation&statuses=reserved&statuses=released", 500).await;
    assert_eq!(ids(&comma), ids(&repeated));
    assert!(!comma.is_empty());
    assert!(comma.iter().all(|a| a["type"] == "deallocation" && a["status"] != "cleared"));
    let all = walk_allocations("", 500).await;
    let expected = all.iter().filter(|a| a["type"] == "deallocation" && a["status"] != "cleared").count();
    assert_eq!(comma.len(), expected);
}

#[tokio::test]
async fn currency_connection_and_id_filters_match_their_fields() {
    let btc = walk_allocations("currencies=BTC,USDC", 500).await;
    assert!(btc.iter().all(|a| ["BTC", "USDC"].contains(&a["amount"]["currency"].as_str().unwrap())));
    let first = &btc[0];
    let conn = first["connectionId"].as_str().unwrap();
    let on_conn = walk_allocations(&format!("connectionIds={conn}"), 100).await;
    assert!(!on_conn.is_empty());
    assert!(on_conn.iter().all(|a| a["connectionId"] == conn));
    let one = walk_allocations(&format!("allocationIds={}", first["id"].as_str().unwrap()), 10).await;
    assert_eq!(ids(&one), vec![first["id"].as_str().unwrap().to_string()]);
}

#[tokio::test]
async fn partner_and_client_filters_work_through_the_connection() {
    let connections = get(&balances("pageSize=500")).await.body["networkBalances"].as_object().unwrap().clone();
    let (_, first) = connections.iter().next().unwrap();
    let partner = first["partnerId"].as_str().unwrap();
    let client = first["clientId"].as_str().unwrap();
    let of = |field: &str, value: &str| -> HashSet<String> {
        connections.iter().filter(|(_, c)| c[field] == value).map(|(k, _)| k.clone()).collect()
    };
    let partner_conns = of("partnerId", partner);
    let by_partner = walk_allocations(&format!("partnerIds={partner}"), 500).await;
    assert!(!by_partner.is_empty());
    assert!(by_partner.iter().all(|a| partner_conns.contains(a["connectionId"].as_str().unwrap())));
    let client_conns = of("clientId", client);
    let by_client = walk_allocations(&format!("clientIds={client}"), 500).await;
    assert!(!by_client.is_empty());
    assert!(by_client.iter().all(|a| client_conns.contains(a["connectionId"].as_str().unwrap())));
    let all = walk_allocations("", 500).await;
    let expected = all.iter().filter(|a| partner_conns.contains(a["connectionId"].as_str().unwrap())).count();
    assert_eq!(by_partner.len(), expected);
}

#[tokio::test]
async fn quantity_sorts_numerically_with_the_created_at_tie_break() {
    let dec = |a: &Value| {
        let q = a["amount"]["quantity"].as_str().unwrap();
        (q.len(), q.to_string())
    };
    for (dir, descending) in [("ASC", false), ("DESC", true)] {
        let items = walk_allocations(&format!("sortField=quantity&sortDirection={dir}&currencies=BTC,ETH"), 500).await;
        for pair in items.windows(2) {
            let (a, b) = (dec(&pair[0]), dec(&pair[1]));
            if a == b {
                let ta = (pair[0]["createdAt"].as_str().unwrap(), pair[0]["id"].as_str().unwrap());
                let tb = (pair[1]["createdAt"].as_str().unwrap(), pair[1]["id"].as_str().unwrap());
                assert!(ta <= tb, "tie-break is createdAt ASC, id ASC in either direction");
            } else {
                assert_eq!(a > b, descending, "{dir}: {a:?} then {b:?}");
            }
        }
    }
}

#[tokio::test]
async fn id_and_updated_at_sort_in_both_directions() {
    let asc = walk_allocations("sortField=id", 500).await;
    let mut sorted = ids(&asc);
    sorted.sort();
    assert_eq!(ids(&asc), sorted);
    let desc = walk_allocations("sortField=id&sortDirection=DESC", 500).await;
    sorted.reverse();
    assert_eq!(ids(&desc), sorted);
    let updated = walk_allocations("sortField=updatedAt&sortDirection=DESC", 500).await;
    for pair in updated.windows(2) {
        assert!(pair[0]["updatedAt"].as_str() >= pair[1]["updatedAt"].as_str());
    }
}

#[tokio::test]
async fn paging_edges() {
    let past = get(&allocations("pageSize=500&pageNumber=4")).await;
    assert_eq!(past.status, 200);
    assert_eq!(past.body, serde_json::json!({"allocations": []}));
    let huge = get(&allocations("pageSize=500&pageNumber=9223372036854775807")).await;
    assert_eq!(huge.body["allocations"], serde_json::json!([]));
    let default = get(&allocations("")).await;
    assert_eq!(default.body["allocations"].as_array().unwrap().len(), 100, "default pageSize from the spec");
    let max = get(&allocations("pageSize=500")).await;
    assert_eq!(max.body["allocations"].as_array().unwrap().len(), 500);
    for bad in
        ["pageSize=0", "pageSize=-1", "pageSize=501", "pageSize=ten", "pageSize=1.5", "pageNumber=-1", "pageNumber=x"]
    {
        let reply = get(&allocations(bad)).await;
        assert_eq!(reply.status, 400, "{bad}");
        let name = bad.split('=').next().unwrap();
        let message = reply.body["error"].as_str().unwrap();
        assert!(message.starts_with(&format!("{name}: ")), "{bad}: {message}");
        assert!(message.contains("expected an integer"), "{bad}: {message}");
    }
}

#[tokio::test]
async fn bad_filter_values_name_the_parameter_and_the_value() {
    let cases = [
        ("statuses=cleared,pending", "statuses: got \"pending\"; expected a comma-separated list (or repeated `statuses=`) of one of cleared, released, reserved"),
        ("types=refund", "types: got \"refund\"; expected a comma-separated list (or repeated `types=`) of one of allocation, deallocation"),
        ("allocationIds=not-a-uuid", "allocationIds: got \"not-a-uuid\""),
        ("sortField=amount", "sortField: got \"amount\"; expected one of id, updatedAt, quantity"),
        ("sortDirection=up", "sortDirection: got \"up\"; expected one of ASC, DESC"),
        ("currencies=BTC,", "currencies: got \"\"; expected a comma-separated list (or repeated `currencies=`) of a non-empty string"),
    ];
    for (query, expected) in cases {
        let reply = get(&allocations(query)).await;
        assert_eq!(reply.status, 400, "{query}");
        assert!(reply.body["error"].as_str().unwrap().starts_with(expected), "{query}: {}", reply.body);
        assert_eq!(reply.body["name"], "InvalidRequestError");
    }
    let reply = get(&allocations("statuses=pending")).await;
    common::snapshots().bind(|| insta::assert_json_snapshot!("oes_allocations_400", reply.body));
}

#[tokio::test]
async fn identities_and_the_order_of_checks() {
    let url = |enterprise: &str, query: &str| format!("{OES}/{enterprise}/partners/allocations?{query}");
    // 1. token
    let missing = get_as(&url(DEMO, ""), None).await;
    assert_eq!((missing.status, missing.body["name"].as_str()), (401, Some("AuthenticationError")));
    let unknown = get_as(&url("not-a-uuid", "pageSize=0"), Some("nobody")).await;
    assert_eq!(unknown.status, 401, "the token is checked before validation");
    // 2. validation
    let malformed = get_as(&url("not-a-uuid", ""), Some("demo-outsider")).await;
    assert_eq!(malformed.status, 400, "validation comes before membership");
    // 3. tenant unknown
    let missing_enterprise = get_as(&url(UNKNOWN, ""), Some("demo-outsider")).await;
    assert_eq!(missing_enterprise.status, 404);
    // 4. membership
    let outsider = get_as(&url(DEMO, ""), Some("demo-outsider")).await;
    assert_eq!(outsider.status, 401);
    assert!(outsider.body["error"].as_str().unwrap().contains("not a member"));
    // 5. licence and permission
    let unlicensed = get_as(&url(UNLICENSED, ""), Some("demo-token")).await;
    assert_eq!(unlicensed.status, 403);
    assert!(unlicensed.body["error"].as_str().unwrap().contains("OES license"));
    let no_permission = get_as(&url(DEMO, ""), Some("demo-no-permission")).await;
    assert_eq!(no_permission.status, 403);
    assert!(no_permission.body["error"].as_str().unwrap().contains("permission"));
    let ok = get_as(&url(DEMO, "pageSize=1"), Some("demo-token")).await;
    assert_eq!(ok.status, 200);
    let snap = common::snapshots();
    snap.bind(|| {
        insta::assert_json_snapshot!("oes_401_missing_token", missing.body);
        insta::assert_json_snapshot!("oes_401_not_a_member", outsider.body);
        insta::assert_json_snapshot!("oes_403_no_licence", unlicensed.body);
        insta::assert_json_snapshot!("oes_403_no_permission", no_permission.body);
        insta::assert_json_snapshot!("oes_404_unknown_enterprise", missing_enterprise.body);
    });
}

#[tokio::test]
async fn prefer_forces_documented_responses() {
    let forced = send("GET", &balances(""), &[("authorization", "Bearer demo-token"), ("prefer", "code=500")]).await;
    assert_eq!(forced.status, 500);
    assert_eq!(forced.body["name"], "InternalServerError");
    assert_eq!(
        forced.body["requestId"].as_str(),
        forced.header("x-request-id"),
        "the example carries this request's id"
    );
    common::snapshots().bind(|| insta::assert_json_snapshot!("oes_balances_500", forced.body));
    for code in [400u16, 401, 403, 404] {
        let r = send("GET", &balances(""), &[("prefer", &format!("code={code}"))]).await;
        assert_eq!(r.status, code);
        assert!(r.body["error"].is_string() && r.body["name"].is_string());
    }
    let example =
        send("GET", &allocations(""), &[("authorization", "Bearer demo-token"), ("prefer", "example=empty")]).await;
    assert_eq!((example.status, example.body.clone()), (200, serde_json::json!({"allocations": []})));
    let undeclared = send("GET", &balances(""), &[("prefer", "code=418")]).await;
    assert_eq!(undeclared.status, 400);
    assert!(undeclared.body["error"].as_str().unwrap().contains("declared: 200, 400, 401, 403, 404, 500"));
    let unknown = send("GET", &balances(""), &[("prefer", "example=nope")]).await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.body["error"].as_str().unwrap().contains("twoConnections"));
}
