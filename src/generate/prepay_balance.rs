//! Oracle BRM prepay balances: accounts with products and balance-group buckets, one accumulated
//! balance per account, and transfers between accounts. Every reference points at a record that
//! exists, totals equal what the buckets hold, and a transfer's items add up with its amount and
//! cost. The seed pages' examples come first, verbatim, taken from the bundled spec.

use chrono::{DateTime, Duration, FixedOffset};
use serde_json::{json, Value};

use super::{utc_day, FileWriter, FixtureFile, Gen};

/// Where fixture hrefs point; the server replaces it with the request's own base URL.
pub(crate) const HREF_BASE: &str = "http://host:port/brm/prepayBalanceManagement/v4";

const FIRST: [&str; 12] =
    ["Adam", "Juan", "John", "Priya", "Mei", "Lars", "Amara", "Sofia", "Kenji", "Omar", "Elena", "Tariq"];
const LAST: [&str; 12] =
    ["Baker", "Lopez", "Miller", "Sharma", "Chen", "Nilsen", "Okafor", "Rossi", "Tanaka", "Haddad", "Petrova", "Khan"];
/// Currency, BRM resource id (ISO 4217 numeric).
const CURRENCIES: [(&str, u32); 3] = [("EUR", 978), ("USD", 840), ("GBP", 826)];
/// Non-currency resource, BRM resource id, bucket name.
const NON_CURRENCY: [(&str, u32, &str); 2] =
    [("Free Seconds", 1_000_095, "Free Seconds"), ("Free SMS", 1_000_096, "Free SMS")];
const PRODUCTS: [(&str, &str); 3] =
    [("sms", "ServiceTelcoGsmSms"), ("telephony", "ServiceTelcoGsmTelephony"), ("data", "ServiceTelcoGsmData")];

fn at(id: &str, kind: &str) -> String {
    format!("{HREF_BASE}/{kind}/{id}")
}

fn quantity(amount: f64, units: &str) -> Value {
    json!({"amount": amount, "units": units, "@baseType": null, "@schemaLocation": null, "@type": "Quantity"})
}

fn bucket_ref(id: &str, name: Option<&str>) -> Value {
    json!({"id": id, "href": at(id, "bucket"), "name": name, "@baseType": null, "@schemaLocation": null, "@type": "BucketRef", "@referredType": null})
}

fn account_ref(id: &str, name: &str) -> Value {
    json!({"id": id, "href": null, "description": null, "name": name, "status": "active",
           "@baseType": null, "@schemaLocation": null, "@type": "PartyAccountRef", "@referredType": null})
}

fn product_ref(id: &str, name: &str) -> Value {
    json!({"id": id, "href": null, "name": name, "@baseType": null, "@schemaLocation": null, "@type": "ProductRef", "@referredType": null})
}

fn logical_resource(value: &str) -> Value {
    json!({"@baseType": "LogicalResourceRef", "@referredType": null, "@schemaLocation": null, "@type": "LogicalResourceRef",
           "href": null, "id": null, "name": null, "value": value})
}

struct Account {
    id: String,
    name: String,
    currency: usize,
    products: Vec<(String, String)>,
    currency_buckets: Vec<String>,
    free_seconds: String,
    msisdn: String,
}

/// Account, product and bucket records for the seed examples' references.
fn seed_support() -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let account = |id: &str, name: &str| json!({"id": id, "name": name, "status": "active"});
    let accounts = vec![
        account("0.0.0.1+-account+102879", "Adam Baker"),
        account("account+12345", "Juan Lopez"),
        account("0.0.0.1+-account+2084346", "Adam Baker"),
        account("0.0.0.1+-account+2090314", "John Miller"),
    ];
    let product = |id: &str, name: &str, acct: &str| json!({"id": id, "name": name, "accountId": acct});
    let products = vec![
        product("0.0.0.1+-service-telco-gsm-sms+102975", "ServiceTelcoGsmSms", "0.0.0.1+-account+102879"),
        product("0.0.0.1+-service-telco-gsm-telephony+104255", "ServiceTelcoGsmTelephony", "0.0.0.1+-account+102879"),
        product("0.0.0.1+-service-telco-gsm-telephony+2081030", "ServiceTelcoGsmTelephony", "0.0.0.1+-account+2084346"),
        product("0.0.0.1+-service-telco-gsm-telephony+2092746", "ServiceTelcoGsmTelephony", "0.0.0.1+-account+2090314"),
    ];
    let mut buckets = vec![bucket(
        "0.0.0.1+-balance_group+106463",
        "Account Level Balance Group",
        ("0.0.0.1+-account+102879", "Adam Baker"),
        quantity(45.0, "EUR"),
        "monetary",
        &["0.0.0.1+-service-telco-gsm-sms+102975", "0.0.0.1+-service-telco-gsm-telephony+104255"],
    )];
    for (suffix, owner, name, product) in [
        (
            "2083846+1000095+38",
            "0.0.0.1+-account+2084346",
            "Adam Baker",
            "0.0.0.1+-service-telco-gsm-telephony+2081030",
        ),
        (
            "2083846+1000095+40",
            "0.0.0.1+-account+2084346",
            "Adam Baker",
            "0.0.0.1+-service-telco-gsm-telephony+2081030",
        ),
        (
            "2083846+1000095+42",
            "0.0.0.1+-account+2084346",
            "Adam Baker",
            "0.0.0.1+-service-telco-gsm-telephony+2081030",
        ),
        (
            "2083846+1000095+44",
            "0.0.0.1+-account+2084346",
            "Adam Baker",
            "0.0.0.1+-service-telco-gsm-telephony+2081030",
        ),
        (
            "2090186+1000095+20",
            "0.0.0.1+-account+2090314",
            "John Miller",
            "0.0.0.1+-service-telco-gsm-telephony+2092746",
        ),
        (
            "2090186+1000095+22",
            "0.0.0.1+-account+2090314",
            "John Miller",
            "0.0.0.1+-service-telco-gsm-telephony+2092746",
        ),
        (
            "2090186+1000095+24",
            "0.0.0.1+-account+2090314",
            "John Miller",
            "0.0.0.1+-service-telco-gsm-telephony+2092746",
        ),
    ] {
        buckets.push(bucket(
            &format!("0.0.0.1+-balance_group+{suffix}"),
            "Free Seconds",
            (owner, name),
            quantity(600.0, "Free Seconds"),
            "other",
            &[product],
        ));
    }
    (accounts, products, buckets)
}

fn bucket(id: &str, name: &str, owner: (&str, &str), remaining: Value, usage: &str, products: &[&str]) -> Value {
    let names: Vec<Value> = products
        .iter()
        .map(|p| {
            let kind = PRODUCTS
                .iter()
                .find(|(k, _)| p.contains(&format!("-{k}+")))
                .map_or("ServiceTelcoGsmTelephony", |(_, n)| n);
            product_ref(p, kind)
        })
        .collect();
    let display = remaining_name(&remaining);
    json!({
        "id": id, "href": at(id, "bucket"), "name": name, "description": null, "confirmationDate": null,
        "requestedDate": null, "isShared": false, "status": "active", "usageType": usage,
        "remainingValue": remaining, "remainingValueName": display, "reservedValue": null,
        "validFor": {"startDateTime": "2025-01-01T00:00:00+05:30", "endDateTime": null},
        "partyAccount": account_ref(owner.0, owner.1), "product": names, "logicalResource": null, "relatedParty": null,
        "@baseType": "Bucket", "@schemaLocation": null, "@type": "Bucket"
    })
}

/// A quantity as display text in its unit (TMF654's `remainingValueName`): `45.00 EUR`, `600 Free Seconds`.
fn remaining_name(quantity: &Value) -> String {
    let amount = quantity["amount"].as_f64().unwrap_or_default();
    let units = quantity["units"].as_str().unwrap_or_default();
    if CURRENCIES.iter().any(|(code, _)| *code == units) {
        format!("{amount:.2} {units}")
    } else {
        format!("{amount:.0} {units}")
    }
}

/// The examples the seed pages show, as the bundled spec holds them verbatim.
fn seed_examples() -> (Vec<Value>, Vec<Value>) {
    let file = crate::bundled::BUNDLED_SPECS.get_file("prepay-balance.yaml").expect("the bundled BRM spec");
    let spec: Value =
        serde_saphyr::from_str(&String::from_utf8_lossy(file.contents())).expect("the bundled spec is YAML");
    // The 200's one media type, whatever its parameters (`application/json;charset=utf-8`).
    let examples = |path: &str| -> Vec<Value> {
        spec.pointer(&format!("/paths/{path}/get/responses/200/content"))
            .and_then(Value::as_object)
            .and_then(|content| content.values().next())
            .and_then(|media| media["examples"].as_object())
            .map(|e| e.values().filter_map(|x| x.get("value").cloned()).collect())
            .unwrap_or_default()
    };
    (examples("~1accumulatedBalance~1{id}"), examples("~1transferBalance~1{id}"))
}

/// Generates accounts, products, buckets, accumulated balances and transfers.
pub(crate) fn generate(g: &mut Gen, scale: u32) -> Vec<FixtureFile> {
    let (seed_accumulated, seed_transfers) = seed_examples();
    let mut accumulated = FileWriter::new("accumulated-balances.json");
    seed_accumulated.iter().for_each(|r| accumulated.push(r));
    let mut transfers = FileWriter::new("transfer-balances.json");
    seed_transfers.iter().for_each(|r| transfers.push(r));
    let (mut account_records, mut product_records, mut buckets) = seed_support();
    let seed_accounts = account_records.len();
    let mut accounts: Vec<Account> = Vec::new();
    let mut next_product = 300_001u32;
    for (i, next_group) in (0..200 * scale).zip(400_001u32..) {
        let number = 200_001 + i;
        let id = format!("0.0.0.1+-account+{number}");
        let name = format!("{} {}", g.pick(&FIRST), g.pick(&LAST));
        let currency = g.below(0, CURRENCIES.len() as u64) as usize;
        let mut products = Vec::new();
        for (kind, pname) in PRODUCTS.iter().take(g.below(1, 4) as usize) {
            let pid = format!("0.0.0.1+-service-telco-gsm-{kind}+{next_product}");
            next_product += 1;
            product_records.push(json!({"id": pid, "name": pname, "accountId": id}));
            products.push((pid, pname.to_string()));
        }
        accumulated.alias(format!("account+{}", 30_001 + i), id.clone());
        account_records.push(json!({"id": id, "name": name, "status": "active"}));
        let mut account = Account {
            id,
            name,
            currency,
            products,
            currency_buckets: Vec::new(),
            free_seconds: String::new(),
            msisdn: format!("91{:08}", g.below(0, 100_000_000)),
        };
        let group = next_group;
        let product_ids: Vec<&str> = account.products.iter().map(|(p, _)| p.as_str()).collect();
        let (code, resource) = CURRENCIES[currency];
        let mut total_cents = 0u64;
        let mut bucket_refs = Vec::new();
        for k in 0..g.below(1, 3) {
            let bid = format!("0.0.0.1+-balance_group+{group}+{resource}+{}", 10 + k * 2);
            let cents = g.below(0, 20_000);
            total_cents += cents;
            let name = if k == 0 { "Account Level Balance Group" } else { "Service Level Balance Group" };
            buckets.push(bucket(
                &bid,
                name,
                (&account.id, &account.name),
                quantity(cents as f64 / 100.0, code),
                "monetary",
                &product_ids,
            ));
            bucket_refs.push(bucket_ref(&bid, Some(name)));
            account.currency_buckets.push(bid);
        }
        for (k, (units, resource, bname)) in NON_CURRENCY.iter().enumerate() {
            let bid = format!("0.0.0.1+-balance_group+{group}+{resource}+{}", 30 + k * 2);
            buckets.push(bucket(
                &bid,
                bname,
                (&account.id, &account.name),
                quantity(g.below(0, 3_600) as f64, units),
                "other",
                &product_ids,
            ));
            if k == 0 {
                account.free_seconds = bid;
            }
        }
        let day = g.below(1, 29);
        accumulated.push(&json!({
            "id": account.id,
            "href": at(&account.id, "accumulatedBalance"),
            "description": null,
            "name": account.name,
            "bucket": bucket_refs,
            "logicalResource": null,
            "partyAccount": account_ref(&account.id, &account.name),
            "product": account.products.iter().map(|(p, n)| product_ref(p, n)).collect::<Vec<_>>(),
            "relatedParty": null,
            "totalBalance": quantity(total_cents as f64 / 100.0, code),
            "billStructure": {"presentationMedia": "electronic", "format": "PDF", "@baseType": null, "@schemaLocation": null, "@type": "BillStructure"},
            "billingCycleSpecification": {"id": format!("0.0.0.1+-billinfo+{number}"), "name": "Monthly", "billingDateShift": day,
                "frequency": "monthly", "@baseType": null, "@schemaLocation": null, "@type": "BillingCycleSpecificationRef", "@referredType": null},
            "@baseType": "AccumulatedBalance",
            "@schemaLocation": null,
            "@type": "AccumulatedBalance"
        }));
        accounts.push(account);
    }
    let ist = FixedOffset::east_opt(5 * 3600 + 1800).expect("+05:30 is a valid offset");
    let start = utc_day(2025, 9, 1);
    for i in 0..1000 * scale as u64 {
        let from = g.below(0, accounts.len() as u64) as usize;
        let mut to = g.below(0, accounts.len() as u64 - 1) as usize;
        if to >= from {
            to += 1;
        }
        let (a, b) = (&accounts[from], &accounts[to]);
        let monetary = a.currency == b.currency && g.chance(0.4);
        // Whole cents (or seconds), summed as integers and divided once: adding the f64 amounts
        // wrote 17.099999999999998 where 17.1 was meant.
        let (units, from_bucket, to_bucket, moved, cost, per_unit) = if monetary {
            let cents = g.below(100, 5_000);
            let fee = g.below(0, 100);
            (CURRENCIES[a.currency].0, &a.currency_buckets[0], &b.currency_buckets[0], cents, fee, 100.0)
        } else {
            ("Free Seconds", &a.free_seconds, &b.free_seconds, g.below(10, 600), g.below(0, 30), 1.0)
        };
        let exact = |whole: i64| whole as f64 / per_unit;
        let cost_owner = if g.chance(0.8) { "originator" } else { "receiver" };
        let when: DateTime<FixedOffset> = g.instant(start, Duration::days(450)).with_timezone(&ist);
        let when = when.format("%Y-%m-%dT%H:%M:%S%:z").to_string();
        let impacted = |bucket: &str, amount: f64, item_type: &str, name: &str| {
            json!({"@baseType": "ImpactedBucket", "@schemaLocation": null, "@type": "ImpactedBucket", "amountAfter": null, "amountBefore": null,
                   "bucket": bucket_ref(bucket, None), "confirmationDate": when, "description": null,
                   "item": [{"@baseType": "ImpactedBucketItem", "@schemaLocation": null, "@type": "ImpactedBucketItem",
                             "amount": quantity(amount, units), "description": null, "itemType": item_type, "name": name, "reason": null}],
                   "name": null, "requestedDate": when})
        };
        let mut items = Vec::new();
        let (moved, cost) = (moved as i64, cost as i64);
        if cost > 0 {
            items.push(match cost_owner {
                "originator" => impacted(from_bucket, exact(cost), "debit", "transfer cost-originator"),
                _ => impacted(to_bucket, exact(cost), "debit", "transfer cost-receiver"),
            });
        }
        items.push(impacted(from_bucket, exact(moved), "debit", "originator"));
        items.push(impacted(to_bucket, exact(-moved), "credit", "receiver"));
        let id = format!("0.0.0.1+-event-audit-transfer_balance+{}", 332_070_103_776_500_000u64 + i * 7919);
        let product = |acct: &Account| {
            let (p, n) = &acct.products[0];
            product_ref(p, n)
        };
        transfers.push(&json!({
            "@baseType": "TransferBalance", "@schemaLocation": null, "@type": "TransferBalance",
            "amount": quantity(exact(moved + cost), units),
            "bucket": bucket_ref(from_bucket, None),
            "channel": null,
            "confirmationDate": when,
            "costOwner": cost_owner,
            "description": "",
            "href": at(&id, "transferBalance"),
            "id": id,
            "impactedBucket": items,
            "logicalResource": logical_resource(&a.msisdn),
            "partyAccount": account_ref(&a.id, &a.name),
            "product": product(a),
            "reason": null,
            "receiver": null,
            "receiverBucket": bucket_ref(to_bucket, None),
            "receiverBucketUsageType": null,
            "receiverLogicalResource": logical_resource(&b.msisdn),
            "receiverPartyAccount": account_ref(&b.id, &b.name),
            "receiverProduct": product(b),
            "relatedParty": null,
            "requestedDate": when,
            "requestor": null,
            "status": "CONFIRMED",
            "transferCost": quantity(exact(cost), units),
            "usageType": if monetary { "monetary" } else { "other" },
            "validFor": null
        }));
    }
    // The seed transfer's accounts own buckets but came with no accumulated balance, so a client
    // following its `partyAccount` found nothing: each gets the sum of its buckets, as every
    // generated account has. Added last, so the generated records keep their places.
    for account in &account_records[..seed_accounts] {
        let id = account["id"].as_str().unwrap_or_default();
        let owned: Vec<&Value> = buckets.iter().filter(|b| b["partyAccount"]["id"] == *id).collect();
        if owned.is_empty() || seed_accumulated.iter().any(|r| r["id"] == *id) {
            continue;
        }
        let name = account["name"].as_str().unwrap_or_default();
        let units = owned[0]["remainingValue"]["units"].as_str().unwrap_or_default();
        // Whole units (seconds, here) summed as integers: exact.
        let total: i64 = owned.iter().filter_map(|b| b["remainingValue"]["amount"].as_f64()).map(|a| a as i64).sum();
        let products: Vec<&Value> = product_records.iter().filter(|p| p["accountId"] == *id).collect();
        accumulated.push(&json!({
            "id": id,
            "href": at(id, "accumulatedBalance"),
            "description": null,
            "name": name,
            "bucket": owned.iter().map(|b| bucket_ref(b["id"].as_str().unwrap_or_default(), b["name"].as_str())).collect::<Vec<_>>(),
            "logicalResource": null,
            "partyAccount": account_ref(id, name),
            "product": products.iter().map(|p| product_ref(p["id"].as_str().unwrap_or_default(), p["name"].as_str().unwrap_or_default())).collect::<Vec<_>>(),
            "relatedParty": null,
            "totalBalance": quantity(total as f64, units),
            "billStructure": null,
            "billingCycleSpecification": null,
            "@baseType": "AccumulatedBalance",
            "@schemaLocation": null,
            "@type": "AccumulatedBalance"
        }));
    }
    vec![
        FileWriter::with("accounts.json", &account_records),
        FileWriter::with("products.json", &product_records),
        FileWriter::with("buckets.json", &buckets),
        accumulated.finish(),
        transfers.finish(),
    ]
}
