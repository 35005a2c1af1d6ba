//! Builds a body from a schema when the document gives no example, the way a reader of the
//! schema would write one: examples, defaults and enums first, then well-formed values for each
//! format, arrays at their minimum length, `allOf` merged, the first `oneOf`/`anyOf` branch.
//! The same schema always gives the same value.
//!
//! It reads schemas as the document writes them (either dialect), resolving `$ref`s in the
//! document, so the examples OpenAPI 3.0 keeps beside its schemas are still there.

use rand::SeedableRng;
use serde_json::{json, Map, Number, Value};

/// How deep a body nests before optional properties are left out: recursive schemas stop here.
const MAX_DEPTH: usize = 8;

/// Which way the body travels: a response leaves out `writeOnly` properties, a request `readOnly` ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// A response body.
    Response,
    /// A request body.
    Request,
}

/// Says whether an instance satisfies a schema written in the document's dialect.
pub(crate) type Validity<'v> = &'v dyn Fn(&Value, &Value) -> bool;

/// A body for `schema`, its `$ref`s resolved in `document`.
pub(crate) fn sample(schema: &Value, document: &Value, direction: Direction) -> Value {
    Sampler { document, direction, refs: Vec::new(), examples: true, valid: None }
        .value(schema, 0)
        .unwrap_or(Value::Null)
}

/// Like [`sample`], with `valid` to pick, of `oneOf` and `anyOf` branches, the first whose
/// value the whole schema accepts (a value can fit two branches, which `oneOf` refuses); and
/// `examples: false` to ignore the examples written inside the schema, the second try when one
/// of them breaks its own schema, as real documents' examples sometimes do.
pub(crate) fn sample_checked(
    schema: &Value,
    document: &Value,
    direction: Direction,
    examples: bool,
    valid: Validity<'_>,
) -> Value {
    Sampler { document, direction, refs: Vec::new(), examples, valid: Some(valid) }
        .value(schema, 0)
        .unwrap_or(Value::Null)
}

struct Sampler<'a> {
    document: &'a Value,
    direction: Direction,
    /// The `$ref`s being expanded, to stop at a cycle.
    refs: Vec<String>,
    /// Whether the schema's own `example`, `examples` and `default` are used.
    examples: bool,
    /// Checks a branch's value against the whole `oneOf`/`anyOf`.
    valid: Option<Validity<'a>>,
}

impl<'a> Sampler<'a> {
    /// None when the schema admits nothing this sampler can build (`false`, or a cycle).
    fn value(&mut self, schema: &Value, depth: usize) -> Option<Value> {
        let Value::Object(map) = schema else {
            return (schema != &Value::Bool(false)).then(|| json!({}));
        };
        if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
            if self.refs.iter().any(|r| r == reference) {
                return None;
            }
            let target = reference.strip_prefix('#').and_then(|p| self.document.pointer(p))?;
            self.refs.push(reference.to_string());
            let out = self.value(target, depth);
            self.refs.pop();
            return out;
        }
        if let Some(value) = map.get("const") {
            return Some(value.clone());
        }
        if self.examples {
            for key in ["example", "default"] {
                if let Some(value) = map.get(key) {
                    return Some(value.clone());
                }
            }
            if let Some(first) = map.get("examples").and_then(Value::as_array).and_then(|e| e.first()) {
                return Some(first.clone());
            }
        }
        if let Some(options) = map.get("enum").and_then(Value::as_array) {
            return options.iter().find(|v| !v.is_null()).or(options.first()).cloned();
        }
        if let Some(parts) = map.get("allOf").and_then(Value::as_array) {
            let merged = Value::Object(self.merge(map, parts, 0));
            return self.value(&merged, depth);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(branches) = map.get(key).and_then(Value::as_array) {
                // The first branch that is not just `null`, as a reader would pick.
                let is_null = |b: &Value| b.get("type").and_then(Value::as_str) == Some("null");
                let ordered = branches.iter().filter(|b| !is_null(b)).chain(branches.iter().filter(|b| is_null(b)));
                let mut first = None;
                for branch in ordered {
                    let Some(found) = self.value(branch, depth) else { continue };
                    match self.valid {
                        Some(valid) if !valid(schema, &found) => drop(first.get_or_insert(found)),
                        _ => return Some(found),
                    }
                }
                return first;
            }
        }
        self.typed(map, depth)
    }

    /// `allOf` parts with the outer schema, as one schema: properties and `required` joined.
    fn merge(&self, outer: &Map<String, Value>, parts: &[Value], nesting: usize) -> Map<String, Value> {
        let mut merged: Map<String, Value> =
            outer.iter().filter(|(k, _)| *k != "allOf").map(|(k, v)| (k.clone(), v.clone())).collect();
        for part in parts {
            let Some(Value::Object(part)) = self.resolved(part) else { continue };
            let part = match part.get("allOf").and_then(Value::as_array) {
                Some(inner) if nesting < MAX_DEPTH => self.merge(part, inner, nesting + 1),
                _ => part.clone(),
            };
            for (key, value) in part {
                match (key.as_str(), merged.get_mut(&key), value) {
                    ("properties", Some(Value::Object(have)), Value::Object(more)) => {
                        for (name, schema) in more {
                            // Declared by two parts: both constraints apply.
                            match have.get_mut(&name) {
                                Some(earlier) => *earlier = json!({"allOf": [earlier.take(), schema]}),
                                None => drop(have.insert(name, schema)),
                            }
                        }
                    }
                    ("required", Some(Value::Array(have)), Value::Array(more)) => {
                        for name in more {
                            if !have.contains(&name) {
                                have.push(name);
                            }
                        }
                    }
                    (_, Some(_), _) => {}
                    (_, None, value) => drop(merged.insert(key, value)),
                }
            }
        }
        merged
    }

    /// The schema behind a `$ref`, or the schema itself.
    fn resolved<'s>(&self, schema: &'s Value) -> Option<&'s Value>
    where
        'a: 's,
    {
        let mut schema = schema;
        for _ in 0..32 {
            match schema.get("$ref").and_then(Value::as_str) {
                Some(reference) => schema = reference.strip_prefix('#').and_then(|p| self.document.pointer(p))?,
                None => return Some(schema),
            }
        }
        None
    }

    fn typed(&mut self, map: &Map<String, Value>, depth: usize) -> Option<Value> {
        let kind = match map.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(types)) => types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .or(types.first().and_then(Value::as_str))?,
            _ if map.contains_key("properties") || map.contains_key("additionalProperties") => "object",
            _ if map.contains_key("items") => "array",
            _ => return Some(json!({})),
        };
        Some(match kind {
            "object" => self.object(map, depth)?,
            "array" => self.array(map, depth)?,
            "string" => string(map),
            "integer" => Value::Number(integer(map).into()),
            "number" => number(map),
            "boolean" => Value::Bool(true),
            "null" => Value::Null,
            _ => json!({}),
        })
    }

    fn object(&mut self, map: &Map<String, Value>, depth: usize) -> Option<Value> {
        let required: Vec<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut out = Map::new();
        if let Some(Value::Object(properties)) = map.get("properties") {
            for (name, schema) in properties {
                let needed = required.contains(&name.as_str());
                let resolved = self.resolved(schema).unwrap_or(schema);
                let hidden = match self.direction {
                    Direction::Response => resolved.get("writeOnly") == Some(&Value::Bool(true)),
                    Direction::Request => resolved.get("readOnly") == Some(&Value::Bool(true)),
                };
                if !needed && (hidden || depth >= MAX_DEPTH) {
                    continue;
                }
                match self.value(schema, depth + 1) {
                    Some(value) => drop(out.insert(name.clone(), value)),
                    None if needed => return None,
                    None => {}
                }
            }
        }
        // Required names the schema gives no property for: any value does, unless
        // `additionalProperties` says which.
        let extra = map.get("additionalProperties").filter(|a| a.is_object());
        for name in required {
            if !out.contains_key(name) {
                let value = match extra {
                    Some(schema) => self.value(schema, depth + 1)?,
                    None => json!("string"),
                };
                out.insert(name.to_string(), value);
            }
        }
        let wanted = map.get("minProperties").and_then(Value::as_u64).unwrap_or(0) as usize;
        if out.len() < wanted {
            let extra = map.get("additionalProperties").filter(|a| a.is_object());
            for i in 0..wanted - out.len() {
                let value = match extra {
                    Some(schema) => self.value(schema, depth + 1)?,
                    None => json!("value"),
                };
                out.insert(format!("property{}", i + 1), value);
            }
        }
        Some(Value::Object(out))
    }

    fn array(&mut self, map: &Map<String, Value>, depth: usize) -> Option<Value> {
        let min = map.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = map.get("maxItems").and_then(Value::as_u64).map_or(usize::MAX, |m| m as usize);
        // One item shows the shape; a recursive schema stops at the depth limit with none.
        let count = if depth >= MAX_DEPTH { min } else { min.max(1).min(max) };
        if count == 0 {
            return Some(json!([]));
        }
        let items = map.get("items").unwrap_or(&Value::Bool(true));
        let first = match self.value(items, depth + 1) {
            Some(v) => v,
            None if min == 0 => return Some(json!([])),
            None => return None,
        };
        let unique = map.get("uniqueItems") == Some(&Value::Bool(true));
        let choices: Vec<Value> =
            self.resolved(items).and_then(|i| i.get("enum")).and_then(Value::as_array).cloned().unwrap_or_default();
        let mut out = vec![first];
        while out.len() < count.min(1024) {
            let next = match (unique, choices.get(out.len())) {
                (true, Some(choice)) => choice.clone(),
                (true, None) => distinct(&out[0], out.len()),
                (false, _) => out[0].clone(),
            };
            out.push(next);
        }
        Some(Value::Array(out))
    }
}

/// The `n`th variation of a value, for `uniqueItems` arrays.
fn distinct(first: &Value, n: usize) -> Value {
    match first {
        Value::String(s) => match s.parse::<u64>() {
            Ok(number) => Value::String(number.saturating_add(n as u64).to_string()),
            Err(_) => Value::String(format!("{s}{n}")),
        },
        Value::Number(x) => Value::Number((x.as_i64().unwrap_or(0) + n as i64).into()),
        Value::Bool(b) if n == 1 => Value::Bool(!b),
        other => other.clone(),
    }
}

/// A string in the schema's format, within its lengths.
fn string(map: &Map<String, Value>) -> Value {
    let min = map.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = map.get("maxLength").and_then(Value::as_u64).map_or(usize::MAX, |m| m as usize);
    if let Some(pattern) = map.get("pattern").and_then(Value::as_str) {
        if let Some(found) = matching(pattern, min, max) {
            return Value::String(found);
        }
    }
    let formatted = match map.get("format").and_then(Value::as_str).unwrap_or_default() {
        "date-time" => "2024-01-01T00:00:00Z",
        "date" => "2024-01-01",
        "time" => "00:00:00Z",
        "duration" => "P1D",
        "email" | "idn-email" => "user@example.com",
        "hostname" | "idn-hostname" => "example.com",
        "ipv4" => "192.0.2.1",
        "ipv6" => "2001:db8::1",
        "uri" | "url" | "iri" => "https://example.com",
        "uri-reference" | "iri-reference" => "/example",
        "uri-template" => "https://example.com/{id}",
        "uuid" => "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "byte" => "ZXhhbXBsZQ==",
        "json-pointer" => "/example",
        "relative-json-pointer" => "0",
        "regex" => ".*",
        "password" => "password",
        _ => "string",
    };
    let mut text = formatted.to_string();
    while text.chars().count() < min {
        text.push('x');
    }
    if text.chars().count() > max {
        text = text.chars().take(max).collect();
    }
    Value::String(text)
}

/// A deterministic string the pattern matches, within the lengths; None when none was found.
fn matching(pattern: &str, min: usize, max: usize) -> Option<String> {
    let parsed = regex_syntax::ParserBuilder::new().unicode(false).build().parse(pattern).ok()?;
    let generator = rand_regex::Regex::with_hir(without_anchors(&parsed), 8).ok()?;
    let checker = regress::Regex::new(pattern).ok()?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    (0..32).map(|_| rand::Rng::sample(&mut rng, &generator)).find(|s: &String| {
        let n = s.chars().count();
        n >= min && n <= max && checker.find(s).is_some()
    })
}

/// The pattern with its anchors and word boundaries taken out, which the generator cannot
/// write; what it writes is then checked against the whole pattern.
fn without_anchors(hir: &regex_syntax::hir::Hir) -> regex_syntax::hir::Hir {
    use regex_syntax::hir::{Capture, Hir, HirKind, Repetition};
    match hir.kind() {
        HirKind::Look(_) => Hir::empty(),
        HirKind::Concat(parts) => Hir::concat(parts.iter().map(without_anchors).collect()),
        HirKind::Alternation(parts) => Hir::alternation(parts.iter().map(without_anchors).collect()),
        HirKind::Repetition(r) => Hir::repetition(Repetition { sub: Box::new(without_anchors(&r.sub)), ..r.clone() }),
        HirKind::Capture(c) => Hir::capture(Capture { sub: Box::new(without_anchors(&c.sub)), ..c.clone() }),
        _ => hir.clone(),
    }
}

fn integer(map: &Map<String, Value>) -> i64 {
    let (low, high) = bounds(map);
    let step = map.get("multipleOf").and_then(Value::as_f64).filter(|m| *m >= 1.0).map_or(1, |m| m as i64);
    let mut value = match (low, high) {
        (Some(l), _) => l.ceil() as i64,
        (None, Some(h)) if h < 0.0 => h.floor() as i64,
        _ => 0,
    };
    if value.rem_euclid(step) != 0 {
        value += step - value.rem_euclid(step);
    }
    value
}

fn number(map: &Map<String, Value>) -> Value {
    let (low, high) = bounds(map);
    let value = match (low, high) {
        (Some(l), _) => l,
        (None, Some(h)) if h < 0.0 => h,
        _ => 0.0,
    };
    let value = match map.get("multipleOf").and_then(Value::as_f64).filter(|m| *m > 0.0) {
        Some(step) => (value / step).ceil() * step,
        None => value,
    };
    if value.fract() == 0.0 && value.abs() < 1e15 {
        Value::Number((value as i64).into())
    } else {
        Number::from_f64(value).map_or(json!(0), Value::Number)
    }
}

/// The lowest and highest allowed values, exclusive bounds nudged inside (both dialects).
fn bounds(map: &Map<String, Value>) -> (Option<f64>, Option<f64>) {
    let get = |k: &str| map.get(k).and_then(Value::as_f64);
    let flag = |k: &str| map.get(k) == Some(&Value::Bool(true));
    let step = map.get("multipleOf").and_then(Value::as_f64).filter(|m| *m > 0.0).unwrap_or(1.0).min(1.0);
    let low = match (get("exclusiveMinimum"), get("minimum")) {
        (Some(e), m) => Some(m.map_or(e + step, |m| m.max(e + step))),
        (None, Some(m)) if flag("exclusiveMinimum") => Some(m + step),
        (None, m) => m,
    };
    let high = match (get("exclusiveMaximum"), get("maximum")) {
        (Some(e), m) => Some(m.map_or(e - step, |m| m.min(e - step))),
        (None, Some(m)) if flag("exclusiveMaximum") => Some(m - step),
        (None, m) => m,
    };
    (low, high)
}
