//! Contract tests through the progenitor clients generated from spec/: every operation, over TCP.

use specmock::client::{oes_partners as oes, prepay_balance as brm};
use specmock::MockServer;

const DEMO: &str = "7a72d96a-03b1-4f1f-a16f-5d13f5c04757";

fn http(token: &str) -> specmock::client::reqwest::Client {
    specmock::client::with_bearer(token).unwrap()
}

#[tokio::test]
async fn oes_operations_round_trip_through_the_typed_client() {
    let server = MockServer::start().await;
    let client = oes::Client::new_with_client(&server.uri(), http("demo-token"));
    let enterprise: uuid::Uuid = DEMO.parse().unwrap();

    let balances = client
        .v1_partner_balances_get_route()
        .enterprise_id(enterprise)
        .page_size(std::num::NonZeroU64::new(5).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(balances.status(), 200);
    let balances = balances.into_inner();
    assert_eq!(balances.network_balances.len(), 5);
    assert!(balances.balances.as_ref().unwrap().contains_key("BTC"));
    let partner = balances.network_balances.values().next().unwrap().partner_id;

    let page = client
        .v1_partner_allocations_get_route()
        .enterprise_id(enterprise)
        .partner_ids(vec![partner])
        .types(vec![oes::types::AllocationType::Allocation])
        .statuses(vec![oes::types::AllocationStatus::Cleared, oes::types::AllocationStatus::Reserved])
        .sort_field(oes::types::V1PartnerAllocationsGetRouteSortField::Quantity)
        .sort_direction(oes::types::V1PartnerAllocationsGetRouteSortDirection::Desc)
        .page_size(std::num::NonZeroU64::new(50).unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.allocations.len(), 50);
    for a in &page.allocations {
        assert_eq!(a.type_, oes::types::AllocationType::Allocation);
        assert_ne!(a.status, oes::types::AllocationStatus::Released);
        assert_eq!(a.reason.is_none(), a.status == oes::types::AllocationStatus::Cleared);
    }

    // Errors decode into the BitGo envelope type.
    let unknown = client.v1_partner_allocations_get_route().enterprise_id(uuid::Uuid::nil()).send().await.unwrap_err();
    match unknown {
        oes::Error::ErrorResponse(e) => {
            assert_eq!(e.status(), 404);
            assert_eq!(e.name.as_deref(), Some("NotFoundError"));
            assert!(e.request_id.is_some());
        }
        other => panic!("expected a documented error, got {other:?}"),
    }
    let denied = oes::Client::new_with_client(&server.uri(), http("demo-no-permission"));
    match denied.v1_partner_balances_get_route().enterprise_id(enterprise).send().await.unwrap_err() {
        oes::Error::ErrorResponse(e) => assert_eq!(e.status(), 403),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn brm_operations_round_trip_through_the_typed_client() {
    let server = MockServer::start().await;
    let base = format!("{}/brm/prepayBalanceManagement/v4", server.uri());
    let client = brm::Client::new_with_client(&base, http("demo-token"));

    // @type picks the variant: each one's @type is a one-value enum, so the base object cannot
    // swallow the extended one.
    for id in ["0.0.0.1+-account+102879", "account+12345", "account+30001"] {
        match client.retrieve_accumulated_balance().id(id).send().await.unwrap().into_inner() {
            brm::types::AnyAccumulatedBalance::Variant0(balance) => {
                assert!(balance.id.starts_with("0.0.0.1+-account+") || balance.id == id, "{id}");
                assert!(balance.total_balance.is_some(), "{id}");
                assert!(!balance.bucket.is_empty());
            }
            other => panic!("{id}: expected the base object, got {other:?}"),
        }
    }
    let extended = client
        .retrieve_accumulated_balance()
        .id("account+30001")
        .type_(brm::types::RetrieveAccumulatedBalanceType::AccumulatedBalanceOracle)
        .send()
        .await
        .unwrap()
        .into_inner();
    let brm::types::AnyAccumulatedBalance::Variant1(extended) = extended else {
        panic!("expected the extended object, got {extended:?}")
    };
    assert_eq!(extended.type_, brm::types::AccumulatedBalanceOracleType::AccumulatedBalanceOracle);
    assert!(extended.billing_cycle_specification.is_some());

    let transfer = client
        .retrieve_transfer_balance()
        .id("0.0.0.1+-event-audit-transfer_balance+332070103776495457")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(transfer.status.as_deref(), Some("CONFIRMED"));
    assert_eq!(transfer.impacted_bucket.as_ref().map(Vec::len), Some(6));
    assert!(transfer.href.unwrap().starts_with(&base));

    let listed = client.list_accumulated_balance().limit(std::num::NonZeroU64::new(3).unwrap()).send().await.unwrap();
    assert_eq!(listed.headers().get("x-total-count").unwrap(), "204");
    assert_eq!(listed.into_inner().len(), 3);
    let transfers =
        client.list_transfer_balance().usage_type(brm::types::UsageType::Monetary).send().await.unwrap().into_inner();
    assert!(!transfers.is_empty());
    assert!(transfers.iter().all(|t| t.usage_type == Some(brm::types::UsageType::Monetary)));
    let buckets =
        client.list_bucket().offset(10).limit(std::num::NonZeroU64::new(4).unwrap()).send().await.unwrap().into_inner();
    assert_eq!(buckets.len(), 4);
    // progenitor sends the array as repeated `fields=`; id, href and @type, which the types require,
    // come back whatever is selected.
    let selected = client
        .list_bucket()
        .offset(10)
        .fields(vec![brm::types::BucketAttribute::UsageType])
        .limit(std::num::NonZeroU64::new(4).unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(selected.iter().map(|b| &b.id).collect::<Vec<_>>(), buckets.iter().map(|b| &b.id).collect::<Vec<_>>());
    assert!(selected.iter().all(|b| b.usage_type.is_some() && b.status.is_none()));
    let bucket_id = buckets[0].id.clone();
    let bucket = client.retrieve_bucket().id(bucket_id.as_str()).send().await.unwrap().into_inner();
    assert_eq!(bucket.id, bucket_id);

    match client.retrieve_bucket().id("nope").send().await.unwrap_err() {
        brm::Error::ErrorResponse(e) => {
            assert_eq!(e.status(), 404);
            assert_eq!(e.code, "404");
            assert_eq!(e.type_.as_deref(), Some("Error"));
        }
        other => panic!("expected a TMF error, got {other:?}"),
    }
}

#[test]
fn a_token_that_cannot_be_a_header_is_refused_not_panicked_on() {
    let refused = specmock::client::with_bearer("bad\ntoken").unwrap_err();
    assert!(refused.to_string().contains("Authorization header"), "{refused}");
}

/// A frontend's transfer button: transfer, then read both buckets, both accounts' totals and
/// the transfer list, all in its own session.
async fn transfer_flow(server: &MockServer) {
    let session = server.session("typed-transfer");
    let client = session.prepay_balance("demo-token").unwrap();
    let (from, to) = ("0.0.0.1+-balance_group+2083846+1000095+38", "0.0.0.1+-balance_group+2090186+1000095+20");
    let remaining = |bucket: brm::types::Bucket| bucket.remaining_value.and_then(|v| v.amount).unwrap();
    let total = |balance: brm::types::AnyAccumulatedBalance| match balance {
        brm::types::AnyAccumulatedBalance::Variant0(b) => b.total_balance.and_then(|t| t.amount).unwrap(),
        other => panic!("{other:?}"),
    };
    let (payer, payee) = ("0.0.0.1+-account+2084346", "0.0.0.1+-account+2090314");
    let bucket = |id: &'static str| client.retrieve_bucket().id(id).send();
    let account = |id: &'static str| client.retrieve_accumulated_balance().id(id).send();
    let before =
        (remaining(bucket(from).await.unwrap().into_inner()), remaining(bucket(to).await.unwrap().into_inner()));
    let totals = (total(account(payer).await.unwrap().into_inner()), total(account(payee).await.unwrap().into_inner()));

    let body: brm::types::TransferBalanceCreate = serde_json::from_value(serde_json::json!({
        "amount": {"amount": 12.5, "units": "Free Seconds"}, "transferCost": {"amount": 0.5, "units": "Free Seconds"},
        "bucket": {"id": from}, "receiverBucket": {"id": to}, "usageType": "other"}))
    .unwrap();
    let created = client.create_transfer_balance().body(body).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let transfer = created.into_inner();
    assert_eq!(transfer.amount.as_ref().and_then(|a| a.amount), Some(13.0), "the amount with its cost");

    assert_eq!(remaining(bucket(from).await.unwrap().into_inner()), before.0 - 13.0);
    assert_eq!(remaining(bucket(to).await.unwrap().into_inner()), before.1 + 12.5);
    assert_eq!(total(account(payer).await.unwrap().into_inner()), totals.0 - 13.0);
    assert_eq!(total(account(payee).await.unwrap().into_inner()), totals.1 + 12.5);
    let payer_id: brm::types::ListTransferBalancePartyAccountIdItem = payer.parse().unwrap();
    let listed = client.list_transfer_balance().party_account_id(vec![payer_id]).send().await.unwrap();
    assert!(listed.into_inner().iter().any(|t| t.id == transfer.id));
}

/// A live allocations table: allocate, then page the partner's allocations newest first and
/// read the balances, in its own session.
async fn allocation_flow(server: &MockServer) {
    let session = server.session("typed-allocation");
    let client = session.oes_partners("demo-token").unwrap();
    let enterprise: uuid::Uuid = DEMO.parse().unwrap();
    let connection: uuid::Uuid = "f0b6e6f5-a314-4d03-bb47-e0f6b5aaab5f".parse().unwrap();
    let held = || async {
        let page = client
            .v1_partner_balances_get_route()
            .enterprise_id(enterprise)
            .connection_ids(vec![connection])
            .send()
            .await
            .unwrap()
            .into_inner();
        page.network_balances[&connection.to_string()].balances["USDT"].held.parse::<u128>().unwrap()
    };
    let before = held().await;
    let body: oes::types::V1ClientAllocationRequest = serde_json::from_value(serde_json::json!({
        "amount": {"currency": "USDT", "quantity": "700"}, "clientExternalId": "typed-1",
        "nonce": "n", "payload": "p", "signature": "s"}))
    .unwrap();
    let created = client
        .v1_client_allocations_post_route()
        .enterprise_id(enterprise)
        .connection_id(connection)
        .body(body)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.allocation.status, oes::types::AllocationStatus::Reserved);
    assert_eq!(held().await, before + 700);
    let page = client
        .v1_partner_allocations_get_route()
        .enterprise_id(enterprise)
        .connection_ids(vec![connection])
        .statuses(vec![oes::types::AllocationStatus::Reserved])
        .sort_field(oes::types::V1PartnerAllocationsGetRouteSortField::UpdatedAt)
        .sort_direction(oes::types::V1PartnerAllocationsGetRouteSortDirection::Desc)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(page.allocations.iter().any(|a| a.id == created.allocation.id));
    assert!(page.allocations.windows(2).all(|w| w[0].updated_at >= w[1].updated_at));
}

#[tokio::test]
async fn a_transfer_and_an_allocation_flow_run_side_by_side_in_their_own_sessions() {
    let server = MockServer::start().await;
    tokio::join!(transfer_flow(&server), allocation_flow(&server));
    // Neither session leaked into the default one.
    let client =
        brm::Client::new_with_client(&format!("{}/brm/prepayBalanceManagement/v4", server.uri()), http("demo-token"));
    let bucket = client.retrieve_bucket().id("0.0.0.1+-balance_group+2083846+1000095+38").send().await.unwrap();
    assert_eq!(bucket.into_inner().remaining_value.and_then(|v| v.amount), Some(600.0));
}
