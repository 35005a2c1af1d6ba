//! Loads one API: its spec, behaviour file and fixtures, validated and compiled into what the
//! server answers from. Anything wrong stops the load with the file and JSON pointer.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use include_dir::{include_dir, Dir};
use serde_json::Value;

use crate::auth::Identities;
use crate::behaviour::{AuthRules, Behaviour, Binding, Body, FieldSelection, Paging, SchemaRef};
use crate::envelope::Envelope;
use crate::query::{Query, QueryBuilder};
use crate::render::{Placeholders, Rendered, Shape};
use crate::snapshot::{SnapshotReader, SnapshotWriter, Snapshots};
use crate::spec::Api;
use crate::store::{Collection, Store};

/// The specs compiled into the binary.
pub static BUNDLED_SPECS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/spec");
/// The fixtures compiled into the binary.
pub static BUNDLED_FIXTURES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/fixtures");

/// A load failure: which file, where in it, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LoadError(pub String);

/// Where fixture files come from.
#[derive(Clone, Debug)]
pub enum Files {
    /// Compiled into the binary.
    Embedded(&'static Dir<'static>),
    /// A folder on disk.
    Disk(PathBuf),
    /// One API's files generated in memory (`--scale`), over the embedded files.
    Generated(Arc<Generated>),
}

/// One API's fixtures made by the seeded generator, over the embedded files. They are generated
/// on the first read, so a start served from a snapshot never generates them, and each is handed
/// out once, so a large file is freed as soon as its collection is loaded.
#[derive(Debug)]
pub struct Generated {
    api: String,
    seed: u64,
    scale: u32,
    files: std::sync::Mutex<Option<HashMap<String, String>>>,
}

impl Generated {
    /// The fixtures of `api` at `scale` from `seed` (none for an API without a generator).
    pub fn new(api: &str, seed: u64, scale: u32) -> Generated {
        Generated { api: api.to_string(), seed, scale, files: Default::default() }
    }

    fn take(&self, rel: &str) -> Option<String> {
        let name = rel.strip_prefix(&self.api)?.strip_prefix('/')?;
        // The generator makes records; the behaviour file stays as embedded, and reading it
        // must not set off a generation that a snapshot would make needless.
        if name == "behaviour.yaml" {
            return None;
        }
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let files = files.get_or_insert_with(|| {
            let started = std::time::Instant::now();
            let generated = crate::generate::generate(&self.api, self.seed, self.scale).unwrap_or_default();
            tracing::info!(
                scale = self.scale,
                ms = started.elapsed().as_millis() as u64,
                "generated the {} fixtures",
                self.api
            );
            generated.into_iter().map(|file| (file.name, file.text)).collect()
        });
        files.remove(name)
    }
}

/// Embedded bytes as text, borrowed when they are UTF-8 (they are, unless the build broke).
fn embedded_text(bytes: &'static [u8]) -> std::borrow::Cow<'static, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

impl Files {
    /// The text of `rel`, None when it does not exist.
    pub fn read(&self, rel: &str) -> Result<Option<std::borrow::Cow<'_, str>>, LoadError> {
        let embedded = |rel: &str| BUNDLED_FIXTURES.get_file(rel).map(|f| embedded_text(f.contents()));
        match self {
            Files::Embedded(dir) => Ok(dir.get_file(rel).map(|f| embedded_text(f.contents()))),
            Files::Generated(generated) => {
                Ok(generated.take(rel).map(std::borrow::Cow::Owned).or_else(|| embedded(rel)))
            }
            Files::Disk(root) => {
                let path = root.join(rel);
                match std::fs::read_to_string(&path) {
                    Ok(text) => Ok(Some(std::borrow::Cow::Owned(text))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(LoadError(format!("{}: {e}", path.display()))),
                }
            }
        }
    }

    /// Names where the files come from, for a snapshot's file name and key. Embedded and
    /// generated files are part of the binary, which the key covers; files on disk are not, and
    /// their bytes go into the key as well (see [`Files::fingerprint`]).
    pub fn origin(&self) -> String {
        match self {
            Files::Embedded(_) => "embedded".to_string(),
            Files::Disk(root) => format!("disk {}", root.display()),
            Files::Generated(g) => format!("generated {} seed {} scale {}", g.api, g.seed, g.scale),
        }
    }

    /// Adds what `rel` holds to a snapshot key: its bytes when it is on disk.
    fn fingerprint(&self, rel: &str, key: &mut crate::snapshot::Key) -> Result<(), LoadError> {
        if let Files::Disk(_) = self {
            match self.read(rel)? {
                Some(text) => key.add(text.as_bytes()),
                None => key.add(b"(missing)"),
            }
        }
        Ok(())
    }

    /// Says `rel` has been read and is no longer needed in memory.
    pub fn done(&self, rel: &str) {
        let embedded = match self {
            Files::Embedded(dir) => dir.get_file(rel),
            Files::Generated(_) => BUNDLED_FIXTURES.get_file(rel),
            Files::Disk(_) => None,
        };
        if let Some(file) = embedded {
            release_pages(file.contents());
        }
    }

    /// How to name `rel` in messages.
    pub fn display(&self, rel: &str) -> String {
        match self {
            Files::Embedded(_) | Files::Generated(_) => format!("fixtures/{rel}"),
            Files::Disk(root) => root.join(rel).display().to_string(),
        }
    }
}

/// One operation's binding, compiled.
#[derive(Debug)]
pub struct CompiledBinding {
    /// Filters, orders and paging.
    pub query: Query,
    /// The path parameter that finds one record.
    pub lookup: Option<String>,
    /// Views and each record's pre-serialised bytes in each.
    pub views: Vec<(Shape, Arc<Rendered>)>,
    /// The parameter choosing the view, and its other spellings.
    pub view_param: Option<(String, Vec<String>)>,
    /// The view used when the parameter is absent.
    pub default_view: usize,
    /// Other wire spellings of declared parameters: (alias, declared name).
    pub param_aliases: Vec<(String, String)>,
    /// Attribute selection.
    pub fields: Option<FieldSelection>,
    /// The body's shape.
    pub body: Body,
    /// The 404 message for a lookup that finds nothing.
    pub not_found: String,
    /// For a map body, each tenant's `from_tenant` members, serialised once: `"name":value,`
    /// per member, by tenant record index.
    pub tenant_members: Vec<Vec<u8>>,
    /// For a map body, each record's key as a JSON string, serialised once.
    pub map_keys: Rendered,
}

/// One API, ready to answer.
#[derive(Debug)]
pub struct ApiRuntime {
    /// The compiled spec.
    pub api: Api,
    /// Its error body.
    pub envelope: Envelope,
    /// Auth rules; None serves without auth.
    pub auth: Option<AuthRules>,
    /// Known callers.
    pub identities: Arc<Identities>,
    /// Fixture collections.
    pub store: Store,
    /// Bindings by operationId.
    pub bindings: HashMap<String, CompiledBinding>,
    /// Placeholder URL prefixes replaced by the request's base URL.
    pub placeholders: Placeholders,
    /// The spec's base path, JSON-escaped, for building base URLs.
    pub base_path_json: Vec<u8>,
    /// The store was read from a snapshot rather than built from the fixtures.
    pub from_snapshot: bool,
}

/// Hands the pages of an embedded file back to the kernel once it is loaded.
///
/// Embedded files live in the binary's read-only data and are read only while loading; afterwards
/// their pages would count towards the resident set for nothing. They are clean file-backed
/// pages, so dropping them loses nothing: a reload faults them back in from the binary.
fn release_pages(bytes: &'static [u8]) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096).max(1);
        let start = (bytes.as_ptr() as usize).next_multiple_of(page);
        let end = (bytes.as_ptr() as usize + bytes.len()) / page * page;
        if end > start {
            // SAFETY: [start, end) is whole pages inside one immutable static byte array that
            // nothing writes; MADV_DONTNEED on those clean, private, file-backed pages only drops
            // them, and the next read maps the binary's unchanged bytes again.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = bytes;
}

/// Reads `identities.json` from a fixtures root; no file means no identities.
pub fn load_identities(files: &Files) -> Result<Identities, LoadError> {
    match files.read("identities.json")? {
        None => Ok(Identities::default()),
        Some(text) => {
            serde_json::from_str(&text).map_err(|e| LoadError(format!("{}: {e}", files.display("identities.json"))))
        }
    }
}

impl ApiRuntime {
    /// Loads the API `name` from spec text and, when there is one, `<name>/behaviour.yaml` in `files`.
    pub fn load(
        name: &str,
        spec_source: &str,
        spec_text: &str,
        files: Option<&Files>,
        identities: Arc<Identities>,
    ) -> Result<ApiRuntime, LoadError> {
        ApiRuntime::load_with(name, spec_source, spec_text, files, identities, None)
    }

    /// Like [`ApiRuntime::load`], with the store read from `snapshots` when a snapshot of the
    /// same inputs is there, and written there when not.
    pub fn load_with(
        name: &str,
        spec_source: &str,
        spec_text: &str,
        files: Option<&Files>,
        identities: Arc<Identities>,
        snapshots: Option<&Snapshots>,
    ) -> Result<ApiRuntime, LoadError> {
        let api = Api::from_text(name, spec_source, spec_text).map_err(|e| LoadError(e.to_string()))?;
        check_examples(&api, spec_source)?;
        let behaviour_rel = format!("{name}/behaviour.yaml");
        let behaviour_text = match files {
            Some(files) => files.read(&behaviour_rel)?,
            None => None,
        };
        let behaviour = match (&behaviour_text, files) {
            (Some(text), Some(files)) => {
                Behaviour::from_yaml(text).map_err(|e| LoadError(format!("{}: {e}", files.display(&behaviour_rel))))?
            }
            _ => Behaviour::default(),
        };
        let at = |pointer: &str, message: String| {
            let file = files.map(|f| f.display(&behaviour_rel)).unwrap_or_default();
            LoadError(format!("{file}: at {pointer}: {message}"))
        };
        let envelope =
            if behaviour.errors.body.is_null() { Envelope::default() } else { Envelope::new(behaviour.errors.clone()) };
        let mut plans = Vec::new();
        for (op_id, binding) in &behaviour.operations {
            let plan = plan_binding(&api, op_id, binding).map_err(|e| at(&format!("/operations/{op_id}"), e))?;
            plans.push((op_id.clone(), binding, plan));
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
        if let (Some(snapshots), Some(files)) = (snapshots, files.filter(|_| !behaviour.collections.is_empty())) {
            let origin = files.origin();
            if let Some(key) = snapshot_key(name, spec_text, behaviour_text.as_deref(), files, &origin, &behaviour)? {
                if let Some(reader) = snapshots.open(name, &origin, key) {
                    built = compiling.read_snapshot(reader)?;
                }
                if built.is_none() {
                    writer = snapshots.create(name, &origin, key);
                }
            }
        }
        let from_snapshot = built.is_some();
        let (store, bindings) = match built {
            Some(built) => built,
            None => match compiling.store(Source::Fixtures(writer.as_mut())) {
                Ok(built) => built,
                Err(Failure::Load(e)) => return Err(e),
                Err(Failure::Snapshot(e)) => return Err(LoadError(e)),
            },
        };
        if let Some(writer) = writer {
            writer.commit();
        }
        let base_path_json = crate::render::json_escaped(&api.base_path);
        let placeholders = compiling.placeholders;
        Ok(ApiRuntime {
            api,
            envelope,
            auth: behaviour.auth,
            identities,
            store,
            bindings,
            placeholders,
            base_path_json,
            from_snapshot,
        })
    }
}

/// The key of the snapshot made from these inputs; None when this binary cannot be identified.
fn snapshot_key(
    name: &str,
    spec_text: &str,
    behaviour_text: Option<&str>,
    files: &Files,
    origin: &str,
    behaviour: &Behaviour,
) -> Result<Option<u64>, LoadError> {
    let Some(mut key) = crate::snapshot::Key::new() else { return Ok(None) };
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
    Fixtures(Option<&'a mut SnapshotWriter>),
    /// A snapshot of the same inputs.
    Snapshot(&'a mut SnapshotReader),
}

/// Why building the store stopped.
enum Failure {
    /// The inputs are wrong: the load fails.
    Load(LoadError),
    /// The snapshot is: the fixtures are loaded instead.
    Snapshot(String),
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
    fn read_snapshot(&self, mut reader: SnapshotReader) -> Result<Option<Built>, LoadError> {
        let started = std::time::Instant::now();
        let path = reader.path().display().to_string();
        match self.store(Source::Snapshot(&mut reader)) {
            Ok(built) if reader.finished() => {
                tracing::info!(ms = started.elapsed().as_millis() as u64, "loaded {} from {path}", self.name);
                Ok(Some(built))
            }
            Ok(_) => {
                tracing::warn!("{path} has bytes to spare; loading the fixtures instead");
                Ok(None)
            }
            Err(Failure::Snapshot(e)) => {
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
                Source::Snapshot(reader) => {
                    let (kept, rendered) = reader.collection().map_err(Failure::Snapshot)?;
                    let records = kept.records().map_err(Failure::Snapshot)?;
                    let n = kept.keys.len();
                    if records.len() != if retain { n } else { 0 }
                        || kept.queries.len() != queries.len()
                        || rendered.len() != shapes.len()
                    {
                        return Err(Failure::Snapshot(format!("collection `{}` was kept in another layout", def.name)));
                    }
                    if rendered.iter().any(|r| r.len() != n) {
                        return Err(Failure::Snapshot(format!(
                            "a view of `{}` does not hold its {n} records",
                            def.name
                        )));
                    }
                    let collection = Collection::from_keys(&def.name, records, kept.keys, &def.key, &kept.aliases)
                        .map_err(Failure::Snapshot)?;
                    let queries = queries
                        .into_iter()
                        .zip(kept.queries)
                        .map(|(query, parts)| query.resume(collection.index.clone(), parts))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| Failure::Snapshot(format!("collection `{}`: {e}", def.name)))?;
                    (collection, queries, rendered)
                }
                Source::Fixtures(writer) => {
                    let text = files.read(&rel)?.ok_or_else(|| {
                        at(&format!("/collections/{i}/file"), format!("{} does not exist", files.display(&rel)))
                    })?;
                    let mut rendered: Vec<Rendered> = shapes.iter().map(|_| Rendered::default()).collect();
                    let collection = load_collection(self.api, def, &text, retain, |record| {
                        for query in queries.iter_mut() {
                            query.ingest(record);
                        }
                        for (shape, rendered) in shapes.iter().zip(rendered.iter_mut()) {
                            rendered.push(shape, record, &self.placeholders);
                        }
                    })
                    .map_err(|e| LoadError(format!("{}: {e}", files.display(&rel))))?;
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
            let from = if let Source::Snapshot(_) = source { "its snapshot" } else { "the fixtures" };
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
        let keep: Vec<&str> = tenant.into_iter().collect();
        store.release(&keep);
        Ok((store, bindings))
    }
}

fn check_examples(api: &Api, source: &str) -> Result<(), LoadError> {
    for op in &api.operations {
        for response in op.responses.values() {
            let Some(checker) = &response.checker else { continue };
            for (name, example) in &response.examples {
                if let Some(finding) = checker.findings(example, 1).into_iter().next() {
                    return Err(LoadError(format!(
                        "{source}: example `{name}` of {} {} does not match its schema: {finding}",
                        op.id, response.status
                    )));
                }
            }
        }
    }
    Ok(())
}

fn load_collection(
    api: &Api,
    def: &crate::behaviour::CollectionDef,
    text: &str,
    retain: bool,
    mut ingest: impl FnMut(&Value),
) -> Result<Collection, String> {
    let schema = match &def.schema {
        SchemaRef::Component(name) => api
            .schemas
            .component(name)
            .cloned()
            .ok_or_else(|| format!("schema `{name}` is not in the spec's components"))?,
        SchemaRef::Inline(map) => api.schemas.convert(&Value::Object(map.clone())),
    };
    let schema_name = match &def.schema {
        SchemaRef::Component(n) => n.as_str(),
        SchemaRef::Inline(_) => "(inline)",
    };
    let checker = api.schemas.compile(&schema)?;
    let check = |i: usize, record: &Value| -> Result<(), String> {
        // The quick yes/no first; the findings only for the record that fails.
        if checker.is_valid(record) {
            return Ok(());
        }
        match checker.findings(record, 1).into_iter().next() {
            Some(finding) => Err(format!(
                "record {i} breaks schema {schema_name}: at /records/{i}{}: {} (rule {})",
                finding.pointer, finding.message, finding.rule
            )),
            None => Ok(()),
        }
    };
    let mut records = Vec::new();
    let mut keys = Vec::new();
    let key_path = crate::store::Path::new(&def.key);
    let mut take = |i: usize, record: Value| -> Result<(), String> {
        match key_path.get(&record) {
            Some(k) => keys.push(crate::store::text_of(k)),
            None => return Err(format!("/records/{i}: no key at {}", def.key)),
        }
        ingest(&record);
        if retain {
            records.push(record);
        }
        Ok(())
    };
    let mut fault = None;
    let aliases = crate::fixture_file::for_each_record(text, |i, record| {
        fault = check(i, &record).and_then(|()| take(i, record)).err();
        fault.is_none()
    })?;
    if let Some(fault) = fault {
        return Err(fault);
    }
    Collection::from_keys(&def.name, records, keys, &def.key, &aliases)
}

/// What a binding needs before its records arrive: checks against the spec, and its views.
struct Plan {
    shapes: Vec<Shape>,
    view_param: Option<(String, Vec<String>)>,
    default_view: usize,
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
            let mut values = enum_values(&op.param(field_param).unwrap().schema);
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
    let component_shape = |name: &str, views: Option<&crate::behaviour::Views>| -> Result<Shape, String> {
        let schema = api.schemas.component(name).ok_or_else(|| format!("schema `{name}` is not in the spec"))?;
        Ok(Shape {
            name: name.to_string(),
            props: Some(api.schemas.property_names(schema)),
            type_field: views.and_then(|v| v.type_field.clone()),
            explicit_nulls: views.is_some_and(|v| v.explicit_nulls),
        })
    };
    let mut shapes = Vec::new();
    let mut default_view = 0;
    let mut view_param = None;
    if let Some(views) = &binding.views {
        declared(&views.param, "view")?;
        let param = op.param(&views.param).unwrap();
        for name in enum_values(&param.schema) {
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
            Body::Single { schema } | Body::List { schema, .. } | Body::Map { schema, .. } => schema.clone(),
        };
        shapes.push(match schema {
            Some(name) => component_shape(&name, None)?,
            None => Shape { name: String::new(), props: None, type_field: None, explicit_nulls: false },
        });
    }
    Ok(Plan { shapes, view_param, default_view })
}

/// A tenant's members of a map body, as `"name":value,` for each one the tenant holds.
fn tenant_members(from_tenant: &std::collections::BTreeMap<String, String>, tenant: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, pointer) in from_tenant {
        if let Some(value) = tenant.pointer(pointer) {
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
    })
}

fn enum_values(schema: &Value) -> Vec<String> {
    schema
        .get("enum")
        .and_then(Value::as_array)
        .map(|e| e.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}
