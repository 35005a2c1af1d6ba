//! BitGo Go Network OES: one licensed partner enterprise with partners, clients, connections,
//! network balances and a year of allocations; plus one enterprise without an OES licence.

use chrono::Duration;
use serde_json::{json, Map, Value};

use super::{iso_millis, utc_day, FileWriter, FixtureFile, Gen};

/// The demo partner enterprise (licensed).
pub(crate) const DEMO_ENTERPRISE: &str = "7a72d96a-03b1-4f1f-a16f-5d13f5c04757";
/// An enterprise that exists but holds no OES licence.
pub(crate) const UNLICENSED_ENTERPRISE: &str = "5b875f84-aab1-4bd8-b27a-a567e1e4bbab";

/// Partner-mapped currencies: code, base-unit decimals, and the size range in 1/10000ths of a coin.
const CURRENCIES: [(&str, u32, u64, u64); 6] = [
    ("BTC", 8, 1, 500_000),               // 0.0001 .. 50 BTC, in satoshi
    ("ETH", 18, 10, 5_000_000),           // 0.001 .. 500 ETH, in wei
    ("USDC", 6, 100_000, 50_000_000_000), // 10 .. 5M USDC
    ("USDT", 6, 100_000, 50_000_000_000),
    ("SOL", 9, 1_000, 100_000_000),      // 0.1 .. 10k SOL, in lamports
    ("XRP", 6, 100_000, 20_000_000_000), // 10 .. 2M XRP, in drops
];

const PARTNER_NAMES: [&str; 3] = ["Northwind Prime", "Harbor Clearing", "Meridian OTC"];
const CLIENT_WORDS: [&str; 10] =
    ["Atlas", "Beacon", "Cobalt", "Delta", "Ember", "Fathom", "Granite", "Helix", "Ionic", "Juniper"];
const CLIENT_SUFFIXES: [&str; 5] = ["Capital", "Trading", "Markets", "Fund", "Digital"];
const RESERVED_REASONS: [&str; 3] =
    ["Awaiting settlement", "Collateral held for open positions", "Pending partner confirmation"];
const RELEASED_REASONS: [&str; 3] =
    ["Released after settlement window closed", "Client requested release", "Allocation expired"];
const NOTES: [&str; 4] = [
    "Collateral for the morning settlement window",
    "Top-up ahead of weekend trading",
    "Rebalance across venues",
    "Margin call cover",
];

/// Base units of one currency amount.
fn amount(g: &mut Gen, currency: usize) -> String {
    let (_, decimals, lo, hi) = CURRENCIES[currency];
    g.base_units(lo, hi, decimals - 4)
}

/// Generates enterprises, partners, clients, connections and allocations.
pub(crate) fn generate(g: &mut Gen, scale: u32) -> Vec<FixtureFile> {
    let scale = scale as usize;
    let partners: Vec<Value> = PARTNER_NAMES
        .iter()
        .map(|name| json!({"id": g.uuid(), "enterpriseId": DEMO_ENTERPRISE, "name": name}))
        .collect();
    let clients: Vec<Value> = (0..25 * scale)
        .map(|i| {
            let name = format!(
                "{} {}{}",
                CLIENT_WORDS[i % CLIENT_WORDS.len()],
                CLIENT_SUFFIXES[(i / CLIENT_WORDS.len()) % CLIENT_SUFFIXES.len()],
                if i >= 50 { format!(" {}", i / 50 + 1) } else { String::new() }
            );
            json!({"id": g.uuid(), "name": name, "externalId": format!("client-ext-{:04}", i + 1)})
        })
        .collect();
    let mut connections = Vec::with_capacity(60 * scale);
    for i in 0..60 * scale {
        // Every client has at least two connections; the rest are spread at random.
        let client = if i < clients.len() * 2 { &clients[i % clients.len()] } else { g.pick(&clients) };
        let partner = &partners[i % partners.len()];
        let mut balances = Map::new();
        let held_currencies = g.below(1, 4) as usize;
        let first = g.below(0, CURRENCIES.len() as u64) as usize;
        for k in 0..held_currencies {
            let c = (first + k * 2) % CURRENCIES.len();
            let available = amount(g, c);
            let held = if g.chance(0.4) { amount(g, c) } else { "0".to_string() };
            balances.insert(CURRENCIES[c].0.to_string(), json!({"available": available, "held": held}));
        }
        connections.push(json!({
            "id": g.uuid(),
            "enterpriseId": DEMO_ENTERPRISE,
            "partnerId": partner["id"],
            "clientId": client["id"],
            "partnersConnectionId": format!("acct-{}", 100_001 + i),
            "clientExternalId": client["externalId"],
            "balances": Value::Object(balances),
        }));
    }
    // Drawn and set aside: the enterprise's balances are its connections' sums (below), and
    // keeping the draws keeps every allocation the same as before they were.
    for (c, _) in CURRENCIES.iter().enumerate() {
        let _ = (amount(g, c), amount(g, c));
    }
    let position: std::collections::HashMap<String, usize> =
        connections.iter().enumerate().map(|(i, c)| (c["id"].as_str().unwrap_or_default().to_string(), i)).collect();
    // What each connection holds, by currency: the sum of its reserved allocations and deallocations.
    let mut reserved: std::collections::BTreeMap<(usize, usize), u128> = Default::default();
    let initiators: Vec<String> = (0..8).map(|_| g.hex(24)).collect();
    let start = utc_day(2025, 12, 1);
    let year = Duration::days(365);
    let mut allocations = FileWriter::new("allocations.json");
    for i in 0..2000 * scale {
        let connection = g.pick(&connections);
        let currency = g.below(0, CURRENCIES.len() as u64) as usize;
        // Cycle the first six records through every type and status, then draw at random.
        let kind = if i < 6 {
            ["allocation", "deallocation"][i % 2]
        } else if g.chance(0.7) {
            "allocation"
        } else {
            "deallocation"
        };
        let status = if i < 6 {
            ["reserved", "cleared", "released"][i / 2]
        } else {
            *g.pick(&["cleared", "cleared", "cleared", "reserved", "released"])
        };
        let created = g.instant(start, year);
        let updated = if status == "reserved" && g.chance(0.6) {
            created
        } else {
            created + Duration::milliseconds(g.below(60_000, 3 * 86_400_000) as i64)
        };
        let reason = match status {
            "cleared" => Value::Null,
            "reserved" => json!(g.pick(&RESERVED_REASONS)),
            _ => json!(g.pick(&RELEASED_REASONS)),
        };
        let id = g.uuid();
        let quantity = amount(g, currency);
        if status == "reserved" {
            let at = position[connection["id"].as_str().unwrap_or_default()];
            *reserved.entry((at, currency)).or_default() += quantity.parse::<u128>().unwrap_or(0);
        }
        let mut record = json!({
            "id": id,
            "amount": {"currency": CURRENCIES[currency].0, "quantity": quantity},
            "connectionId": connection["id"],
            "clientExternalId": connection["clientExternalId"],
        });
        let map = record.as_object_mut().unwrap();
        if g.chance(0.7) {
            map.insert("partnerExternalId".into(), json!(format!("partner-ref-{:06}", g.below(0, 1_000_000))));
        }
        map.insert("initiatedBy".into(), json!(g.pick(&initiators)));
        if g.chance(0.4) {
            map.insert("notes".into(), json!(g.pick(&NOTES)));
        }
        map.insert("createdAt".into(), json!(iso_millis(created)));
        map.insert("updatedAt".into(), json!(iso_millis(updated)));
        map.insert("retriable".into(), json!(status == "released" && g.chance(0.5)));
        map.insert("reason".into(), reason);
        map.insert("status".into(), json!(status));
        map.insert("type".into(), json!(kind));
        if g.chance(0.3) {
            map.insert("evaluationId".into(), json!(g.hex(24)));
            map.insert("policyResult".into(), json!(if status == "released" { "rejected" } else { "approved" }));
        }
        if status == "reserved" && g.chance(0.2) {
            map.insert("pendingApprovalId".into(), json!(g.hex(24)));
        }
        allocations.push(&record);
    }
    // Held is what reserved allocations and deallocations hold, so a write that reserves, clears
    // or releases one moves a balance that adds up; a currency held but not listed gets an entry.
    for (i, connection) in connections.iter_mut().enumerate() {
        let balances = connection["balances"].as_object_mut().expect("balances are an object");
        for (c, (code, ..)) in CURRENCIES.iter().enumerate() {
            let held = reserved.get(&(i, c)).copied().unwrap_or(0);
            match balances.get_mut(*code) {
                Some(entry) => entry["held"] = json!(held.to_string()),
                None if held > 0 => {
                    balances.insert(code.to_string(), json!({"available": "0", "held": held.to_string()}));
                }
                None => {}
            }
        }
    }
    // The enterprise's balances are the sums over its connections.
    let mut sums: std::collections::BTreeMap<&str, (u128, u128)> = Default::default();
    for connection in &connections {
        for (code, b) in connection["balances"].as_object().into_iter().flatten() {
            let sum = sums.entry(CURRENCIES.iter().find(|(c, ..)| c == code).map_or("", |(c, ..)| c)).or_default();
            sum.0 += b["available"].as_str().and_then(|v| v.parse::<u128>().ok()).unwrap_or(0);
            sum.1 += b["held"].as_str().and_then(|v| v.parse::<u128>().ok()).unwrap_or(0);
        }
    }
    let own_balances: Map<String, Value> = sums
        .into_iter()
        .map(|(code, (available, held))| {
            (code.to_string(), json!({"available": available.to_string(), "held": held.to_string()}))
        })
        .collect();
    let enterprises = vec![
        json!({"id": DEMO_ENTERPRISE, "name": "Demo OES Partner", "oesLicensed": true, "balances": own_balances}),
        json!({"id": UNLICENSED_ENTERPRISE, "name": "Unlicensed Enterprise", "oesLicensed": false, "balances": {}}),
    ];
    vec![
        FileWriter::with("enterprises.json", &enterprises),
        FileWriter::with("partners.json", &partners),
        FileWriter::with("clients.json", &clients),
        FileWriter::with("connections.json", &connections),
        allocations.finish(),
    ]
}
