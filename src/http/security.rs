//! The document's security schemes, enforced as a static mock can: a request must carry the
//! credential some requirement asks for (any requirement, every scheme within it). Which token
//! is right is unknowable without a provider, so any well-formed one passes; a behaviour file's
//! `auth` (the bundled APIs) checks tokens against identities instead.

use axum::http::{header, HeaderMap};

use crate::http::error::HttpError;
use crate::openapi::{Credential, Location, Operation, Scheme};

/// Ok when the request satisfies one of the operation's requirements; else a 401 naming what
/// each would take, with a `WWW-Authenticate` challenge per scheme.
pub(crate) fn check(op: &Operation, headers: &HeaderMap, query: Option<&str>) -> Result<(), HttpError> {
    if !op.secured {
        return Ok(());
    }
    if op.security.iter().any(|all| all.iter().all(|s| carries(s, headers, query))) {
        return Ok(());
    }
    let wanted: Vec<String> = op
        .security
        .iter()
        .map(|all| {
            all.iter().map(|s| format!("{} ({})", describe(&s.credential), s.name)).collect::<Vec<_>>().join(" and ")
        })
        .collect();
    let mut challenges: Vec<String> = Vec::new();
    for scheme in op.security.iter().flatten() {
        let challenge = match &scheme.credential {
            Credential::Basic => "Basic realm=\"specmock\"".to_string(),
            Credential::Bearer => "Bearer realm=\"specmock\"".to_string(),
            Credential::Http(name) => format!("{name} realm=\"specmock\""),
            Credential::ApiKey(..) => continue,
        };
        if !challenges.contains(&challenge) {
            challenges.push(challenge);
        }
    }
    let mut refusal =
        HttpError::new(401, format!("no valid credential for {}; expected {}", op.id, wanted.join(", or ")));
    if !challenges.is_empty() {
        refusal = refusal.with_challenge(challenges.join(", "));
    }
    Err(refusal)
}

/// Whether the request carries this scheme's credential in the right form.
fn carries(scheme: &Scheme, headers: &HeaderMap, query: Option<&str>) -> bool {
    let authorization =
        || headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.split_once(' '));
    match &scheme.credential {
        Credential::ApiKey(Location::Header, name) => headers.get(name.as_str()).is_some_and(|v| !v.is_empty()),
        Credential::ApiKey(Location::Query, name) => form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .any(|(k, v)| k == name.as_str() && !v.is_empty()),
        Credential::ApiKey(_, name) => headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(k, v)| k == name && !v.is_empty()),
        // `user:password`, base64: what any client sends for Basic.
        Credential::Basic => authorization().is_some_and(|(kind, value)| {
            kind.eq_ignore_ascii_case("basic") && decode_base64(value.trim()).is_some_and(|d| d.contains(&b':'))
        }),
        Credential::Bearer => {
            authorization().is_some_and(|(kind, value)| kind.eq_ignore_ascii_case("bearer") && !value.trim().is_empty())
        }
        Credential::Http(name) => {
            authorization().is_some_and(|(kind, value)| kind.eq_ignore_ascii_case(name) && !value.trim().is_empty())
        }
    }
}

/// What a scheme asks a request to carry, in words.
fn describe(credential: &Credential) -> String {
    match credential {
        Credential::ApiKey(Location::Header, name) => format!("header {name}"),
        Credential::ApiKey(Location::Query, name) => format!("query parameter {name}"),
        Credential::ApiKey(_, name) => format!("cookie {name}"),
        Credential::Basic => "Authorization: Basic <base64 user:password>".into(),
        Credential::Bearer => "Authorization: Bearer <token>".into(),
        Credential::Http(name) => format!("Authorization: {name} <credentials>"),
    }
}

/// Standard base64, padded or not; None when the text is not base64.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let lenient = base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent);
    base64::engine::GeneralPurpose::new(&base64::alphabet::STANDARD, lenient).decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::decode_base64;

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(decode_base64("dXNlcjpwYXNz").as_deref(), Some(&b"user:pass"[..]));
        assert_eq!(decode_base64("YTpiYw==").as_deref(), Some(&b"a:bc"[..]));
        assert_eq!(decode_base64("YTpiYw").as_deref(), Some(&b"a:bc"[..]));
        assert_eq!(decode_base64("not base64!"), None);
    }
}
