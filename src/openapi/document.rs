//! Reads an API description from text: JSON or YAML, OpenAPI 3.0 or 3.1, or Swagger 2.0
//! converted to 3.0. Anything else is refused with what it looks like and what was expected.

use serde_json::Value;

use crate::json::text_of;
use crate::openapi::schema::Dialect;
use crate::openapi::Warning;

/// The largest document read: GitHub's 13 MB description fits five times over, and a hostile
/// file cannot make the parser hold gigabytes.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 64 << 20;

/// A document read and, for Swagger 2.0, converted: the OpenAPI 3 model specmock compiles.
pub(crate) struct Document {
    /// The OpenAPI 3.0 or 3.1 document.
    pub(crate) value: Value,
    /// How its schemas are written.
    pub(crate) dialect: Dialect,
    /// Slips worth a warning, found while reading or converting.
    pub(crate) warnings: Vec<Warning>,
}

/// Parses text as JSON (quickly, when it starts with `{`) or YAML, with bounds real documents
/// never meet.
pub(crate) fn parse(text: &str) -> Result<Value, String> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "the document is {} MiB; specmock reads documents of at most {} MiB",
            text.len() >> 20,
            MAX_DOCUMENT_BYTES >> 20
        ));
    }
    let body = text.trim_start_matches('\u{feff}').trim_start();
    if body.starts_with('{') {
        // serde_json reads 13 MB in a tenth of the YAML parser's time, and its recursion limit
        // (128 levels) bounds depth.
        return serde_json::from_str(body).map_err(|e| format!("not valid JSON: {e}"));
    }
    if let Some(kind) = foreign_text(body) {
        return Err(kind);
    }
    let mut budget = serde_saphyr::Budget::default();
    // The default 250,000 nodes is a configuration file's budget; a large API description has
    // millions. Aliases and anchors keep their defaults, which stop "billion laughs" documents.
    budget.max_nodes = 8_000_000;
    budget.max_events = 16_000_000;
    budget.max_depth = 256;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    serde_saphyr::from_str_with_options(body, options).map_err(|e| format!("not valid YAML or JSON: {e}"))
}

/// Description formats recognisable from their first line.
fn foreign_text(body: &str) -> Option<String> {
    let first = body.lines().next().unwrap_or_default().trim();
    if first.starts_with("#%RAML") {
        return Some("this is a RAML document, not OpenAPI; convert it to OpenAPI 3 first".into());
    }
    if first.starts_with("FORMAT:") {
        return Some("this is an API Blueprint document, not OpenAPI; convert it to OpenAPI 3 first".into());
    }
    None
}

/// Says which OpenAPI version a parsed document is, converting Swagger 2.0; refuses what is
/// not an OpenAPI document with what it looks like.
pub(crate) fn identify(value: Value) -> Result<Document, String> {
    let Value::Object(top) = &value else {
        return Err(format!(
            "not an OpenAPI document: the top level is {}; expected a mapping that starts with `openapi: 3.1.0`",
            kind_of(&value)
        ));
    };
    let mut warnings = Vec::new();
    if let Some(version) = top.get("openapi") {
        let version = text_of(version);
        let dialect = if version.starts_with("3.0") {
            Dialect::OpenApi30
        } else if version.starts_with("3.1") {
            Dialect::OpenApi31
        } else if version.starts_with("3.") {
            warnings.push(Warning::new("/openapi", format!("`{version}` is newer than 3.1; read as 3.1")));
            Dialect::OpenApi31
        } else if version.starts_with('2') {
            return Err(format!(
                "`openapi: {version}` is not a version OpenAPI has; a 2.0 document says `swagger: \"2.0\"`, \
                 which specmock reads, and OpenAPI 3 says `openapi: 3.0.3` or `3.1.0`"
            ));
        } else {
            return Err(format!("`openapi: {version}` is not supported; expected 3.0.x or 3.1.x"));
        };
        if version.matches('.').count() < 2 {
            warnings.push(Warning::new("/openapi", format!("`{version}` is not a full version; expected e.g. 3.0.3")));
        }
        return Ok(Document { value, dialect, warnings });
    }
    if let Some(version) = top.get("swagger").or_else(|| top.get("swaggerVersion")) {
        let version = text_of(version);
        if version != "2.0" && version != "2" {
            return Err(format!(
                "Swagger 2.0 and OpenAPI 3.0 and 3.1 are supported; this says swagger: {version}. \
                 Convert it to OpenAPI 3 first (e.g. with swagger-converter)"
            ));
        }
        let (converted, notes) = crate::openapi::swagger2::to_openapi30(&value)?;
        warnings.extend(notes.into_iter().map(|n| Warning::new(&n.pointer, n.message)));
        return Ok(Document { value: converted, dialect: Dialect::OpenApi30, warnings });
    }
    Err(foreign(top))
}

/// What a mapping without `openapi` or `swagger` is, as far as its keys tell.
fn foreign(top: &serde_json::Map<String, Value>) -> String {
    let schema_url = top.get("info").and_then(|i| i.get("schema")).and_then(Value::as_str).unwrap_or_default();
    if schema_url.contains("getpostman.com") || top.get("info").is_some_and(|i| i.get("_postman_id").is_some()) {
        return "this looks like a Postman collection, not an OpenAPI document; export the API from Postman as \
                OpenAPI 3 and serve that"
            .into();
    }
    if top.contains_key("asyncapi") {
        return "this is an AsyncAPI document, which describes message brokers; specmock serves HTTP APIs \
                described by OpenAPI 3 or Swagger 2.0"
            .into();
    }
    if top.contains_key("$schema") && !top.contains_key("paths") {
        return "this looks like a JSON Schema, not an OpenAPI document; OpenAPI documents start with \
                `openapi: 3.1.0` and list `paths`"
            .into();
    }
    let keys: Vec<&str> = top.keys().take(8).map(String::as_str).collect();
    format!(
        "not an OpenAPI document: there is no `openapi: 3.x` or `swagger: \"2.0\"` at the top (it has: {}); \
         expected OpenAPI 3.0, 3.1 or Swagger 2.0",
        if keys.is_empty() { "nothing".to_string() } else { keys.join(", ") }
    )
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refusal(text: &str) -> String {
        match parse(text).and_then(identify) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e,
        }
    }

    #[test]
    fn json_is_read_without_the_yaml_parser() {
        let nodes: Vec<String> = (0..300_000).map(|i| i.to_string()).collect();
        let text = format!("{{\"openapi\": \"3.0.3\", \"x-big\": [{}]}}", nodes.join(","));
        let doc = identify(parse(&text).unwrap()).unwrap();
        assert_eq!(doc.dialect, Dialect::OpenApi30);
        assert_eq!(doc.value["x-big"].as_array().unwrap().len(), 300_000);
    }

    #[test]
    fn large_yaml_is_read() {
        let mut text = String::from("openapi: 3.1.0\nx-big:\n");
        for i in 0..300_000 {
            text.push_str(&format!("  - {i}\n"));
        }
        assert_eq!(parse(&text).unwrap()["x-big"].as_array().unwrap().len(), 300_000);
    }

    #[test]
    fn foreign_documents_are_named() {
        assert!(refusal("swagger: '1.2'\napis: []").contains("this says swagger: 1.2"));
        assert!(refusal(r#"{"swaggerVersion": "1.2", "apis": []}"#).contains("this says swagger: 1.2"));
        let postman = json!({"info": {"_postman_id": "x", "name": "n",
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"}, "item": []});
        assert!(refusal(&postman.to_string()).contains("Postman collection"));
        assert!(refusal("asyncapi: 2.6.0\nchannels: {}").contains("AsyncAPI"));
        assert!(refusal("#%RAML 1.0\ntitle: x").contains("RAML"));
        assert!(refusal("- a\n- b").contains("the top level is a list"));
        assert!(refusal("openapi: 2.0\npaths: {}").contains("`swagger: \"2.0\"`"));
        assert!(refusal("title: x\npaths: {}").contains("it has: title, paths"));
        assert!(refusal("{\"openapi\": \"3.0.3\",").starts_with("not valid JSON"));
        assert!(refusal("a: [b").starts_with("not valid YAML"));
    }

    #[test]
    fn loose_versions_are_warnings() {
        let doc = identify(parse("openapi: 3.0\npaths: {}").unwrap()).unwrap();
        assert_eq!(doc.dialect, Dialect::OpenApi30);
        assert_eq!(doc.warnings[0].pointer, "/openapi");
    }
}
