//! Loads one API: its spec, behaviour file and fixtures, validated and compiled into what the
//! server answers from. Anything wrong stops the load with the file and JSON pointer.
//!
//! Just over 500 lines: the checks of a binding against its spec, the build from fixtures and the
//! read from the store cache walk the same plan and are kept side by side so they cannot drift.

pub(crate) mod fixture_file;
pub(crate) mod fixtures;

use std::collections::HashMap;
use std::sync::Arc;

use http::HeaderValue;
use serde_json::Value;

use crate::behaviour::identities::Identities;
use crate::behaviour::Envelope;
use crate::behaviour::{AuthRules, Behaviour, Binding, Body, CollectionDef, FieldSelection, Paging, SchemaRef, Views};
use crate::error::LoadError;
use crate::json::enum_texts;
use crate::load::fixtures::Files;
use crate::openapi::{Api, ResponseSpec};
use crate::store::cache::{CacheReader, CacheWriter, Key, StoreCache};
use crate::store::query::{Query, QueryBuilder};
use crate::store::render::{Placeholders, Rendered, Shape};
use crate::store::{Collection, Path, Store};

/// One operation's binding, compiled.
#[derive(Debug)]
pub(crate) struct CompiledBinding {
    /// The collection it reads.
    pub(crate) collection: String,
    /// Filters, orders and paging.
    pub(crate) query: Query,
    /// The path parameter that finds one record.
    pub(crate) lookup: Option<String>,
    /// Views and each record's pre-serialised bytes in each.
    pub(crate) views: Vec<(Shape, Arc<Rendered>)>,
    /// The parameter choosing the view, and its other spellings.
    pub(crate) view_param: Option<(String, Vec<String>)>,
    /// The view used when the parameter is absent.
    pub(crate) default_view: usize,
    /// Other wire spellings of declared parameters: (alias, declared name).
    pub(crate) param_aliases: Vec<(String, String)>,
    /// Attribute selection.
    pub(crate) fields: Option<FieldSelection>,
    /// The body's shape.
    pub(crate) body: Body,
    /// The 404 message for a lookup that finds nothing.
    pub(crate) not_found: String,
    /// For a map body, each tenant's `from_tenant` members, serialised once: `"name":value,`
    /// per member, by tenant record index.
    pub(crate) tenant_members: Vec<Vec<u8>>,
    /// For a map body, each record's key as a JSON string, serialised once.
    pub(crate) map_keys: Rendered,
    /// The Content-Type of its answers, as the success response declares it.
    pub(crate) content_type: HeaderValue,
}

/// One API, ready to answer.
#[derive(Debug)]
pub(crate) struct LoadedApi {
    /// The compiled spec.
    pub(crate) api: Api,
    /// Its error body.
    pub(crate) envelope: Envelope,
    /// Auth rules; None serves without auth.
    pub(crate) auth: Option<AuthRules>,
    /// Known callers.
    pub(crate) identities: Arc<Identities>,
    /// Fixture collections.
    pub(crate) store: Store,
    /// Bindings by operationId.
    pub(crate) bindings: HashMap<String, CompiledBinding>,
    /// Placeholder URL prefixes replaced by the request's base URL.
    pub(crate) placeholders: Placeholders,
    /// The spec's base path, JSON-escaped, for building base URLs.
    pub(crate) base_path_json: Vec<u8>,
    /// The store was read from a snapshot rather than built from the fixtures.
    pub(crate) from_cache: bool,
    /// Writes by operationId.
    pub(crate) writes: HashMap<String, crate::state::write::CompiledWrite>,
    /// The schema checker of each collection writes change, by name.
    pub(crate) record_checkers: HashMap<String, crate::openapi::schema::RecordChecker>,
}

impl LoadedApi {
    /// Loads the API `name` from spec text and, when there is one, `<name>/behaviour.yaml` in
    /// `files`; the store is read from `cache` when it holds one made from the same inputs, and
    /// written there when not. `strict` refuses a spec with any warning.
    pub(crate) fn load(
        name: &str,
        spec_source: &str,
        spec_text: &str,
        files: Option<&Files>,
        identities: Arc<Identities>,
        cache: Option<&StoreCache>,
        strict: bool,
    ) -> Result<LoadedApi, LoadError> {
        let mut api = Api::load(name, spec_source, spec_text, strict)?;
        let behaviour_rel = format!("{name}/behaviour.yaml");
        let behaviour_text = match files {
            Some(files) => files.read(&behaviour_rel)?,
            None => None,
        };
        let behaviour = match (&behaviour_text, files) {
            (Some(text), Some(files)) => Behaviour::from_yaml(text)
                .map_err(|message| LoadError::Fixture { file: files.display(&behaviour_rel), message })?,
            _ => Behaviour::default(),
        };
        let at = |pointer: &str, message: String| {
            let file = files.map(|f| f.display(&behaviour_rel)).unwrap_or_default();
            LoadError::Behaviour { file, pointer: pointer.to_string(), message }
        };
        let envelope = if behaviour.errors.body.is_null() {
            Envelope::default()
        } else {
            // Refusals answer as the spec's error responses are declared, e.g. `application/json;charset=utf-8`.
            let errors = api.operations.iter().flat_map(|op| op.all_responses()).filter(|r| r.status >= 400);
            Envelope::new(behaviour.errors.clone()).with_content_type(json_content_type(errors))
        };
        let mut plans = Vec::new();
        for (op_id, binding) in &behaviour.operations {
            let plan = plan_binding(&api, op_id, binding).map_err(|e| at(&format!("/operations/{op_id}"), e))?;
            plans.push((op_id.clone(), binding, plan));
        }
        // A binding checks `fields` names against the view asked for, and its 400 says which @type has
        // a name; the spec's enum, every view's names at once, would refuse first and say less.
        for (op_id, binding, _) in &plans {
            let Some(fields) = &binding.fields else { continue };
            let schema = api.schemas.convert(&serde_json::json!({"type": "array", "items": {"type": "string"}}));
            let any_names = api.schemas.compile(&schema).map_err(|e| at(&format!("/operations/{op_id}"), e))?;
            let op = api.operations.iter_mut().find(|o| o.id == *op_id).expect("planned");
            if let Some(param) = op.params.iter_mut().find(|p| *p.name == *fields.param && p.array_of.is_some()) {
                param.checker = any_names;
                // `fields=` selects nothing but the attributes always kept.
                param.allow_empty = true;
            }
        }
        let tenant = behaviour.auth.as_ref().and_then(|a| a.tenant.as_ref()).map(|t| t.collection.clone());
        if let Some(t) = &tenant {
            if !behaviour.collections.iter().any(|c| &c.name == t) {
                return Err(at("/auth/tenant/collection", format!("collection `{t}` is not declared")));
            }
        }
        let compiling = Compiling {
            name,
            api: &api,
            behaviour: &behaviour,
            plans: &plans,
            placeholders: Placeholders::new(&behaviour.href_placeholders),
            tenant: tenant.as_deref(),
            files,
            at: &at,
        };
        let mut built = None;
        let mut writer = None;
        if let (Some(cache), Some(files)) = (cache, files.filter(|_| !behaviour.collections.is_empty())) {
            let origin = files.origin();
            if let Some(key) = cache_key(name, spec_text, behaviour_text.as_deref(), files, &origin, &behaviour)? {
                if let Some(reader) = cache.open(name, &origin, key) {
                    built = compiling.read_cache(reader)?;
                }
                if built.is_none() {
                    writer = cache.create(name, &origin, key);
                }
            }
        }
        let from_cache = built.is_some();
        let (store, bindings) = match built {
            Some(built) => built,
            None => match compiling.store(Source::Fixtures(writer.as_mut())) {
                Ok(built) => built,
                Err(Failure::Load(e)) => return Err(e),
                // Building from the fixtures reads no cache; should it fail as if it did, say where.
                Err(Failure::Cache(message)) => return Err(LoadError::Fixture { file: name.to_string(), message }),
            },
        };
        if let Some(writer) = writer {
            writer.commit();
        }
        let base_path_json = crate::json::json_escaped(&api.base_path);
        let writes = compile_writes(&api, &behaviour, &bindings, &at)?;
        let record_checkers = write_checkers(&api, &behaviour, &at)?;
        let placeholders = compiling.placeholders;
        Ok(LoadedApi {
            api,
            envelope,
            auth: behaviour.auth,
            identities,
            store,
            bindings,
            placeholders,
            base_path_json,
            from_cache,
            writes,
            record_checkers,
        })
    }
}

/// The collections whose records stay parsed for writes: those a write changes (an effect's, an
/// update's) and those it creates into when a binding sorts them, since a merged read compares
/// the session's records with the indexed ones field by field. A collection only ever appended
/// to in index order (BRM's transfers) needs none of its records parsed.
fn changed_collections(behaviour: &Behaviour) -> impl Iterator<Item = &str> {
    behaviour.writes.values().flat_map(move |w| {
        let sorted = behaviour.operations.values().any(|b| b.collection == w.collection && b.sort.is_some());
        let own = (w.update.is_some() || sorted).then_some(w.collection.as_str());
        own.into_iter().chain(w.effects.iter().flat_map(|e| e.changes.iter().map(|c| c.collection.as_str())))
    })
}

/// Checks each write against the spec, the collections and the bindings, and compiles it.
fn compile_writes(
    api: &Api,
    behaviour: &Behaviour,
    bindings: &HashMap<String, CompiledBinding>,
    at: &dyn Fn(&str, String) -> LoadError,
) -> Result<HashMap<String, crate::state::write::CompiledWrite>, LoadError> {
    let mut compiled = HashMap::new();
    for (op_id, write) in &behaviour.writes {
        let here = |field: &str, message: String| at(&format!("/writes/{op_id}{field}"), message);
        if !api.operations.iter().any(|o| o.id == *op_id) {
            return Err(here("", format!("the spec has no operation `{op_id}`")));
        }
        let collection = |name: &str, field: &str| {
            behaviour
                .collections
                .iter()
                .find(|c| c.name == name)
                .ok_or_else(|| here(field, format!("collection `{name}` is not declared")))
        };
        let key_pointer = collection(&write.collection, "/collection")?.key.clone();
        for (i, effect) in write.effects.iter().enumerate() {
            for (j, change) in effect.changes.iter().enumerate() {
                let field = format!("/effects/{i}/changes/{j}");
                collection(&change.collection, &format!("{field}/collection"))?;
                let changed = change.add.iter().map(|a| a.field.as_str()).chain(change.set.keys().map(String::as_str));
                if let Some(why) = joined_and_changed(behaviour, &change.collection, changed) {
                    return Err(here(&field, why));
                }
            }
        }
        if write.update.is_some() {
            if let Some(why) = joined_and_changed(behaviour, &write.collection, write.set.keys().map(String::as_str)) {
                return Err(here("/set", why));
            }
        }
        let read = api
            .operations
            .iter()
            .find(|o| o.id == write.read)
            .ok_or_else(|| here("/read", format!("the spec has no operation `{}`", write.read)))?;
        let binding = bindings.get(&write.read).filter(|b| b.collection == write.collection).ok_or_else(|| {
            here("/read", format!("`{}` must be an operation bound to collection `{}`", write.read, write.collection))
        })?;
        let compute = match &write.compute {
            Some(name) => Some(crate::state::compute::named(name).ok_or_else(|| {
                here(
                    "/compute",
                    format!(
                        "no computation is called `{name}`; expected one of: {}",
                        crate::state::compute::NAMES.join(", ")
                    ),
                )
            })?),
            None => None,
        };
        let read_path = (read.path.clone(), binding.lookup.clone().unwrap_or_default());
        let base = behaviour.href_placeholders.first().cloned().unwrap_or_default();
        let nulls = match write.explicit_nulls {
            true => binding.views[binding.default_view].0.props.clone().unwrap_or_default(),
            false => Vec::new(),
        };
        let def = write.clone();
        let write = crate::state::write::CompiledWrite { def, key_pointer, read_path, compute, base, nulls };
        compiled.insert(op_id.clone(), write);
    }
    Ok(compiled)
}

/// Why a write may not change these fields of `collection`'s records: a filter reads one
/// through a join. Such a filter matches the fixtures' records by the joined collection's
/// fixtures (their index is built once), so a session that changed the field would see the two
/// disagree.
fn joined_and_changed<'a>(
    behaviour: &Behaviour,
    collection: &str,
    changed: impl Iterator<Item = &'a str>,
) -> Option<String> {
    let changed: Vec<&str> = changed.collect();
    behaviour.operations.iter().find_map(|(op, binding)| {
        binding.filters.iter().find_map(|filter| {
            let via = filter.via.as_ref().filter(|v| v.collection == collection)?;
            let field = changed.iter().find(|c| overlapping(c, &filter.field))?;
            Some(format!(
                "changes {field} of `{collection}`, which the filter `{}` of `{op}` reads through `via` ({} -> {}); \
                 a filter through another collection matches by that collection's fixtures, so it would disagree \
                 with the session. Filter on a field of the record itself, or leave {} unchanged",
                filter.param, via.key, filter.field, filter.field
            ))
        })
    })
}

/// Whether two JSON pointers may name the same member, or one a member within the other: a `*`
/// segment, or a template one (`{record:/currency}`), may be any.
fn overlapping(a: &str, b: &str) -> bool {
    let any = |s: &str| s == "*" || s.contains('{');
    segments(a).zip(segments(b)).all(|(x, y)| x == y || any(x) || any(y))
}

/// A pointer's segments; a template's own slashes (`{record:/amount/currency}`) stay in its segment.
fn segments(pointer: &str) -> impl Iterator<Item = &str> {
    let mut depth = 0usize;
    pointer
        .split(move |c| {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            c == '/' && depth == 0
        })
        .skip(1)
}

/// The record checker of every collection a write changes or creates into, by name: a write's
/// records are checked before they are kept, and a reload checks a session's records again.
fn write_checkers(
    api: &Api,
    behaviour: &Behaviour,
    at: &dyn Fn(&str, String) -> LoadError,
) -> Result<HashMap<String, crate::openapi::schema::RecordChecker>, LoadError> {
    let mut checkers = HashMap::new();
    for write in behaviour.writes.values() {
        let names = std::iter::once(&write.collection)
            .chain(write.effects.iter().flat_map(|e| e.changes.iter().map(|c| &c.collection)));
        for name in names {
            if checkers.contains_key(name) {
                continue;
            }
            let (i, def) = behaviour
                .collections
                .iter()
                .enumerate()
                .find(|(_, c)| &c.name == name)
                .expect("checked by compile_writes");
            let checker = record_schema(api, def)
                .and_then(|schema| api.schemas.record_checker(&schema))
                .map_err(|e| at(&format!("/collections/{i}/schema"), e))?;
            checkers.insert(name.clone(), checker);
        }
    }
    Ok(checkers)
}

/// The key of the snapshot made from these inputs; None when this binary cannot be identified.
fn cache_key(
    name: &str,
    spec_text: &str,
    behaviour_text: Option<&str>,
    files: &Files,
    origin: &str,
    behaviour: &Behaviour,
) -> Result<Option<u64>, LoadError> {
    let Some(mut key) = Key::new() else { return Ok(None) };
    for input in [name, spec_text, behaviour_text.unwrap_or_default(), origin] {
        key.add(input.as_bytes());
    }
    for def in &behaviour.collections {
        files.fingerprint(&format!("{name}/{}", def.file), &mut key)?;
    }
    Ok(Some(key.finish()))
}

/// Where a collection's records come from while the store is built.
enum Source<'a> {
    /// The fixture files, parsed and validated; the result also goes to the writer, if any.
    Fixtures(Option<&'a mut CacheWriter>),
    /// A snapshot of the same inputs.
    Cache(&'a mut CacheReader),
}

/// Why building the store stopped.
enum Failure {
    /// The inputs are wrong: the load fails.
    Load(LoadError),
    /// The snapshot is: the fixtures are loaded instead.
    Cache(String),
}

impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Failure {
        Failure::Load(e)
    }
}

/// A built store and the bindings that read it.
type Built = (Store, HashMap<String, CompiledBinding>);

/// An API whose spec and behaviour are compiled, waiting for its records.
struct Compiling<'a> {
    name: &'a str,
    api: &'a Api,
    behaviour: &'a Behaviour,
    plans: &'a [(String, &'a Binding, Plan)],
    placeholders: Placeholders,
    tenant: Option<&'a str>,
    files: Option<&'a Files>,
    at: &'a dyn Fn(&str, String) -> LoadError,
}

impl Compiling<'_> {
    /// The store as a snapshot keeps it; None, with a warning, when the snapshot does not read
    /// back whole and consistent (the fixtures are loaded instead).
    fn read_cache(&self, mut reader: CacheReader) -> Result<Option<Built>, LoadError> {
        let started = std::time::Instant::now();
        let path = reader.path().display().to_string();
        match self.store(Source::Cache(&mut reader)) {
            Ok(built) if reader.finished() => {
                tracing::info!(ms = started.elapsed().as_millis() as u64, "loaded {} from {path}", self.name);
                Ok(Some(built))
            }
            Ok(_) => {
                tracing::warn!("{path} has bytes to spare; loading the fixtures instead");
                Ok(None)
            }
            Err(Failure::Cache(e)) => {
                tracing::warn!("{path} is damaged ({e}); loading the fixtures instead");
                Ok(None)
            }
            Err(Failure::Load(e)) => Err(e),
        }
    }

    /// Builds every collection, its indexes and views, and the bindings that read them.
    fn store(&self, mut source: Source) -> Result<Built, Failure> {
        let Compiling { name, behaviour, plans, at, tenant, .. } = *self;
        // Records stay parsed only where a request reads them: tenants, and join targets while loading.
        let joined: Vec<&str> = behaviour
            .operations
            .values()
            .flat_map(|b| b.filters.iter())
            .filter_map(|f| f.via.as_ref())
            .map(|j| j.collection.as_str())
            .chain(changed_collections(behaviour))
            .collect();
        let mut store = Store::default();
        let mut bindings = HashMap::new();
        for (i, def) in behaviour.collections.iter().enumerate() {
            let files = self.files.expect("a behaviour file comes with its fixtures");
            let started = std::time::Instant::now();
            let rel = format!("{name}/{}", def.file);
            let mut builders = Vec::new();
            let mut queries = Vec::new();
            // Operations showing the collection in the same view share its rendered bytes.
            let mut shapes: Vec<Shape> = Vec::new();
            for (op_id, binding, plan) in plans.iter().filter(|(_, b, _)| b.collection == def.name) {
                queries.push(
                    QueryBuilder::new(binding, &store, &def.key).map_err(|e| at(&format!("/operations/{op_id}"), e))?,
                );
                let mut views = Vec::new();
                for shape in &plan.shapes {
                    views.push(match shapes.iter().position(|s| s == shape) {
                        Some(i) => i,
                        None => {
                            shapes.push(shape.clone());
                            shapes.len() - 1
                        }
                    });
                }
                builders.push((op_id, binding, plan, views));
            }
            let retain = tenant == Some(def.name.as_str()) || joined.contains(&def.name.as_str());
            let (collection, queries, rendered) = match &mut source {
                Source::Cache(reader) => {
                    let (mut kept, rendered) = reader.collection().map_err(Failure::Cache)?;
                    // Parsed when first read: most starts never read the records writes change.
                    let records = kept.records();
                    let n = kept.keys.len();
                    if records.is_some() != (retain && n > 0)
                        || kept.queries.len() != queries.len()
                        || rendered.len() != shapes.len()
                    {
                        return Err(Failure::Cache(format!("collection `{}` was kept in another layout", def.name)));
                    }
                    if rendered.iter().any(|r| r.len() != n) {
                        return Err(Failure::Cache(format!("a view of `{}` does not hold its {n} records", def.name)));
                    }
                    let collection = Collection::from_keys_lazy(
                        &def.name,
                        records.unwrap_or_default(),
                        kept.keys,
                        &def.key,
                        &kept.aliases,
                    )
                    .map_err(Failure::Cache)?;
                    let queries = queries
                        .into_iter()
                        .zip(kept.queries)
                        .map(|(query, parts)| query.resume(collection.index.clone(), parts))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| Failure::Cache(format!("collection `{}`: {e}", def.name)))?;
                    (collection, queries, rendered)
                }
                Source::Fixtures(writer) => {
                    let text = files.read(&rel)?.ok_or_else(|| {
                        at(&format!("/collections/{i}/file"), format!("{} does not exist", files.display(&rel)))
                    })?;
                    let mut rendered: Vec<Rendered> = shapes.iter().map(|_| Rendered::default()).collect();
                    let collection = load_collection(self.api, def, &files.display(&rel), &text, retain, |record| {
                        for query in queries.iter_mut() {
                            query.ingest(record);
                        }
                        for (shape, rendered) in shapes.iter().zip(rendered.iter_mut()) {
                            rendered.push(shape, record, &self.placeholders);
                        }
                    })?;
                    drop(text);
                    files.done(&rel);
                    rendered.iter_mut().for_each(Rendered::shrink);
                    let queries: Vec<Query> = queries.into_iter().map(|q| q.finish(collection.index.clone())).collect();
                    if let Some(writer) = writer {
                        writer.collection(
                            &collection.index,
                            &collection.records,
                            &queries.iter().collect::<Vec<_>>(),
                            &rendered.iter().collect::<Vec<_>>(),
                        );
                    }
                    (collection, queries, rendered)
                }
            };
            let read_ms = started.elapsed().as_millis() as u64;
            let views: Vec<(Shape, Arc<Rendered>)> =
                shapes.into_iter().zip(rendered).map(|(shape, r)| (shape, Arc::new(r))).collect();
            for ((op_id, binding, plan, view_ids), query) in builders.into_iter().zip(queries) {
                let views = view_ids.into_iter().map(|i| views[i].clone()).collect();
                let mut compiled =
                    finish_binding(binding, plan, query, views).map_err(|e| at(&format!("/operations/{op_id}"), e))?;
                if let (Body::Map { from_tenant, .. }, Some(tenants)) =
                    (&binding.body, tenant.and_then(|t| store.collection(t)))
                {
                    compiled.tenant_members =
                        tenants.records.iter().map(|record| tenant_members(from_tenant, record)).collect();
                }
                if let Body::Map { .. } = &binding.body {
                    collection.index.key_of.iter().for_each(|key| compiled.map_keys.push_plain(key));
                    compiled.map_keys.shrink();
                }
                bindings.insert(op_id.clone(), compiled);
            }
            let from = if let Source::Cache(_) = source { "its snapshot" } else { "the fixtures" };
            tracing::info!(
                records = collection.len(),
                read_ms,
                ms = started.elapsed().as_millis() as u64,
                "loaded {} from {from}",
                files.display(&rel)
            );
            store.insert(collection);
        }
        if let Some((op_id, binding, _)) = plans.iter().find(|(op_id, _, _)| !bindings.contains_key(op_id)) {
            return Err(at(
                &format!("/operations/{op_id}/collection"),
                format!("collection `{}` is not declared", binding.collection),
            )
            .into());
        }
        let keep: Vec<&str> = tenant.into_iter().chain(changed_collections(behaviour)).collect();
        store.release(&keep);
        Ok((store, bindings))
    }
}

/// The checker of a collection's records: its component schema, or its inline one.
fn record_checker(api: &Api, def: &CollectionDef) -> Result<crate::openapi::schema::Checker, String> {
    api.schemas.compile(&record_schema(api, def)?)
}

/// A collection's record schema, converted.
fn record_schema(api: &Api, def: &CollectionDef) -> Result<Value, String> {
    Ok(match &def.schema {
        SchemaRef::Component(name) => api
            .schemas
            .component(name)
            .cloned()
            .ok_or_else(|| format!("schema `{name}` is not in the spec's components"))?,
        SchemaRef::Inline(map) => api.schemas.convert(&Value::Object(map.clone())),
    })
}

/// Reads, validates and keys one fixture file, handing each record to `ingest`.
fn load_collection(
    api: &Api,
    def: &CollectionDef,
    file: &str,
    text: &str,
    retain: bool,
    mut ingest: impl FnMut(&Value),
) -> Result<Collection, LoadError> {
    let fault = |message: String| LoadError::Fixture { file: file.to_string(), message };
    let schema_name = match &def.schema {
        SchemaRef::Component(n) => n.as_str(),
        SchemaRef::Inline(_) => "(inline)",
    };
    let checker = record_checker(api, def).map_err(fault)?;
    let check = |i: usize, record: &Value| -> Result<(), LoadError> {
        // The quick yes/no first; the findings only for the record that fails.
        if checker.is_valid(record) {
            return Ok(());
        }
        match checker.findings(record, 1).into_iter().next() {
            Some(finding) => Err(LoadError::Record {
                file: file.to_string(),
                record: i,
                schema: schema_name.to_string(),
                pointer: format!("/records/{i}{}", finding.pointer),
                message: finding.message,
                rule: finding.rule,
            }),
            None => Ok(()),
        }
    };
    let mut records = Vec::new();
    let mut keys = Vec::new();
    let key_path = Path::new(&def.key);
    let mut take = |i: usize, record: Value| -> Result<(), LoadError> {
        match key_path.get(&record) {
            Some(k) => keys.push(crate::json::text_of(k)),
            None => return Err(fault(format!("/records/{i}: no key at {}", def.key))),
        }
        ingest(&record);
        if retain {
            records.push(record);
        }
        Ok(())
    };
    let mut failed = None;
    let aliases = fixture_file::for_each_record(text, |i, record| {
        failed = check(i, &record).and_then(|()| take(i, record)).err();
        failed.is_none()
    })
    .map_err(fault)?;
    if let Some(failed) = failed {
        return Err(failed);
    }
    Collection::from_keys(&def.name, records, keys, &def.key, &aliases).map_err(fault)
}

/// What a binding needs before its records arrive: checks against the spec, and its views.
struct Plan {
    shapes: Vec<Shape>,
    view_param: Option<(String, Vec<String>)>,
    default_view: usize,
    content_type: HeaderValue,
}

/// The Content-Type of JSON bodies answering as `responses` are declared: the first JSON media
/// type one of them declares, as written (`application/json;charset=utf-8`, say), else
/// `application/json`. Built once, at load: a request clones it.
fn json_content_type<'a>(responses: impl IntoIterator<Item = &'a ResponseSpec>) -> HeaderValue {
    responses
        .into_iter()
        .flat_map(|r| r.content.iter())
        .find(|m| m.is_json() && !m.media_type.contains('*'))
        // The usual one stays static, as it was; another shares its bytes when cloned.
        .filter(|m| m.media_type != "application/json")
        .and_then(|m| HeaderValue::from_str(&m.media_type).ok())
        .unwrap_or(HeaderValue::from_static("application/json"))
}

fn plan_binding(api: &Api, op_id: &str, binding: &Binding) -> Result<Plan, String> {
    let op = api.operation(op_id).ok_or_else(|| format!("the spec has no operation `{op_id}`"))?;
    let declared = |param: &str, what: &str| {
        op.param(param).map(|_| ()).ok_or_else(|| format!("{what} parameter `{param}` is not declared by {op_id}"))
    };
    for f in &binding.filters {
        declared(&f.param, "filter")?;
    }
    if let Some(p) = &binding.lookup {
        declared(p, "lookup")?;
    }
    match &binding.paging {
        Some(Paging::PageNumber { page, size }) => {
            declared(page, "paging")?;
            declared(size, "paging")?;
        }
        Some(Paging::Offset { offset, limit, .. }) => {
            declared(offset, "paging")?;
            declared(limit, "paging")?;
        }
        None => {}
    }
    if let Some(sort) = &binding.sort {
        if let Some(field_param) = &sort.field_param {
            declared(field_param, "sort")?;
            let mut values = enum_texts(&op.param(field_param).unwrap().schema);
            values.sort();
            let keys: Vec<String> = sort.keys.keys().cloned().collect();
            if values != keys {
                return Err(format!(
                    "sort keys {keys:?} differ from the values {field_param} takes in the spec, {values:?}"
                ));
            }
        }
        if let Some(p) = &sort.direction_param {
            declared(p, "sort direction")?;
        }
    }
    if let Some(fields) = &binding.fields {
        declared(&fields.param, "fields")?;
    }
    let component_shape = |name: &str, views: Option<&Views>| -> Result<Shape, String> {
        let schema = api.schemas.component(name).ok_or_else(|| format!("schema `{name}` is not in the spec"))?;
        Ok(Shape::new(
            name.to_string(),
            Some(api.schemas.property_names(schema)),
            views.and_then(|v| v.type_field.clone()),
            views.is_some_and(|v| v.explicit_nulls),
        ))
    };
    let mut shapes = Vec::new();
    let mut default_view = 0;
    let mut view_param = None;
    if let Some(views) = &binding.views {
        declared(&views.param, "view")?;
        let param = op.param(&views.param).unwrap();
        for name in enum_texts(&param.schema) {
            shapes.push(component_shape(&name, Some(views))?);
        }
        if shapes.is_empty() {
            return Err(format!("view parameter `{}` declares no enum of schema names", views.param));
        }
        if let Some(Value::String(d)) = &param.default {
            default_view = shapes.iter().position(|s| &s.name == d).unwrap_or(0);
        }
        view_param = Some((views.param.clone(), views.aliases.clone()));
    } else {
        let schema = match &binding.body {
            Body::Single { schema, .. } | Body::List { schema, .. } | Body::Map { schema, .. } => schema.clone(),
        };
        shapes.push(match schema {
            Some(name) => component_shape(&name, None)?,
            None => Shape::new(String::new(), None, None, false),
        });
    }
    if let Some(fields) = &binding.fields {
        let items = op.param(&fields.param).and_then(|p| p.schema.get("items"));
        let mut listed = items.map(|i| enum_texts(api.schemas.resolve(i))).unwrap_or_default();
        let shown: Option<Vec<&Vec<String>>> = shapes.iter().map(|s| s.props.as_ref()).collect();
        if let (false, Some(shown)) = (listed.is_empty(), shown) {
            // The enum repeats the schemas' property names: keep the two from drifting apart.
            let mut names: Vec<String> = shown.into_iter().flatten().cloned().chain(fields.none.clone()).collect();
            names.sort();
            names.dedup();
            listed.sort();
            if listed != names {
                return Err(format!(
                    "{} takes {listed:?} in the spec, but the views' attributes are {names:?}",
                    fields.param
                ));
            }
        }
    }
    Ok(Plan { shapes, view_param, default_view, content_type: json_content_type(op.success()) })
}

/// A tenant's members of a map body, as `"name":value,` for each one the tenant holds.
fn tenant_members(from_tenant: &std::collections::BTreeMap<String, String>, tenant: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, pointer) in from_tenant {
        if let Some(value) = crate::json::at(tenant, pointer) {
            serde_json::to_writer(&mut out, name).expect("a string serialises");
            out.push(b':');
            serde_json::to_writer(&mut out, value).expect("a JSON value serialises");
            out.push(b',');
        }
    }
    out
}

fn finish_binding(
    binding: &Binding,
    plan: &Plan,
    query: Query,
    views: Vec<(Shape, Arc<Rendered>)>,
) -> Result<CompiledBinding, String> {
    let param_aliases = plan
        .view_param
        .as_ref()
        .map(|(name, aliases)| aliases.iter().map(|a| (a.clone(), name.clone())).collect())
        .unwrap_or_default();
    Ok(CompiledBinding {
        collection: binding.collection.clone(),
        param_aliases,
        query,
        lookup: binding.lookup.clone(),
        views,
        view_param: plan.view_param.clone(),
        default_view: plan.default_view,
        fields: binding.fields.clone(),
        body: binding.body.clone(),
        not_found: binding.not_found.clone().unwrap_or_else(|| "{id} wasn't found".to_string()),
        tenant_members: Vec::new(),
        map_keys: Rendered::default(),
        content_type: plan.content_type.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::overlapping;

    #[test]
    fn pointers_overlap_where_one_may_name_the_others_member() {
        assert!(overlapping("/partnerId", "/partnerId"));
        assert!(overlapping("/balances", "/balances/USDT/held"), "a member within the other");
        assert!(overlapping("/balances/{record:/amount/currency}/held", "/balances/*/held"));
        assert!(overlapping("", "/anything"), "the whole record");
        assert!(!overlapping("/balances/{record:/amount/currency}/held", "/partnerId"));
        assert!(!overlapping("/balances/USDT/held", "/balances/BTC/held"));
    }
}
