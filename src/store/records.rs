//! A collection's parsed records, parsed from the JSON text a snapshot kept on first use: a start
//! from a snapshot parses nothing it does not read, and the collections only writes read (buckets,
//! balances, allocations) are parsed by the first write that reads them.

use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// Records, parsed now or on first use.
#[derive(Debug, Default)]
pub(crate) struct Records {
    parsed: OnceLock<Vec<Value>>,
    /// The JSON array not parsed yet; taken by the first read.
    text: Mutex<Option<String>>,
}

impl Records {
    /// Records already parsed.
    pub(crate) fn parsed(records: Vec<Value>) -> Records {
        Records { parsed: OnceLock::from(records), text: Mutex::new(None) }
    }

    /// Records kept as a JSON array, parsed on first use. The text is a snapshot's own, written
    /// from parsed records and checksummed, so it parses.
    pub(crate) fn lazy(text: String) -> Records {
        Records { parsed: OnceLock::new(), text: Mutex::new(Some(text)) }
    }

    /// Whether the records are parsed yet.
    #[cfg(test)]
    pub(crate) fn is_parsed(&self) -> bool {
        self.parsed.get().is_some()
    }

    fn get_or_parse(&self) -> &[Value] {
        self.parsed.get_or_init(|| {
            let text = self.text.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_default();
            if text.is_empty() {
                return Vec::new();
            }
            serde_json::from_str(&text).unwrap_or_else(|e| {
                // A corrupted snapshot is caught by its checksum at load; this is the belt to it.
                tracing::error!("a snapshot's kept records do not parse ({e}); the collection reads as empty");
                Vec::new()
            })
        })
    }
}

impl std::ops::Deref for Records {
    type Target = [Value];

    fn deref(&self) -> &[Value] {
        self.get_or_parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_records_parse_on_first_read_and_once() {
        let records = Records::lazy(r#"[{"id": "a"}, {"id": "b"}]"#.to_string());
        assert!(!records.is_parsed());
        assert_eq!(records.len(), 2);
        assert!(records.is_parsed());
        assert_eq!(records[1]["id"], "b");
        assert!(records.text.lock().unwrap().is_none(), "the text is given back once parsed");
        assert!(Records::lazy(String::new()).is_empty());
        assert_eq!(Records::parsed(vec![Value::Null]).len(), 1);
    }
}
