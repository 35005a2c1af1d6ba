//! Loads an OpenAPI document and compiles it, once, into operations with typed parameters,
//! request bodies, security requirements, responses with their bodies, and validators.
//!
//! Loading is lenient, as Prism is: slips real documents make (no `info`, no `operationId`, no
//! response `description`) are [`Warning`]s, and `--strict-spec` makes them errors.

pub(crate) mod document;
pub(crate) mod params;
mod refs;
pub(crate) mod sample;
pub(crate) mod schema;
pub(crate) mod swagger2;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::LoadError;
use crate::json::{enum_texts, text_of};
use sample::Direction;
use schema::{Checker, Dialect, SchemaSet};

/// The HTTP methods an OpenAPI path item may hold.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// A slip in a document that specmock serves around: where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// JSON pointer into the document (the Swagger 2.0 document, for one that was converted).
    pub pointer: String,
    /// What is wrong, and what specmock does instead.
    pub message: String,
}

impl Warning {
    pub(crate) fn new(pointer: &str, message: impl Into<String>) -> Warning {
        Warning { pointer: pointer.to_string(), message: message.into() }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at {}: {}", if self.pointer.is_empty() { "/" } else { &self.pointer }, self.message)
    }
}

/// One compiled OpenAPI document: its operations, parameters, response schemas and examples.
#[derive(Debug)]
pub struct Api {
    /// Short name: the file stem, e.g. `oes-partners`.
    pub(crate) name: String,
    /// The document's file, as the user named it.
    pub(crate) source: String,
    /// `info.title`.
    pub(crate) title: String,
    /// Path part of the first server URL, without a trailing slash (may be empty).
    pub(crate) base_path: String,
    /// The longest path prefix every operation shares, used to pick this API's error envelope.
    pub(crate) prefix: String,
    /// Every operation, in document order.
    pub(crate) operations: Vec<Operation>,
    /// Component schemas as JSON Schema.
    pub(crate) schemas: SchemaSet,
    /// The document as served: OpenAPI 3 (Swagger 2.0 converted), derived operationIds written in.
    pub(crate) document: Value,
    /// What was lenient about loading it.
    pub(crate) warnings: Vec<Warning>,
}

/// Where a parameter travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A `{name}` segment of the path.
    Path,
    /// The query string.
    Query,
    /// A request header.
    Header,
    /// A cookie of the `Cookie` header.
    Cookie,
}

/// How a parameter's value is written (OpenAPI's `style`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// `x=a,b` or, exploded, `x=a&x=b` (query and cookie default).
    Form,
    /// `a,b` (path and header default).
    Simple,
    /// `.a.b` in a path.
    Label,
    /// `;x=a,b` in a path.
    Matrix,
    /// `x=a%20b` in a query.
    SpaceDelimited,
    /// `x=a|b` in a query.
    PipeDelimited,
    /// `x[key]=value` in a query.
    DeepObject,
}

/// The JSON type a parameter's raw text is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scalar {
    /// Kept as text.
    String,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// `true` or `false`.
    Boolean,
}

/// One declared parameter, compiled.
#[derive(Clone, Debug)]
pub struct Param {
    /// The name as the spec spells it (shared, so each request's values name it without copying).
    pub name: std::sync::Arc<str>,
    /// Where it travels.
    pub location: Location,
    /// Whether a request must carry it.
    pub(crate) required: bool,
    /// `Some(item type)` for arrays, which accept `a,b` and repeated `x=a&x=b`.
    pub(crate) array_of: Option<Scalar>,
    /// `Some(property types)` for object parameters, in declared order.
    pub(crate) object_of: Option<Vec<(String, Scalar)>>,
    /// The type of a non-array value.
    pub(crate) scalar: Scalar,
    /// How the value is written.
    pub(crate) style: Style,
    /// Whether arrays and objects are spread over several pairs.
    pub(crate) explode: bool,
    /// Whether `x=` is a value (`allowEmptyValue`, or a schema that takes the empty string).
    pub(crate) allow_empty: bool,
    /// The declared default, if any.
    pub(crate) default: Option<Value>,
    /// The parameter's `example`, or its first named example.
    pub example: Option<Value>,
    /// A value built from its schema, for clients that need a valid one (`verify`, the console).
    pub(crate) sample: Option<Value>,
    /// The converted schema.
    pub(crate) schema: Value,
    /// What the parameter accepts, in words, for error messages.
    pub(crate) expected: String,
    /// Validator for the typed value.
    pub(crate) checker: Checker,
}

impl Param {
    /// Its schema, converted to JSON Schema.
    #[doc(hidden)]
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// Whether it is an array sent as one comma-separated value (`style: form`, `explode: false`).
    #[doc(hidden)]
    pub fn comma_separated(&self) -> bool {
        self.array_of.is_some() && self.style == Style::Form && !self.explode
    }
}

/// One media type of a request or response body.
#[derive(Clone, Debug)]
pub(crate) struct Media {
    /// As declared, e.g. `application/json` or `application/problem+json`.
    pub(crate) media_type: String,
    /// Its schema converted to JSON Schema (refs into `$defs`), where it has a checker.
    pub(crate) schema: Option<Value>,
    /// Validator for the body, where the media type carries JSON and a schema is declared.
    pub(crate) checker: Option<Checker>,
    /// Named examples that match the schema, in document order (a lone `example` is `default`).
    pub(crate) examples: Vec<(String, Value)>,
    /// The body served by default: the first example, else one built from the schema.
    pub(crate) body: Option<Value>,
    /// For form bodies: each declared field's type, to read its text as.
    pub(crate) fields: Vec<(String, Scalar, bool)>,
}

impl Media {
    /// Whether the media type carries JSON: `application/json`, `*/*+json`, `*/*`.
    pub(crate) fn is_json(&self) -> bool {
        is_json_media(&self.media_type)
    }
}

/// Whether a media type carries JSON.
pub(crate) fn is_json_media(media_type: &str) -> bool {
    let essence = media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json") || essence == "*/*" || essence == "application/*"
}

/// One declared response.
#[derive(Clone, Debug)]
pub struct ResponseSpec {
    /// The HTTP status served: the code, `N00` for an `NXX` range, 200 for `default`.
    pub(crate) status: u16,
    /// The key as declared: `200`, `2XX` or `default`.
    pub(crate) key: String,
    /// The response's description.
    pub(crate) description: String,
    /// Its media types, in document order; empty for a response without a body.
    pub(crate) content: Vec<Media>,
    /// Declared response header names, lower-cased.
    pub(crate) headers: Vec<String>,
    /// Declared headers marked `required: true`, lower-cased.
    pub(crate) required_headers: Vec<String>,
    /// Validators of declared header schemas, by lower-cased name.
    pub(crate) header_checkers: Vec<(String, Checker)>,
    /// Declared headers with the value served: their example, or one built from the schema.
    pub(crate) header_values: Vec<(String, String)>,
    /// `x-additional-headers: false`: no undeclared header may appear.
    pub(crate) closed_headers: bool,
}

impl ResponseSpec {
    /// Its media types as declared, e.g. `application/json;charset=utf-8`.
    #[doc(hidden)]
    pub fn media_types(&self) -> impl Iterator<Item = &str> {
        self.content.iter().map(|m| m.media_type.as_str())
    }

    /// The schema of its first JSON media type, converted to JSON Schema: refs point into
    /// `#/$defs/`, which [`Api::component`] reads.
    #[doc(hidden)]
    pub fn json_schema(&self) -> Option<&Value> {
        self.content.iter().filter(|m| m.is_json()).find_map(|m| m.schema.as_ref())
    }

    /// The first media type's examples.
    pub(crate) fn examples(&self) -> &[(String, Value)] {
        self.content.first().map_or(&[], |m| m.examples.as_slice())
    }

    /// The declared media type `content_type` is, by essence (parameters and case aside).
    pub(crate) fn media_for(&self, content_type: &str) -> Option<&Media> {
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        self.content.iter().find(|m| {
            let declared = m.media_type.split(';').next().unwrap_or_default().trim();
            declared.eq_ignore_ascii_case(essence) || media_range_covers(declared, essence)
        })
    }
}

/// Whether a declared range such as `text/*` or `*/*` covers a concrete type.
fn media_range_covers(range: &str, concrete: &str) -> bool {
    match range.split_once('/') {
        Some(("*", "*")) => true,
        Some((kind, "*")) => concrete.split('/').next().is_some_and(|k| k.eq_ignore_ascii_case(kind)),
        _ => false,
    }
}

/// A declared request body.
#[derive(Clone, Debug)]
pub(crate) struct RequestBody {
    /// Whether a request must carry one.
    pub(crate) required: bool,
    /// Its media types, in document order.
    pub(crate) content: Vec<Media>,
}

/// What one capture of a route pattern holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Capture {
    /// One path parameter: `{id}`.
    Name(std::sync::Arc<str>),
    /// A whole segment with several parameters, such as `{base}...{head}`, which the router
    /// cannot split: literal text (decoded, as the captured value is) and parameter names, in order.
    Segment(Vec<(bool, std::sync::Arc<str>)>),
}

impl Capture {
    /// Adds the `(name, value)` pairs of a captured value to `out`; None when the segment's
    /// literal text is not there (the request does not match this route).
    pub(crate) fn split<'v>(&'v self, value: &'v str, out: &mut Vec<(&'v str, &'v str)>) -> Option<()> {
        let parts = match self {
            Capture::Name(name) => {
                out.push((name, value));
                return Some(());
            }
            Capture::Segment(parts) => parts,
        };
        let mut rest = value;
        for (i, (literal, text)) in parts.iter().enumerate() {
            if *literal {
                rest = rest.strip_prefix(&**text)?;
                continue;
            }
            // A parameter runs to the next literal text (the shortest match), or to the end.
            let end = match parts.get(i + 1) {
                Some((true, next)) => rest.find(&**next)?,
                _ => rest.len(),
            };
            out.push((&**text, &rest[..end]));
            rest = &rest[end..];
        }
        rest.is_empty().then_some(())
    }
}

/// How one security scheme carries its credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Credential {
    /// An API key in a header, query parameter or cookie.
    ApiKey(Location, String),
    /// `Authorization: Basic ...`.
    Basic,
    /// `Authorization: Bearer ...`: http bearer, oauth2 and openIdConnect.
    Bearer,
    /// `Authorization: <scheme> ...` for another http scheme, e.g. `digest`.
    Http(String),
}

/// One security scheme an operation requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Scheme {
    /// Its name under `components.securitySchemes`.
    pub(crate) name: String,
    /// What a request must carry.
    pub(crate) credential: Credential,
}

/// One compiled operation.
#[derive(Clone, Debug)]
pub struct Operation {
    /// `operationId`, or one derived from the method and path.
    pub id: String,
    /// Upper-case HTTP method.
    pub method: String,
    /// The spec's path template.
    pub path: String,
    /// The route the server listens on: base path plus template.
    pub route: String,
    /// The route as the router matches it: literals percent-encoded, parameters named by
    /// position (`{0}`), so templates that name one segment differently do not conflict.
    pub(crate) pattern: String,
    /// What each of the pattern's captures holds, in order.
    pub(crate) path_names: Vec<Capture>,
    /// Declared parameters.
    pub params: Vec<Param>,
    /// The declared request body.
    pub(crate) request_body: Option<RequestBody>,
    /// Declared responses by status code.
    pub responses: BTreeMap<u16, ResponseSpec>,
    /// Declared `NXX` ranges, by their first status (`200` for `2XX`).
    pub(crate) ranges: BTreeMap<u16, ResponseSpec>,
    /// The `default` response.
    pub(crate) default_response: Option<ResponseSpec>,
    /// Security requirements: any one of them, all schemes within it. Empty: none applies.
    pub(crate) security: Vec<Vec<Scheme>>,
    /// Whether a credential is required: some requirement applies and none is empty.
    pub(crate) secured: bool,
    /// `summary`, for printed help.
    pub(crate) summary: String,
}

impl Operation {
    /// The declared parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| &*p.name == name)
    }

    /// The response a client expects on success: the lowest declared 2xx, else `default`, else
    /// `2XX`; for an operation that declares none of them (only a 307, say), its lowest other
    /// status, so that the answer is still one the document allows. 1xx are never answered.
    pub(crate) fn success(&self) -> Option<&ResponseSpec> {
        self.responses
            .range(200..300)
            .next()
            .map(|(_, r)| r)
            .or(self.default_response.as_ref())
            .or_else(|| self.ranges.get(&200))
            .or_else(|| self.responses.range(300..).next().map(|(_, r)| r))
            .or_else(|| self.ranges.range(300..).next().map(|(_, r)| r))
    }

    /// The declared response that covers `status`: its own, its range's, or `default`.
    pub(crate) fn response_for(&self, status: u16) -> Option<&ResponseSpec> {
        self.responses
            .get(&status)
            .or_else(|| self.ranges.get(&(status / 100 * 100)))
            .or(self.default_response.as_ref())
    }

    /// Every declared response: codes, then ranges, then `default`.
    pub(crate) fn all_responses(&self) -> impl Iterator<Item = &ResponseSpec> {
        self.responses.values().chain(self.ranges.values()).chain(self.default_response.iter())
    }

    /// The declared keys, for messages: `200, 404, 4XX, default`.
    pub(crate) fn declared_statuses(&self) -> String {
        self.all_responses().map(|r| r.key.as_str()).collect::<Vec<_>>().join(", ")
    }
}

impl Api {
    /// Reads an OpenAPI document (YAML or JSON) and compiles it; its name is the file stem.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Api, LoadError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| LoadError::Read { file: file.clone(), message: e.to_string() })?;
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        Api::from_text(&name, &file, &text)
    }

    /// Parses YAML or JSON text and compiles it, leniently: slips are [`Api::warnings`].
    /// `name` is the short API name; `source_name` names the document in errors.
    pub fn from_text(name: &str, source_name: &str, text: &str) -> Result<Api, LoadError> {
        Api::load(name, source_name, text, false)
    }

    /// Like [`Api::from_text`]; `strict` refuses a document with any warning, listing them all.
    pub fn load(name: &str, source_name: &str, text: &str, strict: bool) -> Result<Api, LoadError> {
        let err = |message: String| LoadError::Spec { file: source_name.to_string(), message };
        // References to other files are read relative to the document's own folder.
        let dir = std::path::Path::new(source_name).parent().unwrap_or(std::path::Path::new("."));
        let read = document::parse(text)
            .and_then(|mut value| {
                let schemas = if value.get("swagger").is_some() { "/definitions" } else { "/components/schemas" };
                refs::bundle(&mut value, dir, schemas)?;
                Ok(value)
            })
            .and_then(document::identify)
            .map_err(err)?;
        let document::Document { value: mut document, dialect, mut warnings } = read;
        let mut compiler = Compiler {
            doc: &document,
            schemas: SchemaSet::new(document.pointer("/components/schemas"), dialect),
            warnings: Vec::new(),
            derived: Vec::new(),
        };
        let (operations, base_path) = compiler.compile().map_err(err)?;
        let Compiler { schemas, warnings: found, derived, .. } = compiler;
        warnings.extend(found);
        if dialect == Dialect::OpenApi30 && warnings.is_empty() {
            // The typed model catches structural slips the compiler does not look for.
            if let Err(e) = <openapiv3::OpenAPI as serde::Deserialize>::deserialize(&document) {
                warnings.push(Warning::new("", format!("not a valid OpenAPI 3.0 document: {e}")));
            }
        }
        if strict && !warnings.is_empty() {
            let list: Vec<String> = warnings.iter().map(|w| format!("  {w}")).collect();
            return Err(err(format!(
                "{} problem{} (--strict-spec makes warnings errors):\n{}",
                warnings.len(),
                if warnings.len() == 1 { "" } else { "s" },
                list.join("\n")
            )));
        }
        for (pointer, id) in derived {
            if let Some(Value::Object(op)) = document.pointer_mut(&pointer) {
                op.insert("operationId".into(), Value::String(id));
            }
        }
        let prefix = common_prefix(operations.iter().map(|o| o.route.as_str()));
        Ok(Api {
            name: name.to_string(),
            source: source_name.to_string(),
            title: document.pointer("/info/title").and_then(Value::as_str).unwrap_or(name).to_string(),
            base_path,
            prefix,
            operations,
            schemas,
            document,
            warnings,
        })
    }

    /// Every operation, in document order.
    #[doc(hidden)]
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The component schema `name` (what `#/$defs/name` refers to), converted to JSON Schema.
    #[doc(hidden)]
    pub fn component(&self, name: &str) -> Option<&Value> {
        self.schemas.component(name)
    }

    /// What loading forgave: each slip with its JSON pointer.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The warnings as `specmock` prints them: `FILE: warning: at POINTER: MESSAGE`, at most
    /// `limit` of them, then how many more there are.
    pub(crate) fn warning_lines(&self, limit: usize) -> Vec<String> {
        let mut lines: Vec<String> =
            self.warnings.iter().take(limit).map(|w| format!("{}: warning: {w}", self.source)).collect();
        if self.warnings.len() > limit {
            lines.push(format!(
                "{}: ... and {} more warnings; `specmock check --spec {}` lists them all",
                self.source,
                self.warnings.len() - limit,
                self.source
            ));
        }
        lines
    }

    /// The operation with this `operationId`.
    pub(crate) fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.id == id)
    }

    /// The document as published for client generators: as loaded, with `servers` pointing at
    /// `origin` (e.g. `http://127.0.0.1:4010`) plus this API's base path, so a generated client
    /// calls the mock.
    pub(crate) fn published(&self, origin: &str) -> Value {
        let mut document = self.document.clone();
        if let Value::Object(map) = &mut document {
            let url = format!("{origin}{}", self.base_path);
            map.insert("servers".into(), serde_json::json!([{ "url": url, "description": "specmock" }]));
        }
        document
    }
}

/// Keys OpenAPI defines on an operation; anything else not starting `x-` is a stray.
const OPERATION_KEYS: [&str; 12] = [
    "tags",
    "summary",
    "description",
    "externalDocs",
    "operationId",
    "parameters",
    "requestBody",
    "responses",
    "callbacks",
    "deprecated",
    "security",
    "servers",
];

struct Compiler<'a> {
    doc: &'a Value,
    schemas: SchemaSet,
    warnings: Vec<Warning>,
    /// Operations given a derived operationId: (JSON pointer, id), to write into the document.
    derived: Vec<(String, String)>,
}

impl<'a> Compiler<'a> {
    fn warn(&mut self, pointer: &str, message: impl Into<String>) {
        self.warnings.push(Warning::new(pointer, message));
    }

    fn compile(&mut self) -> Result<(Vec<Operation>, String), String> {
        let doc = self.doc;
        match doc.get("info") {
            None => self.warn("/info", "there is no `info`; expected a title and a version"),
            Some(info) => {
                for key in ["title", "version"] {
                    if info.get(key).is_none() {
                        self.warn("/info", format!("`info` has no `{key}`"));
                    }
                }
            }
        }
        let base_path = doc.pointer("/servers/0/url").and_then(Value::as_str).map(server_path).unwrap_or_default();
        let mut operations = Vec::new();
        let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
            if doc.get("webhooks").is_none() {
                self.warn("/paths", "there are no `paths`: nothing to serve");
            }
            return Ok((operations, base_path));
        };
        let global_security = doc.get("security");
        let mut taken: std::collections::HashSet<String> = paths
            .values()
            .filter_map(Value::as_object)
            .flat_map(|item| METHODS.iter().filter_map(|m| item.get(*m)))
            .filter_map(|op| op.get("operationId").and_then(Value::as_str).map(str::to_string))
            .collect();
        let mut seen = std::collections::HashSet::new();
        let mut probe = RouteProbe::default();
        for (path, item) in paths {
            let item_at = format!("/paths/{}", escape(path));
            if !path.starts_with('/') {
                self.warn(&item_at, "a path must start with `/`; it is served as if it did");
            }
            let item = match self.deref(item) {
                Ok(item) => item,
                Err(e) => {
                    self.warn(&item_at, format!("{e}; the path is not served"));
                    continue;
                }
            };
            let shared = item.get("parameters").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let at = format!("{item_at}/{method}");
                let id = match op.get("operationId").and_then(Value::as_str) {
                    Some(id) if seen.insert(id.to_string()) => id.to_string(),
                    Some(id) => {
                        let unique = unique_name(id, &mut taken);
                        self.warn(
                            &format!("{at}/operationId"),
                            format!("`{id}` is already another operation's; this one is served as `{unique}`"),
                        );
                        unique
                    }
                    None => {
                        let derived = unique_name(&derived_id(method, path), &mut taken);
                        self.warn(&at, format!("the operation has no operationId; it is called `{derived}`"));
                        self.derived.push((at.clone(), derived.clone()));
                        derived
                    }
                };
                if let Value::Object(map) = op {
                    for key in map.keys().filter(|k| !k.starts_with("x-") && !OPERATION_KEYS.contains(&k.as_str())) {
                        self.warn(&at, format!("`{key}` is not an operation field; it is ignored"));
                    }
                }
                let mut params: Vec<Param> = Vec::new();
                let own = op.get("parameters").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
                let shared_at = format!("{item_at}/parameters");
                let own_at = format!("{at}/parameters");
                let located = shared
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (format!("{shared_at}/{i}"), p))
                    .chain(own.iter().enumerate().map(|(i, p)| (format!("{own_at}/{i}"), p)));
                for (param_at, raw) in located {
                    match self.param(raw, &param_at) {
                        Ok(Some(param)) => {
                            params.retain(|p| !(p.name == param.name && p.location == param.location));
                            params.push(param);
                        }
                        Ok(None) => {}
                        Err(e) => self.warn(&param_at, format!("{e}; the parameter is ignored")),
                    }
                }
                for name in template_names(path) {
                    if !params.iter().any(|p| p.location == Location::Path && *p.name == *name) {
                        self.warn(&at, format!("path parameter `{name}` is not declared; it is read as a string"));
                        params.push(self.undeclared_path_param(name));
                    }
                }
                let request_body = match op.get("requestBody") {
                    Some(raw) => self.request_body(raw, &format!("{at}/requestBody")),
                    None => None,
                };
                let (responses, ranges, default_response) = self.responses(op, &at);
                let security = self.security(op.get("security").or(global_security), &at);
                let secured = !security.is_empty() && security.iter().all(|r| !r.is_empty());
                let route = format!("{base_path}{}{path}", if path.starts_with('/') { "" } else { "/" });
                // A `#fragment` some documents add to tell operations apart is never sent.
                let (pattern, path_names) = router_pattern(route.split('#').next().unwrap_or_default());
                if let Err(why) = routable(&mut probe, &pattern, method) {
                    self.warn(&at, format!("{why}; the operation is not served"));
                    continue;
                }
                operations.push(Operation {
                    id,
                    method: method.to_ascii_uppercase(),
                    path: path.clone(),
                    pattern,
                    path_names,
                    route,
                    params,
                    request_body,
                    responses,
                    ranges,
                    default_response,
                    security,
                    secured,
                    summary: op.get("summary").and_then(Value::as_str).unwrap_or_default().to_string(),
                });
            }
        }
        Ok((operations, base_path))
    }

    /// Follows a local `$ref` such as `#/components/parameters/pageSize`.
    fn deref(&self, value: &'a Value) -> Result<&'a Value, String> {
        let mut value = value;
        for _ in 0..16 {
            match value.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    let pointer = reference
                        .strip_prefix('#')
                        .ok_or_else(|| format!("`{reference}`: only references within the document resolve"))?;
                    value = self.doc.pointer(pointer).ok_or_else(|| format!("`{reference}` points at nothing"))?;
                }
                None => return Ok(value),
            }
        }
        Err("reference cycle".into())
    }

    /// A converted schema's validator; a schema that does not compile is a warning, and
    /// accepts anything.
    fn checker(&mut self, converted: &Value, at: &str) -> Checker {
        match self.schemas.compile(converted) {
            Ok(checker) => checker,
            Err(e) => {
                self.warn(at, format!("the schema does not compile ({e}); nothing is checked against it"));
                self.schemas.compile(&Value::Bool(true)).expect("`true` compiles")
            }
        }
    }

    fn param(&mut self, raw: &'a Value, at: &str) -> Result<Option<Param>, String> {
        let raw = self.deref(raw)?;
        let name = raw.get("name").and_then(Value::as_str).ok_or("a parameter has no name")?.to_string();
        let location = match raw.get("in").and_then(Value::as_str) {
            Some("path") => Location::Path,
            Some("query") => Location::Query,
            Some("header") => Location::Header,
            Some("cookie") => Location::Cookie,
            Some(other) => return Err(format!("parameter `{name}`: `in: {other}` is not a parameter location")),
            None => return Err(format!("parameter `{name}` has no `in`")),
        };
        if location == Location::Header
            && ["accept", "content-type", "authorization"].contains(&&*name.to_ascii_lowercase())
        {
            // OpenAPI says these are ignored: negotiation and security describe them.
            return Ok(None);
        }
        let raw_schema = match (raw.get("schema"), raw.get("content").and_then(Value::as_object)) {
            (Some(schema), _) => schema.clone(),
            (None, Some(content)) => {
                content.values().next().and_then(|m| m.get("schema")).cloned().unwrap_or(Value::Bool(true))
            }
            (None, None) => {
                self.warn(at, format!("parameter `{name}` has no schema; any value is accepted"));
                Value::Bool(true)
            }
        };
        let schema = self.schemas.convert(&raw_schema);
        let resolved = self.schemas.resolve(&schema).clone();
        let kind = scalar_type(&resolved);
        let array_of = (kind == "array").then(|| {
            let items = resolved.get("items").cloned().unwrap_or(Value::Bool(true));
            scalar_of(self.schemas.resolve(&items))
        });
        let object_of = (kind == "object").then(|| {
            self.schemas
                .property_names(&resolved)
                .into_iter()
                .map(|p| {
                    let property =
                        resolved.pointer(&format!("/properties/{}", escape(&p))).unwrap_or(&Value::Bool(true));
                    let scalar = scalar_of(self.schemas.resolve(property));
                    (p, scalar)
                })
                .collect()
        });
        let checker = self.checker(&schema, &format!("{at}/schema"));
        let expected = match array_of {
            Some(_) => {
                let items = resolved.get("items").unwrap_or(&Value::Bool(true));
                format!("a comma-separated list (or repeated `{name}=`) of {}", phrase(self.schemas.resolve(items)))
            }
            None => phrase(&resolved),
        };
        let style = match raw.get("style").and_then(Value::as_str) {
            Some("form") => Style::Form,
            Some("simple") => Style::Simple,
            Some("label") => Style::Label,
            Some("matrix") => Style::Matrix,
            Some("spaceDelimited") => Style::SpaceDelimited,
            Some("pipeDelimited") => Style::PipeDelimited,
            Some("deepObject") => Style::DeepObject,
            Some(other) => {
                self.warn(&format!("{at}/style"), format!("`{other}` is not a parameter style; the default is used"));
                default_style(location)
            }
            None => default_style(location),
        };
        let explode = raw.get("explode").and_then(Value::as_bool).unwrap_or(style == Style::Form);
        // `x=` is one empty string; for a list, one empty item.
        let empty = Value::String(String::new());
        let allow_empty = raw.get("allowEmptyValue").and_then(Value::as_bool) == Some(true)
            || checker.is_valid(&if array_of.is_some() { Value::Array(vec![empty]) } else { empty });
        let built = sample::sample(&raw_schema, self.doc, Direction::Request);
        let sample = checker.is_valid(&built).then_some(built);
        Ok(Some(Param {
            sample,
            required: raw.get("required").and_then(Value::as_bool).unwrap_or(location == Location::Path),
            scalar: scalar_of(&resolved),
            array_of,
            object_of,
            style,
            explode,
            allow_empty,
            default: resolved.get("default").cloned(),
            expected,
            example: raw.get("example").cloned().or_else(|| {
                raw.get("examples")
                    .and_then(Value::as_object)
                    .and_then(|e| e.values().next())
                    .and_then(|e| e.get("value").cloned())
            }),
            schema,
            checker,
            location,
            name: name.into(),
        }))
    }

    /// A `{name}` the template uses but no parameter declares: read as a string.
    fn undeclared_path_param(&self, name: &str) -> Param {
        Param {
            name: name.into(),
            location: Location::Path,
            required: true,
            array_of: None,
            object_of: None,
            scalar: Scalar::String,
            style: Style::Simple,
            explode: false,
            allow_empty: false,
            default: None,
            example: None,
            sample: Some(Value::String("x".into())),
            schema: Value::Bool(true),
            expected: "a string".into(),
            checker: self.schemas.compile(&Value::Bool(true)).expect("`true` compiles"),
        }
    }

    fn request_body(&mut self, raw: &'a Value, at: &str) -> Option<RequestBody> {
        let raw = match self.deref(raw) {
            Ok(raw) => raw,
            Err(e) => {
                self.warn(at, format!("{e}; the body is not checked"));
                return None;
            }
        };
        let mut content = Vec::new();
        if let Some(Value::Object(declared)) = raw.get("content") {
            for (media_type, media) in declared {
                let media_at = format!("{at}/content/{}", escape(media_type));
                content.push(self.media(media_type, media, &media_at, Direction::Request));
            }
        }
        Some(RequestBody { required: raw.get("required").and_then(Value::as_bool) == Some(true), content })
    }

    #[allow(clippy::type_complexity)]
    fn responses(
        &mut self,
        op: &'a Value,
        at: &str,
    ) -> (BTreeMap<u16, ResponseSpec>, BTreeMap<u16, ResponseSpec>, Option<ResponseSpec>) {
        let (mut codes, mut ranges, mut default) = (BTreeMap::new(), BTreeMap::new(), None);
        let Some(Value::Object(map)) = op.get("responses") else {
            self.warn(at, "the operation declares no `responses`; it answers 200 with no body");
            return (codes, ranges, default);
        };
        for (key, raw) in map {
            let response_at = format!("{at}/responses/{}", escape(key));
            let upper = key.to_ascii_uppercase();
            let (status, slot) = if key == "default" {
                (200, 0)
            } else if let Ok(code @ 100..=599) = key.parse::<u16>() {
                (code, 1)
            } else if upper.len() == 3 && upper.ends_with("XX") && (b'1'..=b'5').contains(&upper.as_bytes()[0]) {
                (u16::from(upper.as_bytes()[0] - b'0') * 100, 2)
            } else {
                if !key.starts_with("x-") {
                    self.warn(&response_at, format!("`{key}` is not a status, a range such as 4XX, or default"));
                }
                continue;
            };
            let Some(response) = self.response(key, status, raw, &response_at) else { continue };
            match slot {
                0 => default = Some(response),
                1 => drop(codes.insert(status, response)),
                _ => drop(ranges.insert(status, response)),
            }
        }
        (codes, ranges, default)
    }

    fn response(&mut self, key: &str, status: u16, raw: &'a Value, at: &str) -> Option<ResponseSpec> {
        let raw = match self.deref(raw) {
            Ok(raw) => raw,
            Err(e) => {
                self.warn(at, format!("{e}; the response is left out"));
                return None;
            }
        };
        if raw.get("description").is_none() {
            self.warn(at, "the response has no `description`");
        }
        let mut content = Vec::new();
        if let Some(Value::Object(declared)) = raw.get("content") {
            for (media_type, media) in declared {
                let media_at = format!("{at}/content/{}", escape(media_type));
                content.push(self.media(media_type, media, &media_at, Direction::Response));
            }
        }
        let mut headers = Vec::new();
        let mut required_headers = Vec::new();
        let mut header_checkers = Vec::new();
        let mut header_values = Vec::new();
        if let Some(declared) = raw.get("headers").and_then(Value::as_object) {
            for (name, header) in declared {
                let header_at = format!("{at}/headers/{}", escape(name));
                let Ok(header) = self.deref(header) else {
                    self.warn(&header_at, "the header's `$ref` points at nothing; it is left out");
                    continue;
                };
                let name = name.to_ascii_lowercase();
                if name == "content-type" {
                    // OpenAPI says a Content-Type header definition is ignored.
                    continue;
                }
                if header.get("required").and_then(Value::as_bool) == Some(true) {
                    required_headers.push(name.clone());
                }
                let schema = header.get("schema").unwrap_or(&Value::Bool(true));
                let example = header
                    .get("example")
                    .or_else(|| {
                        header.get("examples").and_then(Value::as_object).and_then(|e| e.values().next()?.get("value"))
                    })
                    .cloned()
                    .unwrap_or_else(|| sample::sample(schema, self.doc, Direction::Response));
                let value = match example {
                    Value::String(s) => s,
                    Value::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join(","),
                    other => other.to_string(),
                };
                if header.get("schema").is_some() {
                    let checker = self.checker(&self.schemas.convert(schema), &format!("{header_at}/schema"));
                    header_checkers.push((name.clone(), checker));
                }
                // The connection's framing is hyper's to write, whatever the document says.
                const FRAMING: [&str; 6] =
                    ["content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "trailer"];
                if http::HeaderValue::from_str(&value).is_ok() && !FRAMING.contains(&name.as_str()) {
                    header_values.push((name.clone(), value));
                }
                headers.push(name);
            }
        }
        Some(ResponseSpec {
            status,
            key: key.to_string(),
            description: raw.get("description").and_then(Value::as_str).unwrap_or_default().to_string(),
            content,
            headers,
            required_headers,
            header_checkers,
            header_values,
            closed_headers: raw.get("x-additional-headers").and_then(Value::as_bool) == Some(false),
        })
    }

    /// One media type: its validator, the examples that match it, and the body served.
    fn media(&mut self, media_type: &str, raw: &'a Value, at: &str, direction: Direction) -> Media {
        let json = is_json_media(media_type);
        let schema = raw.get("schema");
        let converted = schema.filter(|_| json || is_form(media_type)).map(|s| self.schemas.convert(s));
        let checker = converted.as_ref().map(|c| self.checker(c, &format!("{at}/schema")));
        let mut examples = Vec::new();
        if let Some(Value::Object(named)) = raw.get("examples") {
            for (name, example) in named {
                let example_at = format!("{at}/examples/{}", escape(name));
                match self.deref(example) {
                    Ok(example) => match example.get("value") {
                        Some(value) => examples.push((name.clone(), value.clone())),
                        None if example.get("externalValue").is_some() => self.warn(
                            &example_at,
                            "`externalValue` is not fetched (specmock runs offline); the example is left out",
                        ),
                        None => self.warn(&example_at, "the example has no `value`; it is left out"),
                    },
                    Err(e) => self.warn(&example_at, format!("{e}; the example is left out")),
                }
            }
        } else if let Some(value) = raw.get("example") {
            examples.push(("default".to_string(), value.clone()));
        }
        if let Some(checker) = checker.as_ref().filter(|_| json) {
            let mut kept = Vec::new();
            for (name, value) in examples {
                match checker.findings(&value, 1).into_iter().next() {
                    Some(finding) => self.warn(
                        &format!(
                            "{at}/example{}",
                            if name == "default" { String::new() } else { format!("s/{}", escape(&name)) }
                        ),
                        format!("example `{name}` does not match its schema ({finding}); it is not served"),
                    ),
                    None => kept.push((name, value)),
                }
            }
            examples = kept;
        }
        let body = match (examples.first(), schema) {
            (Some((_, value)), _) => Some(value.clone()),
            (None, Some(schema)) => {
                let schemas = &self.schemas;
                let valid = |raw: &Value, instance: &Value| {
                    schemas.compile(&schemas.convert(raw)).map(|c| c.is_valid(instance)).unwrap_or(true)
                };
                let mut built = sample::sample_checked(schema, self.doc, direction, true, &valid);
                if let Some(checker) = checker.as_ref().filter(|_| json) {
                    if !checker.is_valid(&built) {
                        built = sample::sample_checked(schema, self.doc, direction, false, &valid);
                    }
                    if let Some(finding) = checker.findings(&built, 1).into_iter().next() {
                        self.warn(
                            at,
                            format!("no body that matches the schema could be built ({finding}); served as built"),
                        );
                    }
                }
                Some(built)
            }
            (None, None) => None,
        };
        let fields = match (is_form(media_type), schema) {
            (true, Some(schema)) => {
                let converted = self.schemas.convert(schema);
                let resolved = self.schemas.resolve(&converted).clone();
                self.schemas
                    .property_names(&resolved)
                    .into_iter()
                    .map(|name| {
                        let property = self.property_schema(&resolved, &name);
                        let kind = scalar_type(self.schemas.resolve(&property));
                        let array = kind == "array";
                        let scalar = if array {
                            scalar_of(self.schemas.resolve(property.get("items").unwrap_or(&Value::Bool(true))))
                        } else {
                            scalar_of(self.schemas.resolve(&property))
                        };
                        (name, scalar, array)
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        Media { media_type: media_type.to_string(), schema: converted, checker, examples, body, fields }
    }

    /// The schema of an object's property, through `allOf`.
    fn property_schema(&self, object: &Value, name: &str) -> Value {
        let object = self.schemas.resolve(object);
        if let Some(found) = object.get("properties").and_then(|p| p.get(name)) {
            return found.clone();
        }
        for part in object.get("allOf").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
            let found = self.property_schema(part, name);
            if found != Value::Bool(true) {
                return found;
            }
        }
        Value::Bool(true)
    }

    fn security(&mut self, requirements: Option<&'a Value>, at: &str) -> Vec<Vec<Scheme>> {
        let Some(Value::Array(requirements)) = requirements else { return Vec::new() };
        let mut out = Vec::new();
        for requirement in requirements {
            let mut all = Vec::new();
            for name in requirement.as_object().map(|m| m.keys()).into_iter().flatten() {
                let pointer = format!("/components/securitySchemes/{}", escape(name));
                let Some(scheme) = self.doc.pointer(&pointer).and_then(|s| self.deref(s).ok()) else {
                    self.warn(at, format!("security scheme `{name}` is not declared; it is not enforced"));
                    continue;
                };
                let credential = match scheme.get("type").and_then(Value::as_str) {
                    Some("apiKey") => {
                        let location = match scheme.get("in").and_then(Value::as_str) {
                            Some("query") => Location::Query,
                            Some("cookie") => Location::Cookie,
                            _ => Location::Header,
                        };
                        let key = scheme.get("name").and_then(Value::as_str).unwrap_or("api_key");
                        Credential::ApiKey(location, key.to_string())
                    }
                    Some("http") => match scheme.get("scheme").and_then(Value::as_str).map(str::to_ascii_lowercase) {
                        Some(s) if s == "basic" => Credential::Basic,
                        Some(s) if s == "bearer" => Credential::Bearer,
                        Some(other) => Credential::Http(other),
                        None => Credential::Bearer,
                    },
                    Some("oauth2" | "openIdConnect") => Credential::Bearer,
                    other => {
                        self.warn(&pointer, format!("security scheme type {other:?} is not enforced"));
                        continue;
                    }
                };
                all.push(Scheme { name: name.clone(), credential });
            }
            out.push(all);
        }
        out
    }
}

/// The routes taken so far, tried in the router's own matcher so that a template it cannot
/// take is a warning at load rather than a panic when the router is built.
#[derive(Default)]
struct RouteProbe {
    matcher: matchit::Router<()>,
    taken: std::collections::HashMap<String, Vec<&'static str>>,
}

/// Ok when the router can serve `method` on `pattern` beside the routes already taken.
fn routable(probe: &mut RouteProbe, pattern: &str, method: &'static str) -> Result<(), String> {
    match probe.taken.get_mut(pattern) {
        Some(methods) if methods.contains(&method) => {
            Err(format!("another operation already answers {} {pattern}", method.to_ascii_uppercase()))
        }
        Some(methods) => {
            methods.push(method);
            Ok(())
        }
        None => {
            probe.matcher.insert(pattern, ()).map_err(|e| format!("the path cannot be routed: {e}"))?;
            probe.taken.insert(pattern.to_string(), vec![method]);
            Ok(())
        }
    }
}

/// A route in the router's syntax: literal text percent-encoded as a client sends it, each
/// `{name}` renamed `{0}`, `{1}`... in order (a segment with several parameters captured
/// whole); with what each capture holds.
fn router_pattern(route: &str) -> (String, Vec<Capture>) {
    const LITERAL: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'!')
        .remove(b'$')
        .remove(b'&')
        .remove(b'\'')
        .remove(b'(')
        .remove(b')')
        .remove(b'*')
        .remove(b'+')
        .remove(b',')
        .remove(b';')
        .remove(b'=')
        .remove(b':')
        .remove(b'@')
        .remove(b'%');
    let encode = |text: &str| percent_encoding::utf8_percent_encode(text, LITERAL).to_string();
    let mut pattern = String::with_capacity(route.len());
    let mut captures = Vec::new();
    for (i, segment) in route.split('/').enumerate() {
        if i > 0 {
            pattern.push('/');
        }
        let mut parts: Vec<(bool, std::sync::Arc<str>)> = Vec::new();
        let mut rest = segment;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else { break };
            if open > 0 {
                parts.push((true, rest[..open].into()));
            }
            parts.push((false, rest[open + 1..open + close].into()));
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push((true, rest.into()));
        }
        match parts.iter().filter(|(literal, _)| !literal).count() {
            0 | 1 => {
                for (literal, text) in parts {
                    if literal {
                        pattern.push_str(&encode(&text));
                    } else {
                        pattern.push_str(&format!("{{{}}}", captures.len()));
                        captures.push(Capture::Name(text));
                    }
                }
            }
            _ => {
                pattern.push_str(&format!("{{{}}}", captures.len()));
                captures.push(Capture::Segment(parts));
            }
        }
    }
    (pattern, captures)
}

/// Whether a media type is a form whose fields are parsed.
pub(crate) fn is_form(media_type: &str) -> bool {
    let essence = media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/x-www-form-urlencoded" || essence == "multipart/form-data"
}

fn default_style(location: Location) -> Style {
    match location {
        Location::Query | Location::Cookie => Style::Form,
        Location::Path | Location::Header => Style::Simple,
    }
}

/// The `{name}`s of a path template.
fn template_names(path: &str) -> Vec<&str> {
    path.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name)).collect()
}

/// An operationId from the method and path, stable across loads: `GET /pets/{petId}/photos`
/// is `getPetsByPetIdPhotos`.
fn derived_id(method: &str, path: &str) -> String {
    let mut id = method.to_string();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let (by, text) = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => (true, name),
            None => (false, segment),
        };
        if by {
            id.push_str("By");
        }
        for word in text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                id.push(first.to_ascii_uppercase());
                id.extend(chars);
            }
        }
    }
    if id == method {
        id.push_str("Root");
    }
    id
}

/// `name`, or `name2`, `name3`... whichever is not yet taken; taken from then on.
fn unique_name(name: &str, taken: &mut std::collections::HashSet<String>) -> String {
    if taken.insert(name.to_string()) && !name.is_empty() {
        return name.to_string();
    }
    let mut n = 2;
    loop {
        let candidate = format!("{name}{n}");
        if taken.insert(candidate.clone()) {
            return candidate;
        }
        n += 1;
    }
}

/// A reader's phrase for what a schema accepts.
fn phrase(schema: &Value) -> String {
    let names = enum_texts(schema);
    if !names.is_empty() {
        return format!("one of {}", names.join(", "));
    }
    let kind = scalar_type(schema);
    match kind {
        "integer" | "number" => {
            let noun = if kind == "integer" { "an integer" } else { "a number" };
            match (schema.get("minimum"), schema.get("maximum")) {
                (Some(min), Some(max)) => format!("{noun} from {min} to {max}"),
                (Some(min), None) => format!("{noun} of at least {min}"),
                (None, Some(max)) => format!("{noun} of at most {max}"),
                (None, None) => noun.to_string(),
            }
        }
        "boolean" => "true or false".into(),
        _ => match schema.get("format").and_then(Value::as_str) {
            Some("uuid") => "a UUID such as 7a72d96a-03b1-4f1f-a16f-5d13f5c04757".into(),
            Some("date-time") => "an RFC 3339 date-time".into(),
            Some(other) => format!("a string in {other} format"),
            None => match schema.get("minLength").and_then(Value::as_u64) {
                Some(n) if n > 0 => "a non-empty string".into(),
                _ => "a string".into(),
            },
        },
    }
}

fn scalar_type(schema: &Value) -> &str {
    match schema.get("type") {
        Some(Value::String(t)) => t,
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("string"),
        _ => "string",
    }
}

fn scalar_of(schema: &Value) -> Scalar {
    match scalar_type(schema) {
        "integer" => Scalar::Integer,
        "number" => Scalar::Number,
        "boolean" => Scalar::Boolean,
        _ => Scalar::String,
    }
}

/// The path of a server URL: `https://h/x/v4` and `http://{host}/x/v4` give `/x/v4`; `/x` stays.
fn server_path(url: &str) -> String {
    let rest = match url.find("://") {
        Some(i) => &url[i + 3..],
        None if url.starts_with('/') => return url.trim_end_matches('/').to_string(),
        None => url,
    };
    match rest.find('/') {
        Some(i) => rest[i..].trim_end_matches('/').to_string(),
        None => String::new(),
    }
}

fn common_prefix<'s>(mut routes: impl Iterator<Item = &'s str>) -> String {
    let Some(first) = routes.next() else { return String::new() };
    let mut prefix = first.split('{').next().unwrap_or_default().to_string();
    for route in routes {
        while !route.starts_with(&prefix) {
            prefix.pop();
        }
    }
    // Cut back to a whole segment.
    match prefix.rfind('/') {
        Some(i) => prefix[..=i].to_string(),
        None => String::new(),
    }
}

fn escape(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_paths() {
        assert_eq!(server_path("http://{host}/brm/prepayBalanceManagement/v4"), "/brm/prepayBalanceManagement/v4");
        assert_eq!(server_path("https://app.bitgo.com"), "");
        assert_eq!(server_path("/v1/"), "/v1");
    }

    #[test]
    fn derived_ids_read_as_method_and_path() {
        assert_eq!(derived_id("get", "/pets/{petId}/photos"), "getPetsByPetIdPhotos");
        assert_eq!(derived_id("post", "/"), "postRoot");
        assert_eq!(derived_id("delete", "/v1/user-groups/{group_id}"), "deleteV1UserGroupsByGroupId");
        let mut taken = ["getPets".to_string()].into_iter().collect();
        assert_eq!(unique_name("getPets", &mut taken), "getPets2");
        assert_eq!(unique_name("getPets", &mut taken), "getPets3");
    }

    #[test]
    fn segments_with_several_parameters_are_captured_whole_and_split() {
        let (pattern, captures) = router_pattern("/repos/{owner}/compare/{base}...{head}/a b");
        assert_eq!(pattern, "/repos/{0}/compare/{1}/a%20b");
        let mut pairs = Vec::new();
        captures[1].split("main...feature/x", &mut pairs).unwrap();
        assert_eq!(pairs, [("base", "main"), ("head", "feature/x")]);
        assert_eq!(captures[1].split("main", &mut pairs), None, "the literal text must be there");
        pairs.clear();
        captures[0].split("octocat", &mut pairs).unwrap();
        assert_eq!(pairs, [("owner", "octocat")]);
    }

    #[test]
    fn prefix_is_cut_to_a_segment() {
        let p = common_prefix(["/a/v1/e/{id}/partners/balances", "/a/v1/e/{id}/partners/allocations"].into_iter());
        assert_eq!(p, "/a/v1/e/");
        assert_eq!(common_prefix(["/x/v4/acc/{id}", "/x/v4/transfer/{id}"].into_iter()), "/x/v4/");
    }
}
