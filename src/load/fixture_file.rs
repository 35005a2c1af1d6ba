//! Reads a fixture file, `{"records": [...], "aliases": {...}}` or a bare array, one record at a
//! time, so a file of a million records is never held parsed all at once.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Calls `each(index, record)` for every record until it returns false; returns the aliases.
pub(crate) fn for_each_record(
    text: &str,
    each: impl FnMut(usize, Value) -> bool,
) -> Result<Vec<(String, String)>, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let mut aliases = Vec::new();
    let mut each = each;
    de.deserialize_any(FileVisitor { each: &mut each, aliases: &mut aliases })
        .map_err(|e| format!("not a fixture file: {e}; expected an array of records, or an object with `records`"))?;
    de.end().map_err(|e| format!("trailing data: {e}"))?;
    Ok(aliases)
}

struct FileVisitor<'a, F> {
    each: &'a mut F,
    aliases: &'a mut Vec<(String, String)>,
}

impl<'de, F: FnMut(usize, Value) -> bool> Visitor<'de> for FileVisitor<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of records, or an object with `records`")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Records { each: self.each }.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen_records = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "records" => {
                    map.next_value_seed(Records { each: &mut *self.each })?;
                    seen_records = true;
                }
                "aliases" => {
                    let aliases: std::collections::BTreeMap<String, String> = map.next_value()?;
                    self.aliases.extend(aliases);
                }
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        if !seen_records {
            return Err(de::Error::missing_field("records"));
        }
        Ok(())
    }
}

struct Records<'a, F> {
    each: &'a mut F,
}

impl<'de, F: FnMut(usize, Value) -> bool> DeserializeSeed<'de> for Records<'_, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(usize, Value) -> bool> Visitor<'de> for Records<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        let mut going = true;
        while let Some(record) = seq.next_element::<Value>()? {
            if going {
                going = (self.each)(i, record);
            }
            i += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_forms_and_aliases() {
        let mut seen = Vec::new();
        let aliases = for_each_record(r#"{"records": [{"id": 1}, {"id": 2}], "aliases": {"a": "1"}}"#, |i, r| {
            seen.push((i, r["id"].clone()));
            true
        })
        .unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(aliases, vec![("a".to_string(), "1".to_string())]);
        let mut n = 0;
        for_each_record("[1, 2, 3]", |_, _| {
            n += 1;
            true
        })
        .unwrap();
        assert_eq!(n, 3);
        assert!(for_each_record(r#"{"rows": []}"#, |_, _| true).unwrap_err().contains("records"));
    }
}
