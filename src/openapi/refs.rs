//! `$ref`s to other local files (`schemas/pet.yaml`, `common.yaml#/components/schemas/Error`)
//! brought into the document, so that the rest of specmock sees one self-contained document.
//! What they point at is inlined; a schema that refers back to itself through files is hoisted
//! into the document's schemas under its own name instead, as bundlers do. Remote references
//! are refused: the mock runs offline.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// How many values may be brought in from other files, all told: far beyond real documents,
/// short of a reference fan-out that would fill memory.
const MAX_INLINED: usize = 200_000;

/// Resolves every reference to another file in `document`, read relative to `dir`. `schemas`
/// is where hoisted schemas go: `/components/schemas` (OpenAPI 3) or `/definitions` (Swagger 2.0).
pub(crate) fn bundle(document: &mut Value, dir: &Path, schemas: &str) -> Result<(), String> {
    if !has_external(document) {
        return Ok(());
    }
    let mut bundler = Bundler {
        files: HashMap::new(),
        stack: Vec::new(),
        hoisted: HashMap::new(),
        defs: Map::new(),
        inlined: 0,
        schemas,
    };
    let root = dir.join("<document>");
    let resolved = bundler.resolve(document, &root)?;
    *document = resolved;
    if !bundler.defs.is_empty() {
        let pointer: Vec<&str> = schemas.split('/').filter(|s| !s.is_empty()).collect();
        let mut slot = &mut *document;
        for key in pointer {
            let Value::Object(map) = slot else { return Err(format!("{schemas} is not a mapping")) };
            slot = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
        }
        let Value::Object(target) = slot else { return Err(format!("{schemas} is not a mapping")) };
        for (name, schema) in std::mem::take(&mut bundler.defs) {
            target.insert(name, schema);
        }
    }
    Ok(())
}

/// Whether any `$ref` names another file.
fn has_external(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(k, v)| match (k.as_str(), v) {
            ("$ref", Value::String(r)) => !r.starts_with('#') && !r.starts_with('/'),
            ("example" | "examples" | "default" | "enum" | "const", _) => false,
            _ => has_external(v),
        }),
        Value::Array(items) => items.iter().any(has_external),
        _ => false,
    }
}

struct Bundler<'s> {
    /// Files read so far, by path.
    files: HashMap<PathBuf, Value>,
    /// The (file, pointer) targets being inlined, to find a cycle.
    stack: Vec<(PathBuf, String)>,
    /// Targets hoisted into the document's schemas, with their names.
    hoisted: HashMap<(PathBuf, String), String>,
    /// Hoisted schemas, by name.
    defs: Map<String, Value>,
    inlined: usize,
    schemas: &'s str,
}

impl Bundler<'_> {
    /// `value` from `file`, its references to other files (and, in other files, to themselves)
    /// resolved.
    fn resolve(&mut self, value: &Value, file: &Path) -> Result<Value, String> {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    if let Some(target) = self.target(reference, file)? {
                        return self.inline(target);
                    }
                }
                let mut out = Map::new();
                for (key, item) in map {
                    let item = match key.as_str() {
                        "example" | "examples" | "default" | "enum" | "const" => item.clone(),
                        _ => self.resolve(item, file)?,
                    };
                    out.insert(key.clone(), item);
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => {
                items.iter().map(|item| self.resolve(item, file)).collect::<Result<_, _>>().map(Value::Array)
            }
            other => Ok(other.clone()),
        }
    }

    /// The (file, pointer) a reference names when it must be brought in: one to another file,
    /// or a local one inside a file that was itself brought in.
    fn target(&self, reference: &str, file: &Path) -> Result<Option<(PathBuf, String)>, String> {
        let (path, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        if path.is_empty() {
            return Ok(file
                .file_name()
                .is_some_and(|n| n != "<document>")
                .then(|| (file.to_path_buf(), pointer.to_string())));
        }
        if path.contains("://") {
            return Err(format!(
                "`$ref: {reference}` is remote; specmock runs offline: download it and refer to the file by a relative path"
            ));
        }
        if path.starts_with('/') {
            // A URI path such as `/components/schemas/pet` names a schema's `$id`, not a file.
            return Ok(None);
        }
        let base = file.parent().unwrap_or(Path::new("."));
        Ok(Some((base.join(path), pointer.to_string())))
    }

    fn inline(&mut self, target: (PathBuf, String)) -> Result<Value, String> {
        if let Some(name) = self.hoisted.get(&target) {
            return Ok(reference_to(self.schemas, name));
        }
        if self.stack.contains(&target) {
            // A cycle through files: the schema gets a name in the document and is referred to.
            let name = self.name_for(&target);
            self.hoisted.insert(target, name.clone());
            return Ok(reference_to(self.schemas, &name));
        }
        self.inlined += 1;
        if self.inlined > MAX_INLINED {
            return Err(format!("more than {MAX_INLINED} references to other files; is there a reference loop?"));
        }
        let (file, pointer) = &target;
        if !self.files.contains_key(file) {
            let text = std::fs::read_to_string(file).map_err(|e| format!("`$ref` to {}: {e}", file.display()))?;
            let value = crate::openapi::document::parse(&text).map_err(|e| format!("{}: {e}", file.display()))?;
            self.files.insert(file.clone(), value);
        }
        let found = self.files[file]
            .pointer(pointer)
            .cloned()
            .ok_or_else(|| format!("`$ref` to {}#{pointer} points at nothing", file.display()))?;
        self.stack.push(target.clone());
        let resolved = self.resolve(&found, &target.0.clone());
        self.stack.pop();
        let resolved = resolved?;
        match self.hoisted.get(&target) {
            Some(name) => {
                self.defs.insert(name.clone(), resolved);
                Ok(reference_to(self.schemas, &self.hoisted[&target].clone()))
            }
            None => Ok(resolved),
        }
    }

    /// A name for a hoisted schema: the pointer's last segment, else the file's stem; made
    /// unique against those taken.
    fn name_for(&self, (file, pointer): &(PathBuf, String)) -> String {
        let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "schema".into());
        let last =
            pointer.rsplit('/').next().filter(|s| !s.is_empty()).map(|s| s.replace("~1", "/").replace("~0", "~"));
        let base: String = last
            .unwrap_or(stem)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
            .collect();
        let mut name = base.clone();
        let mut n = 2;
        while self.defs.contains_key(&name) || self.hoisted.values().any(|v| *v == name) {
            name = format!("{base}{n}");
            n += 1;
        }
        name
    }
}

fn reference_to(schemas: &str, name: &str) -> Value {
    serde_json::json!({ "$ref": format!("#{schemas}/{name}") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn files_are_inlined_and_cycles_hoisted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pet.yaml"),
            "type: object\nproperties:\n  owner: {$ref: 'people.yaml#/Person'}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("people.yaml"),
            "Person:\n  type: object\n  properties:\n    name: {type: string}\n    friend: {$ref: '#/Person'}\n",
        )
        .unwrap();
        let mut doc = json!({"openapi": "3.0.3", "paths": {"/pets": {"get": {"responses": {"200": {
            "description": "ok", "content": {"application/json": {"schema": {"$ref": "pet.yaml"}}}}}}}}});
        bundle(&mut doc, dir.path(), "/components/schemas").unwrap();
        let schema = &doc.pointer("/paths/~1pets/get/responses/200/content/application~1json/schema").unwrap();
        assert_eq!(schema["properties"]["owner"], json!({"$ref": "#/components/schemas/Person"}));
        let person = doc.pointer("/components/schemas/Person").unwrap();
        assert_eq!(person["properties"]["friend"], json!({"$ref": "#/components/schemas/Person"}));
    }

    #[test]
    fn remote_and_missing_references_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut remote = json!({"a": {"$ref": "https://example.com/x.yaml#/X"}});
        assert!(bundle(&mut remote, dir.path(), "/components/schemas").unwrap_err().contains("runs offline"));
        let mut missing = json!({"a": {"$ref": "nope.yaml"}});
        assert!(bundle(&mut missing, dir.path(), "/components/schemas").unwrap_err().contains("nope.yaml"));
    }
}
