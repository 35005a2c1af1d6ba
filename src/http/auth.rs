//! The checks a request passes, in BitGo's order: token (401), then request validation (400,
//! elsewhere), then tenant: unknown (404), not a member (401), no licence or permission (403).

use serde_json::Value;

use crate::behaviour::identities::{Identities, Identity};
use crate::behaviour::AuthRules;
use crate::http::error::HttpError;
use crate::openapi::params::ParamValues;
use crate::store::Store;

/// Step one: who is calling. `authorization` is the raw header. Returns the caller's index in
/// `identities`.
pub(crate) fn authenticate(
    identities: &Identities,
    rules: &AuthRules,
    authorization: Option<&str>,
) -> Result<usize, HttpError> {
    let refuse = |message: &str| HttpError::new(401, message);
    let header = authorization.ok_or_else(|| refuse(&rules.messages.missing_token))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| refuse(&rules.messages.missing_token))?;
    identities.identities.iter().position(|i| i.token == token).ok_or_else(|| refuse(&rules.messages.unknown_token))
}

/// Step two, after validation: may this identity use this tenant? Returns the tenant record's index.
pub(crate) fn authorize(
    rules: &AuthRules,
    identity: &Identity,
    params: &ParamValues,
    store: &Store,
) -> Result<Option<u32>, HttpError> {
    let message = |template: &Option<String>, fallback: &str, tenant: &str| {
        template.as_deref().unwrap_or(fallback).replace("{tenant}", tenant)
    };
    let mut tenant_record = None;
    if let Some(tenant) = &rules.tenant {
        let id = params.str(&tenant.param).unwrap_or_default();
        let (index, record) = store
            .collection(&tenant.collection)
            .and_then(|c| c.get(id))
            .ok_or_else(|| HttpError::new(404, message(&rules.messages.unknown_tenant, "{tenant} not found", id)))?;
        if !identity.tenants.iter().any(|t| t == id) {
            return Err(HttpError::new(401, message(&rules.messages.not_member, "not a member of {tenant}", id)));
        }
        if let Some(pointer) = &tenant.licence {
            if record.pointer(pointer) != Some(&Value::Bool(true)) {
                return Err(HttpError::new(403, message(&rules.messages.no_licence, "{tenant} is not licensed", id)));
            }
        }
        tenant_record = Some(index);
    }
    if !identity.permissions.contains(&rules.permission) {
        return Err(HttpError::new(403, rules.messages.no_permission.clone()));
    }
    Ok(tenant_record)
}
