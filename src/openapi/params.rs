//! Turns a request's path, query and headers into typed values checked against the spec.

use std::sync::Arc;

use serde_json::{Number, Value};

use crate::json;
use std::borrow::Cow;

use crate::openapi::{Location, Operation, Param, Scalar, Style};

/// Typed parameter values of one request, with defaults applied. A list, not a map: an
/// operation has a handful of parameters, and a scan beats hashing them per request.
#[derive(Clone, Debug, Default)]
pub struct ParamValues {
    values: Vec<(Arc<str>, Value)>,
    /// Every query parameter given is declared (or an alias of one): the undeclared-parameter
    /// check has nothing to find, and skips its own pass over the query.
    pub(crate) all_declared: bool,
}

impl ParamValues {
    /// The typed value of `name`, if given or defaulted.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| &**n == name).map(|(_, v)| v)
    }

    /// The value of `name` as text.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// The value of `name` as a whole number.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_i64)
    }

    /// The values of `name` as texts: each element of an array, or the one scalar.
    pub fn texts(&self, name: &str) -> Option<Vec<std::borrow::Cow<'_, str>>> {
        self.get(name).map(|v| match v {
            Value::Array(items) => items.iter().map(json::text).collect(),
            other => vec![json::text(other)],
        })
    }

    /// Sets a value directly (used for aliases such as `type` for `@type`).
    pub fn insert(&mut self, name: &str, value: Value) {
        match self.values.iter_mut().find(|(n, _)| &**n == name) {
            Some((_, slot)) => *slot = value,
            None => self.values.push((name.into(), value)),
        }
    }
}

/// Query parameters of the request that `op` does not declare (nor `aliases` name), each with
/// what it was probably meant to be: `?pagesize=1` for `pageSize`.
pub(crate) fn undeclared_query_params(
    op: &Operation,
    query: Option<&str>,
    aliases: &[(String, String)],
) -> Vec<(String, Option<String>)> {
    let Some(query) = query.filter(|q| !q.is_empty()) else { return Vec::new() };
    let declared = |name: &str| op.params.iter().any(|p| p.location == Location::Query && *p.name == *name);
    let mut unknown: Vec<(String, Option<String>)> = Vec::new();
    // Names only, split by hand and decoded only when escaped: decoding every pair with
    // form_urlencoded cost 5,800 instructions a request on the allocations page.
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let raw = pair.split_once('=').map_or(pair, |(name, _)| name);
        let name: std::borrow::Cow<'_, str> = if raw.bytes().any(|b| b == b'%' || b == b'+') {
            form_urlencoded::parse(raw.as_bytes()).next().map_or_else(Default::default, |(name, _)| name)
        } else {
            raw.into()
        };
        let known = declared(&name) || aliases.iter().any(|(alias, _)| *alias == name);
        if known || unknown.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let closest = op
            .params
            .iter()
            .filter(|p| p.location == Location::Query)
            .map(|p| (strsim::damerau_levenshtein(&p.name.to_lowercase(), &name.to_lowercase()), &*p.name))
            .filter(|(distance, _)| *distance <= 2)
            .min()
            .map(|(_, d)| d.to_string());
        unknown.push((name.into_owned(), closest));
    }
    unknown
}

/// What to say of a query parameter `op` does not declare.
pub(crate) fn undeclared_message(op: &Operation, name: &str, closest: Option<&str>) -> String {
    let declared: Vec<&str> = op.params.iter().filter(|p| p.location == Location::Query).map(|p| &*p.name).collect();
    let hint = match closest {
        Some(c) => format!("; did you mean {c}?"),
        None if declared.is_empty() => "; it declares none".to_string(),
        None => format!("; it declares {}", declared.join(", ")),
    };
    format!("{name}: not a query parameter of {}{hint}", op.id)
}

/// Reads every declared parameter of `op` from the request parts, in the style each declares.
///
/// `aliases` maps other wire spellings to a declared name (e.g. `type` -> `@type`).
pub(crate) fn extract(
    op: &Operation,
    path: &[(&str, &str)],
    query: Option<&str>,
    headers: &http::HeaderMap,
    aliases: &[(String, String)],
) -> Result<ParamValues, String> {
    // Borrowed where nothing needed decoding, which is the common case.
    let mut pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes()).collect();
    for (alias, name) in aliases {
        if !pairs.iter().any(|(k, _)| k == name) {
            for pair in pairs.iter_mut().filter(|(k, _)| k == alias) {
                pair.0 = Cow::Owned(name.clone());
            }
        }
    }
    let mut out = ParamValues { values: Vec::with_capacity(op.params.len()), all_declared: false };
    // Which pairs a declared parameter took, for `all_declared`.
    let mut taken: u64 = 0;
    let mut take = |i: usize| taken |= 1u64.checked_shl(i as u32).unwrap_or(0);
    let mut cookies: Option<Vec<(&str, &str)>> = None;
    for param in &op.params {
        let name = &*param.name;
        let raws: Vec<&str> = match param.location {
            Location::Path => path.iter().filter(|(k, _)| **k == *name).map(|(_, v)| *v).collect(),
            Location::Query if param.object_of.is_some() && (param.explode || param.style == Style::DeepObject) => {
                let value = query_object(param, &pairs, &mut take)?;
                match value {
                    Some(value) => {
                        check(param, &value)?;
                        out.values.push((param.name.clone(), value));
                    }
                    None => absent(param, &mut out)?,
                }
                continue;
            }
            Location::Query => {
                let mut raws = Vec::new();
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if **k == *name {
                        take(i);
                        raws.push(v.as_ref());
                    }
                }
                raws
            }
            Location::Header => headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect(),
            Location::Cookie => cookies
                .get_or_insert_with(|| cookie_pairs(headers))
                .iter()
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| *v)
                .collect(),
        };
        if raws.is_empty() {
            absent(param, &mut out)?;
            continue;
        }
        if raws.iter().any(|r| r.is_empty()) {
            if !param.allow_empty {
                return Err(format!("{name}: empty; expected {}", param.expected));
            }
            let single = param.array_of.is_none() && param.object_of.is_none();
            if single && !param.checker.is_valid(&Value::String(String::new())) {
                // `allowEmptyValue` where the schema takes no empty string: there, without a value.
                absent(param, &mut out)?;
                continue;
            }
        }
        let value = typed(param, &raws)?;
        check(param, &value)?;
        out.values.push((param.name.clone(), value));
    }
    out.all_declared = pairs.len() <= 64 && taken.count_ones() as usize == pairs.len();
    Ok(out)
}

/// A parameter the request does not carry: refused when required, else its default if any.
#[inline]
fn absent(param: &Param, out: &mut ParamValues) -> Result<(), String> {
    if param.required {
        return Err(format!("{}: required; expected {}", param.name, param.expected));
    }
    if let Some(default) = &param.default {
        out.values.push((param.name.clone(), default.clone()));
    }
    Ok(())
}

/// The value against the parameter's schema; a refusal names the offending item and, for a
/// pattern, quotes it.
#[inline]
fn check(param: &Param, value: &Value) -> Result<(), String> {
    if param.checker.is_valid(value) {
        return Ok(());
    }
    let shown = if param.array_of.is_some() { offending_item(param, value) } else { value.clone() };
    let rule = param
        .checker
        .findings(value, 1)
        .into_iter()
        .next()
        .filter(|v| v.rule.ends_with("/pattern"))
        .map(|v| format!(" ({})", v.message))
        .unwrap_or_default();
    Err(format!("{}: got {}; expected {}{rule}", param.name, show(&shown), param.expected))
}

/// The `name=value` pairs of the request's `Cookie` headers.
fn cookie_pairs(headers: &http::HeaderMap) -> Vec<(&str, &str)> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .collect()
}

/// An object parameter spread over the query: `role=admin&first=Alex` (form, exploded) or
/// `id[role]=admin` (deepObject). None when none of its properties is there.
fn query_object(
    param: &Param,
    pairs: &[(Cow<'_, str>, Cow<'_, str>)],
    take: &mut impl FnMut(usize),
) -> Result<Option<Value>, String> {
    let properties = param.object_of.as_deref().unwrap_or_default();
    let mut object = serde_json::Map::new();
    for (i, (key, raw)) in pairs.iter().enumerate() {
        let property = match param.style {
            Style::DeepObject => {
                key.strip_prefix(&*param.name).and_then(|k| k.strip_prefix('[')).and_then(|k| k.strip_suffix(']'))
            }
            _ => properties.iter().any(|(p, _)| p == key).then_some(key.as_ref()),
        };
        let Some(property) = property else { continue };
        take(i);
        let kind = properties.iter().find(|(p, _)| p == property).map_or(Scalar::String, |(_, k)| *k);
        object.insert(property.to_string(), scalar(param, kind, raw)?);
    }
    Ok((!object.is_empty()).then_some(Value::Object(object)))
}

/// The separator a list is written with, and the text once the style's prefix is gone.
fn unstyled<'r>(param: &Param, raw: &'r str) -> (&'r str, char) {
    match param.style {
        Style::Label => (raw.strip_prefix('.').unwrap_or(raw), if param.explode { '.' } else { ',' }),
        Style::Matrix => {
            let prefix = format!(";{}=", param.name);
            let rest = raw.strip_prefix(prefix.as_str()).unwrap_or(raw);
            // Exploded: `;x=a;x=b`.
            (rest, if param.explode { ';' } else { ',' })
        }
        Style::SpaceDelimited => (raw, ' '),
        Style::PipeDelimited => (raw, '|'),
        _ => (raw, ','),
    }
}

fn typed(param: &Param, raws: &[&str]) -> Result<Value, String> {
    if let Some(properties) = &param.object_of {
        // `k,v,k,v`, or exploded in a path or header `k=v,k=v`.
        let (text, separator) = unstyled(param, raws[0]);
        let parts: Vec<&str> = text.split(separator).collect();
        let mut object = serde_json::Map::new();
        let entries: Vec<(&str, &str)> = if param.explode {
            parts.iter().filter_map(|p| p.split_once('=')).collect()
        } else {
            parts.chunks(2).filter_map(|c| Some((c[0], *c.get(1)?))).collect()
        };
        for (key, raw) in entries {
            let kind = properties.iter().find(|(p, _)| p == key).map_or(Scalar::String, |(_, k)| *k);
            object.insert(key.to_string(), scalar(param, kind, raw)?);
        }
        return Ok(Value::Object(object));
    }
    match param.array_of {
        Some(item) => {
            let mut items = Vec::new();
            // `x=` is how form style writes an empty array.
            for raw in raws.iter().filter(|r| !r.is_empty()) {
                let (text, separator) = unstyled(param, raw);
                for part in text.split(separator) {
                    // Exploded matrix: `;x=a;x=b` leaves `a`, `x=b`.
                    let part = match param.style {
                        Style::Matrix => {
                            part.strip_prefix(&*param.name).and_then(|p| p.strip_prefix('=')).unwrap_or(part)
                        }
                        _ => part,
                    };
                    items.push(scalar(param, item, part.trim())?);
                }
            }
            Ok(Value::Array(items))
        }
        None if raws.len() > 1 => {
            Err(format!("{}: given {} times; expected one value, {}", param.name, raws.len(), param.expected))
        }
        None => {
            let (text, _) = unstyled(param, raws[0]);
            scalar(param, param.scalar, text)
        }
    }
}

fn scalar(param: &Param, kind: Scalar, raw: &str) -> Result<Value, String> {
    read_scalar(kind, raw)
        .map_err(|what| format!("{}: got {:?}, which is not {what}; expected {}", param.name, raw, param.expected))
}

/// A parameter's or form field's text as its type; on failure, what it is not (`an integer`).
#[inline]
pub(crate) fn read_scalar(kind: Scalar, raw: &str) -> Result<Value, &'static str> {
    // Rust's parsers take a leading '+', which JSON's number grammar (and OpenAPI's) does not.
    let signed = raw.starts_with('+');
    Ok(match kind {
        Scalar::String => Value::String(raw.to_string()),
        Scalar::Integer => Value::Number(raw.parse::<i64>().ok().filter(|_| !signed).ok_or("an integer")?.into()),
        Scalar::Number => raw
            .parse::<f64>()
            .ok()
            .filter(|_| !signed)
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or("a number")?,
        Scalar::Boolean => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err("true or false"),
        },
    })
}

fn offending_item(param: &Param, value: &Value) -> Value {
    let items = value.as_array().cloned().unwrap_or_default();
    for item in &items {
        if !param.checker.is_valid(&Value::Array(vec![item.clone()])) {
            return item.clone();
        }
    }
    value.clone()
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}
