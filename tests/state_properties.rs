//! Random sequences of writes keep every invariant: each answer is what a model of the balances
//! predicts, no bucket or balance goes negative, accumulated totals follow their buckets, and a
//! connection holds exactly what its reserved allocations and deallocations hold.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use proptest::prelude::*;
use serde_json::json;

const EUR: &str = "0.0.0.1+-balance_group+106463";
const EUR_ACCOUNT: &str = "0.0.0.1+-account+102879";
const FROM: &str = "0.0.0.1+-balance_group+2083846+1000095+38";
const TO: &str = "0.0.0.1+-balance_group+2090186+1000095+20";
const CONNECTION: &str = "f0b6e6f5-a314-4d03-bb47-e0f6b5aaab5f";

#[derive(Clone, Debug)]
enum Write {
    /// Cents added to the EUR bucket (negative debits).
    Adjust(i64),
    /// Seconds moved FROM -> TO (or back), a cost, and whether the receiver pays it.
    Transfer {
        seconds: i64,
        cost: i64,
        back: bool,
        receiver_pays: bool,
    },
    Allocate(u64),
    Deallocate(u64),
    /// Settle the n-th allocation or deallocation this sequence made.
    Settle {
        nth: usize,
        clear: bool,
    },
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        (-3000i64..3000).prop_filter("not zero", |c| *c != 0).prop_map(Write::Adjust),
        (1i64..400, 0i64..40, any::<bool>(), any::<bool>())
            .prop_map(|(seconds, cost, back, receiver_pays)| Write::Transfer { seconds, cost, back, receiver_pays }),
        (1u64..5_000).prop_map(Write::Allocate),
        (1u64..5_000).prop_map(Write::Deallocate),
        (0usize..6, any::<bool>()).prop_map(|(nth, clear)| Write::Settle { nth, clear }),
    ]
}

fn q(id: &str) -> String {
    id.replace('+', "%2B")
}

/// The state a sequence should leave.
struct Model {
    eur: i64,
    seconds: [i64; 2],
    available: u128,
    held: u128,
    /// What this sequence reserved: id, deallocation?, quantity, still reserved?
    made: Vec<(String, bool, u64, bool)>,
}

async fn read_seconds(session: &str, bucket: &str) -> i64 {
    let r = get_in(session, &format!("{BRM}/bucket/{}", q(bucket))).await;
    r.body["remainingValue"]["amount"].as_f64().unwrap() as i64
}

async fn read_cents(session: &str, uri: &str, pointer: &str) -> i64 {
    let r = get_in(session, uri).await;
    // The exact decimal text, in cents: 45.1 is 4510, never 4509.
    let text = r.body.pointer(pointer).unwrap().to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, "0"));
    whole.parse::<i64>().unwrap() * 100 + format!("{fraction:0<2}")[..2].parse::<i64>().unwrap()
}

async fn usdt(session: &str) -> (u128, u128) {
    let reply = get_in(session, &balances(&format!("connectionIds={CONNECTION}"))).await;
    let b = &reply.body["networkBalances"][CONNECTION]["balances"]["USDT"];
    (b["available"].as_str().unwrap().parse().unwrap(), b["held"].as_str().unwrap().parse().unwrap())
}

static CASE: AtomicUsize = AtomicUsize::new(0);

async fn run(writes: Vec<Write>) -> Result<(), TestCaseError> {
    let session = format!("property-{}", CASE.fetch_add(1, Ordering::Relaxed));
    let session = session.as_str();
    let (available, held) = usdt(session).await;
    let mut model = Model {
        eur: read_cents(session, &format!("{BRM}/bucket/{}", q(EUR)), "/remainingValue/amount").await,
        seconds: [read_seconds(session, FROM).await, read_seconds(session, TO).await],
        available,
        held,
        made: Vec::new(),
    };
    let total_before =
        read_cents(session, &format!("{BRM}/accumulatedBalance/{}", q(EUR_ACCOUNT)), "/totalBalance/amount").await;
    let eur_before = model.eur;
    for (step, write) in writes.iter().enumerate() {
        let (status, expected) = match write {
            Write::Adjust(cents) => {
                let body = json!({"amount": {"amount": *cents as f64 / 100.0, "units": "EUR"}, "bucket": {"id": EUR}, "usageType": "monetary"});
                let ok = model.eur + cents >= 0;
                if ok {
                    model.eur += cents;
                }
                (
                    send_json("POST", &format!("{BRM}/adjustBalance"), Some(session), &body).await.status,
                    if ok { 201 } else { 409 },
                )
            }
            Write::Transfer { seconds, cost, back, receiver_pays } => {
                let (from, to) = if *back { (1, 0) } else { (0, 1) };
                let ids = [FROM, TO];
                let body = json!({"amount": {"amount": seconds, "units": "Free Seconds"}, "transferCost": {"amount": cost, "units": "Free Seconds"},
                    "costOwner": if *receiver_pays { "receiver" } else { "originator" },
                    "bucket": {"id": ids[from]}, "receiverBucket": {"id": ids[to]}, "usageType": "other"});
                // The impacted buckets in the order they are charged: the cost, the debit, the credit.
                let mut next = model.seconds;
                let mut ok = true;
                let payer = if *receiver_pays { to } else { from };
                for (bucket, delta) in [(payer, -cost), (from, -seconds), (to, *seconds)] {
                    if *cost == 0 && bucket == payer && delta == -cost {
                        continue;
                    }
                    next[bucket] += delta;
                    ok &= next[bucket] >= 0;
                }
                if ok {
                    model.seconds = next;
                }
                (
                    send_json("POST", &format!("{BRM}/transferBalance"), Some(session), &body).await.status,
                    if ok { 201 } else { 409 },
                )
            }
            Write::Allocate(quantity) | Write::Deallocate(quantity) => {
                let deallocation = matches!(write, Write::Deallocate(_));
                let kind = if deallocation { "deallocations" } else { "allocations" };
                let body = json!({"amount": {"currency": "USDT", "quantity": quantity.to_string()},
                    "clientExternalId": format!("{session}-{step}"), "nonce": "n", "payload": "p", "signature": "s"});
                let reply = send_json(
                    "POST",
                    &format!("{OES}/{DEMO}/clients/connections/{CONNECTION}/{kind}"),
                    Some(session),
                    &body,
                )
                .await;
                let ok = !deallocation || model.available >= *quantity as u128;
                if ok {
                    model.held += *quantity as u128;
                    if deallocation {
                        model.available -= *quantity as u128;
                    }
                    let record = &reply.body[if deallocation { "deallocation" } else { "allocation" }];
                    model.made.push((
                        record["id"].as_str().unwrap_or_default().to_string(),
                        deallocation,
                        *quantity,
                        true,
                    ));
                }
                (reply.status, if ok { 200 } else { 422 })
            }
            Write::Settle { nth, clear } => {
                let Some((id, deallocation, quantity, reserved)) = model.made.get(*nth).cloned() else { continue };
                let (kind, id_field, partners_id) = match deallocation {
                    true => ("deallocations", "deallocationId", "partnersDeallocationId"),
                    false => ("allocations", "allocationId", "partnersAllocationId"),
                };
                let mut body = json!({"amount": {"currency": "USDT", "quantity": quantity.to_string()},
                    "clientId": "4a1bce01-4ef4-4263-af76-0f56e07eaa45", "connectionId": CONNECTION, "partnersClientId": "pc",
                    "partnersConnectionId": "pcc", "status": if *clear { "cleared" } else { "released" },
                    "nonce": "n", "payload": "p", "signature": "s"});
                body[id_field] = json!(id);
                body[partners_id] = json!("p-1");
                if reserved {
                    model.held -= quantity as u128;
                    // A cleared allocation and a released deallocation put the amount in available.
                    if *clear != deallocation {
                        model.available += quantity as u128;
                    }
                    model.made[*nth].3 = false;
                }
                let reply = send_json("PUT", &format!("{OES}/{DEMO}/partners/{kind}"), Some(session), &body).await;
                (reply.status, if reserved { 200 } else { 409 })
            }
        };
        prop_assert_eq!(status, expected, "step {} {:?}", step, write);
    }
    let eur = read_cents(session, &format!("{BRM}/bucket/{}", q(EUR)), "/remainingValue/amount").await;
    prop_assert_eq!(eur, model.eur, "the EUR bucket, exactly");
    let total =
        read_cents(session, &format!("{BRM}/accumulatedBalance/{}", q(EUR_ACCOUNT)), "/totalBalance/amount").await;
    prop_assert_eq!(total - total_before, eur - eur_before, "the account's total follows its bucket");
    prop_assert_eq!([read_seconds(session, FROM).await, read_seconds(session, TO).await], model.seconds);
    prop_assert_eq!(usdt(session).await, (model.available, model.held));
    // Held is what the reserved allocations and deallocations hold, fixtures' and session's alike.
    let reserved = get_in(
        session,
        &allocations(&format!("statuses=reserved&currencies=USDT&connectionIds={CONNECTION}&pageSize=500")),
    )
    .await;
    let sum: u128 = reserved.body["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["amount"]["quantity"].as_str().unwrap().parse::<u128>().unwrap())
        .sum();
    prop_assert_eq!(sum, model.held);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn random_writes_keep_every_invariant(writes in proptest::collection::vec(write(), 1..16)) {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run(writes))?;
    }
}

/// `a` before `b` in the allocations order: the sort key in its direction, then createdAt and id
/// ascending (BitGo's tie-break); quantities compare as numbers.
fn allocation_order(a: &serde_json::Value, b: &serde_json::Value, field: &str, desc: bool) -> std::cmp::Ordering {
    let key = |v: &serde_json::Value| match field {
        "quantity" => {
            let q = v["amount"]["quantity"].as_str().unwrap();
            (q.len(), q.to_string())
        }
        "updatedAt" => (0, v["updatedAt"].as_str().unwrap().to_string()),
        _ => (0, v["id"].as_str().unwrap().to_string()),
    };
    let primary = key(a).cmp(&key(b));
    let primary = if desc { primary.reverse() } else { primary };
    let tie =
        |v: &serde_json::Value| (v["createdAt"].as_str().unwrap().to_string(), v["id"].as_str().unwrap().to_string());
    primary.then_with(|| tie(a).cmp(&tie(b)))
}

async fn walk(session: &str, query: &str, size: usize) -> Vec<serde_json::Value> {
    let mut all = Vec::new();
    for page in 0.. {
        let reply = get_in(session, &allocations(&format!("{query}&pageSize={size}&pageNumber={page}"))).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let items = reply.body["allocations"].as_array().unwrap().clone();
        let done = items.len() < size;
        all.extend(items);
        if done {
            return all;
        }
    }
    unreachable!()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A session's pages hold what the fixtures' pages hold plus what it wrote, in one order,
    /// each record once, whatever the filters, sort and page size.
    #[test]
    fn a_sessions_pages_merge_its_writes_into_the_order(
        writes in proptest::collection::vec((proptest::sample::select(vec!["USDT", "BTC"]), 1u64..10_000_000), 1..25),
        settle_fixture in any::<bool>(),
        statuses in proptest::sample::subsequence(vec!["cleared", "released", "reserved"], 1..=3),
        currency in proptest::option::of(proptest::sample::select(vec!["USDT", "BTC", "SOL"])),
        field in proptest::sample::select(vec!["id", "updatedAt", "quantity"]),
        desc in any::<bool>(),
        size in 1usize..60,
    ) {
        let session = format!("merge-{}", CASE.fetch_add(1, Ordering::Relaxed));
        let session = session.as_str();
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
            let mut written = Vec::new();
            for (i, (code, quantity)) in writes.iter().enumerate() {
                let body = json!({"amount": {"currency": code, "quantity": quantity.to_string()},
                    "clientExternalId": format!("{session}-{i}"), "nonce": "n", "payload": "p", "signature": "s"});
                let reply = send_json("POST", &format!("{OES}/{DEMO}/clients/connections/{CONNECTION}/allocations"), Some(session), &body).await;
                prop_assert_eq!(reply.status, 200);
                written.push(reply.body["allocation"].clone());
            }
            // A fixture allocation settled in the session moves in the updatedAt order and out of `reserved`.
            let fixture = "8551b0d1-17bb-4bf1-9d20-b9879b84ab70";
            if settle_fixture {
                let body = json!({"allocationId": fixture, "amount": {"currency": "SOL", "quantity": "5594404400000"},
                    "clientId": "4a1bce01-4ef4-4263-af76-0f56e07eaa45", "connectionId": "1e7a9fe0-6b8d-498a-aa69-2d990a5e5fdb",
                    "partnersClientId": "pc", "partnersConnectionId": "pcc", "partnersAllocationId": "pa", "status": "cleared",
                    "nonce": "n", "payload": "p", "signature": "s"});
                prop_assert_eq!(send_json("PUT", &format!("{OES}/{DEMO}/partners/allocations"), Some(session), &body).await.status, 200);
            }
            let mut query = format!("statuses={}&sortField={field}&sortDirection={}", statuses.join(","), if desc { "DESC" } else { "ASC" });
            if let Some(c) = currency {
                query.push_str(&format!("&currencies={c}"));
            }
            // Expected: the fixtures' matches (read outside the session), the settled one as the
            // session sees it, and the session's writes, filtered and sorted here.
            let settled = get_in(session, &format!("{OES}/{DEMO}/partners/allocations/{fixture}")).await.body["allocation"].clone();
            let mut expected: Vec<serde_json::Value> = walk("merge-untouched", "sortField=id", 500)
                .await
                .into_iter()
                .map(|a| if a["id"] == fixture && settle_fixture { settled.clone() } else { a })
                .chain(written)
                .filter(|a| statuses.contains(&a["status"].as_str().unwrap()))
                .filter(|a| currency.is_none_or(|c| a["amount"]["currency"] == c))
                .collect();
            expected.sort_by(|a, b| allocation_order(a, b, field, desc));
            let paged = walk(session, &query, size).await;
            let ids = |v: &[serde_json::Value]| v.iter().map(|a| a["id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
            prop_assert_eq!(ids(&paged), ids(&expected));
            Ok(())
        })?;
    }
}
