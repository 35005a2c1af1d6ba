//! The checks a request passes, in BitGo's order: token (401), then request validation (400,
//! elsewhere), then tenant: unknown (404), not a member (401), no licence or permission (403).

use axum::http::{header, HeaderMap};
use serde_json::Value;

use crate::behaviour::identities::{Identities, Identity};
use crate::behaviour::AuthRules;
use crate::http::error::HttpError;
use crate::openapi::params::ParamValues;
use crate::store::Store;

/// The bearer token of `Authorization: Bearer TOKEN`, the scheme in any case (RFC 9110 11.1).
/// None when absent or another scheme; a second Authorization header is refused, since which of
/// two tokens applies would be a guess.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, HttpError> {
    let mut given = headers.get_all(header::AUTHORIZATION).iter();
    let value = match (given.next(), given.next()) {
        (None, _) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(HttpError::bad_request(
                "Authorization: sent twice; expected one 'Authorization: Bearer <token>'",
            ))
        }
        (Some(value), None) => value,
    };
    Ok(value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty()))
}

/// Step one: who is calling, by the request's bearer token. Returns the caller's index in
/// `identities`.
pub(crate) fn authenticate(
    identities: &Identities,
    rules: &AuthRules,
    headers: &HeaderMap,
) -> Result<usize, HttpError> {
    let refuse = |message: &str| HttpError::new(401, message);
    let token = bearer_token(headers)?.ok_or_else(|| refuse(&rules.messages.missing_token))?;
    identities.identities.iter().position(|i| i.token == token).ok_or_else(|| refuse(&rules.messages.unknown_token))
}

/// Step two, after validation: may this identity use this tenant, and read (or, for a write,
/// write)? Returns the tenant record's index.
pub(crate) fn authorize(
    rules: &AuthRules,
    identity: &Identity,
    params: &ParamValues,
    store: &Store,
    writing: bool,
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
            if crate::json::at(record, pointer) != Some(&Value::Bool(true)) {
                return Err(HttpError::new(403, message(&rules.messages.no_licence, "{tenant} is not licensed", id)));
            }
        }
        tenant_record = Some(index);
    }
    let (permission, refusal) = match (&rules.write_permission, writing) {
        (Some(write), true) => {
            (write, rules.messages.no_write_permission.as_ref().unwrap_or(&rules.messages.no_permission))
        }
        _ => (&rules.permission, &rules.messages.no_permission),
    };
    if !identity.permissions.contains(permission) {
        return Err(HttpError::new(403, refusal.clone()));
    }
    Ok(tenant_record)
}
