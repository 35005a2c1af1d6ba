//! The store's query path at 1e3, 1e5 and 1e6 records: a filtered, sorted page, a deep page, and
//! an unfiltered page. The goal is a cost flat in the collection size for a page, and at most
//! proportional to the matches for a filter.
//!
//! `cargo bench --bench query`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use serde_json::{json, Value};
use specmock::internals::{Binding, Collection, ParamValues, Query, QueryBuilder, Store};

const STATUSES: [&str; 3] = ["cleared", "released", "reserved"];
const CURRENCIES: [&str; 6] = ["BTC", "ETH", "USDC", "USDT", "SOL", "XRP"];

fn binding() -> Binding {
    serde_json::from_value(json!({
        "collection": "allocations",
        "filters": [
            {"param": "statuses", "field": "/status"},
            {"param": "currencies", "field": "/amount/currency"},
            {"param": "allocationIds", "field": "/id"}
        ],
        "paging": {"style": "page_number", "page": "pageNumber", "size": "pageSize"},
        "sort": {
            "field_param": "sortField", "direction_param": "sortDirection", "descending": "DESC",
            "keys": {"quantity": {"field": "/amount/quantity", "compare": "decimal"}, "id": {"field": "/id"}},
            "tie_break": [{"field": "/createdAt", "compare": "timestamp"}, {"field": "/id"}]
        },
        "body": {"shape": "list", "property": "allocations"}
    }))
    .unwrap()
}

fn query(n: usize) -> Query {
    let mut g = specmock::internals::Gen::new(1);
    let mut builder = QueryBuilder::new(&binding(), &Store::default(), "/id").unwrap();
    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        let record = json!({
            "id": g.uuid(),
            "amount": {"currency": *g.pick(&CURRENCIES), "quantity": g.base_units(1, 500_000, 4)},
            "createdAt": format!("2026-{:02}-{:02}T{:02}:00:00.000Z", 1 + i % 12, 1 + i % 28, i % 24),
            "status": *g.pick(&STATUSES),
        });
        keys.push(record["id"].as_str().unwrap().to_string());
        builder.ingest(&record);
    }
    let collection = Collection::from_keys("allocations", Vec::new(), keys, "/id", &[]).unwrap();
    builder.finish(collection.index.clone())
}

fn params(pairs: &[(&str, Value)]) -> ParamValues {
    let mut p = ParamValues::default();
    for (k, v) in pairs {
        p.insert(k, v.clone());
    }
    p
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("allocations page");
    group.sample_size(30);
    for n in [1_000usize, 100_000, 1_000_000] {
        let q = query(n);
        let filtered = params(&[
            ("statuses", json!(["cleared"])),
            ("currencies", json!(["BTC", "ETH"])),
            ("sortField", json!("quantity")),
            ("sortDirection", json!("DESC")),
            ("pageNumber", json!(0)),
            ("pageSize", json!(50)),
        ]);
        let last_page = (n / 50) as i64 - 1;
        let deep =
            params(&[("sortField", json!("quantity")), ("pageNumber", json!(last_page)), ("pageSize", json!(50))]);
        let plain = params(&[("pageNumber", json!(3)), ("pageSize", json!(50))]);
        assert_eq!(q.run(&filtered).ids.len(), 50);
        assert_eq!(q.run(&deep).ids.len(), 50);
        group.bench_with_input(BenchmarkId::new("filtered+sorted", n), &q, |b, q| b.iter(|| q.run(&filtered)));
        group.bench_with_input(BenchmarkId::new("deep page", n), &q, |b, q| b.iter(|| q.run(&deep)));
        group.bench_with_input(BenchmarkId::new("unfiltered", n), &q, |b, q| b.iter(|| q.run(&plain)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
