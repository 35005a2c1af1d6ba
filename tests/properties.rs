//! Properties over many inputs: paging covers a filtered set exactly once, and sort order holds.

mod common;

use std::collections::HashSet;

use common::*;
use proptest::prelude::*;
use serde_json::Value;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

fn key(a: &Value, field: &str) -> (usize, String) {
    let v = match field {
        "quantity" => a["amount"]["quantity"].as_str().unwrap(),
        f => a[f].as_str().unwrap(),
    };
    // Base-unit integers compare by length, then digits.
    (if field == "quantity" { v.len() } else { 0 }, v.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn allocation_pages_cover_the_filtered_set_once(
        size in 1usize..=500,
        statuses in proptest::sample::subsequence(vec!["cleared", "released", "reserved"], 1..=3),
        currency in proptest::option::of(proptest::sample::select(vec!["BTC", "ETH", "USDC", "USDT", "SOL", "XRP"])),
    ) {
        let mut query = format!("statuses={}", statuses.join(","));
        if let Some(c) = currency {
            query.push_str(&format!("&currencies={c}"));
        }
        let (paged, whole) = block_on(async {
            (walk_allocations(&query, size).await, walk_allocations(&query, 500).await)
        });
        let ids: Vec<&str> = paged.iter().map(|a| a["id"].as_str().unwrap()).collect();
        let unique: HashSet<&str> = ids.iter().copied().collect();
        prop_assert_eq!(unique.len(), ids.len(), "no record twice");
        prop_assert_eq!(&paged, &whole, "same records, same order, whatever the page size");
        for a in &paged {
            prop_assert!(statuses.contains(&a["status"].as_str().unwrap()));
            if let Some(c) = currency {
                prop_assert_eq!(a["amount"]["currency"].as_str().unwrap(), c);
            }
        }
    }

    #[test]
    fn sort_order_holds_with_the_tie_break(
        field in proptest::sample::select(vec!["id", "updatedAt", "quantity"]),
        descending in any::<bool>(),
        size in 7usize..=300,
    ) {
        let direction = if descending { "DESC" } else { "ASC" };
        let items = block_on(walk_allocations(&format!("sortField={field}&sortDirection={direction}"), size));
        prop_assert_eq!(items.len(), 2000);
        for pair in items.windows(2) {
            let (a, b) = (key(&pair[0], field), key(&pair[1], field));
            if a == b {
                let ta = (pair[0]["createdAt"].as_str().unwrap(), pair[0]["id"].as_str().unwrap());
                let tb = (pair[1]["createdAt"].as_str().unwrap(), pair[1]["id"].as_str().unwrap());
                prop_assert!(ta < tb, "tie-break createdAt ASC, id ASC");
            } else {
                prop_assert_eq!(a > b, descending, "{:?} then {:?}", a, b);
            }
        }
    }

    #[test]
    fn tmf_offset_paging_covers_every_transfer_once(limit in 1usize..=1000, usage in proptest::option::of(proptest::sample::select(vec!["monetary", "other"]))) {
        let filter = usage.map(|u| format!("&usageType={u}")).unwrap_or_default();
        let (seen, total) = block_on(async {
            let mut seen = Vec::new();
            let mut total = None;
            let mut offset = 0;
            loop {
                let page = get(&format!("{BRM}/transferBalance?fields=none&limit={limit}&offset={offset}{filter}")).await;
                total = total.or(page.header("x-total-count").map(|t| t.parse::<usize>().unwrap()));
                let items = page.body.as_array().unwrap().clone();
                assert_eq!(page.header("x-result-count").unwrap(), items.len().to_string());
                let n = items.len();
                seen.extend(items.into_iter().map(|i| i["id"].as_str().unwrap().to_string()));
                if n < limit { break; }
                offset += limit;
            }
            (seen, total.unwrap())
        });
        let unique: HashSet<&String> = seen.iter().collect();
        prop_assert_eq!(unique.len(), seen.len());
        prop_assert_eq!(seen.len(), total);
    }
}

/// Every bundled operation's route, with its path parameters' examples filled in.
fn bundled_routes() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut routes = Vec::new();
    for spec in ["spec/oes-partners.yaml", "spec/prepay-balance.yaml"] {
        let api = specmock::Api::from_file(root.join(spec)).unwrap();
        for op in api.operations() {
            let mut route = op.route.clone();
            for p in op.params.iter().filter(|p| p.location == specmock::internals::Location::Path) {
                let example = p.example.as_ref().map(specmock::internals::text_of).unwrap_or_else(|| "1".into());
                route = route.replace(&format!("{{{}}}", p.name), &example);
            }
            routes.push(route);
        }
    }
    routes
}

/// Bytes as a URI allows them: unreserved and delimiter characters raw, anything else
/// percent-encoded, so every byte value reaches the server.
fn uri_text(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'=' | b'&' | b',' | b'+' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever Host, path tail and query arrive, every bundled route answers well-formed JSON
    /// with a status below 500 (strict mode would turn a broken body into a 500), and never panics.
    #[test]
    fn arbitrary_hosts_paths_and_queries_get_json_or_a_clean_4xx(
        route in proptest::sample::select(bundled_routes()),
        host in prop_oneof![
            "[a-z0-9.:\\[\\]@\t %_-]{0,30}".prop_map(String::into_bytes),
            "\\PC{0,20}".prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..40),
        ],
        tail in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..24)),
        query in proptest::collection::vec(any::<u8>(), 0..80),
        fields in proptest::option::of("[a-zA-Z@,]{0,20}"),
    ) {
        let mut uri = route.clone();
        if let Some(tail) = &tail {
            uri.push_str(&uri_text(tail));
        }
        uri.push('?');
        uri.push_str(&uri_text(&query));
        if let Some(fields) = &fields {
            uri.push_str(&format!("&fields={fields}"));
        }
        let Ok(host) = axum::http::HeaderValue::from_bytes(&host) else {
            return Ok(()); // hyper refuses such bytes before any handler runs
        };
        let request = axum::http::Request::get(&uri)
            .header("host", host)
            .header("authorization", "Bearer demo-token")
            .body(axum::body::Body::empty());
        let Ok(request) = request else { return Ok(()) };
        let (status, body) = block_on(async {
            let response = server().handle(request).await;
            let status = response.status().as_u16();
            (status, axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap())
        });
        prop_assert!(status < 500, "{uri}: {status} {}", String::from_utf8_lossy(&body));
        prop_assert!(body.is_empty() || serde_json::from_slice::<Value>(&body).is_ok(), "{uri}: {status} not JSON");
    }
}
