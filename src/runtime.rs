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
    /// Generated in memory (`--scale`), over the embedded files; each is handed out once, so a
    /// large file is freed as soon as its collection is loaded.
    Generated(Arc<std::sync::Mutex<HashMap<String, String>>>),
}

impl Files {
    /// The text of `rel`, None when it does not exist.
    pub fn read(&self, rel: &str) -> Result<Option<std::borrow::Cow<'_, str>>, LoadError> {
        let embedded = |rel: &str| BUNDLED_FIXTURES.get_file(rel).map(|f| String::from_utf8_lossy(f.contents()));
        match self {
            Files::Embedded(dir) => Ok(dir.get_file(rel).map(|f| String::from_utf8_lossy(f.contents()))),
            Files::Generated(files) => {
                let taken = files.lock().unwrap_or_else(|e| e.into_inner()).remove(rel);
                Ok(taken.map(std::borrow::Cow::Owned).or_else(|| embedded(rel)))
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
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| LoadError(format!("{}: {e}", files.display("identities.json")))),
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
        let api = Api::from_text(name, spec_source, spec_text).map_err(|e| LoadError(e.to_string()))?;
        check_examples(&api, spec_source)?;
        let behaviour_rel = format!("{name}/behaviour.yaml");
        let behaviour = match files {
            Some(files) => match files.read(&behaviour_rel)? {
                Some(text) => Behaviour::from_yaml(&text)
                    .map_err(|e| LoadError(format!("{}: {e}", files.display(&behaviour_rel))))?,
                None => Behaviour::default(),
            },
            None => Behaviour::default(),
        };
        let at = |pointer: &str, message: String| {
            let file = files.map(|f| f.display(&behaviour_rel)).unwrap_or_default();
            LoadError(format!("{file}: at {pointer}: {message}"))
        };
        let envelope = if behaviour.errors.body.is_null() {
            Envelope::default()
        } else {
            Envelope::new(behaviour.errors.clone())
        };
        let placeholders = Placeholders::new(&behaviour.href_placeholders);
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
        // Records stay parsed only where a request reads them: tenants, and join targets while loading.
        let joined: Vec<&str> = behaviour.operations.values().flat_map(|b| b.filters.iter()).filter_map(|f| f.via.as_ref()).map(|j| j.collection.as_str()).collect();
        let mut store = Store::default();
        let mut bindings = HashMap::new();
        for (i, def) in behaviour.collections.iter().enumerate() {
            let files = files.expect("a behaviour file comes with its fixtures");
            let started = std::time::Instant::now();
            let rel = format!("{name}/{}", def.file);
            let text = files
                .read(&rel)?
                .ok_or_else(|| at(&format!("/collections/{i}/file"), format!("{} does not exist", files.display(&rel))))?;
            let mut builders = Vec::new();
            // Operations showing the collection in the same view share its rendered bytes.
            let mut shapes: Vec<(Shape, Rendered)> = Vec::new();
            for (op_id, binding, plan) in plans.iter().filter(|(_, b, _)| b.collection == def.name) {
                let query = QueryBuilder::new(binding, &store, &def.key).map_err(|e| at(&format!("/operations/{op_id}"), e))?;
                let mut views = Vec::new();
                for shape in &plan.shapes {
                    views.push(match shapes.iter().position(|(s, _)| s == shape) {
                        Some(i) => i,
                        None => {
                            shapes.push((shape.clone(), Rendered::default()));
                            shapes.len() - 1
                        }
                    });
                }
                builders.push((op_id, binding, plan, query, views));
            }
            let retain = tenant.as_deref() == Some(def.name.as_str()) || joined.contains(&def.name.as_str());
            let collection = load_collection(&api, def, &text, retain, |record| {
                for (_, _, _, query, _) in builders.iter_mut() {
                    query.ingest(record);
                }
                for (shape, rendered) in shapes.iter_mut() {
                    rendered.push(shape, record, &placeholders);
                }
            })
            .map_err(|e| LoadError(format!("{}: {e}", files.display(&rel))))?;
            drop(text);
            files.done(&rel);
            let read_ms = started.elapsed().as_millis() as u64;
            let shapes: Vec<(Shape, Arc<Rendered>)> = shapes
                .into_iter()
                .map(|(shape, mut rendered)| {
                    rendered.shrink();
                    (shape, Arc::new(rendered))
                })
                .collect();
            for (op_id, binding, plan, query, views) in builders {
                let query = query.finish(collection.index.clone());
                let views = views.into_iter().map(|i| shapes[i].clone()).collect();
                let mut compiled = finish_binding(binding, plan, query, views).map_err(|e| at(&format!("/operations/{op_id}"), e))?;
                if let (Body::Map { from_tenant, .. }, Some(tenants)) = (&binding.body, tenant.as_deref().and_then(|t| store.collection(t))) {
                    compiled.tenant_members = tenants.records.iter().map(|record| tenant_members(from_tenant, record)).collect();
                }
                if let Body::Map { .. } = &binding.body {
                    collection.index.key_of.iter().for_each(|key| compiled.map_keys.push_plain(key));
                    compiled.map_keys.shrink();
                }
                bindings.insert(op_id.clone(), compiled);
            }
            tracing::info!(records = collection.len(), read_ms, ms = started.elapsed().as_millis() as u64, "loaded {}", files.display(&rel));
            store.insert(collection);
        }
        if let Some((op_id, binding, _)) = plans.iter().find(|(op_id, _, _)| !bindings.contains_key(op_id)) {
            return Err(at(&format!("/operations/{op_id}/collection"), format!("collection `{}` is not declared", binding.collection)));
        }
        let keep: Vec<&str> = tenant.iter().map(String::as_str).collect();
        store.release(&keep);
        let base_path_json = crate::render::json_escaped(&api.base_path);
        Ok(ApiRuntime { api, envelope, auth: behaviour.auth, identities, store, bindings, placeholders, base_path_json })
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
    let mut take = |i: usize, record: Value| -> Result<(), String> {
        match record.pointer(&def.key) {
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
        op.param(param)
            .map(|_| ())
            .ok_or_else(|| format!("{what} parameter `{param}` is not declared by {op_id}"))
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
                return Err(format!("sort keys {keys:?} differ from the values {field_param} takes in the spec, {values:?}"));
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
