//! `GET /__admin/data/{api}/{collection}`: a collection's records a page at a time, as the API
//! serves them (its default view, hrefs pointing at this server), filtered by text.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::admin::{admin_api, problem};
use crate::app::App;
use crate::load::LoadedApi;
use crate::state::Changes;
use crate::store::merge::{Item, Slot};
use crate::store::render::{Rendered, Shape};

/// The most records one page holds.
const MAX_LIMIT: usize = 200;

pub(crate) async fn records(
    State(app): State<Arc<App>>,
    Path((api_name, collection)): Path<(String, String)>,
    req: Request,
) -> Response {
    let op = admin_api().operation("listRecords").expect("declared");
    let params = match crate::openapi::params::extract(
        op,
        &[("api", &api_name), ("collection", &collection)],
        req.uri().query(),
        req.headers(),
        &[],
    ) {
        Ok(p) => p,
        Err(message) => return problem(StatusCode::BAD_REQUEST, &message),
    };
    let apis = app.apis();
    let Some(api) = apis.iter().find(|a| a.api.name == api_name) else {
        let names: Vec<&str> = apis.iter().map(|a| a.api.name.as_str()).collect();
        return problem(StatusCode::NOT_FOUND, &format!("no API {api_name:?}; served: {}", names.join(", ")));
    };
    let Some(records) = api.store.collection(&collection) else {
        let mut names = api.store.names();
        names.sort();
        return problem(
            StatusCode::NOT_FOUND,
            &format!("{api_name} has no collection {collection:?}; it has: {}", names.join(", ")),
        );
    };
    let base = match crate::http::base_url(api, req.headers()) {
        Ok(base) => base,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &e.message),
    };
    let offset = params.int("offset").unwrap_or(0).max(0) as usize;
    let limit = (params.int("limit").unwrap_or(25).max(1) as usize).min(MAX_LIMIT);
    let text = params.str("q").unwrap_or_default().to_ascii_lowercase();
    let session = params.str("session").filter(|s| *s != "default").unwrap_or_default();
    // The session's changes to this collection, copied: the admin view is not on the hot path.
    let mut changes: Option<Changes> = None;
    app.sessions().read(session, &api_name, &mut |c| {
        changes = c.and_then(|c| c.collections.get(&collection)).cloned();
    });
    let changes = changes.unwrap_or_default();
    let write = writer(api, &collection, &records.records);
    let shape = default_shape(api, &collection);
    let write_item = |item: Item<'_>, out: &mut Vec<u8>| match (item, shape) {
        (Item::Base(id), _) => write(id, out, &base),
        (Item::Written(record, _), Some(shape)) => {
            let mut one = Rendered::default();
            one.push(shape, record, &api.placeholders);
            one.write(0, out, &base);
        }
        (Item::Written(record, _), None) => serde_json::to_writer(out, record).expect("a record serialises"),
    };
    let n = records.index.len();
    let total = n + changes.added.len();
    // Each record parsed for its own write alone: a search walks every one.
    let write_at = |i: usize, out: &mut Vec<u8>| match i.checked_sub(n) {
        None => {
            let slot = Slot::Replaced(i as u32);
            write_item(changes.replaced.get(&(i as u32)).map_or(Item::Base(i as u32), |r| Item::Written(r, slot)), out)
        }
        Some(added) => {
            let slot = Slot::Added(added as u32);
            write_item(Item::Written(&changes.peek(slot), slot), out)
        }
    };
    let (mut matched, mut page) = (0usize, Vec::new());
    if text.is_empty() {
        // No filter: write only the page's records.
        matched = total;
        for i in (offset..total).take(limit) {
            let mut one = Vec::new();
            write_at(i, &mut one);
            page.push(one);
        }
    } else {
        let mut one = Vec::new();
        for i in 0..total {
            one.clear();
            write_at(i, &mut one);
            if !contains_ignoring_case(&one, text.as_bytes()) {
                continue;
            }
            if matched >= offset && matched < offset + limit {
                page.push(std::mem::take(&mut one));
            }
            matched += 1;
        }
    }
    let mut body = format!(
        "{{\"api\":{},\"collection\":{},\"total\":{},\"matched\":{matched},\"offset\":{offset},\"limit\":{limit},\"records\":[",
        serde_json::Value::from(api_name.as_str()),
        serde_json::Value::from(collection.as_str()),
        total
    )
    .into_bytes();
    for (i, record) in page.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(record);
    }
    body.extend_from_slice(b"]}");
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Appends record `id` as JSON, with a base URL for its hrefs.
type WriteRecord<'a> = Box<dyn Fn(u32, &mut Vec<u8>, &[u8]) + 'a>;

/// Writes record `id` as JSON: from the first operation (by operationId) that serves the
/// collection, in its default view; from the record kept parsed; else just its key.
fn writer<'a>(api: &'a LoadedApi, collection: &'a str, parsed: &'a [serde_json::Value]) -> WriteRecord<'a> {
    let mut bindings: Vec<_> = api.bindings.iter().filter(|(_, b)| b.collection == collection).collect();
    bindings.sort_by(|a, b| a.0.cmp(b.0));
    if let Some((_, binding)) = bindings.into_iter().find(|(_, b)| !b.views.is_empty()) {
        let rendered = binding.views[binding.default_view].1.clone();
        return Box::new(move |id, out, base| rendered.write(id, out, base));
    }
    if !parsed.is_empty() {
        return Box::new(move |id, out, _| {
            serde_json::to_writer(out, &parsed[id as usize]).expect("a record serialises");
        });
    }
    let keys = api.store.collection(collection).map(|c| c.index.clone()).unwrap_or_default();
    Box::new(move |id, out, _| {
        let key = keys.key_of.get(id as usize).map_or("", String::as_str);
        serde_json::to_writer(out, &serde_json::json!({ "key": key })).expect("a key serialises");
    })
}

/// The default view of the first operation (by operationId) that serves the collection.
fn default_shape<'a>(api: &'a LoadedApi, collection: &str) -> Option<&'a Shape> {
    let mut bindings: Vec<_> = api.bindings.iter().filter(|(_, b)| b.collection == collection).collect();
    bindings.sort_by(|a, b| a.0.cmp(b.0));
    bindings.into_iter().find(|(_, b)| !b.views.is_empty()).map(|(_, b)| &b.views[b.default_view].0)
}

/// Whether `haystack` holds `needle` (lower-case ASCII), ignoring ASCII case.
fn contains_ignoring_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w.iter().zip(needle).all(|(a, b)| a.to_ascii_lowercase() == *b))
}
