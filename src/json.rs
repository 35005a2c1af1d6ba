//! Small JSON helpers every layer shares: a value as the text filters and keys compare, a
//! schema's enum as texts, and a string escaped for splicing into JSON.

use std::borrow::Cow;

use serde_json::Value;

/// A scalar as the text filters and keys compare: strings as they are, other scalars in JSON.
pub fn text_of(value: &Value) -> String {
    text(value).into_owned()
}

/// Like [`text_of`], borrowing a string instead of copying it.
pub(crate) fn text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s.as_str()),
        other => Cow::Owned(other.to_string()),
    }
}

/// A schema's `enum` values as texts, `null` left out; empty when it has no enum.
pub(crate) fn enum_texts(schema: &Value) -> Vec<String> {
    schema
        .get("enum")
        .and_then(Value::as_array)
        .map(|values| values.iter().filter(|v| !v.is_null()).map(text_of).collect())
        .unwrap_or_default()
}

/// A string's JSON form without the quotes, for splicing into a JSON string.
pub(crate) fn json_escaped(text: &str) -> Vec<u8> {
    let quoted = serde_json::to_vec(text).expect("a string serialises");
    quoted[1..quoted.len() - 1].to_vec()
}
