//! Bearer-token identities (fixture data) and the checks a request passes, in BitGo's order:
//! token (401), then request validation (400, elsewhere), then tenant: unknown (404),
//! not a member (401), no licence or permission (403).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::behaviour::AuthRules;
use crate::params::ParamValues;
use crate::store::Store;

/// `fixtures/identities.json`: the callers every bundled API knows.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Identities {
    /// Link to the generated JSON Schema, for editors.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// One entry per token.
    pub identities: Vec<Identity>,
}

/// A caller, found by its bearer token.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// The bearer token.
    pub token: String,
    /// The user id (BitGo: 24 hex digits).
    pub user: String,
    /// What the caller may do, e.g. `settlement_network_read`.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Tenants (enterprises) the caller is a member of.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// What this identity is for, shown in the README and help.
    #[serde(default)]
    pub description: String,
}

/// A refusal: the status and what to tell the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// 401, 403 or 404.
    pub status: u16,
    /// The message for the envelope.
    pub message: String,
}

impl Identities {
    /// Step one: who is calling. `authorization` is the raw header.
    /// Returns the caller's index in `identities`.
    pub fn authenticate(&self, rules: &AuthRules, authorization: Option<&str>) -> Result<usize, Refusal> {
        let refuse = |message: &str| Refusal { status: 401, message: message.to_string() };
        let header = authorization.ok_or_else(|| refuse(&rules.messages.missing_token))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| refuse(&rules.messages.missing_token))?;
        self.identities.iter().position(|i| i.token == token).ok_or_else(|| refuse(&rules.messages.unknown_token))
    }
}

/// Step two, after validation: may this identity use this tenant? Returns the tenant record's index.
pub fn authorize(
    rules: &AuthRules,
    identity: &Identity,
    params: &ParamValues,
    store: &Store,
) -> Result<Option<u32>, Refusal> {
    let message = |template: &Option<String>, fallback: &str, tenant: &str| {
        template.as_deref().unwrap_or(fallback).replace("{tenant}", tenant)
    };
    let mut tenant_record = None;
    if let Some(tenant) = &rules.tenant {
        let id = params.str(&tenant.param).unwrap_or_default();
        let (index, record) = store.collection(&tenant.collection).and_then(|c| c.get(id)).ok_or_else(|| Refusal {
            status: 404,
            message: message(&rules.messages.unknown_tenant, "{tenant} not found", id),
        })?;
        if !identity.tenants.iter().any(|t| t == id) {
            return Err(Refusal {
                status: 401,
                message: message(&rules.messages.not_member, "not a member of {tenant}", id),
            });
        }
        if let Some(pointer) = &tenant.licence {
            if record.pointer(pointer) != Some(&Value::Bool(true)) {
                return Err(Refusal {
                    status: 403,
                    message: message(&rules.messages.no_licence, "{tenant} is not licensed", id),
                });
            }
        }
        tenant_record = Some(index);
    }
    if !identity.permissions.contains(&rules.permission) {
        return Err(Refusal { status: 403, message: rules.messages.no_permission.clone() });
    }
    Ok(tenant_record)
}

/// The JSON Schema of `identities.json`, as committed in `fixtures/identities.schema.json`.
pub fn identities_json_schema() -> String {
    let schema = schemars::schema_for!(Identities);
    serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n"
}
