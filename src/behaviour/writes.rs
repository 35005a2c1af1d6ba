//! Writes, as data: which collection an operation creates into or changes, the fields it sets,
//! and its effects on other records, with the invariants that refuse it.
//!
//! Text values in `set` are templates: `{id}` (the new record's key), `{seq}` (its number in the
//! session), `{now}` (RFC 3339, UTC), `{user}` (the caller's user id), `{base}` (the API's first href placeholder, which each
//! answer replaces with the request's own base URL), `{path:NAME}` (a path parameter),
//! `{body:/pointer}` (the request body) and `{record:/pointer}` (the written record). A value that
//! is exactly one placeholder keeps that value's type; `|fixed:N` after a placeholder writes a
//! decimal with N places (`{target:/remainingValue/amount|fixed:2}`), `|places_of:NAME` with as
//! many places as the first number in another placeholder's text (`|places_of:target:/remainingValueName`
//! keeps "45.00 EUR" at two places and "600 Free Seconds" at none), and `|or:TEXT` writes TEXT
//! when the placeholder names nothing (`{body:/rejectReason|or:Rejected by the partner}`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How one operation writes.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Write {
    /// The collection the written record lives in.
    pub(crate) collection: String,
    /// The operation whose view shows the written record, and whose path makes its `Location`.
    pub(crate) read: String,
    /// Change the record this finds instead of creating one.
    #[serde(default)]
    pub(crate) update: Option<Update>,
    /// How a created record's key is made.
    #[serde(default)]
    pub(crate) key: Option<KeyRule>,
    /// Fields written over the request body (a create) or the found record (an update), by JSON
    /// pointer; intermediate objects are made as needed.
    #[serde(default)]
    pub(crate) set: BTreeMap<String, Value>,
    /// A named computation run on the record after `set` (see `specmock::state::compute`).
    #[serde(default)]
    pub(crate) compute: Option<String>,
    /// Changes to other records, applied in order; any refusal undoes the whole write.
    #[serde(default)]
    pub(crate) effects: Vec<Effect>,
    /// Where a repeated request names itself: the first answer is replayed, nothing written twice.
    #[serde(default)]
    pub(crate) idempotency: Option<Idempotency>,
    /// The status of the answer; the operation's lowest declared 2xx when absent.
    #[serde(default)]
    pub(crate) status: Option<u16>,
    /// Wrap the answer in an object under this property (e.g. `allocation`).
    #[serde(default)]
    pub(crate) wrap: Option<String>,
    /// Request body members not kept on a created record (signatures, nonces), by JSON pointer.
    #[serde(default)]
    pub(crate) drop: Vec<String>,
    /// Fill the attributes of the read view's schema that the record lacks with null, as Oracle
    /// serialises unset attributes.
    #[serde(default)]
    pub(crate) explicit_nulls: bool,
    /// Answer with these members of the request body instead of the record (BitGo's partner
    /// updates echo the ids they were sent).
    #[serde(default)]
    pub(crate) echo: Option<Vec<String>>,
}

/// Which record an update changes, and the states it may change from.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Update {
    /// The record's key: `{path:NAME}` or `{body:/pointer}`.
    pub(crate) key: String,
    /// The 404 message when no record has the key; `{key}` is replaced.
    pub(crate) not_found: String,
    /// Guards on the record as found, checked in order.
    #[serde(default)]
    pub(crate) only_when: Vec<Guard>,
}

/// A field that must hold one of some values, else the write is refused.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Guard {
    /// JSON pointer of the field.
    pub(crate) field: String,
    /// The values allowed: templates, so a guard can compare with the request (`{path:enterpriseId}`).
    pub(crate) is: Vec<Value>,
    /// The refusal's status.
    pub(crate) status: u16,
    /// The refusal's message; `{key}` and `{value}` (the field's value) are replaced.
    pub(crate) message: String,
}

/// A created record's key: a template over `{seq}`, or a UUID drawn from the session's seed.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum KeyRule {
    /// A text with `{seq}` in it; `{seq}` counts from `first`.
    Sequence {
        /// E.g. `0.0.0.1+-event-audit-adjust_balance+{seq}`.
        template: String,
        /// The first number.
        #[serde(default)]
        first: u64,
    },
    /// A version-4-shaped UUID, deterministic per session and record number.
    Uuid,
}

/// Changes to other records: once, or once per element of an array of the written record.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Effect {
    /// JSON pointer of an array in the written record: the changes run once per element, which
    /// templates read as `{item:/pointer}`.
    #[serde(default)]
    pub(crate) each: Option<String>,
    /// Apply only when this holds.
    #[serde(default)]
    pub(crate) when: Option<Condition>,
    /// The changes, in order; later ones read earlier ones' records by name.
    pub(crate) changes: Vec<Change>,
    /// Fields then set on the written record, reading the changed records by name (e.g.
    /// `/partyAccount: "{from:/partyAccount}"`).
    #[serde(default)]
    pub(crate) record_set: BTreeMap<String, Value>,
}

/// One change to another record.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Change {
    /// A name later changes use to read this one's record (`{name:/pointer}`).
    pub(crate) name: String,
    /// The collection of the changed record.
    pub(crate) collection: String,
    /// The changed record's key, a template (e.g. `{record:/bucket/id}`).
    pub(crate) key: String,
    /// The 404 message when no record has the key; `{key}` is replaced. Without it a missing
    /// record skips the change. A change with nothing to add or set only reads its record.
    #[serde(default)]
    pub(crate) not_found: Option<String>,
    /// Guards on the record as found, checked in order.
    #[serde(default)]
    pub(crate) only_when: Vec<Guard>,
    /// Amounts added to fields of the record.
    #[serde(default)]
    pub(crate) add: Vec<Add>,
    /// Fields set on the record after `add`, templates as in `set`, plus `{target:/pointer}`.
    #[serde(default)]
    pub(crate) set: BTreeMap<String, Value>,
}

/// A condition on the written record.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Condition {
    /// A template, e.g. `{record:/status}`.
    pub(crate) value: String,
    /// The values it must be one of.
    pub(crate) is: Vec<String>,
}

/// Adds an amount to a decimal field (a JSON number or a string of digits, kept as it was).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Add {
    /// JSON pointer of the field; segments may be templates (`/balances/{record:/amount/currency}/held`),
    /// whose text is escaped into one segment. A missing field counts as zero and is written as the
    /// amount's type.
    pub(crate) field: String,
    /// The amount, a template (e.g. `{record:/amount/amount}`).
    pub(crate) amount: String,
    /// Subtract instead.
    #[serde(default)]
    pub(crate) negate: bool,
    /// The least the field may hold afterwards, else the write is refused.
    #[serde(default)]
    pub(crate) at_least: Option<Floor>,
}

/// The least a field may hold, and the refusal when it would go below.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Floor {
    /// The least value, as a decimal.
    pub(crate) value: String,
    /// The refusal's status (TMF654 declares 409 for a conflict).
    pub(crate) status: u16,
    /// The refusal's message: `{key}`, `{have}` (the field now), `{need}` (the amount) are replaced.
    pub(crate) message: String,
}

/// Where a request's idempotency key is. A repeat answers as the first did, with the record as
/// it is now (an allocation cleared since shows `cleared`), and writes nothing.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Idempotency {
    /// A template, e.g. `{body:/idempotencyKey}` or `{header:Idempotency-Key}`.
    pub(crate) key: String,
}
