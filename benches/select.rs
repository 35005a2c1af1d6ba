//! `fields=` over a 1,000-record TMF page: what selecting attributes costs beside copying the
//! pre-rendered records whole, for the byte scanner specmock uses and the two ways it replaced or
//! passed over (parse to `Value` and write again; serde_json's `RawValue` members), and end to end
//! through the server, selected against unselected.
//!
//! `cargo bench --bench select`

use std::borrow::Cow;

use criterion::{criterion_group, criterion_main, Criterion};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;
use specmock::internals::select_members;
use specmock::MockServer;

const PAGE: &str = "/brm/prepayBalanceManagement/v4/transferBalance?limit=1000";

fn get(runtime: &tokio::runtime::Runtime, server: &MockServer, uri: &str) -> bytes::Bytes {
    runtime.block_on(async {
        let request = http::Request::get(uri)
            .header("authorization", "Bearer demo-token")
            .header("host", "localhost:4010")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = server.handle(request).await;
        assert_eq!(response.status(), 200, "{uri}");
        axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap()
    })
}

/// A record's top-level members as raw JSON, in order.
struct RawMembers<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for RawMembers<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = RawMembers<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry::<Cow<'de, str>, &'de RawValue>()? {
                    members.push(entry);
                }
                Ok(RawMembers(members))
            }
        }
        d.deserialize_map(Members)
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let server = runtime.block_on(MockServer::builder().strict(false).start());
    let page: Vec<Value> = serde_json::from_slice(&get(&runtime, &server, PAGE)).unwrap();
    let records: Vec<Vec<u8>> = page.iter().map(|r| serde_json::to_vec(r).unwrap()).collect();
    let keep: Vec<String> = ["id", "href", "@type", "requestor"].map(String::from).into();

    let mut group = c.benchmark_group("fields= over 1,000 records");
    group.bench_function("copied whole (no fields=)", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            records.iter().for_each(|r| out.extend_from_slice(r));
            out
        })
    });
    group.bench_function("byte scanner (specmock, once per record)", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            records.iter().for_each(|r| select_members(r, &keep, &mut out));
            out
        })
    });
    group.bench_function("serde_json RawValue members", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            for r in &records {
                let RawMembers(members) = serde_json::from_slice(r).unwrap();
                out.push(b'{');
                let kept = members.iter().filter(|(k, _)| keep.iter().any(|w| w == k));
                for (i, (k, v)) in kept.enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    serde_json::to_writer(&mut out, k).unwrap();
                    out.push(b':');
                    out.extend_from_slice(v.get().as_bytes());
                }
                out.push(b'}');
            }
            out
        })
    });
    group.bench_function("parse to Value and write again", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            for r in &records {
                let mut value: serde_json::Map<String, Value> = serde_json::from_slice(r).unwrap();
                value.retain(|k, _| keep.contains(k));
                serde_json::to_writer(&mut out, &value).unwrap();
            }
            out
        })
    });
    group.finish();

    let mut group = c.benchmark_group("transferBalance?limit=1000 through the server");
    group.bench_function("unselected", |b| b.iter(|| get(&runtime, &server, PAGE)));
    let selected = format!("{PAGE}&fields=none");
    group.bench_function("fields=none", |b| b.iter(|| get(&runtime, &server, &selected)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
