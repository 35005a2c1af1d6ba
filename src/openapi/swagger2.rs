//! Converts a Swagger 2.0 document to OpenAPI 3.0.3, as the npm tool swagger2openapi does, so that a
//! Swagger document loads like any other: `definitions`, `parameters`, `responses` and
//! `securityDefinitions` move under `components`, body and form parameters become request bodies,
//! `collectionFormat` becomes `style`/`explode`, and every `$ref` follows what it points at.
//!
//! Where swagger2openapi is wrong this differs from it (form arrays get an `encoding`, a form with a
//! file is `multipart/form-data` whatever `consumes` says, a path-level body reaches operations that
//! have no parameters of their own, a nullable `$ref` keeps its `nullable`); tests/swagger2/compare.mjs
//! lists each difference with its reason. Slips in the Swagger document do not stop the conversion:
//! each is reported as a [`Note`] with a JSON pointer into the Swagger document.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

/// The HTTP methods a path item may hold (Swagger 2.0 has no `trace`; it is taken all the same).
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Keys of a Swagger 2.0 non-body parameter, header or items object that go into an OpenAPI 3 schema.
const TYPE_KEYS: [&str; 19] = [
    "type",
    "format",
    "items",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "enum",
    "multipleOf",
    "minProperties",
    "maxProperties",
    "additionalProperties",
];

/// The media type a body, form or response falls back to when `consumes`/`produces` name none.
const JSON: &str = "application/json";
/// The media type of a form with a file, or of one whose `consumes` says so.
const MULTIPART: &str = "multipart/form-data";
/// The media type of any other form.
const URLENCODED: &str = "application/x-www-form-urlencoded";

/// One slip in the Swagger document worth a warning: where (a JSON pointer into the Swagger document) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Note {
    /// Where: a JSON pointer into the Swagger document (`~0`/`~1` escaped), `""` for the whole document.
    pub(crate) pointer: String,
    /// What, in a sentence.
    pub(crate) message: String,
}

/// Converts a Swagger 2.0 document to OpenAPI 3.0.3. Err only for a document that cannot be converted at all.
pub(crate) fn to_openapi30(swagger: &Value) -> Result<(Value, Vec<Note>), String> {
    let Value::Object(doc) = swagger else {
        return Err("a Swagger 2.0 document is a mapping at the top".into());
    };
    let numeric = match doc.get("swagger") {
        Some(Value::String(version)) if version == "2.0" => false,
        Some(Value::Number(n)) if n.as_f64() == Some(2.0) => true,
        Some(other) => return Err(format!("not a Swagger 2.0 document: `swagger` is {other}, not \"2.0\"")),
        None => return Err("not a Swagger 2.0 document: it has no `swagger: \"2.0\"`".into()),
    };
    let mut dropped = Vec::new();
    let cleaned = without_nulls(doc, "", &mut dropped);
    let mut converter = Converter::new(&cleaned);
    if numeric {
        converter.note("/swagger", "`swagger` is the number 2.0; Swagger 2.0 wants the string \"2.0\"");
    }
    for pointer in dropped {
        converter.note(&pointer, "`null` stands for nothing here; it is dropped");
    }
    let out = converter.document();
    let mut seen = HashSet::new();
    let notes = converter.notes.into_iter().filter(|n| seen.insert((n.pointer.clone(), n.message.clone()))).collect();
    Ok((Value::Object(out), notes))
}

/// A Swagger 2.0 parameter, sorted by what it becomes in OpenAPI 3.
enum Param {
    /// A parameter object or a `$ref` to a component parameter.
    Plain(Value),
    /// An `in: body` parameter (resolved if it was a reference), to become the request body.
    Body {
        /// The Swagger parameter object.
        source: Map<String, Value>,
        /// Its pointer, for notes.
        pointer: String,
        /// The component name under `requestBodies` when it was a `#/parameters/` reference.
        component: Option<String>,
    },
    /// A `type: file` parameter outside `formData`: a raw `application/octet-stream` body, as swagger2openapi makes.
    File {
        /// Whether the parameter was required.
        required: bool,
    },
    /// An `in: formData` parameter, to become a property of the form request body.
    Form(FormField),
}

/// One `in: formData` parameter as a property of the form schema.
struct FormField {
    /// The property name.
    name: String,
    /// The property schema.
    schema: Value,
    /// Whether the parameter was required.
    required: bool,
    /// Whether it was `type: file`.
    file: bool,
    /// `style`/`explode` for an array in an urlencoded form, from `collectionFormat`.
    encoding: Map<String, Value>,
}

/// A parameter with the `(name, in)` pair that identifies it, when known.
struct Keyed {
    /// `(name, in)`; unknown for a reference into another file.
    key: Option<(String, String)>,
    /// What it becomes.
    param: Param,
}

/// The conversion's state: the Swagger document, the component renames and the notes so far.
struct Converter<'a> {
    /// The Swagger document.
    doc: &'a Map<String, Value>,
    /// What went wrong, in the order it was found.
    notes: Vec<Note>,
    /// Global `consumes`, as written (may be empty).
    consumes: Vec<String>,
    /// Global `produces`, as written (may be empty).
    produces: Vec<String>,
    /// `definitions` names to `components/schemas` names.
    schema_names: HashMap<String, String>,
    /// `parameters` names to `components/parameters` (or `requestBodies`) names.
    parameter_names: HashMap<String, String>,
    /// `responses` names to `components/responses` names.
    response_names: HashMap<String, String>,
    /// `securityDefinitions` names to `components/securitySchemes` names.
    security_names: HashMap<String, String>,
    /// Schemas that references pointed at outside `definitions`, copied to `components/schemas`
    /// under a new name (as swagger2openapi copies them), by that name.
    hoisted: Map<String, Value>,
    /// The new name of each such reference's target, by the reference.
    hoisted_names: HashMap<String, String>,
}

impl<'a> Converter<'a> {
    /// Reads the global media types and settles the component names.
    fn new(doc: &'a Map<String, Value>) -> Self {
        let mut converter = Converter {
            doc,
            notes: Vec::new(),
            consumes: Vec::new(),
            produces: Vec::new(),
            schema_names: HashMap::new(),
            parameter_names: HashMap::new(),
            response_names: HashMap::new(),
            security_names: HashMap::new(),
            hoisted: Map::new(),
            hoisted_names: HashMap::new(),
        };
        converter.consumes = converter.media_types(doc.get("consumes"), "/consumes");
        converter.produces = converter.media_types(doc.get("produces"), "/produces");
        converter.schema_names = converter.component_names("definitions");
        converter.parameter_names = converter.component_names("parameters");
        converter.response_names = converter.component_names("responses");
        converter.security_names = converter.component_names("securityDefinitions");
        converter
    }

    /// Records a slip.
    fn note(&mut self, pointer: &str, message: impl Into<String>) {
        self.notes.push(Note { pointer: pointer.to_string(), message: message.into() });
    }

    /// Component names for one Swagger section, made valid for OpenAPI 3 (`^[a-zA-Z0-9._-]+$`) as
    /// swagger2openapi makes them, with a numeric suffix where two names would meet.
    fn component_names(&mut self, section: &str) -> HashMap<String, String> {
        let mut names = HashMap::new();
        let Some(Value::Object(map)) = self.doc.get(section) else { return names };
        let mut taken: HashSet<String> = map.keys().cloned().collect();
        for name in map.keys() {
            let clean = sanitise(name);
            if clean == *name {
                names.insert(name.clone(), clean);
                continue;
            }
            let mut candidate = clean.clone();
            let mut suffix = 2;
            while taken.contains(&candidate) {
                candidate = format!("{clean}{suffix}");
                suffix += 1;
            }
            self.note(
                &child(&format!("/{section}"), name),
                format!("`{name}` is not a valid OpenAPI 3 component name; it is renamed `{candidate}`"),
            );
            taken.insert(candidate.clone());
            names.insert(name.clone(), candidate);
        }
        names
    }

    /// A `consumes`/`produces` list as strings; a lone string is taken as a list of one.
    fn media_types(&mut self, value: Option<&Value>, pointer: &str) -> Vec<String> {
        match value {
            None => Vec::new(),
            Some(Value::String(one)) => {
                self.note(pointer, "a media type list is an array; this one string is taken as a list of one");
                vec![one.clone()]
            }
            Some(Value::Array(list)) => {
                let mut out: Vec<String> = Vec::new();
                for (i, item) in list.iter().enumerate() {
                    match item.as_str() {
                        Some(s) if !out.iter().any(|o| o == s) => out.push(s.to_string()),
                        Some(_) => {}
                        None => self.note(&format!("{pointer}/{i}"), "a media type is a string; this one is skipped"),
                    }
                }
                out
            }
            Some(_) => {
                self.note(pointer, "a media type list is an array of strings; this one is ignored");
                Vec::new()
            }
        }
    }

    /// The whole OpenAPI 3.0.3 document, keys in the order the Swagger document has them.
    fn document(&mut self) -> Map<String, Value> {
        let doc = self.doc;
        let mut out = Map::new();
        out.insert("openapi".into(), "3.0.3".into());
        let has_server_keys = ["host", "basePath", "schemes"].iter().any(|k| doc.contains_key(*k));
        if !has_server_keys && !doc.contains_key("info") {
            out.insert("servers".into(), self.servers());
        }
        let mut components_done = false;
        for (key, value) in doc {
            let pointer = child("", key);
            match key.as_str() {
                "swagger" | "consumes" | "produces" => {}
                "info" => {
                    if !value.is_object() {
                        self.note(&pointer, "`info` is a mapping; this one is dropped");
                    } else {
                        out.insert(key.clone(), value.clone());
                    }
                    if !has_server_keys {
                        out.insert("servers".into(), self.servers());
                    }
                }
                "host" | "basePath" | "schemes" => {
                    if !out.contains_key("servers") {
                        out.insert("servers".into(), self.servers());
                    }
                }
                "tags" | "externalDocs" => {
                    let value = self.extension(value);
                    out.insert(key.clone(), value);
                }
                "security" => {
                    let value = self.security(value, &pointer);
                    out.insert(key.clone(), value);
                }
                "paths" => {
                    let value = self.paths(value, &pointer);
                    out.insert(key.clone(), value);
                }
                "definitions" | "parameters" | "responses" | "securityDefinitions" => {
                    if !components_done {
                        components_done = true;
                        let components = self.components();
                        if !components.is_empty() {
                            out.insert("components".into(), Value::Object(components));
                        }
                    }
                }
                k if k.starts_with("x-") => {
                    let value = self.extension(value);
                    out.insert(key.clone(), value);
                }
                _ => self.note(&pointer, format!("`{key}` is not a Swagger 2.0 field; it is dropped")),
            }
        }
        if !out.contains_key("paths") {
            self.note("", "a Swagger 2.0 document has `paths`; an empty one is assumed");
            out.insert("paths".into(), Value::Object(Map::new()));
        }
        if !self.hoisted.is_empty() {
            let components = out.entry("components").or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(components) = components {
                let schemas = components.entry("schemas").or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(schemas) = schemas {
                    schemas.append(&mut self.hoisted);
                }
            }
        }
        out
    }

    /// `servers` from `host`, `basePath` and `schemes`: one server per scheme, or the bare base path.
    fn servers(&mut self) -> Value {
        let doc = self.doc;
        let base = match doc.get("basePath") {
            None => "",
            Some(Value::String(b)) => b.trim_end_matches('/'),
            Some(_) => {
                self.note("/basePath", "`basePath` is a string; it is ignored");
                ""
            }
        };
        let host = match doc.get("host") {
            None => None,
            Some(Value::String(h)) if !h.is_empty() => Some(h.trim_end_matches('/')),
            Some(_) => {
                self.note("/host", "`host` is a non-empty string; it is ignored");
                None
            }
        };
        let Some(host) = host else {
            let url = if base.is_empty() { "/" } else { base };
            return Value::Array(vec![server(url)]);
        };
        let mut schemes: Vec<&str> = Vec::new();
        match doc.get("schemes") {
            None => {}
            Some(Value::Array(list)) => {
                for (i, s) in list.iter().enumerate() {
                    match s.as_str() {
                        Some(s) if !schemes.contains(&s) => schemes.push(s),
                        Some(_) => {}
                        None => self.note(&format!("/schemes/{i}"), "a scheme is a string; this one is skipped"),
                    }
                }
            }
            Some(_) => self.note("/schemes", "`schemes` is an array of strings; it is ignored"),
        }
        if schemes.is_empty() {
            // Swagger 2.0 says: the scheme the document was fetched with, which is not known here.
            schemes.push("https");
        }
        Value::Array(schemes.iter().map(|s| server(&format!("{s}://{host}{base}"))).collect())
    }

    /// `components` from `definitions`, `parameters` (body ones as `requestBodies`; form ones are
    /// inlined where used), `responses` and `securityDefinitions`, in the order the document has them.
    fn components(&mut self) -> Map<String, Value> {
        let doc = self.doc;
        let mut out = Map::new();
        for (key, value) in doc {
            let pointer = child("", key);
            let Value::Object(section) = value else {
                if ["definitions", "parameters", "responses", "securityDefinitions"].contains(&key.as_str()) {
                    self.note(&pointer, format!("`{key}` is a mapping; it is ignored"));
                }
                continue;
            };
            match key.as_str() {
                "definitions" => {
                    let mut schemas = Map::new();
                    for (name, schema) in section {
                        let converted = self.schema(schema, &child(&pointer, name));
                        schemas.insert(self.schema_names[name].clone(), converted);
                    }
                    out.insert("schemas".into(), Value::Object(schemas));
                }
                "parameters" => {
                    let (parameters, bodies) = self.component_parameters(section, &pointer);
                    if !parameters.is_empty() {
                        out.insert("parameters".into(), Value::Object(parameters));
                    }
                    if !bodies.is_empty() {
                        out.insert("requestBodies".into(), Value::Object(bodies));
                    }
                }
                "responses" => {
                    let produces = effective(&self.produces);
                    let mut responses = Map::new();
                    for (name, response) in section {
                        let converted = self.response(response, &child(&pointer, name), &produces);
                        responses.insert(self.response_names[name].clone(), converted);
                    }
                    out.insert("responses".into(), Value::Object(responses));
                }
                "securityDefinitions" => {
                    let mut schemes = Map::new();
                    for (name, scheme) in section {
                        let converted = self.security_scheme(scheme, &child(&pointer, name));
                        schemes.insert(self.security_names[name].clone(), converted);
                    }
                    out.insert("securitySchemes".into(), Value::Object(schemes));
                }
                _ => {}
            }
        }
        out
    }

    /// Global parameters: plain ones as `components/parameters`, body ones as `components/requestBodies`.
    fn component_parameters(
        &mut self,
        section: &Map<String, Value>,
        pointer: &str,
    ) -> (Map<String, Value>, Map<String, Value>) {
        let mut parameters = Map::new();
        let mut bodies = Map::new();
        let consumes = effective(&self.consumes);
        for (name, param) in section {
            let here = child(pointer, name);
            let new_name = self.parameter_names[name].clone();
            let Value::Object(map) = param else {
                self.note(&here, "a parameter is a mapping; this one is dropped");
                continue;
            };
            if let Some(Value::String(r)) = map.get("$ref") {
                let r = self.rewrite_ref(r, &child(&here, "$ref"));
                parameters.insert(new_name, reference(r));
                continue;
            }
            match map.get("in").and_then(Value::as_str) {
                Some("body") => {
                    let body = self.request_body(map, &here, &consumes);
                    bodies.insert(new_name, body);
                }
                Some("formData") => {}
                _ => {
                    if let Some(Keyed { param: Param::Plain(p), .. }) = self.param_object(map, &here) {
                        parameters.insert(new_name, p);
                    }
                }
            }
        }
        (parameters, bodies)
    }

    /// An operation's own media types if it names some (even an empty list), else the global ones.
    fn op_media_types(&mut self, op: &Map<String, Value>, key: &str, pointer: &str) -> Vec<String> {
        match op.get(key) {
            Some(v) => self.media_types(Some(v), &child(pointer, key)),
            None if key == "consumes" => self.consumes.clone(),
            None => self.produces.clone(),
        }
    }

    /// `paths`, each path item converted.
    fn paths(&mut self, paths: &Value, pointer: &str) -> Value {
        let Value::Object(paths) = paths else {
            self.note(pointer, "`paths` is a mapping; it is taken as empty");
            return Value::Object(Map::new());
        };
        let mut out = Map::new();
        for (path, item) in paths {
            let here = child(pointer, path);
            if path.starts_with("x-") {
                out.insert(path.clone(), self.extension(item));
                continue;
            }
            if !path.starts_with('/') {
                self.note(&here, "a path starts with `/`; this one does not");
            }
            let Value::Object(item) = item else {
                self.note(&here, "a path item is a mapping; this one is dropped");
                continue;
            };
            let converted = self.path_item(item, &here);
            out.insert(path.clone(), Value::Object(converted));
        }
        Value::Object(out)
    }

    /// One path item: its own non-body parameters stay on it, its body and form parameters go to
    /// each operation that does not override them.
    fn path_item(&mut self, item: &Map<String, Value>, pointer: &str) -> Map<String, Value> {
        if let Some(Value::String(r)) = item.get("$ref") {
            if let Some(Value::Object(target)) = r.strip_prefix('#').and_then(|f| self.resolve(f)) {
                if r.starts_with("#/paths/") && !target.contains_key("$ref") {
                    // Another path of this document: its operations, converted here, under this
                    // item's own (which win where both have one).
                    let mut out = self.path_item_own(target, &r[1..], false);
                    let own = self.path_item_own(item, pointer, true);
                    out.extend(own);
                    return out;
                }
            }
        }
        self.path_item_own(item, pointer, false)
    }

    /// One path item as written, its `$ref` rewritten (or left out: `skip_ref`).
    fn path_item_own(&mut self, item: &Map<String, Value>, pointer: &str, skip_ref: bool) -> Map<String, Value> {
        let shared = match item.get("parameters") {
            Some(list) => self.param_list(list, &child(pointer, "parameters")),
            None => Vec::new(),
        };
        let mut out = Map::new();
        for (key, value) in item {
            let here = child(pointer, key);
            match key.as_str() {
                "$ref" if skip_ref => {}
                "$ref" => {
                    let value = match value.as_str() {
                        Some(r) => Value::String(self.rewrite_ref(r, &here)),
                        None => value.clone(),
                    };
                    out.insert(key.clone(), value);
                }
                "parameters" => {
                    let plain: Vec<Value> = shared
                        .iter()
                        .filter_map(|k| match &k.param {
                            Param::Plain(p) => Some(p.clone()),
                            _ => None,
                        })
                        .collect();
                    if !plain.is_empty() {
                        out.insert(key.clone(), Value::Array(plain));
                    }
                }
                m if METHODS.contains(&m) => {
                    let Value::Object(op) = value else {
                        self.note(&here, "an operation is a mapping; this one is dropped");
                        continue;
                    };
                    let converted = self.operation(op, &here, &shared);
                    out.insert(key.clone(), Value::Object(converted));
                }
                k if k.starts_with("x-") => {
                    let value = self.extension(value);
                    out.insert(key.clone(), value);
                }
                _ => self.note(&here, format!("`{key}` is not a Swagger 2.0 path item field; it is dropped")),
            }
        }
        out
    }

    /// One operation: parameters split into parameters and a request body, responses given content.
    fn operation(&mut self, op: &Map<String, Value>, pointer: &str, shared: &[Keyed]) -> Map<String, Value> {
        let own = match op.get("parameters") {
            Some(list) => self.param_list(list, &child(pointer, "parameters")),
            None => Vec::new(),
        };
        let consumes = self.op_media_types(op, "consumes", pointer);
        let produces = self.op_media_types(op, "produces", pointer);
        // The path item's parameters apply unless the operation has one of the same name and location.
        let inherited: Vec<&Keyed> = shared
            .iter()
            .filter(|s| match &s.key {
                Some(key) => !own.iter().any(|o| o.key.as_ref() == Some(key)),
                None => true,
            })
            .collect();
        let mut request_body = self.operation_body(&own, &inherited, &consumes, pointer);

        let mut out = Map::new();
        for (key, value) in op {
            let here = child(pointer, key);
            match key.as_str() {
                "consumes" | "produces" | "schemes" => {}
                "parameters" => {
                    let plain: Vec<Value> = own
                        .iter()
                        .filter_map(|k| match &k.param {
                            Param::Plain(p) => Some(p.clone()),
                            _ => None,
                        })
                        .collect();
                    if !plain.is_empty() {
                        out.insert(key.clone(), Value::Array(plain));
                    }
                    if let Some(body) = request_body.take() {
                        out.insert("requestBody".into(), body);
                    }
                }
                "responses" => {
                    if let Some(body) = request_body.take() {
                        out.insert("requestBody".into(), body);
                    }
                    let responses = self.responses(value, &here, &produces);
                    out.insert(key.clone(), responses);
                }
                "security" => {
                    let value = self.security(value, &here);
                    out.insert(key.clone(), value);
                }
                "tags" | "summary" | "description" | "externalDocs" | "operationId" | "deprecated" => {
                    out.insert(key.clone(), value.clone());
                }
                k if k.starts_with("x-") => {
                    let value = self.extension(value);
                    out.insert(key.clone(), value);
                }
                _ => self.note(&here, format!("`{key}` is not a Swagger 2.0 operation field; it is dropped")),
            }
        }
        if let Some(body) = request_body.take() {
            out.insert("requestBody".into(), body);
        }
        if !out.contains_key("responses") {
            self.note(pointer, "an operation needs `responses`; this one has none, so a default response is assumed");
            let mut default = Map::new();
            default.insert("description".into(), "Default response".into());
            let mut responses = Map::new();
            responses.insert("default".into(), Value::Object(default));
            out.insert("responses".into(), Value::Object(responses));
        }
        out
    }

    /// The operation's request body from its own and inherited body, file and form parameters.
    fn operation_body(
        &mut self,
        own: &[Keyed],
        inherited: &[&Keyed],
        consumes: &[String],
        pointer: &str,
    ) -> Option<Value> {
        let all: Vec<&Keyed> = own.iter().chain(inherited.iter().copied()).collect();
        let bodies: Vec<&Keyed> = all.iter().copied().filter(|k| matches!(k.param, Param::Body { .. })).collect();
        let files: Vec<&Keyed> = all.iter().copied().filter(|k| matches!(k.param, Param::File { .. })).collect();
        // Form fields: the path item's first, then the operation's, as swagger2openapi orders them.
        let fields: Vec<&FormField> = inherited
            .iter()
            .copied()
            .chain(own.iter())
            .filter_map(|k| match &k.param {
                Param::Form(f) => Some(f),
                _ => None,
            })
            .collect();
        let kinds = usize::from(!bodies.is_empty()) + usize::from(!files.is_empty()) + usize::from(!fields.is_empty());
        if kinds > 1 || bodies.len() > 1 || files.len() > 1 {
            self.note(
                pointer,
                "an operation has at most one body parameter, and not both body and formData parameters; \
                 the first body is kept",
            );
        }
        if let Some(body) = bodies.first() {
            let Param::Body { source, pointer: at, component } = &body.param else { return None };
            let media_types = effective(consumes);
            if let Some(name) = component {
                if media_types == effective(&self.consumes) {
                    return Some(reference(format!("#/components/requestBodies/{name}")));
                }
            }
            return Some(self.request_body(source, at, &media_types));
        }
        if let Some(file) = files.first() {
            let Param::File { required } = file.param else { return None };
            let mut media = Map::new();
            media.insert("schema".into(), binary());
            let mut content = Map::new();
            content.insert("application/octet-stream".into(), Value::Object(media));
            let mut body = Map::new();
            body.insert("content".into(), Value::Object(content));
            if required {
                body.insert("required".into(), true.into());
            }
            return Some(Value::Object(body));
        }
        if fields.is_empty() {
            return None;
        }
        let has_file = fields.iter().any(|f| f.file);
        let media_type = if consumes.iter().any(|c| c == MULTIPART) || has_file {
            if has_file && !consumes.is_empty() && !consumes.iter().any(|c| c == MULTIPART) {
                self.note(pointer, "a file upload is sent as multipart/form-data, which `consumes` does not list");
            }
            MULTIPART
        } else {
            if !consumes.is_empty() && !consumes.iter().any(|c| c == URLENCODED) {
                self.note(pointer, "formData parameters, but `consumes` lists neither form media type");
            }
            URLENCODED
        };
        let mut properties = Map::new();
        let mut required = Vec::new();
        let mut encoding = Map::new();
        for field in &fields {
            properties.insert(field.name.clone(), field.schema.clone());
            if field.required {
                required.push(Value::String(field.name.clone()));
            }
            if media_type == URLENCODED && !field.encoding.is_empty() {
                encoding.insert(field.name.clone(), Value::Object(field.encoding.clone()));
            }
        }
        let mut schema = Map::new();
        schema.insert("type".into(), "object".into());
        schema.insert("properties".into(), Value::Object(properties));
        let any_required = !required.is_empty();
        if any_required {
            schema.insert("required".into(), Value::Array(required));
        }
        let mut media = Map::new();
        media.insert("schema".into(), Value::Object(schema));
        if !encoding.is_empty() {
            media.insert("encoding".into(), Value::Object(encoding));
        }
        let mut content = Map::new();
        content.insert(media_type.into(), Value::Object(media));
        let mut body = Map::new();
        body.insert("content".into(), Value::Object(content));
        if any_required {
            body.insert("required".into(), true.into());
        }
        Some(Value::Object(body))
    }

    /// A `parameters` list: each entry sorted, with notes for slips and duplicates (the first is kept).
    fn param_list(&mut self, list: &Value, pointer: &str) -> Vec<Keyed> {
        let Value::Array(list) = list else {
            self.note(pointer, "`parameters` is an array; this one is ignored");
            return Vec::new();
        };
        let mut out: Vec<Keyed> = Vec::new();
        for (i, param) in list.iter().enumerate() {
            let here = format!("{pointer}/{i}");
            let Some(keyed) = self.param(param, &here) else { continue };
            if let Some((name, location)) = &keyed.key {
                if out.iter().any(|o| o.key.as_ref() == keyed.key.as_ref()) {
                    self.note(
                        &here,
                        format!("parameter `{name}` in {location} is listed twice here; the first is kept"),
                    );
                    continue;
                }
            }
            out.push(keyed);
        }
        out
    }

    /// One entry of a `parameters` list, references to global parameters followed.
    fn param(&mut self, param: &Value, pointer: &str) -> Option<Keyed> {
        let Value::Object(map) = param else {
            self.note(pointer, "a parameter is a mapping; this one is dropped");
            return None;
        };
        if let Some(r) = map.get("$ref") {
            let Some(r) = r.as_str() else {
                self.note(pointer, "`$ref` is a string; this parameter is dropped");
                return None;
            };
            let here = child(pointer, "$ref");
            let Some(name) = r.strip_prefix("#/parameters/").filter(|n| !n.contains('/')) else {
                if r.starts_with("#/definitions/") {
                    self.note(&here, "a parameter `$ref` points at a definition, not a parameter; it is dropped");
                    return None;
                }
                if let Some(fragment) = r.strip_prefix('#') {
                    if let Some(Value::Object(target)) = self.resolve(fragment) {
                        if target.contains_key("in") {
                            // A parameter elsewhere in the document (often another operation's): taken as if written here.
                            return self.param_object(target, fragment);
                        }
                    }
                    self.note(&here, "this parameter `$ref` points at no parameter; it is dropped");
                    return None;
                }
                return Some(Keyed { key: None, param: Param::Plain(reference(self.rewrite_ref(r, &here))) });
            };
            let name = unescape(name);
            let target = self.doc.get("parameters").and_then(|p| p.get(&name));
            let Some(Value::Object(target)) = target else {
                self.note(&here, format!("there is no parameter `{name}` under `parameters`"));
                return Some(Keyed { key: None, param: Param::Plain(reference(self.rewrite_ref(r, &here))) });
            };
            let key = param_key(target);
            let target_pointer = child("/parameters", &name);
            let new_name = self.parameter_names[&name].clone();
            return match target.get("in").and_then(Value::as_str) {
                Some("body") => Some(Keyed {
                    key,
                    param: Param::Body { source: target.clone(), pointer: target_pointer, component: Some(new_name) },
                }),
                Some("formData") => self.param_object(target, &target_pointer),
                _ if target.get("type").and_then(Value::as_str) == Some("file") => {
                    self.param_object(target, &target_pointer)
                }
                _ => Some(Keyed { key, param: Param::Plain(reference(format!("#/components/parameters/{new_name}"))) }),
            };
        }
        self.param_object(map, pointer)
    }

    /// One parameter object (not a reference).
    fn param_object(&mut self, map: &Map<String, Value>, pointer: &str) -> Option<Keyed> {
        let Some(location) = map.get("in").and_then(Value::as_str) else {
            self.note(pointer, "a parameter is a `$ref` or has `in`; this one has neither and is dropped");
            return None;
        };
        let Some(name) = map.get("name").and_then(Value::as_str) else {
            self.note(pointer, "a parameter has a `name`; this one has none and is dropped");
            return None;
        };
        let key = Some((name.to_string(), location.to_string()));
        match location {
            "body" => Some(Keyed {
                key,
                param: Param::Body { source: map.clone(), pointer: pointer.to_string(), component: None },
            }),
            "formData" => Some(Keyed { key, param: Param::Form(self.form_field(map, name, pointer)) }),
            "query" | "header" | "path" => {
                if map.get("type").and_then(Value::as_str) == Some("file") {
                    self.note(pointer, "`type: file` is for formData parameters; this one is taken as a raw body");
                    let required = map.get("required") == Some(&Value::Bool(true));
                    return Some(Keyed { key, param: Param::File { required } });
                }
                Some(Keyed { key, param: Param::Plain(self.plain_param(map, location, pointer)) })
            }
            other => {
                self.note(
                    &child(pointer, "in"),
                    format!("`in: {other}` is not a Swagger 2.0 location; the parameter is dropped"),
                );
                None
            }
        }
    }

    /// A query, header or path parameter: its type keys gathered into `schema`, `collectionFormat`
    /// turned into `style`/`explode`, `x-example` into `example`.
    fn plain_param(&mut self, map: &Map<String, Value>, location: &str, pointer: &str) -> Value {
        let has_type = map.contains_key("type");
        let mut out = Map::new();
        let mut schema_done = false;
        for (key, value) in map {
            let here = child(pointer, key);
            match key.as_str() {
                "name" | "in" | "description" | "required" | "allowEmptyValue" | "deprecated" | "example" => {
                    out.insert(key.clone(), value.clone());
                }
                "x-example" => {
                    out.insert("example".into(), value.clone());
                }
                "x-deprecated" if value.is_boolean() => {
                    out.insert("deprecated".into(), value.clone());
                }
                "collectionFormat" => {}
                "schema" if !has_type => {
                    self.note(&here, "a non-body parameter has `type`, not `schema`; the schema is used as it is");
                    let schema = self.schema(value, &here);
                    out.insert("schema".into(), schema);
                    schema_done = true;
                }
                k if TYPE_KEYS.contains(&k) => {
                    if !schema_done {
                        schema_done = true;
                        let schema = self.type_schema(map, pointer);
                        out.insert("schema".into(), schema);
                        for (k, v) in self.style(map, location, pointer) {
                            out.insert(k.into(), v);
                        }
                    }
                }
                k if k.starts_with("x-") => {
                    let value = self.extension(value);
                    out.insert(key.clone(), value);
                }
                _ => self.note(&here, format!("`{key}` is not a Swagger 2.0 parameter field; it is dropped")),
            }
        }
        if !schema_done {
            self.note(pointer, "a non-body parameter needs a `type`; this one has none, so `string` is assumed");
            let mut schema = Map::new();
            schema.insert("type".into(), "string".into());
            out.insert("schema".into(), Value::Object(schema));
        }
        if location == "path" && map.get("required") != Some(&Value::Bool(true)) {
            self.note(pointer, "a path parameter is always required; `required: true` is set");
            out.insert("required".into(), true.into());
        }
        Value::Object(out)
    }

    /// The schema of a parameter, header or items object: its type keys, in the order written.
    fn type_schema(&mut self, map: &Map<String, Value>, pointer: &str) -> Value {
        let outer = map.get("collectionFormat").and_then(Value::as_str);
        let mut schema = Map::new();
        for (key, value) in map {
            if !TYPE_KEYS.contains(&key.as_str()) {
                continue;
            }
            if key == "items" {
                let items = self.items(value, outer, &child(pointer, "items"));
                schema.insert(key.clone(), items);
            } else {
                schema.insert(key.clone(), value.clone());
            }
        }
        if schema.get("type").and_then(Value::as_str) == Some("array") && !schema.contains_key("items") {
            self.note(pointer, "`type: array` needs `items`; this one has none, so any item is allowed");
        }
        self.schema(&Value::Object(schema), pointer)
    }

    /// A Swagger 2.0 items object as a schema; a nested `collectionFormat` has no OpenAPI 3 equivalent.
    fn items(&mut self, items: &Value, outer: Option<&str>, pointer: &str) -> Value {
        let Value::Object(map) = items else { return items.clone() };
        if map.contains_key("$ref") {
            return self.schema(items, pointer);
        }
        if let Some(inner) = map.get("collectionFormat").and_then(Value::as_str) {
            if map.get("type").and_then(Value::as_str) == Some("array") && Some(inner) != outer {
                self.note(
                    &child(pointer, "collectionFormat"),
                    "a nested collectionFormat has no OpenAPI 3 equivalent; it is dropped",
                );
            }
        }
        let mut out = Map::new();
        for (key, value) in map {
            match key.as_str() {
                "collectionFormat" => {}
                "items" => {
                    let inner = map.get("collectionFormat").and_then(Value::as_str);
                    let value = self.items(value, inner, &child(pointer, "items"));
                    out.insert(key.clone(), value);
                }
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        out.into()
    }

    /// `style`/`explode` for an array parameter or header, from `collectionFormat` (default `csv`).
    fn style(&mut self, map: &Map<String, Value>, location: &str, pointer: &str) -> Vec<(&'static str, Value)> {
        let here = child(pointer, "collectionFormat");
        let written = map.get("collectionFormat");
        let is_array = map.get("type").and_then(Value::as_str) == Some("array");
        if !is_array {
            if written.is_some() {
                self.note(&here, "`collectionFormat` is for `type: array`; it is ignored");
            }
            return Vec::new();
        }
        let format = match written {
            None => "csv",
            Some(Value::String(f)) => f.as_str(),
            Some(_) => {
                self.note(&here, "`collectionFormat` is a string; csv is assumed");
                "csv"
            }
        };
        let query = location == "query";
        match format {
            "csv" if query => vec![("style", "form".into()), ("explode", false.into())],
            "csv" => vec![("style", "simple".into())],
            "ssv" if query => vec![("style", "spaceDelimited".into())],
            "pipes" if query => vec![("style", "pipeDelimited".into())],
            "ssv" | "pipes" => {
                self.note(&here, format!("collectionFormat {format} has no OpenAPI 3 equivalent in {location}"));
                Vec::new()
            }
            "multi" if query => vec![("style", "form".into()), ("explode", true.into())],
            "multi" => {
                self.note(&here, format!("collectionFormat multi is for query and formData, not {location}"));
                vec![("explode", true.into())]
            }
            "tsv" => {
                self.note(&here, "collectionFormat tsv has no OpenAPI 3 equivalent; kept as x-collectionFormat");
                vec![("x-collectionFormat", "tsv".into())]
            }
            other => {
                self.note(&here, format!("`{other}` is not a Swagger 2.0 collectionFormat; it is ignored"));
                Vec::new()
            }
        }
    }

    /// A formData parameter as a form property; `type: file` becomes a binary string.
    fn form_field(&mut self, map: &Map<String, Value>, name: &str, pointer: &str) -> FormField {
        let file = map.get("type").and_then(Value::as_str) == Some("file");
        let mut schema = Map::new();
        for (key, value) in map {
            match key.as_str() {
                "name" | "in" | "required" | "collectionFormat" | "allowEmptyValue" => {}
                "description" | "example" => {
                    schema.insert(key.clone(), value.clone());
                }
                "x-example" => {
                    schema.insert("example".into(), value.clone());
                }
                "type" if file => {
                    schema.insert("type".into(), "string".into());
                    schema.insert("format".into(), "binary".into());
                }
                "format" if file => {}
                "items" => {
                    let outer = map.get("collectionFormat").and_then(Value::as_str);
                    let items = self.items(value, outer, &child(pointer, "items"));
                    schema.insert(key.clone(), items);
                }
                k if TYPE_KEYS.contains(&k) || k.starts_with("x-") => {
                    schema.insert(key.clone(), value.clone());
                }
                _ => self
                    .note(&child(pointer, key), format!("`{key}` is not a Swagger 2.0 parameter field; it is dropped")),
            }
        }
        if !map.contains_key("type") {
            self.note(pointer, "a formData parameter needs a `type`; this one has none, so `string` is assumed");
            schema.insert("type".into(), "string".into());
        }
        let mut encoding = Map::new();
        for (k, v) in self.style(map, "query", pointer) {
            if k.starts_with("x-") {
                // No style for it: the mark stays with the property, as swagger2openapi leaves it.
                schema.insert(k.into(), v);
            } else {
                encoding.insert(k.into(), v);
            }
        }
        let schema = self.schema(&Value::Object(schema), pointer);
        FormField {
            name: name.to_string(),
            schema,
            required: map.get("required") == Some(&Value::Bool(true)),
            file,
            encoding,
        }
    }

    /// An `in: body` parameter as a request body with one entry per media type.
    fn request_body(&mut self, map: &Map<String, Value>, pointer: &str, consumes: &[String]) -> Value {
        let schema = match map.get("schema") {
            Some(s) => self.schema(s, &child(pointer, "schema")),
            None => {
                self.note(pointer, "a body parameter needs a `schema`; this one has none, so any body is allowed");
                Value::Object(Map::new())
            }
        };
        let example = map.get("x-example");
        let examples = match map.get("x-examples") {
            Some(Value::Object(e)) if e.keys().all(|k| k.contains('/')) => Some(e),
            _ => None,
        };
        let mut content = Map::new();
        for media_type in consumes {
            let mut media = Map::new();
            media.insert("schema".into(), schema.clone());
            if let Some(e) = examples.and_then(|e| e.get(media_type)).or(example) {
                media.insert("example".into(), e.clone());
            }
            content.insert(media_type.clone(), Value::Object(media));
        }
        for (media_type, value) in examples.into_iter().flatten() {
            if !content.contains_key(media_type) {
                let mut media = Map::new();
                media.insert("schema".into(), schema.clone());
                media.insert("example".into(), value.clone());
                content.insert(media_type.clone(), Value::Object(media));
            }
        }
        let mut out = Map::new();
        if let Some(description) = map.get("description") {
            out.insert("description".into(), description.clone());
        }
        out.insert("content".into(), Value::Object(content));
        for (key, value) in map {
            match key.as_str() {
                "name" | "in" | "description" | "schema" | "x-example" => {}
                "x-examples" if examples.is_some() => {}
                "required" => {
                    out.insert(key.clone(), value.clone());
                }
                k if k.starts_with("x-") => {
                    let value = self.extension(value);
                    out.insert(key.clone(), value);
                }
                _ => self.note(
                    &child(pointer, key),
                    format!("`{key}` is not a Swagger 2.0 body parameter field; it is dropped"),
                ),
            }
        }
        Value::Object(out)
    }

    /// An operation's `responses`.
    fn responses(&mut self, responses: &Value, pointer: &str, produces: &[String]) -> Value {
        let Value::Object(map) = responses else {
            self.note(pointer, "`responses` is a mapping; it is taken as empty");
            return Value::Object(Map::new());
        };
        let produces = effective(produces);
        let mut out = Map::new();
        for (code, response) in map {
            let here = child(pointer, code);
            if code.starts_with("x-") {
                out.insert(code.clone(), self.extension(response));
                continue;
            }
            if response.is_null() {
                self.note(&here, "no response is given here; the entry is dropped");
                continue;
            }
            let converted = self.response(response, &here, &produces);
            out.insert(code.clone(), converted);
        }
        if out.keys().all(|k| k.starts_with("x-")) {
            self.note(pointer, "`responses` lists no response");
        }
        Value::Object(out)
    }

    /// One response: `schema` and `examples` become `content`, headers get schemas.
    fn response(&mut self, response: &Value, pointer: &str, produces: &[String]) -> Value {
        let Value::Object(map) = response else {
            self.note(pointer, "a response is a mapping; this one is kept as written");
            return response.clone();
        };
        if let Some(fragment) = map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
            if !fragment.starts_with("/responses/") && !fragment.starts_with("/definitions/") {
                match self.resolve(fragment) {
                    // A response elsewhere in the document: taken as if written here.
                    Some(target @ Value::Object(t)) if !t.contains_key("$ref") => {
                        return self.response(target, fragment, produces);
                    }
                    _ => self.note(pointer, "this response `$ref` points at no response"),
                }
            }
        }
        if let Some(r) = map.get("$ref") {
            let mut out = Map::new();
            for (key, value) in map {
                if key == "$ref" {
                    let here = child(pointer, "$ref");
                    let r = match r.as_str() {
                        Some(r) => {
                            if r.starts_with("#/definitions/") {
                                self.note(&here, "a response reference points at a definition, not a response");
                            }
                            Value::String(self.rewrite_ref(r, &here))
                        }
                        None => r.clone(),
                    };
                    out.insert(key.clone(), r);
                } else {
                    out.insert(key.clone(), value.clone());
                }
            }
            return Value::Object(out);
        }
        if !map.contains_key("description") {
            self.note(pointer, "a response needs a `description`; this one has none");
        }
        let examples = match map.get("examples") {
            None => None,
            Some(Value::Object(e)) => Some(e),
            Some(_) => {
                self.note(&child(pointer, "examples"), "`examples` is a mapping of media types; it is ignored");
                None
            }
        };
        let mut out = Map::new();
        let mut content_done = false;
        for (key, value) in map {
            let here = child(pointer, key);
            match key.as_str() {
                "description" => {
                    out.insert(key.clone(), value.clone());
                }
                "schema" | "examples" => {
                    if content_done {
                        continue;
                    }
                    content_done = true;
                    let content = self.response_content(map.get("schema"), examples, pointer, produces);
                    if !content.is_empty() {
                        out.insert("content".into(), Value::Object(content));
                    }
                }
                "headers" => {
                    let Value::Object(headers) = value else {
                        self.note(&here, "`headers` is a mapping; it is dropped");
                        continue;
                    };
                    let mut converted = Map::new();
                    for (name, header) in headers {
                        let header = self.header(header, &child(&here, name));
                        converted.insert(name.clone(), header);
                    }
                    out.insert(key.clone(), Value::Object(converted));
                }
                k if k.starts_with("x-") => {
                    let value = self.extension(value);
                    out.insert(key.clone(), value);
                }
                _ => self.note(&here, format!("`{key}` is not a Swagger 2.0 response field; it is dropped")),
            }
        }
        Value::Object(out)
    }

    /// A response's `content`: the schema under each produced media type, examples under theirs.
    fn response_content(
        &mut self,
        schema: Option<&Value>,
        examples: Option<&Map<String, Value>>,
        pointer: &str,
        produces: &[String],
    ) -> Map<String, Value> {
        let schema = schema.map(|s| self.schema(s, &child(pointer, "schema")));
        let mut content = Map::new();
        if let Some(schema) = &schema {
            for media_type in produces {
                let mut media = Map::new();
                media.insert("schema".into(), schema.clone());
                content.insert(media_type.clone(), Value::Object(media));
            }
        }
        for (media_type, example) in examples.into_iter().flatten() {
            if !media_type.contains('/') {
                self.note(
                    &child(&child(pointer, "examples"), media_type),
                    "`examples` is keyed by media type; this entry is dropped",
                );
                continue;
            }
            let entry = content.entry(media_type.clone()).or_insert_with(|| {
                let mut media = Map::new();
                if let Some(schema) = &schema {
                    media.insert("schema".into(), schema.clone());
                }
                Value::Object(media)
            });
            if let Value::Object(media) = entry {
                media.insert("example".into(), example.clone());
            }
        }
        content
    }

    /// A response header: its type keys become `schema`.
    fn header(&mut self, header: &Value, pointer: &str) -> Value {
        let Value::Object(map) = header else {
            self.note(pointer, "a header is a mapping; this one is kept as written");
            return header.clone();
        };
        if map.contains_key("$ref") {
            return self.extension(header);
        }
        let mut out = Map::new();
        let mut schema_done = false;
        for (key, value) in map {
            let here = child(pointer, key);
            match key.as_str() {
                "description" | "example" => {
                    out.insert(key.clone(), value.clone());
                }
                "x-example" => {
                    out.insert("example".into(), value.clone());
                }
                "collectionFormat" => {}
                k if TYPE_KEYS.contains(&k) => {
                    if !schema_done {
                        schema_done = true;
                        let schema = self.type_schema(map, pointer);
                        out.insert("schema".into(), schema);
                        let style = self.style(map, "header", pointer);
                        for (k, v) in style {
                            out.insert(k.into(), v);
                        }
                    }
                }
                k if k.starts_with("x-") => {
                    let value = self.extension(value);
                    out.insert(key.clone(), value);
                }
                _ => self.note(&here, format!("`{key}` is not a Swagger 2.0 header field; it is dropped")),
            }
        }
        if !schema_done {
            self.note(pointer, "a header needs a `type`; this one has none, so `string` is assumed");
            let mut schema = Map::new();
            schema.insert("type".into(), "string".into());
            out.insert("schema".into(), Value::Object(schema));
        }
        Value::Object(out)
    }

    /// A security scheme: `basic` becomes HTTP basic, an OAuth2 `flow` becomes `flows`.
    fn security_scheme(&mut self, scheme: &Value, pointer: &str) -> Value {
        let Value::Object(map) = scheme else {
            self.note(pointer, "a security scheme is a mapping; this one is kept as written");
            return scheme.clone();
        };
        match map.get("type").and_then(Value::as_str) {
            Some("basic") => {
                let mut out = Map::new();
                for (key, value) in map {
                    match key.as_str() {
                        "type" => {
                            out.insert("type".into(), "http".into());
                            out.insert("scheme".into(), "basic".into());
                        }
                        "description" => {
                            out.insert(key.clone(), value.clone());
                        }
                        k if k.starts_with("x-") => {
                            out.insert(key.clone(), value.clone());
                        }
                        _ => {}
                    }
                }
                Value::Object(out)
            }
            Some("oauth2") => self.oauth2(map, pointer),
            Some("apiKey") => scheme.clone(),
            _ => {
                self.note(pointer, "a security scheme's `type` is basic, apiKey or oauth2; it is kept as written");
                scheme.clone()
            }
        }
    }

    /// An OAuth2 scheme: `flow` renamed (application → clientCredentials, accessCode →
    /// authorizationCode) and given its URLs and scopes.
    fn oauth2(&mut self, map: &Map<String, Value>, pointer: &str) -> Value {
        let flow = map.get("flow").and_then(Value::as_str);
        let (name, wants_authorization, wants_token) = match flow {
            Some("implicit") => ("implicit", true, false),
            Some("password") => ("password", false, true),
            Some("application") => ("clientCredentials", false, true),
            Some("accessCode") => ("authorizationCode", true, true),
            _ => {
                self.note(
                    pointer,
                    "an oauth2 scheme's `flow` is implicit, password, application or accessCode; it has no flows",
                );
                ("", false, false)
            }
        };
        let mut flow_object = Map::new();
        for (key, wanted) in [("authorizationUrl", wants_authorization), ("tokenUrl", wants_token)] {
            match map.get(key) {
                Some(url) => {
                    flow_object.insert(key.into(), url.clone());
                }
                None if wanted => self.note(pointer, format!("an oauth2 {} flow needs `{key}`", flow.unwrap_or(""))),
                None => {}
            }
        }
        flow_object.insert("scopes".into(), map.get("scopes").cloned().unwrap_or_else(|| Value::Object(Map::new())));
        let mut out = Map::new();
        for (key, value) in map {
            match key.as_str() {
                "type" | "description" => {
                    out.insert(key.clone(), value.clone());
                }
                "flow" => {
                    let mut flows = Map::new();
                    if !name.is_empty() {
                        flows.insert(name.into(), Value::Object(flow_object.clone()));
                    }
                    out.insert("flows".into(), Value::Object(flows));
                }
                k if k.starts_with("x-") => {
                    out.insert(key.clone(), value.clone());
                }
                _ => {}
            }
        }
        if !out.contains_key("flows") {
            out.insert("flows".into(), Value::Object(Map::new()));
        }
        Value::Object(out)
    }

    /// A `security` list with scheme names renamed as their definitions were.
    fn security(&mut self, security: &Value, pointer: &str) -> Value {
        let Value::Array(list) = security else {
            self.note(pointer, "`security` is an array; it is kept as written");
            return security.clone();
        };
        let mut out = Vec::new();
        for requirement in list {
            let Value::Object(map) = requirement else {
                out.push(requirement.clone());
                continue;
            };
            let mut renamed = Map::new();
            for (name, scopes) in map {
                let name = self.security_names.get(name).cloned().unwrap_or_else(|| name.clone());
                renamed.insert(name, scopes.clone());
            }
            out.push(Value::Object(renamed));
        }
        Value::Array(out)
    }

    /// A schema, and every schema inside it: references rewritten, `x-nullable` as `nullable`,
    /// `type: file` as a binary string, a string `discriminator` as `{propertyName}`.
    fn schema(&mut self, schema: &Value, pointer: &str) -> Value {
        let Value::Object(map) = schema else { return schema.clone() };
        if let Some(r) = map.get("$ref") {
            let here = child(pointer, "$ref");
            let r = match r.as_str() {
                Some(r) => Value::String(self.schema_ref(r, &here)),
                None => r.clone(),
            };
            let nullable = map.get("x-nullable") == Some(&Value::Bool(true));
            let mut out = Map::new();
            for (key, value) in map {
                match key.as_str() {
                    // `$ref` siblings are ignored in OpenAPI 3.0, so a nullable reference is wrapped.
                    "$ref" if nullable => {
                        let mut inner = Map::new();
                        inner.insert("$ref".into(), r.clone());
                        out.insert("allOf".into(), Value::Array(vec![Value::Object(inner)]));
                    }
                    "$ref" => {
                        out.insert(key.clone(), r.clone());
                    }
                    "x-nullable" if value.is_boolean() => {
                        out.insert("nullable".into(), value.clone());
                    }
                    _ => {
                        out.insert(key.clone(), value.clone());
                    }
                }
            }
            return Value::Object(out);
        }
        let mut out = Map::new();
        let mut lifted_required = Vec::new();
        let file = map.get("type").and_then(Value::as_str) == Some("file");
        for (key, value) in map {
            let here = child(pointer, key);
            match key.as_str() {
                "x-nullable" if value.is_boolean() => {
                    out.insert("nullable".into(), value.clone());
                }
                "type" if file => {
                    out.insert("type".into(), "string".into());
                    out.insert("format".into(), "binary".into());
                }
                "format" if file => {}
                "type" => self.schema_type(value, &here, &mut out),
                "discriminator" => {
                    let value = match value {
                        Value::String(property) => {
                            let mut d = Map::new();
                            d.insert("propertyName".into(), property.clone().into());
                            Value::Object(d)
                        }
                        _ => value.clone(),
                    };
                    out.insert(key.clone(), value);
                }
                "required" if value.is_boolean() => {
                    self.note(&here, "`required` in a schema is a list of property names; this boolean is moved");
                }
                "properties" => {
                    let Value::Object(properties) = value else {
                        out.insert(key.clone(), value.clone());
                        continue;
                    };
                    let mut converted = Map::new();
                    for (name, property) in properties {
                        if property.get("required") == Some(&Value::Bool(true)) {
                            lifted_required.push(Value::String(name.clone()));
                        }
                        let property = self.schema(property, &child(&here, name));
                        converted.insert(name.clone(), property);
                    }
                    out.insert(key.clone(), Value::Object(converted));
                }
                "items" => {
                    let value = match value {
                        Value::Array(list) => {
                            self.note(&here, "`items` is one schema in OpenAPI 3; a list of schemas becomes anyOf");
                            match list.len() {
                                0 => Value::Object(Map::new()),
                                1 => self.schema(&list[0], &format!("{here}/0")),
                                _ => {
                                    let mut any = Map::new();
                                    let all = self.schema_list(list, &here);
                                    any.insert("anyOf".into(), all);
                                    Value::Object(any)
                                }
                            }
                        }
                        _ => self.schema(value, &here),
                    };
                    out.insert(key.clone(), value);
                }
                "patternProperties" if value.is_object() => {
                    let mut converted = Map::new();
                    for (pattern, property) in value.as_object().into_iter().flatten() {
                        let property = self.schema(property, &child(&here, pattern));
                        converted.insert(pattern.clone(), property);
                    }
                    out.insert(key.clone(), Value::Object(converted));
                }
                "additionalProperties" | "additionalItems" | "not" => {
                    let value = self.schema(value, &here);
                    out.insert(key.clone(), value);
                }
                "allOf" | "anyOf" | "oneOf" => {
                    let value = match value {
                        Value::Array(list) => self.schema_list(list, &here),
                        _ => value.clone(),
                    };
                    out.insert(key.clone(), value);
                }
                k if k.starts_with("x-") => {
                    let value = self.extension(value);
                    out.insert(key.clone(), value);
                }
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        if !lifted_required.is_empty() {
            match out.get_mut("required") {
                Some(Value::Array(required)) => {
                    for name in lifted_required {
                        if !required.contains(&name) {
                            required.push(name);
                        }
                    }
                }
                _ => {
                    out.insert("required".into(), Value::Array(lifted_required));
                }
            }
        }
        if out.get("type").and_then(Value::as_str) == Some("array") && !out.contains_key("items") {
            out.insert("items".into(), Value::Object(Map::new()));
        }
        Value::Object(out)
    }

    /// Each schema of a list converted.
    fn schema_list(&mut self, list: &[Value], pointer: &str) -> Value {
        Value::Array(list.iter().enumerate().map(|(i, s)| self.schema(s, &format!("{pointer}/{i}"))).collect())
    }

    /// A schema's `type`: `null` and lists with `null` become `nullable` (OpenAPI 3.0 has no null type).
    fn schema_type(&mut self, value: &Value, pointer: &str, out: &mut Map<String, Value>) {
        match value {
            Value::String(t) if t == "null" => {
                self.note(pointer, "`type: null` is not in Swagger 2.0; it is taken as nullable");
                out.insert("nullable".into(), true.into());
            }
            Value::Array(types) => {
                self.note(pointer, "`type` is one name in Swagger 2.0, not a list");
                let named: Vec<&Value> = types.iter().filter(|t| t.as_str() != Some("null")).collect();
                if named.len() < types.len() {
                    out.insert("nullable".into(), true.into());
                }
                match named.as_slice() {
                    [] => {}
                    [one] => {
                        out.insert("type".into(), (*one).clone());
                    }
                    many => {
                        let mut one_of = Vec::new();
                        for (i, t) in many.iter().enumerate() {
                            let mut s = Map::new();
                            s.insert("type".into(), (*t).clone());
                            one_of.push(self.schema(&Value::Object(s), &format!("{pointer}/{i}")));
                        }
                        out.insert("oneOf".into(), Value::Array(one_of));
                    }
                }
            }
            _ => {
                out.insert("type".into(), value.clone());
            }
        }
    }

    /// A vendor extension (or other free-form part) copied with every `$ref` in it rewritten.
    fn extension(&mut self, value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, v) in map {
                    let v = match (key.as_str(), v) {
                        ("$ref", Value::String(r)) => Value::String(self.rewrite_ref(r, "")),
                        _ => self.extension(v),
                    };
                    out.insert(key.clone(), v);
                }
                Value::Object(out)
            }
            Value::Array(list) => Value::Array(list.iter().map(|v| self.extension(v)).collect()),
            _ => value.clone(),
        }
    }

    /// A Swagger 2.0 reference rewritten for OpenAPI 3: `#/definitions/X` → `#/components/schemas/X`
    /// and so on, names renamed as their components were; another file keeps its part before `#`.
    fn rewrite_ref(&mut self, reference: &str, pointer: &str) -> String {
        let Some((file, fragment)) = reference.split_once('#') else { return reference.to_string() };
        let local = file.is_empty();
        let sections = [
            ("/definitions/", "schemas"),
            ("/parameters/", "parameters"),
            ("/responses/", "responses"),
            ("/securityDefinitions/", "securitySchemes"),
        ];
        for (prefix, section) in sections {
            let Some(rest) = fragment.strip_prefix(prefix) else { continue };
            let (name, tail) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            let decoded = unescape(&percent_decode(name));
            let names = match section {
                "schemas" => &self.schema_names,
                "parameters" => &self.parameter_names,
                "responses" => &self.response_names,
                _ => &self.security_names,
            };
            let mut section = section;
            let new_name = match names.get(&decoded).cloned() {
                Some(n) if local => {
                    if prefix == "/parameters/" && self.is_body_parameter(&decoded) {
                        section = "requestBodies";
                    }
                    n
                }
                _ => {
                    if local && !pointer.is_empty() {
                        let what = prefix.trim_matches('/');
                        self.note(pointer, format!("there is no `{decoded}` under `{what}`"));
                    }
                    sanitise(&decoded)
                }
            };
            return format!("{file}#/components/{section}/{new_name}{tail}");
        }
        if local && !pointer.is_empty() && fragment != "/" && !fragment.is_empty() {
            self.note(pointer, "this reference points into a part of the document that moves in OpenAPI 3");
        }
        reference.to_string()
    }

    /// What a local reference's fragment (`/a/b~1c`, without `#`) points at in the Swagger document.
    fn resolve(&self, fragment: &str) -> Option<&'a Value> {
        let mut tokens = fragment.strip_prefix('/')?.split('/');
        let mut node = self.doc.get(&unescape(&percent_decode(tokens.next()?)))?;
        for token in tokens {
            let token = unescape(&percent_decode(token));
            node = match node {
                Value::Object(map) => map.get(&token)?,
                Value::Array(list) => list.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// A reference in a schema: as [`Self::rewrite_ref`] does, except that one to a schema elsewhere
    /// in the document than `definitions` gets that schema copied to `components/schemas`.
    fn schema_ref(&mut self, reference: &str, pointer: &str) -> String {
        let Some(fragment) = reference.strip_prefix('#') else { return self.rewrite_ref(reference, pointer) };
        let moved = ["/definitions/", "/parameters/", "/responses/", "/securityDefinitions/"];
        if moved.iter().any(|m| fragment.starts_with(m)) || fragment.is_empty() || fragment == "/" {
            return self.rewrite_ref(reference, pointer);
        }
        if fragment.split('/').any(|token| token.starts_with("x-")) {
            // Into an extension, which is kept where it is (grpc-gateway's x-stream-definitions).
            return reference.to_string();
        }
        if let Some(name) = self.hoisted_names.get(reference) {
            return format!("#/components/schemas/{name}");
        }
        let Some(target) = self.resolve(fragment) else {
            self.note(pointer, "this reference points at nothing in the document");
            return reference.to_string();
        };
        let taken: HashSet<&String> = self.schema_names.values().collect();
        let mut n = 1;
        let name = loop {
            let candidate = format!("schema{n}");
            if !taken.contains(&candidate) && !self.hoisted.contains_key(&candidate) {
                break candidate;
            }
            n += 1;
        };
        self.note(
            pointer,
            format!("this reference points outside `definitions`; the schema there becomes components/schemas/{name}"),
        );
        self.hoisted_names.insert(reference.to_string(), name.clone());
        // Reserved before converting, so that a reference back to it finds it.
        self.hoisted.insert(name.clone(), Value::Null);
        let converted = self.schema(target, fragment);
        self.hoisted.insert(name.clone(), converted);
        format!("#/components/schemas/{name}")
    }

    /// Whether global parameter `name` is `in: body` (its component is a request body).
    fn is_body_parameter(&self, name: &str) -> bool {
        self.doc
            .get("parameters")
            .and_then(|p| p.get(name))
            .and_then(|p| p.get("in"))
            .and_then(Value::as_str)
            .is_some_and(|l| l == "body")
    }
}

/// The document without `null` members, which Swagger 2.0 has no use for (swagger2openapi drops
/// them too), except in extensions' own keys, `default` and examples; `dropped` gets their pointers.
fn without_nulls(map: &Map<String, Value>, pointer: &str, dropped: &mut Vec<String>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in map {
        let here = child(pointer, key);
        let keep_as_is = key.starts_with("x-") || key == "default" || here.contains("/example");
        let value = match value {
            Value::Null if !keep_as_is => {
                dropped.push(here);
                continue;
            }
            Value::Object(inner) if !here.contains("/example") => Value::Object(without_nulls(inner, &here, dropped)),
            Value::Array(list) if !here.contains("/example") => Value::Array(
                list.iter()
                    .enumerate()
                    .map(|(i, v)| match v {
                        Value::Object(inner) => Value::Object(without_nulls(inner, &format!("{here}/{i}"), dropped)),
                        _ => v.clone(),
                    })
                    .collect(),
            ),
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    out
}

/// `consumes`/`produces` as used: the given list, or `application/json` when it is empty.
fn effective(list: &[String]) -> Vec<String> {
    if list.is_empty() {
        vec![JSON.to_string()]
    } else {
        list.to_vec()
    }
}

/// `(name, in)` of a parameter object, when both are strings.
fn param_key(map: &Map<String, Value>) -> Option<(String, String)> {
    let name = map.get("name")?.as_str()?;
    let location = map.get("in")?.as_str()?;
    Some((name.to_string(), location.to_string()))
}

/// `{"$ref": target}`.
fn reference(target: String) -> Value {
    let mut map = Map::new();
    map.insert("$ref".into(), Value::String(target));
    Value::Object(map)
}

/// `{"url": url}`, with a variable (default `unknown`, as swagger2openapi gives) for each `{name}` in it.
fn server(url: &str) -> Value {
    let mut out = Map::new();
    out.insert("url".into(), url.into());
    let mut variables = Map::new();
    let mut rest = url;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else { break };
        let name = &rest[start + 1..start + len];
        let mut variable = Map::new();
        variable.insert("default".into(), "unknown".into());
        variables.insert(name.to_string(), Value::Object(variable));
        rest = &rest[start + len..];
    }
    if !variables.is_empty() {
        out.insert("variables".into(), Value::Object(variables));
    }
    Value::Object(out)
}

/// `{"type": "string", "format": "binary"}`.
fn binary() -> Value {
    let mut map = Map::new();
    map.insert("type".into(), "string".into());
    map.insert("format".into(), "binary".into());
    Value::Object(map)
}

/// `pointer` extended by one key, escaped as JSON pointers escape (`~` → `~0`, `/` → `~1`).
fn child(pointer: &str, key: &str) -> String {
    format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// A JSON pointer token unescaped (`~1` → `/`, `~0` → `~`).
fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// `%XX` escapes decoded, as a URI fragment may carry them; the text as it is when they are not UTF-8.
fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// A component name made valid for OpenAPI 3 as swagger2openapi makes it: `/` → `_`, the first
/// `[]` → `Array`, each run of other characters outside `[A-Za-z0-9_.-]` → `_`.
fn sanitise(name: &str) -> String {
    let name = name.replace('/', "_").replacen("[]", "Array", 1);
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Converts, panicking on Err.
    fn convert(doc: Value) -> (Value, Vec<Note>) {
        to_openapi30(&doc).expect("converts")
    }

    /// A minimal document around `paths` and the other top-level fields given.
    fn doc(mut extra: Value) -> Value {
        let mut base = json!({"swagger": "2.0", "info": {"title": "t", "version": "1"}});
        if let (Value::Object(b), Value::Object(e)) = (&mut base, extra.take()) {
            b.extend(e);
        }
        if base.get("paths").is_none() {
            base["paths"] = json!({});
        }
        base
    }

    /// The notes' messages at `pointer`.
    fn notes_at(notes: &[Note], pointer: &str) -> Vec<String> {
        notes.iter().filter(|n| n.pointer == pointer).map(|n| n.message.clone()).collect()
    }

    /// Whether some note at `pointer` says `words`.
    fn noted(notes: &[Note], pointer: &str, words: &str) -> bool {
        notes_at(notes, pointer).iter().any(|m| m.contains(words))
    }

    /// An operation with one parameter and a plain response, at `/p` `get` (or `post` for bodies).
    fn one_param(param: Value) -> (Value, Vec<Note>) {
        convert(doc(
            json!({"paths": {"/p": {"post": {"parameters": [param], "responses": {"204": {"description": "ok"}}}}}}),
        ))
    }

    #[test]
    fn petstore_matches_swagger2openapi() {
        let swagger = json!({"swagger": "2.0", "info": {"version": "1.0.0", "title": "Swagger Petstore", "license": {"name": "MIT"}}, "host": "petstore.swagger.io", "basePath": "/v1", "schemes": ["http"], "consumes": ["application/json"], "produces": ["application/json"], "paths": {"/pets": {"get": {"summary": "List all pets", "operationId": "listPets", "tags": ["pets"], "parameters": [{"name": "limit", "in": "query", "description": "How many items to return at one time (max 100)", "required": false, "type": "integer", "format": "int32"}], "responses": {"200": {"description": "An paged array of pets", "headers": {"x-next": {"type": "string", "description": "A link to the next page of responses"}}, "schema": {"$ref": "#/definitions/Pets"}}, "default": {"description": "unexpected error", "schema": {"$ref": "#/definitions/Error"}}}}, "post": {"summary": "Create a pet", "operationId": "createPets", "tags": ["pets"], "responses": {"201": {"description": "Null response"}, "default": {"description": "unexpected error", "schema": {"$ref": "#/definitions/Error"}}}}}, "/pets/{petId}": {"get": {"summary": "Info for a specific pet", "operationId": "showPetById", "tags": ["pets"], "parameters": [{"name": "petId", "in": "path", "required": true, "description": "The id of the pet to retrieve", "type": "string"}], "responses": {"200": {"description": "Expected response to a valid request", "schema": {"$ref": "#/definitions/Pets"}}, "default": {"description": "unexpected error", "schema": {"$ref": "#/definitions/Error"}}}}}}, "definitions": {"Pet": {"required": ["id", "name"], "properties": {"id": {"type": "integer", "format": "int64"}, "name": {"type": "string"}, "tag": {"type": "string"}}}, "Pets": {"type": "array", "items": {"$ref": "#/definitions/Pet"}}, "Error": {"required": ["code", "message"], "properties": {"code": {"type": "integer", "format": "int32"}, "message": {"type": "string"}}}}});
        // swagger2openapi 7.0.8's output for OAI's examples/v2.0/json/petstore.json, but for the version.
        let theirs = json!({"openapi": "3.0.3", "info": {"version": "1.0.0", "title": "Swagger Petstore", "license": {"name": "MIT"}}, "paths": {"/pets": {"get": {"summary": "List all pets", "operationId": "listPets", "tags": ["pets"], "parameters": [{"name": "limit", "in": "query", "description": "How many items to return at one time (max 100)", "required": false, "schema": {"type": "integer", "format": "int32"}}], "responses": {"200": {"description": "An paged array of pets", "headers": {"x-next": {"description": "A link to the next page of responses", "schema": {"type": "string"}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pets"}}}}, "default": {"description": "unexpected error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}, "post": {"summary": "Create a pet", "operationId": "createPets", "tags": ["pets"], "responses": {"201": {"description": "Null response"}, "default": {"description": "unexpected error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}}, "/pets/{petId}": {"get": {"summary": "Info for a specific pet", "operationId": "showPetById", "tags": ["pets"], "parameters": [{"name": "petId", "in": "path", "required": true, "description": "The id of the pet to retrieve", "schema": {"type": "string"}}], "responses": {"200": {"description": "Expected response to a valid request", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pets"}}}}, "default": {"description": "unexpected error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}}}, "servers": [{"url": "http://petstore.swagger.io/v1"}], "components": {"schemas": {"Pet": {"required": ["id", "name"], "properties": {"id": {"type": "integer", "format": "int64"}, "name": {"type": "string"}, "tag": {"type": "string"}}}, "Pets": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}, "Error": {"required": ["code", "message"], "properties": {"code": {"type": "integer", "format": "int32"}, "message": {"type": "string"}}}}}});
        let (ours, notes) = convert(swagger);
        assert_eq!(ours, theirs);
        assert!(notes.is_empty(), "{notes:?}");
        let keys: Vec<&String> = ours.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["openapi", "info", "servers", "paths", "components"]);
    }

    #[test]
    fn only_swagger_2_0_is_converted() {
        assert!(to_openapi30(&json!([])).unwrap_err().contains("mapping"));
        assert!(to_openapi30(&json!({"openapi": "3.0.0"})).unwrap_err().contains("no `swagger"));
        assert!(to_openapi30(&json!({"swagger": "1.2"})).unwrap_err().contains("\"1.2\""));
        let (out, notes) = convert(json!({"swagger": 2.0, "paths": {}}));
        assert_eq!(out["openapi"], "3.0.3");
        assert!(noted(&notes, "/swagger", "the number 2.0"));
    }

    #[test]
    fn info_is_kept_or_left_absent() {
        let (out, notes) = convert(
            json!({"swagger": "2.0", "info": {"title": "T", "version": "2", "x-logo": {"url": "u"}}, "paths": {}}),
        );
        assert_eq!(out["info"], json!({"title": "T", "version": "2", "x-logo": {"url": "u"}}));
        assert!(notes.is_empty());
        let (out, notes) = convert(json!({"swagger": "2.0", "paths": {}}));
        assert_eq!(out, json!({"openapi": "3.0.3", "servers": [{"url": "/"}], "paths": {}}));
        assert!(notes.is_empty(), "the caller warns about a missing info");
        let (out, notes) = convert(json!({"swagger": "2.0"}));
        assert_eq!(out["paths"], json!({}));
        assert!(noted(&notes, "", "`paths`"));
    }

    #[test]
    fn servers_come_from_host_base_path_and_schemes() {
        let servers = |extra: Value| convert(doc(extra)).0["servers"].clone();
        assert_eq!(
            servers(json!({"host": "api.example.com", "basePath": "/v1/", "schemes": ["https", "http"]})),
            json!([{"url": "https://api.example.com/v1"}, {"url": "http://api.example.com/v1"}])
        );
        assert_eq!(servers(json!({"host": "api.example.com:8080"})), json!([{"url": "https://api.example.com:8080"}]));
        assert_eq!(servers(json!({"basePath": "/api"})), json!([{"url": "/api"}]));
        assert_eq!(servers(json!({"basePath": "/"})), json!([{"url": "/"}]));
        assert_eq!(servers(json!({})), json!([{"url": "/"}]));
        assert_eq!(
            servers(json!({"host": "{region}.example.com", "schemes": ["https"]})),
            json!([{"url": "https://{region}.example.com", "variables": {"region": {"default": "unknown"}}}])
        );
    }

    #[test]
    fn top_level_fields_are_kept_in_order() {
        let (out, notes) = convert(json!({
            "swagger": "2.0",
            "x-first": {"$ref": "#/definitions/A"},
            "info": {"title": "t", "version": "1"},
            "host": "h",
            "tags": [{"name": "a", "x-tag": 1}],
            "consumes": ["application/json"],
            "security": [{"key": []}],
            "paths": {},
            "definitions": {"A": {"type": "string"}},
            "securityDefinitions": {"key": {"type": "apiKey", "name": "k", "in": "header"}},
            "externalDocs": {"url": "https://docs"},
            "x-last": true,
            "bogus": 1
        }));
        let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "openapi",
                "x-first",
                "info",
                "servers",
                "tags",
                "security",
                "paths",
                "components",
                "externalDocs",
                "x-last"
            ]
        );
        assert_eq!(out["x-first"], json!({"$ref": "#/components/schemas/A"}));
        assert_eq!(out["tags"], json!([{"name": "a", "x-tag": 1}]));
        assert_eq!(out["security"], json!([{"key": []}]));
        assert_eq!(out["externalDocs"], json!({"url": "https://docs"}));
        assert!(noted(&notes, "/bogus", "not a Swagger 2.0 field"));
    }

    #[test]
    fn definitions_become_component_schemas_with_references_rewritten() {
        let (out, notes) = convert(doc(json!({"definitions": {
            "Pet": {"type": "object", "properties": {"owner": {"$ref": "#/definitions/Owner"}, "tags": {"type": "array", "items": {"$ref": "#/definitions/Tag"}}}},
            "Owner": {"allOf": [{"$ref": "#/definitions/Base"}, {"additionalProperties": {"$ref": "#/definitions/Tag"}}]},
            "Tag": {"type": "string", "not": {"$ref": "#/definitions/Base"}},
            "Base": {"type": "object"}
        }})));
        let schemas = &out["components"]["schemas"];
        assert_eq!(schemas["Pet"]["properties"]["owner"], json!({"$ref": "#/components/schemas/Owner"}));
        assert_eq!(schemas["Pet"]["properties"]["tags"]["items"], json!({"$ref": "#/components/schemas/Tag"}));
        assert_eq!(schemas["Owner"]["allOf"][0], json!({"$ref": "#/components/schemas/Base"}));
        assert_eq!(schemas["Owner"]["allOf"][1]["additionalProperties"], json!({"$ref": "#/components/schemas/Tag"}));
        assert_eq!(schemas["Tag"]["not"], json!({"$ref": "#/components/schemas/Base"}));
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn references_to_other_files_keep_their_file() {
        let (out, notes) = convert(doc(json!({"definitions": {"A": {"properties": {
            "x": {"$ref": "other.yaml#/definitions/X"},
            "y": {"$ref": "common.json#/definitions/Y/properties/z"},
            "z": {"$ref": "Pet.json"},
            "w": {"$ref": "frag.json#/Thing"}
        }}}})));
        let p = &out["components"]["schemas"]["A"]["properties"];
        assert_eq!(p["x"]["$ref"], "other.yaml#/components/schemas/X");
        assert_eq!(p["y"]["$ref"], "common.json#/components/schemas/Y/properties/z");
        assert_eq!(p["z"]["$ref"], "Pet.json");
        assert_eq!(p["w"]["$ref"], "frag.json#/Thing");
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn parameter_response_and_escaped_references_are_rewritten() {
        let (out, notes) = convert(doc(json!({
            "parameters": {"limit": {"name": "limit", "in": "query", "type": "integer"}},
            "responses": {"NotFound": {"description": "gone"}},
            "definitions": {"a/b": {"type": "string"}, "c d": {"type": "string"}, "List[]": {"type": "array", "items": {"$ref": "#/definitions/a~1b"}}},
            "paths": {"/p": {"get": {
                "parameters": [{"$ref": "#/parameters/limit"}],
                "responses": {"404": {"$ref": "#/responses/NotFound"}, "200": {"description": "ok", "schema": {"$ref": "#/definitions/c%20d"}}}
            }}}
        })));
        let op = &out["paths"]["/p"]["get"];
        assert_eq!(op["parameters"], json!([{"$ref": "#/components/parameters/limit"}]));
        assert_eq!(op["responses"]["404"], json!({"$ref": "#/components/responses/NotFound"}));
        assert_eq!(op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/c_d");
        let schemas = out["components"]["schemas"].as_object().unwrap();
        assert_eq!(schemas.keys().collect::<Vec<_>>(), ["a_b", "c_d", "ListArray"]);
        assert_eq!(schemas["ListArray"]["items"]["$ref"], "#/components/schemas/a_b");
        assert_eq!(out["components"]["parameters"]["limit"]["schema"], json!({"type": "integer"}));
        assert_eq!(out["components"]["responses"]["NotFound"], json!({"description": "gone"}));
        assert!(noted(&notes, "/definitions/a~1b", "renamed `a_b`"));
        assert!(noted(&notes, "/definitions/c d", "renamed `c_d`"));
    }

    #[test]
    fn renamed_components_do_not_collide() {
        let (out, _) = convert(doc(json!({"definitions": {"a b": {"type": "string"}, "a_b": {"type": "integer"}}})));
        let schemas = out["components"]["schemas"].as_object().unwrap();
        assert_eq!(schemas.keys().collect::<Vec<_>>(), ["a_b2", "a_b"]);
        assert_eq!(schemas["a_b2"]["type"], "string");
    }

    #[test]
    fn a_missing_definition_is_noted() {
        let (out, notes) = convert(doc(json!({"definitions": {"A": {"$ref": "#/definitions/Nope"}}})));
        assert_eq!(out["components"]["schemas"]["A"]["$ref"], "#/components/schemas/Nope");
        assert!(noted(&notes, "/definitions/A/$ref", "no `Nope` under `definitions`"));
    }

    #[test]
    fn security_definitions_become_security_schemes() {
        let (out, notes) = convert(doc(json!({
            "securityDefinitions": {
                "basic": {"type": "basic", "description": "user and password", "x-vendor": 1},
                "key": {"type": "apiKey", "name": "X-Key", "in": "header"},
                "implicit": {"type": "oauth2", "flow": "implicit", "authorizationUrl": "https://a/auth", "scopes": {"read": "r"}},
                "password": {"type": "oauth2", "flow": "password", "tokenUrl": "https://a/token", "scopes": {}},
                "application": {"type": "oauth2", "flow": "application", "tokenUrl": "https://a/token", "scopes": {"w": "write"}},
                "code": {"type": "oauth2", "flow": "accessCode", "authorizationUrl": "https://a/auth", "tokenUrl": "https://a/token"}
            },
            "paths": {"/p": {"get": {"security": [{"code": ["read"]}], "responses": {"200": {"description": "ok"}}}}}
        })));
        assert_eq!(
            out["components"]["securitySchemes"],
            json!({
                "basic": {"type": "http", "scheme": "basic", "description": "user and password", "x-vendor": 1},
                "key": {"type": "apiKey", "name": "X-Key", "in": "header"},
                "implicit": {"type": "oauth2", "flows": {"implicit": {"authorizationUrl": "https://a/auth", "scopes": {"read": "r"}}}},
                "password": {"type": "oauth2", "flows": {"password": {"tokenUrl": "https://a/token", "scopes": {}}}},
                "application": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://a/token", "scopes": {"w": "write"}}}},
                "code": {"type": "oauth2", "flows": {"authorizationCode": {"authorizationUrl": "https://a/auth", "tokenUrl": "https://a/token", "scopes": {}}}}
            })
        );
        assert_eq!(out["paths"]["/p"]["get"]["security"], json!([{"code": ["read"]}]));
        assert!(notes.is_empty(), "{notes:?}");
        let (_, notes) = convert(doc(json!({"securityDefinitions": {"o": {"type": "oauth2", "flow": "implicit"}}})));
        assert!(noted(&notes, "/securityDefinitions/o", "needs `authorizationUrl`"));
    }

    #[test]
    fn a_body_parameter_becomes_the_request_body() {
        let body = json!({"name": "pet", "in": "body", "description": "the pet", "required": true, "schema": {"$ref": "#/definitions/Pet"}, "x-example": {"name": "Rex"}, "x-vendor": "v"});
        let (out, notes) = one_param(body.clone());
        assert_eq!(
            out["paths"]["/p"]["post"]["requestBody"],
            json!({"description": "the pet", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}, "example": {"name": "Rex"}}}, "required": true, "x-vendor": "v"})
        );
        assert!(out["paths"]["/p"]["post"].get("parameters").is_none());
        assert!(noted(&notes, "/paths/~1p/post/parameters/0/schema/$ref", "no `Pet`"));

        // The operation's consumes, else the document's.
        let (out, _) = convert(doc(json!({"consumes": ["application/xml", "text/plain"], "paths": {
            "/a": {"put": {"parameters": [{"name": "b", "in": "body", "schema": {"type": "string"}}], "responses": {"204": {"description": "ok"}}}},
            "/b": {"put": {"consumes": ["application/vnd.x+json"], "parameters": [{"name": "b", "in": "body", "schema": {"type": "string"}}], "responses": {"204": {"description": "ok"}}}}
        }})));
        let media = |path: &str| {
            out["paths"][path]["put"]["requestBody"]["content"].as_object().unwrap().keys().cloned().collect::<Vec<_>>()
        };
        assert_eq!(media("/a"), ["application/xml", "text/plain"]);
        assert_eq!(media("/b"), ["application/vnd.x+json"]);
        assert!(out["paths"]["/a"]["put"]["requestBody"].get("required").is_none());
    }

    #[test]
    fn body_examples_go_under_their_media_types() {
        let (out, _) = one_param(
            json!({"name": "b", "in": "body", "schema": {"type": "object"}, "x-examples": {"application/json": {"a": 1}, "application/merge-patch+json": {"b": 2}}}),
        );
        assert_eq!(
            out["paths"]["/p"]["post"]["requestBody"]["content"],
            json!({
                "application/json": {"schema": {"type": "object"}, "example": {"a": 1}},
                "application/merge-patch+json": {"schema": {"type": "object"}, "example": {"b": 2}}
            })
        );
    }

    #[test]
    fn a_global_body_parameter_is_a_component_request_body() {
        let (out, notes) = convert(doc(json!({
            "parameters": {"Pet": {"name": "pet", "in": "body", "required": true, "schema": {"$ref": "#/definitions/Pet"}}},
            "definitions": {"Pet": {"type": "object"}},
            "paths": {
                "/a": {"post": {"parameters": [{"$ref": "#/parameters/Pet"}], "responses": {"204": {"description": "ok"}}}},
                "/b": {"post": {"consumes": ["application/xml"], "parameters": [{"$ref": "#/parameters/Pet"}], "responses": {"204": {"description": "ok"}}}}
            }
        })));
        assert_eq!(
            out["components"]["requestBodies"]["Pet"],
            json!({"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}, "required": true})
        );
        assert!(out["components"].get("parameters").is_none());
        assert_eq!(out["paths"]["/a"]["post"]["requestBody"], json!({"$ref": "#/components/requestBodies/Pet"}));
        // Other media types than the component's: written out.
        assert_eq!(
            out["paths"]["/b"]["post"]["requestBody"],
            json!({"content": {"application/xml": {"schema": {"$ref": "#/components/schemas/Pet"}}}, "required": true})
        );
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn form_parameters_become_an_urlencoded_body() {
        let (out, notes) = convert(doc(json!({"paths": {"/p": {"post": {"parameters": [
            {"name": "id", "in": "path", "required": true, "type": "string"},
            {"name": "name", "in": "formData", "description": "the name", "required": true, "type": "string", "x-example": "Rex"},
            {"name": "age", "in": "formData", "type": "integer", "minimum": 0, "allowEmptyValue": true},
            {"name": "tags", "in": "formData", "type": "array", "items": {"type": "string"}},
            {"name": "ids", "in": "formData", "type": "array", "items": {"type": "integer"}, "collectionFormat": "multi"}
        ], "responses": {"204": {"description": "ok"}}}}}})));
        let op = &out["paths"]["/p"]["post"];
        assert_eq!(
            op["parameters"],
            json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}])
        );
        assert_eq!(
            op["requestBody"],
            json!({"content": {"application/x-www-form-urlencoded": {
                "schema": {"type": "object", "properties": {
                    "name": {"description": "the name", "type": "string", "example": "Rex"},
                    "age": {"type": "integer", "minimum": 0},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "ids": {"type": "array", "items": {"type": "integer"}}
                }, "required": ["name"]},
                "encoding": {"tags": {"style": "form", "explode": false}, "ids": {"style": "form", "explode": true}}
            }}, "required": true})
        );
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn a_form_with_a_file_or_multipart_consumes_is_multipart() {
        let (out, notes) = convert(doc(json!({"paths": {
            "/file": {"post": {"parameters": [
                {"name": "meta", "in": "formData", "type": "string"},
                {"name": "upload", "in": "formData", "type": "file", "required": true}
            ], "responses": {"204": {"description": "ok"}}}},
            "/multi": {"post": {"consumes": ["multipart/form-data"], "parameters": [
                {"name": "meta", "in": "formData", "type": "array", "items": {"type": "string"}}
            ], "responses": {"204": {"description": "ok"}}}}
        }})));
        assert_eq!(
            out["paths"]["/file"]["post"]["requestBody"],
            json!({"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
                "meta": {"type": "string"},
                "upload": {"type": "string", "format": "binary"}
            }, "required": ["upload"]}}}, "required": true})
        );
        assert_eq!(
            out["paths"]["/multi"]["post"]["requestBody"],
            json!({"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
                "meta": {"type": "array", "items": {"type": "string"}}
            }}}}})
        );
        assert!(notes.is_empty(), "{notes:?}");
        // A file, but consumes names only the urlencoded form: multipart all the same, and a note.
        let (out, notes) = convert(doc(
            json!({"consumes": ["application/x-www-form-urlencoded"], "paths": {"/f": {"post": {"parameters": [
            {"name": "upload", "in": "formData", "type": "file"}
        ], "responses": {"204": {"description": "ok"}}}}}}),
        ));
        assert!(out["paths"]["/f"]["post"]["requestBody"]["content"].get("multipart/form-data").is_some());
        assert!(noted(&notes, "/paths/~1f/post", "multipart/form-data"));
    }

    #[test]
    fn global_form_parameters_are_inlined() {
        let (out, notes) = convert(doc(json!({
            "parameters": {"file": {"name": "file", "in": "formData", "type": "file", "required": true}, "q": {"name": "q", "in": "query", "type": "string"}},
            "paths": {"/up": {"post": {"parameters": [{"$ref": "#/parameters/file"}, {"$ref": "#/parameters/q"}], "responses": {"204": {"description": "ok"}}}}}
        })));
        assert_eq!(out["components"]["parameters"].as_object().unwrap().keys().collect::<Vec<_>>(), ["q"]);
        let op = &out["paths"]["/up"]["post"];
        assert_eq!(op["parameters"], json!([{"$ref": "#/components/parameters/q"}]));
        assert_eq!(
            op["requestBody"]["content"]["multipart/form-data"]["schema"],
            json!({"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]})
        );
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn non_body_parameters_get_a_schema() {
        let (out, notes) = one_param(json!({
            "name": "n", "in": "query", "description": "d", "required": false, "allowEmptyValue": true,
            "type": "integer", "format": "int32", "default": 5, "minimum": 1, "maximum": 10,
            "exclusiveMinimum": true, "exclusiveMaximum": false, "multipleOf": 1, "enum": [1, 5, 10],
            "x-example": 5, "x-vendor": true
        }));
        assert_eq!(
            out["paths"]["/p"]["post"]["parameters"][0],
            json!({
                "name": "n", "in": "query", "description": "d", "required": false, "allowEmptyValue": true,
                "schema": {"type": "integer", "format": "int32", "default": 5, "minimum": 1, "maximum": 10,
                    "exclusiveMinimum": true, "exclusiveMaximum": false, "multipleOf": 1, "enum": [1, 5, 10]},
                "example": 5, "x-vendor": true
            })
        );
        assert!(notes.is_empty(), "{notes:?}");
        let (out, _) = one_param(
            json!({"name": "s", "in": "header", "type": "string", "minLength": 1, "maxLength": 9, "pattern": "^a"}),
        );
        assert_eq!(
            out["paths"]["/p"]["post"]["parameters"][0]["schema"],
            json!({"type": "string", "minLength": 1, "maxLength": 9, "pattern": "^a"})
        );
    }

    #[test]
    fn collection_formats_become_styles() {
        let style = |location: &str, format: Option<&str>| {
            let mut param = json!({"name": "a", "in": location, "required": true, "type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3, "uniqueItems": true});
            if let Some(f) = format {
                param["collectionFormat"] = f.into();
            }
            let (out, notes) = one_param(param);
            let p = out["paths"]["/p"]["post"]["parameters"][0].clone();
            assert_eq!(
                p["schema"],
                json!({"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3, "uniqueItems": true})
            );
            let pick = |k: &str| p.get(k).cloned().unwrap_or(Value::Null);
            (pick("style"), pick("explode"), pick("x-collectionFormat"), notes)
        };
        let plain = |(s, e, x, _): (Value, Value, Value, Vec<Note>)| (s, e, x);
        assert_eq!(plain(style("query", None)), (json!("form"), json!(false), Value::Null));
        assert_eq!(plain(style("query", Some("csv"))), (json!("form"), json!(false), Value::Null));
        assert_eq!(plain(style("path", Some("csv"))), (json!("simple"), Value::Null, Value::Null));
        assert_eq!(plain(style("header", None)), (json!("simple"), Value::Null, Value::Null));
        assert_eq!(plain(style("query", Some("ssv"))), (json!("spaceDelimited"), Value::Null, Value::Null));
        assert_eq!(plain(style("query", Some("pipes"))), (json!("pipeDelimited"), Value::Null, Value::Null));
        assert_eq!(plain(style("query", Some("multi"))), (json!("form"), json!(true), Value::Null));
        let (s, e, x, notes) = style("query", Some("tsv"));
        assert_eq!((s, e, x), (Value::Null, Value::Null, json!("tsv")));
        assert!(noted(&notes, "/paths/~1p/post/parameters/0/collectionFormat", "tsv has no OpenAPI 3 equivalent"));
        let (s, _, _, notes) = style("header", Some("pipes"));
        assert_eq!(s, Value::Null);
        assert!(noted(&notes, "/paths/~1p/post/parameters/0/collectionFormat", "no OpenAPI 3 equivalent in header"));
    }

    #[test]
    fn nested_items_lose_their_collection_format() {
        let (out, notes) = one_param(json!({"name": "m", "in": "query", "type": "array", "collectionFormat": "pipes",
            "items": {"type": "array", "collectionFormat": "csv", "items": {"type": "integer"}}}));
        let p = &out["paths"]["/p"]["post"]["parameters"][0];
        assert_eq!(p["schema"], json!({"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}));
        assert_eq!(p["style"], "pipeDelimited");
        assert!(noted(&notes, "/paths/~1p/post/parameters/0/items/collectionFormat", "nested collectionFormat"));
    }

    #[test]
    fn slips_in_parameters_are_noted() {
        let (out, notes) = convert(doc(json!({"paths": {"/p/{id}": {
            "parameters": [
                {"name": "id", "in": "path", "type": "string"},
                {"name": "v", "in": "query", "type": "string"},
                {"name": "v", "in": "query", "type": "integer"}
            ],
            "get": {"parameters": [
                {"name": "nothing"},
                {"name": "c", "in": "cookie", "type": "string"},
                {"in": "query", "type": "string"},
                {"name": "t", "in": "query"}
            ], "responses": {"200": {"description": "ok"}}}
        }}})));
        let item = &out["paths"]["/p/{id}"];
        assert_eq!(
            item["parameters"],
            json!([{"name": "id", "in": "path", "schema": {"type": "string"}, "required": true}, {"name": "v", "in": "query", "schema": {"type": "string"}}])
        );
        assert_eq!(item["get"]["parameters"], json!([{"name": "t", "in": "query", "schema": {"type": "string"}}]));
        let at = "/paths/~1p~1{id}";
        assert!(noted(&notes, &format!("{at}/parameters/0"), "always required"));
        assert!(noted(&notes, &format!("{at}/parameters/2"), "listed twice"));
        assert!(noted(&notes, &format!("{at}/get/parameters/0"), "neither"));
        assert!(noted(&notes, &format!("{at}/get/parameters/1/in"), "`in: cookie` is not a Swagger 2.0 location"));
        assert!(
            noted(&notes, &format!("{at}/get/parameters/2"), "no `name`")
                || noted(&notes, &format!("{at}/get/parameters/2"), "has none")
        );
        assert!(noted(&notes, &format!("{at}/get/parameters/3"), "`string` is assumed"));
    }

    #[test]
    fn path_level_parameters_stay_or_move_to_each_operation() {
        let (out, notes) = convert(doc(json!({"paths": {"/p": {
            "parameters": [
                {"name": "q", "in": "query", "type": "string"},
                {"name": "body", "in": "body", "schema": {"type": "string"}},
                {"name": "h", "in": "header", "type": "string"}
            ],
            "put": {"responses": {"204": {"description": "ok"}}},
            "post": {"parameters": [{"name": "body", "in": "body", "schema": {"type": "integer"}}, {"name": "h", "in": "header", "type": "integer"}], "responses": {"204": {"description": "ok"}}}
        }}})));
        let item = &out["paths"]["/p"];
        assert_eq!(
            item["parameters"],
            json!([{"name": "q", "in": "query", "schema": {"type": "string"}}, {"name": "h", "in": "header", "schema": {"type": "string"}}])
        );
        assert_eq!(
            item["put"]["requestBody"],
            json!({"content": {"application/json": {"schema": {"type": "string"}}}})
        );
        assert_eq!(
            item["post"]["requestBody"],
            json!({"content": {"application/json": {"schema": {"type": "integer"}}}})
        );
        assert_eq!(item["post"]["parameters"], json!([{"name": "h", "in": "header", "schema": {"type": "integer"}}]));
        let keys: Vec<&String> = item["put"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["requestBody", "responses"]);
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn body_and_form_together_are_noted() {
        let (out, notes) = convert(doc(json!({"paths": {"/p": {"post": {"parameters": [
            {"name": "b", "in": "body", "schema": {"type": "string"}},
            {"name": "f", "in": "formData", "type": "string"}
        ], "responses": {"204": {"description": "ok"}}}}}})));
        assert_eq!(
            out["paths"]["/p"]["post"]["requestBody"],
            json!({"content": {"application/json": {"schema": {"type": "string"}}}})
        );
        assert!(noted(&notes, "/paths/~1p/post", "at most one body"));
    }

    #[test]
    fn responses_get_content_from_produces() {
        let (out, notes) = convert(doc(json!({"produces": ["application/json", "application/xml"], "paths": {
            "/a": {"get": {"responses": {
                "200": {"description": "ok", "schema": {"type": "file"}},
                "204": {"description": "empty"},
                "x-vendor": {"any": 1}
            }}},
            "/b": {"get": {"produces": ["text/csv"], "responses": {"200": {"description": "ok", "schema": {"type": "string"}}}}}
        }})));
        assert_eq!(
            out["paths"]["/a"]["get"]["responses"],
            json!({
                "200": {"description": "ok", "content": {
                    "application/json": {"schema": {"type": "string", "format": "binary"}},
                    "application/xml": {"schema": {"type": "string", "format": "binary"}}
                }},
                "204": {"description": "empty"},
                "x-vendor": {"any": 1}
            })
        );
        assert_eq!(
            out["paths"]["/b"]["get"]["responses"]["200"]["content"],
            json!({"text/csv": {"schema": {"type": "string"}}})
        );
        assert!(notes.is_empty(), "{notes:?}");
        let (out, _) = convert(doc(
            json!({"paths": {"/c": {"get": {"responses": {"200": {"description": "ok", "schema": {"type": "string"}}}}}}}),
        ));
        assert_eq!(
            out["paths"]["/c"]["get"]["responses"]["200"]["content"],
            json!({"application/json": {"schema": {"type": "string"}}})
        );
    }

    #[test]
    fn response_examples_go_under_their_media_types() {
        let (out, notes) = convert(doc(
            json!({"produces": ["application/json"], "paths": {"/p": {"get": {"responses": {
                "200": {"description": "ok", "schema": {"type": "object"}, "examples": {"application/json": {"a": 1}, "text/plain": "a=1", "oops": 1}},
                "404": {"description": "no", "examples": {"application/json": {"error": "no"}}}
            }}}}}),
        ));
        let r = &out["paths"]["/p"]["get"]["responses"];
        assert_eq!(
            r["200"]["content"],
            json!({
                "application/json": {"schema": {"type": "object"}, "example": {"a": 1}},
                "text/plain": {"schema": {"type": "object"}, "example": "a=1"}
            })
        );
        assert_eq!(r["404"]["content"], json!({"application/json": {"example": {"error": "no"}}}));
        assert!(noted(&notes, "/paths/~1p/get/responses/200/examples/oops", "keyed by media type"));
    }

    #[test]
    fn response_headers_get_schemas() {
        let (out, notes) =
            convert(doc(json!({"paths": {"/p": {"get": {"responses": {"200": {"description": "ok", "headers": {
                "X-Rate": {"type": "integer", "format": "int32", "description": "left", "minimum": 0, "x-vendor": 1},
                "X-Tags": {"type": "array", "items": {"type": "string"}, "enum": [["a"]], "default": ["a"]},
                "X-Untyped": {"description": "?"}
            }}}}}}})));
        assert_eq!(
            out["paths"]["/p"]["get"]["responses"]["200"]["headers"],
            json!({
                "X-Rate": {"schema": {"type": "integer", "format": "int32", "minimum": 0}, "description": "left", "x-vendor": 1},
                "X-Tags": {"schema": {"type": "array", "items": {"type": "string"}, "enum": [["a"]], "default": ["a"]}, "style": "simple"},
                "X-Untyped": {"description": "?", "schema": {"type": "string"}}
            })
        );
        assert!(noted(&notes, "/paths/~1p/get/responses/200/headers/X-Untyped", "needs a `type`"));
    }

    #[test]
    fn a_response_without_description_is_noted_not_invented() {
        let (out, notes) = convert(doc(
            json!({"paths": {"/p": {"get": {"responses": {"200": {"schema": {"type": "string"}}, "default": null}}}}}),
        ));
        let r = &out["paths"]["/p"]["get"]["responses"];
        assert_eq!(r, &json!({"200": {"content": {"application/json": {"schema": {"type": "string"}}}}}));
        assert!(noted(&notes, "/paths/~1p/get/responses/200", "needs a `description`"));
        assert!(noted(&notes, "/paths/~1p/get/responses/default", "no response"));
        let (out, notes) = convert(doc(json!({"paths": {"/p": {"get": {}}}})));
        assert_eq!(out["paths"]["/p"]["get"]["responses"], json!({"default": {"description": "Default response"}}));
        assert!(noted(&notes, "/paths/~1p/get", "needs `responses`"));
    }

    #[test]
    fn schemas_are_converted_everywhere() {
        let (out, notes) = convert(doc(json!({"definitions": {
            "Animal": {"type": "object", "discriminator": "kind", "required": ["kind"], "properties": {
                "kind": {"type": "string", "readOnly": true, "example": "dog"},
                "nick": {"type": "string", "x-nullable": true},
                "photo": {"type": "file"},
                "owner": {"$ref": "#/definitions/Owner", "x-nullable": true, "description": "may be absent"},
                "friends": {"type": "array", "items": {"type": "object", "x-nullable": true, "properties": {"best": {"$ref": "#/definitions/Animal"}}}},
                "meta": {"additionalProperties": {"type": "string", "x-nullable": false}}
            }, "example": {"kind": "dog"}},
            "Owner": {"type": "object"}
        }})));
        assert_eq!(
            out["components"]["schemas"]["Animal"],
            json!({"type": "object", "discriminator": {"propertyName": "kind"}, "required": ["kind"], "properties": {
                "kind": {"type": "string", "readOnly": true, "example": "dog"},
                "nick": {"type": "string", "nullable": true},
                "photo": {"type": "string", "format": "binary"},
                "owner": {"allOf": [{"$ref": "#/components/schemas/Owner"}], "nullable": true, "description": "may be absent"},
                "friends": {"type": "array", "items": {"type": "object", "nullable": true, "properties": {"best": {"$ref": "#/components/schemas/Animal"}}}},
                "meta": {"additionalProperties": {"type": "string", "nullable": false}}
            }, "example": {"kind": "dog"}})
        );
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn schema_slips_are_mended_and_noted() {
        let (out, notes) = convert(doc(json!({"definitions": {"A": {"type": "object", "properties": {
            "id": {"type": "string", "required": true},
            "tuple": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
            "either": {"type": ["string", "null"]},
            "list": {"type": "array"}
        }}}})));
        assert_eq!(
            out["components"]["schemas"]["A"],
            json!({"type": "object", "properties": {
                "id": {"type": "string"},
                "tuple": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                "either": {"type": "string", "nullable": true},
                "list": {"type": "array", "items": {}}
            }, "required": ["id"]})
        );
        assert!(noted(&notes, "/definitions/A/properties/id/required", "list of property names"));
        assert!(noted(&notes, "/definitions/A/properties/tuple/items", "anyOf"));
        assert!(noted(&notes, "/definitions/A/properties/either/type", "not a list"));
    }

    #[test]
    fn references_outside_definitions_are_followed() {
        let (out, notes) = convert(doc(json!({
            "definitions": {"A": {"type": "object"}},
            "paths": {
                "/a": {"get": {
                    "parameters": [{"name": "q", "in": "query", "type": "string"}],
                    "responses": {"200": {"description": "ok", "schema": {"type": "object", "properties": {"a": {"$ref": "#/definitions/A"}}}}}
                }},
                "/b": {"get": {
                    "parameters": [{"$ref": "#/paths/~1a/get/parameters/0"}, {"$ref": "#/definitions/A"}],
                    "responses": {"200": {"description": "ok", "schema": {"$ref": "#/paths/~1a/get/responses/200/schema"}}}
                }},
                "/c": {"$ref": "#/paths/~1a"}
            }
        })));
        let b = &out["paths"]["/b"]["get"];
        assert_eq!(b["parameters"], json!([{"name": "q", "in": "query", "schema": {"type": "string"}}]));
        assert_eq!(
            b["responses"]["200"]["content"]["application/json"]["schema"],
            json!({"$ref": "#/components/schemas/schema1"})
        );
        assert_eq!(
            out["components"]["schemas"]["schema1"],
            json!({"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}})
        );
        assert_eq!(out["paths"]["/c"], out["paths"]["/a"]);
        assert!(noted(&notes, "/paths/~1b/get/parameters/1/$ref", "points at a definition"));
        assert!(noted(&notes, "/paths/~1b/get/responses/200/schema/$ref", "components/schemas/schema1"));
    }

    #[test]
    fn nulls_are_dropped_and_noted() {
        let (out, notes) = convert(doc(
            json!({"definitions": {"A": {"type": "string", "description": null, "default": null, "x-any": null}}}),
        ));
        assert_eq!(out["components"]["schemas"]["A"], json!({"type": "string", "default": null, "x-any": null}));
        assert!(noted(&notes, "/definitions/A/description", "`null`"));
    }

    #[test]
    fn extensions_are_kept_at_every_level() {
        let (out, notes) = convert(doc(json!({"paths": {
            "x-paths": 1,
            "/p": {"x-item": 2, "get": {"x-op": 3, "parameters": [{"name": "q", "in": "query", "type": "string", "x-param": 4}],
                "responses": {"x-responses": 5, "200": {"description": "ok", "x-response": 6, "schema": {"type": "object", "x-schema": {"$ref": "#/definitions/A"}}}}}}
        }, "definitions": {"A": {"type": "object"}}})));
        let item = &out["paths"]["/p"];
        assert_eq!(out["paths"]["x-paths"], 1);
        assert_eq!(item["x-item"], 2);
        assert_eq!(item["get"]["x-op"], 3);
        assert_eq!(item["get"]["parameters"][0]["x-param"], 4);
        assert_eq!(item["get"]["responses"]["x-responses"], 5);
        assert_eq!(item["get"]["responses"]["200"]["x-response"], 6);
        assert_eq!(
            item["get"]["responses"]["200"]["content"]["application/json"]["schema"]["x-schema"],
            json!({"$ref": "#/components/schemas/A"})
        );
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn pointers_are_escaped() {
        let (_, notes) = convert(doc(
            json!({"paths": {"/a~b/{c}": {"get": {"parameters": [{"name": "x", "in": "nowhere"}], "responses": {"200": {"description": "ok"}}}}}}),
        ));
        assert!(noted(&notes, "/paths/~1a~0b~1{c}/get/parameters/0/in", "not a Swagger 2.0 location"));
    }

    #[test]
    fn output_is_deterministic_and_keeps_key_order() {
        let swagger = doc(
            json!({"definitions": {"Zebra": {"properties": {"z": {"type": "string"}, "a": {"type": "string"}, "m": {"type": "string"}}}, "Apple": {"type": "string"}},
            "paths": {"/z": {"get": {"responses": {"200": {"description": "ok"}}}}, "/a": {"post": {"responses": {"201": {"description": "ok"}}}}}}),
        );
        let first = serde_json::to_string(&convert(swagger.clone()).0).unwrap();
        let second = serde_json::to_string(&convert(swagger).0).unwrap();
        assert_eq!(first, second);
        let out: Value = serde_json::from_str(&first).unwrap();
        assert_eq!(out["paths"].as_object().unwrap().keys().collect::<Vec<_>>(), ["/z", "/a"]);
        assert_eq!(out["components"]["schemas"].as_object().unwrap().keys().collect::<Vec<_>>(), ["Zebra", "Apple"]);
        let props = out["components"]["schemas"]["Zebra"]["properties"].as_object().unwrap();
        assert_eq!(props.keys().collect::<Vec<_>>(), ["z", "a", "m"]);
    }

    #[test]
    fn helpers() {
        assert_eq!(sanitise("Map«string,object»"), "Map_string_object_");
        assert_eq!(sanitise("a/b[]c[]"), "a_bArrayc_");
        assert_eq!(percent_decode("a%20b%C2%AB"), "a b«");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%FF"), "%FF");
        assert_eq!(child("/paths", "/a~b"), "/paths/~1a~0b");
        assert_eq!(unescape("~1a~0b"), "/a~b");
    }
}
