//! `fixtures/identities.json`: the callers every bundled API knows, found by bearer token.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `fixtures/identities.json`: the callers every bundled API knows.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Identities {
    /// Link to the generated JSON Schema, for editors.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub(crate) schema: Option<String>,
    /// One entry per token.
    pub(crate) identities: Vec<Identity>,
}

/// A caller, found by its bearer token.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Identity {
    /// The bearer token.
    pub(crate) token: String,
    /// The user id (BitGo: 24 hex digits).
    pub(crate) user: String,
    /// What the caller may do, e.g. `settlement_network_read`.
    #[serde(default)]
    pub(crate) permissions: Vec<String>,
    /// Tenants (enterprises) the caller is a member of.
    #[serde(default)]
    pub(crate) tenants: Vec<String>,
    /// What this identity is for, shown in the README and help.
    #[serde(default)]
    pub(crate) description: String,
}

/// The JSON Schema of `identities.json`, as committed in `fixtures/identities.schema.json`.
pub fn identities_json_schema() -> String {
    let schema = schemars::schema_for!(Identities);
    serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n"
}
