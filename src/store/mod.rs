//! The in-memory fixture store: named collections of records, each addressable by key and alias.

pub(crate) mod cache;
pub(crate) mod merge;
pub(crate) mod query;
pub(crate) mod records;
pub(crate) mod render;
pub(crate) mod select;

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::{DefaultHashBuilder, HashMap, HashTable};

use serde_json::Value;

use crate::json::text_of;

/// Records of one kind, in file order.
#[derive(Debug, Default)]
pub struct Collection {
    /// The collection's name.
    pub(crate) name: String,
    /// The records as loaded (or parsed on first use from a snapshot); emptied by
    /// [`Store::release`] once bindings no longer need them.
    pub(crate) records: records::Records,
    /// Keys and aliases.
    pub index: Arc<KeyIndex>,
    /// JSON pointer of each record's key.
    pub(crate) key: String,
}

/// Record positions by key and alias, and each record's own key.
#[derive(Debug, Default)]
pub struct KeyIndex {
    /// Record indexes hashed by key: each key is held once, in `key_of`, not again as a map key.
    by_key: HashTable<u32>,
    hasher: DefaultHashBuilder,
    /// Record index by alias.
    aliases: HashMap<String, u32>,
    /// Each record's own key, by index.
    pub(crate) key_of: Vec<String>,
}

impl KeyIndex {
    /// The index of the record with this key or alias.
    pub(crate) fn find(&self, key: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        self.by_key.find(hash, |&i| self.key_of[i as usize] == key).copied().or_else(|| self.aliases.get(key).copied())
    }

    /// Each alias and the key it stands for, sorted by alias.
    pub(crate) fn aliases(&self) -> Vec<(String, String)> {
        let mut aliases: Vec<(String, String)> =
            self.aliases.iter().map(|(alias, &i)| (alias.clone(), self.key_of[i as usize].clone())).collect();
        aliases.sort();
        aliases
    }

    /// Number of records.
    pub(crate) fn len(&self) -> usize {
        self.key_of.len()
    }

    /// True when there are no records.
    pub(crate) fn is_empty(&self) -> bool {
        self.key_of.is_empty()
    }
}

impl Collection {
    /// Builds a collection; fails on a record without a key or a key used twice.
    #[cfg(test)]
    pub(crate) fn new(
        name: &str,
        records: Vec<Value>,
        key: &str,
        aliases: &[(String, String)],
    ) -> Result<Self, String> {
        let mut key_of = Vec::with_capacity(records.len());
        for (i, record) in records.iter().enumerate() {
            key_of.push(
                crate::json::at(record, key).map(text_of).ok_or_else(|| format!("/records/{i}: no key at {key}"))?,
            );
        }
        Collection::from_keys(name, records, key_of, key, aliases)
    }

    /// Builds a collection from each record's key (records may be empty when not retained).
    pub fn from_keys(
        name: &str,
        records: Vec<Value>,
        key_of: Vec<String>,
        key: &str,
        aliases: &[(String, String)],
    ) -> Result<Self, String> {
        let records = records::Records::parsed(records);
        let hasher = DefaultHashBuilder::default();
        let mut by_key = HashTable::with_capacity(key_of.len());
        for (i, k) in key_of.iter().enumerate() {
            let hash = hasher.hash_one(k.as_str());
            match by_key.entry(
                hash,
                |&j: &u32| key_of[j as usize] == *k,
                |&j: &u32| hasher.hash_one(key_of[j as usize].as_str()),
            ) {
                hashbrown::hash_table::Entry::Occupied(_) => {
                    return Err(format!("/records/{i}{key}: key {k:?} is used by an earlier record"));
                }
                hashbrown::hash_table::Entry::Vacant(slot) => {
                    slot.insert(i as u32);
                }
            }
        }
        let mut index = KeyIndex { by_key, hasher, aliases: HashMap::new(), key_of };
        for (alias, target) in aliases {
            let i = index.find(target).ok_or_else(|| format!("/aliases/{alias}: no record has the key {target:?}"))?;
            if index.find(alias).is_some() {
                return Err(format!("/aliases/{alias}: the alias is already a key"));
            }
            index.aliases.insert(alias.clone(), i);
        }
        Ok(Collection { name: name.to_string(), records, index: Arc::new(index), key: key.to_string() })
    }

    /// [`Collection::from_keys`] with records parsed on first use.
    pub(crate) fn from_keys_lazy(
        name: &str,
        records: records::Records,
        key_of: Vec<String>,
        key: &str,
        aliases: &[(String, String)],
    ) -> Result<Self, String> {
        Ok(Collection { records, ..Collection::from_keys(name, Vec::new(), key_of, key, aliases)? })
    }

    /// A record's key, as its key field holds it.
    pub(crate) fn key_of(&self, record: &Value) -> String {
        crate::json::at(record, &self.key).map(text_of).unwrap_or_default()
    }

    /// The record with this key or alias (None once released).
    pub fn get(&self, key: &str) -> Option<(u32, &Value)> {
        self.index.find(key).and_then(|i| self.records.get(i as usize).map(|r| (i, r)))
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when there are no records.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

/// Every collection of one API.
#[derive(Debug, Default)]
pub struct Store {
    collections: HashMap<String, Arc<Collection>>,
}

impl Store {
    /// How many records its collections hold, each collection counted once.
    pub(crate) fn record_count(&self) -> usize {
        self.collections.values().map(|c| c.index.len()).sum()
    }

    /// Adds a collection, replacing one of the same name.
    pub(crate) fn insert(&mut self, collection: Collection) {
        self.collections.insert(collection.name.clone(), Arc::new(collection));
    }

    /// Every collection's name.
    pub(crate) fn names(&self) -> Vec<&str> {
        self.collections.keys().map(String::as_str).collect()
    }

    /// The collection called `name`.
    pub(crate) fn collection(&self, name: &str) -> Option<&Arc<Collection>> {
        self.collections.get(name)
    }

    /// Drops the parsed records of every collection but `keep`: once bindings hold their
    /// pre-serialised bytes and indexes, only tenant lookups read records at request time.
    pub(crate) fn release(&mut self, keep: &[&str]) {
        for (name, collection) in self.collections.iter_mut() {
            if !keep.contains(&name.as_str()) {
                *collection = Arc::new(Collection {
                    name: name.clone(),
                    records: Default::default(),
                    index: collection.index.clone(),
                    key: collection.key.clone(),
                });
            }
        }
    }
}

/// A JSON pointer split into unescaped segments once, where `*` walks every array element.
/// Read per record while a collection loads, so nothing is unescaped or allocated per read.
#[derive(Clone, Debug)]
pub(crate) struct Path {
    segments: Vec<String>,
    /// Some segment is `*`.
    wild: bool,
}

impl Path {
    /// Parses `/a/*/b`.
    pub(crate) fn new(pointer: &str) -> Path {
        let segments: Vec<String> =
            pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect();
        let wild = segments.iter().any(|s| s == "*");
        Path { segments, wild }
    }

    /// The first non-null value it reaches.
    pub(crate) fn get<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        let mut found = None;
        self.for_each(value, |v| {
            found = found.or(Some(v));
        });
        found
    }

    /// Calls `f` with every non-null value it reaches, without collecting them.
    pub(crate) fn for_each<'v>(&self, value: &'v Value, mut f: impl FnMut(&'v Value)) {
        if self.wild {
            walk(value, &self.segments).into_iter().for_each(f);
            return;
        }
        let mut v = value;
        for segment in &self.segments {
            v = match v {
                Value::Object(map) => match map.get(segment) {
                    Some(next) => next,
                    None => return,
                },
                Value::Array(items) => match segment.parse::<usize>().ok().and_then(|i| items.get(i)) {
                    Some(next) => next,
                    None => return,
                },
                _ => return,
            };
        }
        if !v.is_null() {
            f(v);
        }
    }

    /// Every value it reaches (nulls left out where the path has no `*`).
    #[cfg(test)]
    pub(crate) fn values<'v>(&self, value: &'v Value) -> Vec<&'v Value> {
        let mut found = Vec::new();
        self.for_each(value, |v| found.push(v));
        found
    }
}

/// Every value at a JSON pointer whose `*` segments walk all elements of an array.
#[cfg(test)]
fn values_at<'v>(value: &'v Value, pointer: &str) -> Vec<&'v Value> {
    Path::new(pointer).values(value)
}

fn walk<'v>(value: &'v Value, segments: &[String]) -> Vec<&'v Value> {
    let mut current = vec![value];
    for segment in segments {
        let mut next = Vec::new();
        for v in current {
            match (v, segment.as_str()) {
                (Value::Array(items), "*") => next.extend(items.iter()),
                (Value::Array(items), index) => next.extend(index.parse::<usize>().ok().and_then(|i| items.get(i))),
                (Value::Object(map), name) => next.extend(map.get(name)),
                _ => {}
            }
        }
        current = next;
    }
    current.into_iter().filter(|v| !v.is_null()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_and_aliases_find_the_same_record() {
        let c = Collection::new(
            "a",
            vec![json!({"id": "0.0.0.1+-account+1"}), json!({"id": "x"})],
            "/id",
            &[("account+1".into(), "0.0.0.1+-account+1".into())],
        )
        .unwrap();
        assert_eq!(c.get("account+1").unwrap().0, 0);
        assert_eq!(c.get("x").unwrap().0, 1);
        assert!(c.get("nope").is_none());
    }

    #[test]
    fn duplicate_keys_are_refused_with_a_pointer() {
        let err = Collection::new("a", vec![json!({"id": 1}), json!({"id": 1})], "/id", &[]).unwrap_err();
        assert_eq!(err, "/records/1/id: key \"1\" is used by an earlier record");
    }

    #[test]
    fn star_walks_arrays() {
        let v = json!({"bucket": [{"id": "a"}, {"id": "b"}, {"id": null}]});
        let found: Vec<_> = values_at(&v, "/bucket/*/id").into_iter().map(text_of).collect();
        assert_eq!(found, vec!["a", "b"]);
    }
}
