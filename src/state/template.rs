//! The placeholders of write templates: `{id}`, `{seq}`, `{now}`, `{base}`, `{user}` (the
//! caller's user id, when its identity names one), `{path:NAME}`,
//! `{header:NAME}`, `{body:/pointer}`, `{record:/pointer}`, `{target:/pointer}` and
//! `{EFFECT:/pointer}` (the record an earlier effect changed).

use std::borrow::Cow;

use serde_json::Value;

use crate::json::{index, text, unescaped};

/// What a template's placeholders read.
pub(crate) struct Scope<'a> {
    /// Named values: `id`, `seq`, `now`, `base`.
    pub(crate) named: &'a [(&'a str, String)],
    /// Path parameters.
    pub(crate) path: &'a [(String, String)],
    /// Request headers.
    pub(crate) headers: &'a http::HeaderMap,
    /// The request body.
    pub(crate) body: &'a Value,
    /// Records by name: `record`, `target`, and each effect's.
    pub(crate) records: &'a [(&'a str, &'a Value)],
}

impl<'a> Scope<'a> {
    /// One placeholder's value, borrowed where it is read from a record; None when it names
    /// nothing there.
    fn lookup(&self, name: &str) -> Option<Cow<'a, Value>> {
        if let Some((_, v)) = self.named.iter().find(|(n, _)| *n == name) {
            return Some(Cow::Owned(Value::String(v.clone())));
        }
        let (kind, rest) = split_at_byte(name, b':')?;
        match kind {
            "path" => self.path.iter().find(|(n, _)| n == rest).map(|(_, v)| Cow::Owned(Value::String(v.clone()))),
            "header" => {
                self.headers.get(rest).and_then(|v| v.to_str().ok()).map(|v| Cow::Owned(Value::String(v.into())))
            }
            "body" => crate::json::at(self.body, rest).map(Cow::Borrowed),
            record => self
                .records
                .iter()
                .find(|(n, _)| *n == record)
                .and_then(|(_, r)| crate::json::at(r, rest))
                .map(Cow::Borrowed),
        }
    }

    /// A template as text; a placeholder that names nothing is an error naming it.
    pub(crate) fn text(&self, template: &str) -> Result<String, String> {
        self.spliced(template, |text, out| out.push_str(text))
    }

    /// A JSON pointer template: each placeholder's text becomes one segment, its `~` and `/`
    /// escaped, so a currency named `A/B` is one member and not two.
    pub(crate) fn pointer(&self, template: &str) -> Result<String, String> {
        self.spliced(template, |text, out| {
            for c in text.chars() {
                match c {
                    '~' => out.push_str("~0"),
                    '/' => out.push_str("~1"),
                    c => out.push(c),
                }
            }
        })
    }

    /// A template with each placeholder's text written by `splice`.
    fn spliced(&self, template: &str, splice: impl Fn(&str, &mut String)) -> Result<String, String> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(open) = find_byte(rest, b'{') {
            let Some(close) = find_byte(&rest[open..], b'}') else { break };
            out.push_str(&rest[..open]);
            let name = &rest[open + 1..open + close];
            let (name, format) = match split_at_byte(name, b'|') {
                Some((name, format)) => (name, Some(format)),
                None => (name, None),
            };
            let fallback = format.and_then(|f| f.strip_prefix("or:"));
            let format = format.filter(|_| fallback.is_none());
            let value = match (self.lookup(name), fallback) {
                (Some(value), _) => value,
                (None, Some(text)) => Cow::Owned(Value::String(text.to_string())),
                (None, None) => return Err(format!("{{{name}}} names nothing")),
            };
            // `places_of:NAME` keeps the decimal places of the first number in another field's text.
            let places_of = format.and_then(|f| f.strip_prefix("places_of:")).map(|name| {
                let looked = self.lookup(name);
                let shown = looked.as_deref().map(text).unwrap_or_default();
                let number = shown.split(|c: char| !(c.is_ascii_digit() || c == '.')).find(|t| !t.is_empty());
                number.and_then(|n| n.split_once('.')).map_or(0, |(_, fraction)| fraction.len() as u32)
            });
            let fixed = format.and_then(|f| f.strip_prefix("fixed:")).and_then(|n| n.parse::<u32>().ok());
            match format.map(|_| places_of.or(fixed)) {
                None => splice(&text(&value), &mut out),
                Some(Some(places)) => {
                    let amount =
                        crate::state::money::decimal(&value).ok_or_else(|| format!("{{{name}}} is not a decimal"))?;
                    splice(&format!("{:.*}", places as usize, amount), &mut out);
                }
                Some(None) => {
                    return Err(format!("{{{name}}}: unknown format; expected |fixed:N, |places_of:NAME or |or:TEXT"))
                }
            }
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// A template value: a string that is exactly one placeholder takes that value's type, other
    /// strings are expanded as text, arrays and objects member by member.
    pub(crate) fn value(&self, template: &Value) -> Result<Value, String> {
        Ok(match template {
            Value::String(s) => {
                let whole = s
                    .strip_prefix('{')
                    .and_then(|r| r.strip_suffix('}'))
                    .filter(|n| !n.bytes().any(|b| b"{}|".contains(&b)));
                match whole {
                    Some(name) => self.lookup(name).ok_or_else(|| format!("{{{name}}} names nothing"))?.into_owned(),
                    None => Value::String(self.text(s)?),
                }
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.value(v)).collect::<Result<_, _>>()?),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| Ok((k.clone(), self.value(v)?))).collect::<Result<_, String>>()?)
            }
            other => other.clone(),
        })
    }
}

/// Where byte `b` first is in `text`. Templates are short: a plain loop beats the memchr call
/// `str::find` makes, which showed as 2% of a transfer write.
fn find_byte(text: &str, b: u8) -> Option<usize> {
    text.bytes().position(|c| c == b)
}

/// `text` split at the first byte `b`, which is ASCII, so both sides are text.
fn split_at_byte(text: &str, b: u8) -> Option<(&str, &str)> {
    find_byte(text, b).map(|at| (&text[..at], &text[at + 1..]))
}

/// Writes `value` at a JSON pointer, making intermediate objects; fails where a scalar is in the way.
pub(crate) fn set_at(record: &mut Value, pointer: &str, value: Value) -> Result<(), String> {
    replace_at(record, pointer, value).map(|_| ())
}

/// What a pointer held before [`replace_at`] wrote there, to put back with [`restore_at`].
#[derive(Debug)]
pub(crate) struct Before {
    /// How much of the pointer names what changed: all of it, or the first member the write
    /// made on the way (or the null it made an object).
    upto: usize,
    /// What was there; None when nothing was.
    was: Option<Value>,
}

/// Writes `value` at a JSON pointer like [`set_at`], returning what was there. A failed write
/// changes nothing: a scalar in the way is met before anything is made.
pub(crate) fn replace_at(record: &mut Value, pointer: &str, value: Value) -> Result<Before, String> {
    let mut at = record;
    let Some(path) = pointer.strip_prefix('/') else {
        return Ok(Before { upto: 0, was: Some(std::mem::replace(at, value)) });
    };
    // The first change on the way, if the write had to make anything.
    let mut made: Option<Before> = None;
    let mut end = 0;
    let mut segments = path.split(crate::json::is_slash).peekable();
    while let Some(raw) = segments.next() {
        end += 1 + raw.len();
        let segment = unescaped(raw);
        if at.is_null() {
            made.get_or_insert(Before { upto: end - 1 - raw.len(), was: Some(Value::Null) });
            *at = Value::Object(Default::default());
        }
        if segments.peek().is_none() {
            let was = match at {
                // A member already there is replaced in place, without a copy of its name.
                Value::Object(map) => match crate::json::member_mut(map, &segment) {
                    Some(slot) => Some(std::mem::replace(slot, value)),
                    None => map.insert(segment.into_owned(), value),
                },
                Value::Array(items) => match index(&segment).and_then(|i| items.get_mut(i)) {
                    Some(slot) => Some(std::mem::replace(slot, value)),
                    None => return Err(format!("{pointer}: no element {segment}")),
                },
                _ => return Err(format!("{pointer}: {segment} is inside a scalar")),
            };
            return Ok(made.unwrap_or(Before { upto: end, was }));
        }
        at = match at {
            Value::Object(map) => {
                // Looked up before inserting, so a member on the way costs no copy of its name.
                if crate::json::member(map, &segment).is_none() {
                    made.get_or_insert(Before { upto: end, was: None });
                    map.insert(segment.to_string(), Value::Null);
                }
                crate::json::member_mut(map, &segment).expect("just made")
            }
            Value::Array(items) => index(&segment)
                .and_then(|i| items.get_mut(i))
                .ok_or_else(|| format!("{pointer}: no element {segment}"))?,
            _ => return Err(format!("{pointer}: {segment} is inside a scalar")),
        };
    }
    unreachable!("a pointer with a leading / has a last segment")
}

/// Puts back what [`replace_at`] replaced at `pointer`.
pub(crate) fn restore_at(record: &mut Value, pointer: &str, before: Before) {
    let named = &pointer[..before.upto];
    match before.was {
        Some(was) => {
            // The path was there before, so this write finds it again.
            let _ = replace_at(record, named, was);
        }
        None => {
            let Some((parent, last)) = named.rsplit_once('/') else { return };
            if let Some(Value::Object(map)) = crate::json::at_mut(record, parent) {
                map.shift_remove(unescaped(last).as_ref());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_whole_placeholder_keeps_its_type_and_text_is_spliced() {
        let body = json!({"amount": {"amount": 5.5, "units": "EUR"}});
        let headers = http::HeaderMap::new();
        let scope = Scope {
            named: &[("id", "x+1".into())],
            path: &[("enterpriseId".into(), "e1".into())],
            headers: &headers,
            body: &body,
            records: &[],
        };
        assert_eq!(scope.value(&json!("{body:/amount/amount}")).unwrap(), json!(5.5));
        assert_eq!(
            scope.value(&json!("{body:/amount/units} for {id} in {path:enterpriseId}")).unwrap(),
            json!("EUR for x+1 in e1")
        );
        assert_eq!(scope.text("{nothing}").unwrap_err(), "{nothing} names nothing");
    }

    #[test]
    fn a_pointer_template_escapes_what_it_splices() {
        let body = json!({"currency": "A/B~C"});
        let headers = http::HeaderMap::new();
        let scope = Scope { named: &[], path: &[], headers: &headers, body: &body, records: &[] };
        let pointer = scope.pointer("/balances/{body:/currency}/held").unwrap();
        assert_eq!(pointer, "/balances/A~1B~0C/held");
        let mut record = json!({"balances": {}});
        set_at(&mut record, &pointer, json!("1")).unwrap();
        assert_eq!(record, json!({"balances": {"A/B~C": {"held": "1"}}}));
    }

    #[test]
    fn restore_at_undoes_replace_at_whatever_it_made_on_the_way() {
        let record = json!({"a": {"b": 1}, "n": null, "list": [1, 2], "z": true});
        for pointer in ["/a/b", "/a/c", "/x/y/z", "/n/m", "/list/1", "", "/z"] {
            let mut changed = record.clone();
            let before = replace_at(&mut changed, pointer, json!("new")).unwrap();
            assert_eq!(crate::json::at(&changed, pointer), Some(&json!("new")), "{pointer}");
            restore_at(&mut changed, pointer, before);
            assert_eq!(changed, record, "{pointer}");
            // The order of members is back too.
            assert_eq!(changed.to_string(), record.to_string(), "{pointer}");
        }
        let mut unchanged = record.clone();
        assert!(replace_at(&mut unchanged, "/z/inside", json!(1)).is_err());
        assert!(replace_at(&mut unchanged, "/list/5", json!(1)).is_err());
        assert_eq!(unchanged, record, "a failed write changes nothing");
    }

    #[test]
    fn set_at_makes_the_objects_on_the_way() {
        let mut record = json!({"balances": {}});
        set_at(&mut record, "/balances/BTC/held", json!("10")).unwrap();
        assert_eq!(record, json!({"balances": {"BTC": {"held": "10"}}}));
        assert!(set_at(&mut json!({"a": 1}), "/a/b", json!(2)).is_err());
    }
}
