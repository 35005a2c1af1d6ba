//! Loads an OpenAPI document and compiles it, once, into operations with typed parameters,
//! response schemas, examples and validators.

pub(crate) mod params;
pub(crate) mod schema;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::LoadError;
use crate::json::{enum_texts, text_of};
use schema::{Checker, Dialect, SchemaSet};

/// The HTTP methods an OpenAPI path item may hold.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// One compiled OpenAPI document: its operations, parameters, response schemas and examples.
#[derive(Debug)]
pub struct Api {
    /// Short name: the file stem, e.g. `oes-partners`.
    pub(crate) name: String,
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
    /// The raw document, as loaded.
    pub(crate) document: Value,
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
    /// The type of a non-array value.
    pub(crate) scalar: Scalar,
    /// The declared default, if any.
    pub(crate) default: Option<Value>,
    /// The parameter's `example`, or its first named example.
    pub example: Option<Value>,
    /// The converted schema.
    pub(crate) schema: Value,
    /// What the parameter accepts, in words, for error messages.
    pub(crate) expected: String,
    /// Validator for the typed value.
    pub(crate) checker: Checker,
}

/// One declared response.
#[derive(Clone, Debug)]
pub struct ResponseSpec {
    /// The HTTP status.
    pub(crate) status: u16,
    /// The response's description.
    pub(crate) description: String,
    /// The media type of the body, if there is one.
    pub(crate) media_type: Option<String>,
    /// Validator for the body.
    pub(crate) checker: Option<Checker>,
    /// Named examples, in document order (a lone `example` is named `default`).
    pub(crate) examples: Vec<(String, Value)>,
    /// Declared response header names, lower-cased.
    pub(crate) headers: Vec<String>,
    /// Declared headers marked `required: true`, lower-cased.
    pub(crate) required_headers: Vec<String>,
    /// Validators of declared header schemas, by lower-cased name.
    pub(crate) header_checkers: Vec<(String, Checker)>,
    /// `x-additional-headers: false`: no undeclared header may appear.
    pub(crate) closed_headers: bool,
}

/// One compiled operation.
#[derive(Clone, Debug)]
pub struct Operation {
    /// `operationId`.
    pub id: String,
    /// Upper-case HTTP method.
    pub(crate) method: String,
    /// The spec's path template.
    pub(crate) path: String,
    /// The route the server listens on: base path plus template.
    pub route: String,
    /// Declared parameters.
    pub params: Vec<Param>,
    /// Declared responses by status.
    pub responses: BTreeMap<u16, ResponseSpec>,
    /// Whether a security requirement applies.
    pub(crate) secured: bool,
    /// `summary`, for printed help.
    pub(crate) summary: String,
}

impl Operation {
    /// The declared parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| &*p.name == name)
    }

    /// The lowest declared 2xx response.
    pub(crate) fn success(&self) -> Option<&ResponseSpec> {
        self.responses.range(200..300).next().map(|(_, r)| r)
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

    /// Parses YAML or JSON text and compiles it. `name` is the short API name; `source_name`
    /// names the document in errors.
    pub fn from_text(name: &str, source_name: &str, text: &str) -> Result<Api, LoadError> {
        let err = |message: String| LoadError::Spec { file: source_name.to_string(), message };
        let document: Value = serde_saphyr::from_str(text).map_err(|e| err(format!("not YAML or JSON: {e}")))?;
        let version = document.get("openapi").map(text_of).unwrap_or_default();
        let dialect = if version.starts_with("3.0.") {
            // The typed model checks the document's structure before we walk it.
            serde_json::from_value::<openapiv3::OpenAPI>(document.clone())
                .map_err(|e| err(format!("not a valid OpenAPI 3.0 document: {e}")))?;
            Dialect::OpenApi30
        } else if version.starts_with("3.1.") {
            Dialect::OpenApi31
        } else {
            return Err(err(format!("`openapi: {version}` is not supported; expected 3.0.x or 3.1.x")));
        };
        Compiler { doc: &document, schemas: SchemaSet::new(document.pointer("/components/schemas"), dialect) }
            .compile(name)
            .map(|(operations, schemas, base_path)| {
                let prefix = common_prefix(operations.iter().map(|o| o.route.as_str()));
                Api {
                    name: name.to_string(),
                    title: document.pointer("/info/title").and_then(Value::as_str).unwrap_or(name).to_string(),
                    base_path,
                    prefix,
                    operations,
                    schemas,
                    document: document.clone(),
                }
            })
            .map_err(err)
    }

    /// Every operation, in document order.
    #[doc(hidden)]
    pub fn operations(&self) -> &[Operation] {
        &self.operations
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

struct Compiler<'a> {
    doc: &'a Value,
    schemas: SchemaSet,
}

impl<'a> Compiler<'a> {
    fn compile(self, _name: &str) -> Result<(Vec<Operation>, SchemaSet, String), String> {
        let base_path = self.doc.pointer("/servers/0/url").and_then(Value::as_str).map(server_path).unwrap_or_default();
        let mut operations = Vec::new();
        let paths = self.doc.get("paths").and_then(Value::as_object).ok_or("the document has no `paths`")?;
        let global_security = self.doc.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
        for (path, item) in paths {
            let item = self.deref(item)?;
            let shared = item.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let at = format!("/paths/{}/{method}", escape(path));
                let id = op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{at}: the operation has no operationId"))?
                    .to_string();
                let mut params = Vec::new();
                let own = op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
                for raw in shared.iter().chain(own.iter()) {
                    let param = self.param(raw).map_err(|e| format!("{at}/parameters: {e}"))?;
                    params.retain(|p: &Param| !(p.name == param.name && p.location == param.location));
                    params.push(param);
                }
                let mut responses = BTreeMap::new();
                if let Some(Value::Object(map)) = op.get("responses") {
                    for (status, raw) in map {
                        let Ok(code) = status.parse::<u16>() else { continue };
                        let response = self.response(code, raw).map_err(|e| format!("{at}/responses/{status}: {e}"))?;
                        responses.insert(code, response);
                    }
                }
                let secured = match op.get("security").and_then(Value::as_array) {
                    Some(list) => !list.is_empty(),
                    None => global_security,
                };
                operations.push(Operation {
                    id,
                    method: method.to_ascii_uppercase(),
                    path: path.clone(),
                    route: format!("{base_path}{path}"),
                    params,
                    responses,
                    secured,
                    summary: op.get("summary").and_then(Value::as_str).unwrap_or_default().to_string(),
                });
            }
        }
        Ok((operations, self.schemas, base_path))
    }

    /// Follows a local `$ref` such as `#/components/parameters/pageSize`.
    fn deref(&self, value: &'a Value) -> Result<&'a Value, String> {
        let mut value = value;
        for _ in 0..16 {
            match value.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    let pointer = reference
                        .strip_prefix('#')
                        .ok_or_else(|| format!("`{reference}`: only local references are supported"))?;
                    value = self.doc.pointer(pointer).ok_or_else(|| format!("`{reference}` points at nothing"))?;
                }
                None => return Ok(value),
            }
        }
        Err("reference cycle".into())
    }

    fn param(&self, raw: &'a Value) -> Result<Param, String> {
        let raw = self.deref(raw)?;
        let name = raw.get("name").and_then(Value::as_str).ok_or("a parameter has no name")?.to_string();
        let location = match raw.get("in").and_then(Value::as_str) {
            Some("path") => Location::Path,
            Some("query") => Location::Query,
            Some("header") => Location::Header,
            other => return Err(format!("parameter `{name}`: location {other:?} is not supported")),
        };
        let schema = self.schemas.convert(raw.get("schema").unwrap_or(&Value::Bool(true)));
        let resolved = self.schemas.resolve(&schema).clone();
        let array_of = (scalar_type(&resolved) == "array").then(|| {
            let items = resolved.get("items").cloned().unwrap_or(Value::Bool(true));
            scalar_of(self.schemas.resolve(&items))
        });
        let checker = self.schemas.compile(&schema).map_err(|e| format!("parameter `{name}`: {e}"))?;
        let expected = match array_of {
            Some(_) => {
                let items = resolved.get("items").unwrap_or(&Value::Bool(true));
                format!("a comma-separated list (or repeated `{name}=`) of {}", phrase(self.schemas.resolve(items)))
            }
            None => phrase(&resolved),
        };
        Ok(Param {
            required: raw.get("required").and_then(Value::as_bool).unwrap_or(location == Location::Path),
            scalar: scalar_of(&resolved),
            array_of,
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
        })
    }

    fn response(&self, status: u16, raw: &'a Value) -> Result<ResponseSpec, String> {
        let raw = self.deref(raw)?;
        let content = raw.get("content").and_then(Value::as_object);
        let (media_type, media) = match content.and_then(|c| c.iter().next()) {
            Some((mt, media)) => (Some(mt.clone()), Some(media)),
            None => (None, None),
        };
        let schema = media.and_then(|m| m.get("schema")).map(|s| self.schemas.convert(s));
        let checker = match &schema {
            Some(s) => Some(self.schemas.compile(s)?),
            None => None,
        };
        let mut examples = Vec::new();
        if let Some(Value::Object(named)) = media.and_then(|m| m.get("examples")) {
            for (name, example) in named {
                let example = self.deref(example)?;
                if let Some(value) = example.get("value") {
                    examples.push((name.clone(), value.clone()));
                }
            }
        } else if let Some(value) = media.and_then(|m| m.get("example")) {
            examples.push(("default".to_string(), value.clone()));
        }
        let mut headers = Vec::new();
        let mut required_headers = Vec::new();
        let mut header_checkers = Vec::new();
        if let Some(declared) = raw.get("headers").and_then(Value::as_object) {
            for (name, header) in declared {
                let header = self.deref(header)?;
                let name = name.to_ascii_lowercase();
                if header.get("required").and_then(Value::as_bool) == Some(true) {
                    required_headers.push(name.clone());
                }
                if let Some(schema) = header.get("schema") {
                    let checker = self
                        .schemas
                        .compile(&self.schemas.convert(schema))
                        .map_err(|e| format!("header {name}: {e}"))?;
                    header_checkers.push((name.clone(), checker));
                }
                headers.push(name);
            }
        }
        Ok(ResponseSpec {
            status,
            description: raw.get("description").and_then(Value::as_str).unwrap_or_default().to_string(),
            media_type,
            checker,
            examples,
            headers,
            required_headers,
            header_checkers,
            closed_headers: raw.get("x-additional-headers").and_then(Value::as_bool) == Some(false),
        })
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
    fn prefix_is_cut_to_a_segment() {
        let p = common_prefix(["/a/v1/e/{id}/partners/balances", "/a/v1/e/{id}/partners/allocations"].into_iter());
        assert_eq!(p, "/a/v1/e/");
        assert_eq!(common_prefix(["/x/v4/acc/{id}", "/x/v4/transfer/{id}"].into_iter()), "/x/v4/");
    }
}
