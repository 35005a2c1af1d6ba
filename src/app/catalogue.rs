//! `GET /__admin/apis`: what the console shows and prefills. Each API's operations with their
//! declared statuses and named examples (for scenario switches), its collections and counts
//! (for the data browser), and values a first Try-it call answers 200 with: a token that may
//! call, a tenant it belongs to, and a real record id for each lookup parameter. All of it is
//! read from the loaded spec, behaviour and fixtures, so a team's own API gets the same.

use serde_json::{json, Map, Value};

use crate::load::LoadedApi;
use crate::openapi::{Location, Operation};
use crate::store::Path;

/// The catalogue of the APIs served now.
pub(crate) fn catalogue(apis: &[std::sync::Arc<LoadedApi>]) -> Value {
    let identities = apis.first().map(|a| json!(a.identities.identities)).unwrap_or_else(|| json!([]));
    json!({
        "apis": apis.iter().map(|a| api_json(a)).collect::<Vec<_>>(),
        "identities": identities,
    })
}

/// A token that may call `api`, if it needs one.
pub(crate) fn demo_token(api: &LoadedApi) -> Option<String> {
    demo_identity(api).map(|d| d.token)
}

/// Values for the path parameters of operation `op` that answer 200, by name.
pub(crate) fn try_it_values(api: &LoadedApi, op: &Operation) -> Map<String, Value> {
    values_for(api, op, demo_identity(api).as_ref())
}

fn values_for(api: &LoadedApi, op: &Operation, demo: Option<&Demo>) -> Map<String, Value> {
    let mut values = Map::new();
    for param in op.params.iter().filter(|p| p.location == Location::Path) {
        if let Some(value) = demo_value(api, op, &param.name, demo) {
            values.insert(param.name.to_string(), value);
        }
    }
    values
}

fn api_json(api: &LoadedApi) -> Value {
    let demo = demo_identity(api);
    let operations: Vec<Value> = api
        .api
        .operations
        .iter()
        .map(|op| {
            let values = values_for(api, op, demo.as_ref());
            let examples: Vec<Value> = op
                .all_responses()
                .flat_map(|r| r.examples().iter().map(move |(name, _)| json!({"status": r.status, "name": name})))
                .collect();
            // What a scenario switch may force: each declared code, a range as its first status
            // (`4XX` as 400), `default` as 200.
            let mut statuses: Vec<u16> = op.all_responses().map(|r| r.status).collect();
            statuses.sort_unstable();
            statuses.dedup();
            json!({
                "id": op.id,
                "method": op.method,
                "path": op.path,
                "route": op.route,
                "summary": op.summary,
                "statuses": statuses,
                "examples": examples,
                "tryIt": values,
            })
        })
        .collect();
    let mut collections: Vec<Value> = api
        .store
        .names()
        .into_iter()
        .map(|name| json!({"name": name, "records": api.store.collection(name).map_or(0, |c| c.index.len())}))
        .collect();
    collections.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    json!({
        "name": api.api.name,
        "title": api.api.title,
        "prefix": api.api.prefix,
        "document": format!("{}apis/{}/openapi.json", crate::app::published::PREFIX, api.api.name),
        "token": demo.as_ref().map(|d| d.token.clone()),
        "operations": operations,
        "collections": collections,
    })
}

/// Who a first call is made as: the first identity holding the API's permission and belonging
/// to a tenant that exists (and holds the licence, where one is needed), with that tenant.
struct Demo {
    token: String,
    tenant: Option<String>,
}

fn demo_identity(api: &LoadedApi) -> Option<Demo> {
    let rules = api.auth.as_ref()?;
    let callers = api.identities.identities.iter().filter(|i| i.permissions.contains(&rules.permission));
    let Some(rule) = &rules.tenant else {
        return callers.into_iter().next().map(|i| Demo { token: i.token.clone(), tenant: None });
    };
    let tenants = api.store.collection(&rule.collection)?;
    let licensed = |index: u32| {
        let Some(pointer) = &rule.licence else { return true };
        tenants
            .records
            .get(index as usize)
            .and_then(|record| Path::new(pointer).get(record))
            .is_some_and(|v| v.as_bool() == Some(true))
    };
    let mut first = None;
    for identity in callers {
        for tenant in &identity.tenants {
            if let Some(index) = tenants.index.find(tenant) {
                let demo = Demo { token: identity.token.clone(), tenant: Some(tenant.clone()) };
                if licensed(index) {
                    return Some(demo);
                }
                first.get_or_insert(demo);
            }
        }
    }
    first
}

/// A value for a path parameter that answers 200: the demo tenant for the tenant parameter,
/// the first record's key for a lookup, else the spec's example.
fn demo_value(api: &LoadedApi, op: &Operation, param: &str, demo: Option<&Demo>) -> Option<Value> {
    let tenant_param = api.auth.as_ref().and_then(|a| a.tenant.as_ref()).map(|t| t.param.as_str());
    if tenant_param == Some(param) {
        if let Some(tenant) = demo.and_then(|d| d.tenant.clone()) {
            return Some(tenant.into());
        }
    }
    let binding = api.bindings.get(&op.id);
    if let Some(binding) = binding.filter(|b| b.lookup.as_deref() == Some(param)) {
        // A collection only clients write starts empty: no id answers 200 until one is created.
        let key = api.store.collection(&binding.collection).map(|c| c.index.key_of.first().cloned());
        match key {
            Some(Some(key)) => return Some(key.into()),
            Some(None) => return None,
            None => {}
        }
    }
    let declared = op.param(param)?;
    declared.example.clone().or_else(|| declared.sample.clone())
}
