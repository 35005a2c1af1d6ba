//! OpenAPI schemas as JSON Schema: dialect conversion, `$ref` resolution and compiled validators.

use std::sync::Arc;

use serde_json::{json, Map, Value};

/// Which flavour of schema an OpenAPI document writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// OpenAPI 3.0: a JSON Schema draft 4 dialect with `nullable` and boolean exclusive bounds.
    OpenApi30,
    /// OpenAPI 3.1: plain JSON Schema 2020-12.
    OpenApi31,
}

/// One rule an instance broke, located by JSON pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    /// JSON pointer into the instance.
    pub(crate) pointer: String,
    /// JSON pointer into the schema: the rule that failed.
    pub(crate) rule: String,
    /// What was wrong.
    pub(crate) message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() { "/" } else { &self.pointer };
        write!(f, "at {at}: {} (rule {})", self.message, self.rule)
    }
}

/// The component schemas of one document, converted to JSON Schema 2020-12 `$defs`.
#[derive(Debug)]
pub(crate) struct SchemaSet {
    defs: Map<String, Value>,
    dialect: Dialect,
    /// Compiled checkers by schema text: many parameters and responses share one schema.
    compiled: std::sync::Mutex<std::collections::HashMap<String, Checker>>,
}

/// A compiled schema that can check instances.
#[derive(Clone)]
pub(crate) struct Checker {
    validator: Arc<jsonschema::Validator>,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Checker")
    }
}

impl Checker {
    /// True when the instance satisfies the schema.
    pub(crate) fn is_valid(&self, instance: &Value) -> bool {
        self.validator.is_valid(instance)
    }

    /// Every rule the instance breaks, at most `limit` of them.
    pub(crate) fn findings(&self, instance: &Value, limit: usize) -> Vec<Violation> {
        self.validator
            .iter_errors(instance)
            .take(limit)
            .map(|e| Violation {
                pointer: e.instance_path().to_string(),
                rule: e.schema_path().to_string().replacen("/$defs/", "#/components/schemas/", 1),
                message: e.to_string(),
            })
            .collect()
    }
}

/// A record schema's checker, with one checker per top-level member when the schema constrains
/// its members one by one: a valid record that changed a few members is then checked at those
/// alone, which is most of what a write costs otherwise.
#[derive(Clone, Debug)]
pub(crate) struct RecordChecker {
    /// The whole schema.
    pub(crate) whole: Checker,
    /// Each declared member's schemas, compiled; None when members are not independent.
    members: Option<std::collections::HashMap<String, Checker>>,
}

impl RecordChecker {
    /// Whether `record`, valid before, is valid after a change to the top-level members
    /// `changed` (None: anything may have changed).
    pub(crate) fn is_valid_after(&self, record: &Value, changed: Option<&[String]>) -> bool {
        let (Some(members), Some(changed), Value::Object(map)) = (&self.members, changed, record) else {
            return self.whole.is_valid(record);
        };
        changed.iter().all(|name| match (members.get(name), map.get(name)) {
            (Some(checker), Some(value)) => checker.is_valid(value),
            // A member the schema does not declare, or one that is gone: the whole decides.
            _ => self.whole.is_valid(record),
        })
    }
}

impl SchemaSet {
    /// Converts `components.schemas` of a document in the given dialect.
    pub(crate) fn new(components_schemas: Option<&Value>, dialect: Dialect) -> Self {
        let mut defs = Map::new();
        if let Some(Value::Object(schemas)) = components_schemas {
            for (name, schema) in schemas {
                defs.insert(name.clone(), convert(schema, dialect));
            }
        }
        SchemaSet { defs, dialect, compiled: Default::default() }
    }

    /// Converts a schema written in this document's dialect.
    pub(crate) fn convert(&self, schema: &Value) -> Value {
        convert(schema, self.dialect)
    }

    /// The converted component schema called `name`.
    pub(crate) fn component(&self, name: &str) -> Option<&Value> {
        self.defs.get(name)
    }

    /// Compiles an already converted schema against the `$defs` it reaches; the same schema is
    /// compiled once.
    pub(crate) fn compile(&self, converted: &Value) -> Result<Checker, String> {
        let key = converted.to_string();
        if let Some(found) = self.compiled.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(found.clone());
        }
        let mut root = Map::new();
        root.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
        root.insert("$defs".into(), Value::Object(self.reachable(converted)));
        root.insert("allOf".into(), json!([converted]));
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .map_err(|e| e.to_string())?;
        let checker = Checker { validator: Arc::new(validator) };
        self.compiled.lock().unwrap_or_else(|e| e.into_inner()).insert(key, checker.clone());
        Ok(checker)
    }

    /// A record schema's checker, member by member where it can be (see [`RecordChecker`]).
    pub(crate) fn record_checker(&self, converted: &Value) -> Result<RecordChecker, String> {
        let whole = self.compile(converted)?;
        let mut declared = std::collections::BTreeMap::new();
        let members = match self.member_schemas(converted, &mut declared, 0) {
            Some(()) => Some(
                declared
                    .into_iter()
                    .map(|(name, schemas)| Ok((name, self.compile(&json!({ "allOf": schemas }))?)))
                    .collect::<Result<_, String>>()?,
            ),
            None => None,
        };
        Ok(RecordChecker { whole, members })
    }

    /// Gathers each declared member's schemas, through `$ref` and `allOf`; None when a keyword
    /// may tie members together (or forbids undeclared ones), so no member can be checked alone.
    fn member_schemas(
        &self,
        schema: &Value,
        members: &mut std::collections::BTreeMap<String, Vec<Value>>,
        depth: usize,
    ) -> Option<()> {
        let Value::Object(map) = schema else { return (schema == &Value::Bool(true)).then_some(()) };
        if depth > 32 {
            return None;
        }
        for (keyword, value) in map {
            match keyword.as_str() {
                "$ref" => {
                    let name = value.as_str()?.strip_prefix("#/$defs/")?;
                    self.member_schemas(self.defs.get(name)?, members, depth + 1)?;
                }
                "allOf" => {
                    for part in value.as_array()? {
                        self.member_schemas(part, members, depth + 1)?;
                    }
                }
                "properties" => {
                    for (name, sub) in value.as_object()? {
                        members.entry(name.clone()).or_default().push(sub.clone());
                    }
                }
                "type" if value == "object" => {}
                "additionalProperties" if value == &Value::Bool(true) => {}
                // A change never removes a member, and annotations constrain nothing.
                "required" | "title" | "description" | "example" | "examples" | "default" | "deprecated"
                | "readOnly" | "writeOnly" | "$comment" | "discriminator" | "externalDocs" | "xml" => {}
                other if other.starts_with("x-") => {}
                _ => return None,
            }
        }
        Some(())
    }

    /// The `$defs` a schema refers to, directly or through other definitions.
    fn reachable(&self, schema: &Value) -> Map<String, Value> {
        let mut found = Map::new();
        let mut pending = vec![schema];
        while let Some(next) = pending.pop() {
            let mut refs = Vec::new();
            collect_refs(next, &mut refs);
            for name in refs {
                if !found.contains_key(&name) {
                    if let Some(def) = self.defs.get(&name) {
                        found.insert(name, def.clone());
                        pending.push(def);
                    }
                }
            }
        }
        found
    }

    /// Follows `$ref`s (and single-entry `allOf` wrappers used for nullable refs) to a concrete schema.
    pub(crate) fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..32 {
            if let Some(name) = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
                match self.defs.get(name) {
                    Some(next) => schema = next,
                    None => return schema,
                }
            } else if let Some([only]) = schema.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
                if schema.get("properties").is_some() {
                    return schema;
                }
                schema = only;
            } else if let Some(branches) = schema.get("anyOf").and_then(Value::as_array) {
                // nullable wrapper: {anyOf: [{type: null}, X]}
                match branches.iter().find(|b| b.get("type") != Some(&json!("null"))) {
                    Some(next) if branches.len() == 2 => schema = next,
                    _ => return schema,
                }
            } else {
                return schema;
            }
        }
        schema
    }

    /// The first-level property names of an object schema, through `allOf` and `$ref`, in declared order.
    pub(crate) fn property_names(&self, schema: &Value) -> Vec<String> {
        let mut names = Vec::new();
        self.collect_properties(schema, &mut names, 0);
        names
    }

    fn collect_properties(&self, schema: &Value, names: &mut Vec<String>, depth: usize) {
        if depth > 32 {
            return;
        }
        let schema = self.resolve(schema);
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.collect_properties(part, names, depth + 1);
            }
        }
        if let Some(Value::Object(props)) = schema.get("properties") {
            for name in props.keys() {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
    }
}

fn collect_refs(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.extend(r.strip_prefix("#/$defs/").map(str::to_string)),
                    ("enum" | "const" | "default" | "examples", _) => {}
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Rewrites one schema of `dialect` into JSON Schema 2020-12 with refs into `#/$defs/`.
pub(crate) fn convert(schema: &Value, dialect: Dialect) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                let value = match key.as_str() {
                    "$ref" => Value::String(rewrite_ref(value.as_str().unwrap_or_default())),
                    // Keywords whose values are data, not schemas.
                    "example" | "examples" | "default" | "enum" | "const" | "required" => value.clone(),
                    "properties" | "patternProperties" | "$defs" | "definitions" => match value {
                        Value::Object(props) => {
                            Value::Object(props.iter().map(|(k, v)| (k.clone(), convert(v, dialect))).collect())
                        }
                        other => other.clone(),
                    },
                    _ => convert(value, dialect),
                };
                out.insert(key.clone(), value);
            }
            if dialect == Dialect::OpenApi30 {
                adapt_30(&mut out);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| convert(v, dialect)).collect()),
        other => other.clone(),
    }
}

fn rewrite_ref(reference: &str) -> String {
    match reference.strip_prefix("#/components/schemas/") {
        Some(name) => format!("#/$defs/{name}"),
        None => reference.to_string(),
    }
}

/// OpenAPI 3.0 keywords that mean something else, or nothing, in 2020-12.
fn adapt_30(out: &mut Map<String, Value>) {
    for (bound, limit) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if let Some(Value::Bool(exclusive)) = out.get(bound).cloned() {
            out.remove(bound);
            if exclusive {
                if let Some(v) = out.remove(limit) {
                    out.insert(bound.into(), v);
                }
            }
        }
    }
    for noise in ["nullable", "discriminator", "xml", "externalDocs", "readOnly", "writeOnly", "deprecated", "example"]
    {
        if noise != "nullable" {
            out.remove(noise);
        }
    }
    if out.remove("nullable") == Some(Value::Bool(true)) {
        if let Some(Value::Array(options)) = out.get_mut("enum") {
            if !options.contains(&Value::Null) {
                options.push(Value::Null);
            }
        }
        match out.get("type").cloned() {
            Some(Value::String(t)) => {
                out.insert("type".into(), json!([t, "null"]));
            }
            _ => {
                let inner = Value::Object(std::mem::take(out));
                out.insert("anyOf".into(), json!([{ "type": "null" }, inner]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_ref_accepts_null_and_the_referenced_shape() {
        let set = SchemaSet::new(
            Some(&json!({"Q": {"type": "object", "required": ["a"], "properties": {"a": {"type": "number"}}}})),
            Dialect::OpenApi30,
        );
        let schema = set.convert(&json!({"nullable": true, "allOf": [{"$ref": "#/components/schemas/Q"}]}));
        let checker = set.compile(&schema).unwrap();
        assert!(checker.is_valid(&Value::Null));
        assert!(checker.is_valid(&json!({"a": 1.5})));
        let findings = checker.findings(&json!({"a": "x"}), 5);
        assert!(!findings.is_empty());
    }

    #[test]
    fn exclusive_bounds_become_numbers() {
        let converted =
            convert(&json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true}), Dialect::OpenApi30);
        assert_eq!(converted, json!({"type": "integer", "exclusiveMinimum": 0}));
    }

    #[test]
    fn property_names_follow_all_of_in_order() {
        let set = SchemaSet::new(
            Some(&json!({
                "Base": {"type": "object", "properties": {"@type": {"type": "string"}}},
                "Thing": {"allOf": [{"$ref": "#/components/schemas/Base"}, {"properties": {"id": {}, "name": {}}}]}
            })),
            Dialect::OpenApi30,
        );
        let thing = set.component("Thing").unwrap().clone();
        assert_eq!(set.property_names(&thing), vec!["@type", "id", "name"]);
    }

    #[test]
    fn a_record_checker_checks_the_members_a_change_touched_with_every_branch_they_meet() {
        let set = SchemaSet::new(
            Some(&json!({
                "Money": {"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number", "minimum": 0}}},
                "Base": {"type": "object", "properties": {"@type": {"type": "string"}, "total": {"$ref": "#/components/schemas/Money"}}},
                "Bucket": {"allOf": [{"$ref": "#/components/schemas/Base"},
                    {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}, "total": {"required": ["units"]}}}]},
                "Either": {"oneOf": [{"required": ["a"]}, {"required": ["b"]}], "properties": {"a": {}, "b": {}}}
            })),
            Dialect::OpenApi30,
        );
        let bucket = set.record_checker(set.component("Bucket").unwrap()).unwrap();
        let touched = ["total".to_string()];
        let changed = Some(&touched[..]);
        let good = json!({"id": "b1", "total": {"amount": 1, "units": "EUR"}});
        assert!(bucket.is_valid_after(&good, changed));
        // Each branch that declares the member applies: Money's minimum, and Bucket's own `units`.
        assert!(!bucket.is_valid_after(&json!({"id": "b1", "total": {"amount": -1, "units": "EUR"}}), changed));
        assert!(!bucket.is_valid_after(&json!({"id": "b1", "total": {"amount": 1}}), changed));
        // Members the change did not touch were valid before and are not looked at again.
        assert!(bucket.is_valid_after(&json!({"id": 7, "total": {"amount": 1, "units": "EUR"}}), changed));
        assert!(!bucket.is_valid_after(&json!({"id": 7, "total": {"amount": 1, "units": "EUR"}}), None));
        // A member no branch declares takes the whole check.
        let undeclared = ["other".to_string()];
        assert!(!bucket.is_valid_after(&json!({"other": 1, "total": {"amount": 1, "units": "EUR"}}), Some(&undeclared)));

        // oneOf ties members together: only the whole schema can say.
        let either = set.record_checker(set.component("Either").unwrap()).unwrap();
        let a = ["a".to_string()];
        assert!(!either.is_valid_after(&json!({"a": 1, "b": 2}), Some(&a)));
        assert!(either.is_valid_after(&json!({"a": 1}), Some(&a)));
    }
}
