//! Record shapes (views), attribute selection and body assembly, with hrefs spliced in per request.
//!
//! Each record's bytes are serialised once at load, per view. A page is then those bytes joined,
//! with the request's own base URL written where the fixture data holds a placeholder.

use bytes::Bytes;
use serde_json::{Map, Value};

/// Bytes with holes where the request's base URL goes.
#[derive(Clone, Debug, Default)]
pub struct Template {
    parts: Vec<Bytes>,
}

impl Template {
    /// Serialises `value` and cuts it at every placeholder prefix.
    pub fn new(value: &Value, placeholders: &[String]) -> Template {
        let text = serde_json::to_vec(value).expect("a JSON value serialises");
        Template::from_bytes(text, placeholders)
    }

    /// Cuts serialised JSON at every placeholder prefix.
    pub fn from_bytes(text: Vec<u8>, placeholders: &[String]) -> Template {
        let firsts: Vec<u8> = placeholders.iter().filter_map(|p| p.as_bytes().first().copied()).collect();
        let mut parts = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < text.len() {
            // Only a placeholder's first byte can start one.
            if !firsts.contains(&text[i]) {
                i += 1;
                continue;
            }
            match placeholders.iter().find(|p| text[i..].starts_with(p.as_bytes())) {
                Some(p) => {
                    parts.push(Bytes::copy_from_slice(&text[start..i]));
                    i += p.len();
                    start = i;
                }
                None => i += 1,
            }
        }
        if parts.is_empty() {
            return Template { parts: vec![Bytes::from(text)] };
        }
        parts.push(Bytes::copy_from_slice(&text[start..]));
        Template { parts }
    }

    /// Appends the bytes, with `base` (already JSON-escaped) in each hole.
    pub fn write(&self, out: &mut Vec<u8>, base: &[u8]) {
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(base);
            }
            out.extend_from_slice(part);
        }
    }

    /// The written size with `base` in each hole.
    pub fn size_with(&self, base: usize) -> usize {
        self.len() + base * self.parts.len().saturating_sub(1)
    }

    /// The size of the bytes, holes left out.
    pub fn len(&self) -> usize {
        self.parts.iter().map(Bytes::len).sum()
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a record is shown: which first-level attributes, and what `@type` says.
#[derive(Clone, Debug)]
pub struct Shape {
    /// The view's name (the schema name), written into `type_field` when set.
    pub name: String,
    /// Attributes shown, in schema order; None shows the record as it is.
    pub props: Option<Vec<String>>,
    /// Field that names the view, e.g. `@type`.
    pub type_field: Option<String>,
    /// Show attributes the record lacks as null.
    pub explicit_nulls: bool,
}

impl Shape {
    /// The record as this view shows it.
    pub fn apply<'r>(&self, record: &'r Value) -> std::borrow::Cow<'r, Value> {
        let Some(props) = &self.props else { return std::borrow::Cow::Borrowed(record) };
        let Value::Object(map) = record else { return std::borrow::Cow::Borrowed(record) };
        let mut out = Map::new();
        for (k, v) in map {
            if props.iter().any(|p| p == k) {
                out.insert(k.clone(), v.clone());
            }
        }
        if self.explicit_nulls {
            for p in props {
                if !out.contains_key(p) {
                    out.insert(p.clone(), Value::Null);
                }
            }
        }
        if let Some(field) = &self.type_field {
            if out.contains_key(field) {
                out.insert(field.clone(), Value::String(self.name.clone()));
            }
        }
        std::borrow::Cow::Owned(Value::Object(out))
    }
}

/// Keeps the named first-level attributes of an object, in the object's order.
pub fn select(value: &Value, keep: &[String]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(k, _)| keep.iter().any(|f| f == *k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
        ),
        other => other.clone(),
    }
}

/// A string's JSON form without the quotes, for splicing into a JSON string.
pub fn json_escaped(text: &str) -> Vec<u8> {
    let quoted = serde_json::to_vec(text).expect("a string serialises");
    quoted[1..quoted.len() - 1].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_splice_the_base_url() {
        let ph = vec!["http://host:port/x/version".to_string()];
        let t = Template::new(&json!({"href": "http://host:port/x/version/a/1", "b": [1]}), &ph);
        let mut out = Vec::new();
        t.write(&mut out, b"http://127.0.0.1:4010/x/v4");
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"href":"http://127.0.0.1:4010/x/v4/a/1","b":[1]}"#);
    }

    #[test]
    fn shapes_fill_nulls_and_name_the_view() {
        let shape = Shape {
            name: "Ext".into(),
            props: Some(vec!["id".into(), "@type".into(), "extra".into()]),
            type_field: Some("@type".into()),
            explicit_nulls: true,
        };
        let shown = shape.apply(&json!({"id": "1", "drop": true, "@type": "Base"})).into_owned();
        assert_eq!(shown, json!({"id": "1", "@type": "Ext", "extra": null}));
    }
}
