//! Attribute selection (`fields=`) over pre-rendered records: the members of a record's top-level
//! object are found by scanning its bytes, with no parse into values.
//!
//! Parsing each record into a `serde_json::Value`, filtering and serialising it again cost 45 to
//! 125 ms of CPU for a 1,000-record page, on the async workers. The records are compact JSON that
//! serde_json wrote at load, so finding member boundaries needs only string and nesting tracking,
//! at memchr speed through strings. [`crate::store::render::Rendered`] scans each record once, on
//! the first selection, and keeps the boundaries, so a selected page costs about a copy.

use memchr::memchr2;

/// One top-level member of a record: its quoted name at `name`, its value ending before `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Member {
    /// The name, quotes and escapes included.
    pub(crate) name: (usize, usize),
    /// The offset just past the value.
    pub(crate) end: usize,
}

/// The top-level members of `record`, a compact JSON object; None for anything else (arrays,
/// scalars, broken text), which selection writes whole.
pub(crate) fn members(record: &[u8]) -> Option<Vec<Member>> {
    if record.first() != Some(&b'{') {
        return None;
    }
    let mut found = Vec::new();
    let mut at = 1;
    if record.get(at) == Some(&b'}') {
        at += 1;
    } else {
        loop {
            let name_end = string_end(record, at)?;
            if record.get(name_end) != Some(&b':') {
                return None;
            }
            let end = value_end(record, name_end + 1)?;
            found.push(Member { name: (at, name_end), end });
            at = end + 1;
            match record.get(end) {
                Some(b',') => continue,
                Some(b'}') => break,
                _ => return None,
            }
        }
    }
    (at == record.len()).then_some(found)
}

/// Writes `record` (a compact JSON object) keeping only the top-level members named in `keep`,
/// in the record's order. A record that is not an object is written whole, as selection leaves
/// arrays and scalars alone.
pub fn select_members(record: &[u8], keep: &[String], out: &mut Vec<u8>) {
    let Some(members) = members(record) else {
        out.extend_from_slice(record);
        return;
    };
    out.push(b'{');
    let kept = members.iter().filter(|m| kept(&record[m.name.0..m.name.1], keep));
    for (i, m) in kept.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&record[m.name.0..m.end]);
    }
    out.push(b'}');
}

/// Whether the quoted name `raw` (escapes and all) is one of `keep`.
pub(crate) fn kept(raw: &[u8], keep: &[String]) -> bool {
    let inner = &raw[1..raw.len() - 1];
    if !inner.contains(&b'\\') {
        return keep.iter().any(|k| k.as_bytes() == inner);
    }
    serde_json::from_slice::<String>(raw).is_ok_and(|name| keep.contains(&name))
}

/// The offset just past the string starting at `at`.
fn string_end(text: &[u8], at: usize) -> Option<usize> {
    if text.get(at) != Some(&b'"') {
        return None;
    }
    let mut from = at + 1;
    loop {
        let found = from + memchr2(b'"', b'\\', text.get(from..)?)?;
        if text[found] == b'"' {
            return Some(found + 1);
        }
        from = found + 2;
    }
}

/// The offset just past the value starting at `at`.
fn value_end(text: &[u8], at: usize) -> Option<usize> {
    match text.get(at)? {
        b'"' => string_end(text, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            while let Some(&b) = text.get(i) {
                match b {
                    b'"' => {
                        i = string_end(text, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => Some(at + text[at..].iter().position(|b| matches!(b, b',' | b'}' | b']'))?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Map, Value};

    /// What selection means, on parsed values: the oracle the scanner is checked against.
    fn oracle(value: &Value, keep: &[String]) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter().filter(|(k, _)| keep.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
            ),
            other => other.clone(),
        }
    }

    fn selected(value: &Value, keep: &[&str]) -> Value {
        let keep: Vec<String> = keep.iter().map(|k| k.to_string()).collect();
        let mut out = Vec::new();
        select_members(&serde_json::to_vec(value).unwrap(), &keep, &mut out);
        serde_json::from_slice(&out).expect("selection writes JSON")
    }

    #[test]
    fn keeps_the_named_members_in_the_records_order() {
        let record = json!({"id": "a", "amount": {"q": "1.50", "c": ["x", "}"]}, "note": "say \"hi\"", "n": -1.5e3});
        assert_eq!(selected(&record, &["n", "id"]), json!({"id": "a", "n": -1.5e3}));
        assert_eq!(
            selected(&record, &["amount", "note"]),
            json!({"amount": {"q": "1.50", "c": ["x", "}"]}, "note": "say \"hi\""})
        );
        assert_eq!(selected(&record, &[]), json!({}));
        assert_eq!(selected(&json!({}), &["id"]), json!({}));
    }

    #[test]
    fn names_with_escapes_match_their_text() {
        assert_eq!(
            selected(&json!({"a\"b": 1, "c\\d": [2], "e": null}), &["a\"b", "c\\d"]),
            json!({"a\"b": 1, "c\\d": [2]})
        );
    }

    #[test]
    fn anything_but_an_object_is_written_whole() {
        for value in [json!([1, {"a": 2}]), json!("text"), json!(3), json!(null)] {
            assert_eq!(selected(&value, &["a"]), value);
        }
        let mut out = Vec::new();
        select_members(b"{\"a\":1", &["a".to_string()], &mut out);
        assert_eq!(out, b"{\"a\":1", "a broken record is copied, never half-written");
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((".{0,6}", inner), 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any record, any selection: the same members as selecting on the parsed value.
        #[test]
        fn scanning_matches_selecting_parsed_values(
            members in prop::collection::vec((".{0,6}", json_value()), 0..8),
            picks in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
            extra in ".{0,6}",
        ) {
            let record = Value::Object(members.into_iter().collect::<Map<String, Value>>());
            let names: Vec<String> = record.as_object().unwrap().keys().cloned().collect();
            let mut keep: Vec<String> = picks.iter().filter(|_| !names.is_empty()).map(|i| names[i.index(names.len())].clone()).collect();
            keep.push(extra);
            let mut out = Vec::new();
            select_members(&serde_json::to_vec(&record).unwrap(), &keep, &mut out);
            let got: Value = serde_json::from_slice(&out).expect("selection writes JSON");
            prop_assert_eq!(got, oracle(&record, &keep));
        }
    }
}
