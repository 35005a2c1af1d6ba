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

/// The value a JSON pointer names, as `Value::pointer` finds it but without its two string copies
/// per segment: only a segment holding a `~` escape is copied. A write follows a few dozen
/// pointers, and those copies were 7% of a BRM transfer's instructions.
pub(crate) fn at<'v>(value: &'v Value, pointer: &str) -> Option<&'v Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    pointer.strip_prefix('/')?.split(is_slash).try_fold(value, |target, token| {
        let token = unescaped(token);
        match target {
            Value::Object(map) => member(map, &token),
            Value::Array(items) => index(&token).and_then(|i| items.get(i)),
            _ => None,
        }
    })
}

/// The member `name` of an object. A small object is scanned: comparing a few short names costs
/// less than the SipHash serde_json's map computes for every lookup.
pub(crate) fn member<'v>(map: &'v serde_json::Map<String, Value>, name: &str) -> Option<&'v Value> {
    match map.len() <= 8 {
        true => map.iter().find(|(k, _)| k.as_str() == name).map(|(_, v)| v),
        false => map.get(name),
    }
}

/// [`member`], mutably.
pub(crate) fn member_mut<'v>(map: &'v mut serde_json::Map<String, Value>, name: &str) -> Option<&'v mut Value> {
    match map.len() <= 8 {
        true => map.iter_mut().find(|(k, _)| k.as_str() == name).map(|(_, v)| v),
        false => map.get_mut(name),
    }
}

/// [`at`], mutably.
pub(crate) fn at_mut<'v>(value: &'v mut Value, pointer: &str) -> Option<&'v mut Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    pointer.strip_prefix('/')?.split(is_slash).try_fold(value, |target, token| {
        let token = unescaped(token);
        match target {
            Value::Object(map) => member_mut(map, &token),
            Value::Array(items) => index(&token).and_then(|i| items.get_mut(i)),
            _ => None,
        }
    })
}

/// The pointer separator, as a predicate: `split('/')` searches with memchr, whose setup costs
/// more than the few bytes of a pointer segment.
pub(crate) fn is_slash(c: char) -> bool {
    c == '/'
}

/// A pointer segment with its `~1` and `~0` escapes undone.
pub(crate) fn unescaped(token: &str) -> Cow<'_, str> {
    // A byte loop: pointer segments are short, and a memchr call costs more than it saves here.
    match token.bytes().any(|b| b == b'~') {
        true => Cow::Owned(token.replace("~1", "/").replace("~0", "~")),
        false => Cow::Borrowed(token),
    }
}

/// An array index as a pointer writes it: digits, no sign, no leading zero.
pub(crate) fn index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() > 1) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_follows_a_pointer_as_serde_json_does() {
        let value = serde_json::json!({"a": [{"b/c": 1, "d~e": 2}], "": 3, "07": 4});
        for pointer in ["", "/a", "/a/0", "/a/0/b~1c", "/a/0/d~0e", "/", "/07", "/a/00", "/a/+0", "/a/1", "/x/y", "a"] {
            assert_eq!(at(&value, pointer), value.pointer(pointer), "{pointer}");
            assert_eq!(at_mut(&mut value.clone(), pointer).cloned(), value.pointer(pointer).cloned(), "{pointer}");
        }
    }
}
