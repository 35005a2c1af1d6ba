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
