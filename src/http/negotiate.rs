//! Content negotiation: the `Accept` header, with q-values and wildcards, chooses among the
//! media types a response declares (RFC 9110 12.5.1).

use axum::http::{header, HeaderMap};

use crate::http::error::HttpError;
use crate::openapi::Media;

/// The declared media type to answer with: the acceptable one with the highest q-value, ties
/// going to declaration order; the first declared when the request sends no `Accept`. A 406
/// when none is acceptable. `None` for a response without content.
pub(crate) fn choose<'m>(headers: &HeaderMap, offered: &'m [Media]) -> Result<Option<&'m Media>, HttpError> {
    let Some(first) = offered.first() else { return Ok(None) };
    let mut accept = headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).peekable();
    if accept.peek().is_none() {
        return Ok(Some(first));
    }
    let ranges: Vec<Range<'_>> = accept.flat_map(|v| v.split(',')).filter_map(Range::parse).collect();
    if ranges.is_empty() {
        return Ok(Some(first));
    }
    let mut best: Option<(&Media, f32)> = None;
    for media in offered {
        let q = quality(&ranges, &media.media_type);
        if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((media, q));
        }
    }
    best.map(|(m, _)| Some(m)).ok_or_else(|| {
        let declared: Vec<&str> = offered.iter().map(|m| m.media_type.as_str()).collect();
        let sent: Vec<&str> = headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect();
        HttpError::new(
            406,
            format!(
                "Accept: {} matches nothing this operation answers; it answers {}",
                sent.join(", "),
                declared.join(", ")
            ),
        )
    })
}

/// One media range of an `Accept` header: `type/subtype;q=0.5`.
struct Range<'a> {
    kind: &'a str,
    subtype: &'a str,
    q: f32,
}

impl<'a> Range<'a> {
    fn parse(text: &'a str) -> Option<Range<'a>> {
        let mut parts = text.split(';');
        let (kind, subtype) = parts.next()?.trim().split_once('/')?;
        let mut q = 1.0;
        for param in parts {
            if let Some((name, value)) = param.split_once('=') {
                if name.trim().eq_ignore_ascii_case("q") {
                    q = value.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q))?;
                }
            }
        }
        Some(Range { kind: kind.trim(), subtype: subtype.trim(), q })
    }

    /// How specifically this range matches the type: 3 exact, 2 `type/*`, 1 `*/*`, 0 not at all.
    fn specificity(&self, kind: &str, subtype: &str) -> u8 {
        match (self.kind, self.subtype) {
            ("*", "*") => 1,
            (k, "*") if k.eq_ignore_ascii_case(kind) => 2,
            (k, s) if k.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(subtype) => 3,
            // A declared range (`text/*`, `*/*`) is acceptable to any range of its kind.
            _ if kind == "*" => 1,
            (k, _) if subtype == "*" && k.eq_ignore_ascii_case(kind) => 2,
            _ => 0,
        }
    }
}

/// The q-value of the most specific range that matches `media_type`; 0 when none does.
fn quality(ranges: &[Range<'_>], media_type: &str) -> f32 {
    let essence = media_type.split(';').next().unwrap_or_default().trim();
    let (kind, subtype) = essence.split_once('/').unwrap_or((essence, ""));
    ranges
        .iter()
        .map(|r| (r.specificity(kind, subtype), r.q))
        .filter(|(s, _)| *s > 0)
        .max_by(|a, b| a.0.cmp(&b.0))
        .map_or(0.0, |(_, q)| q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(types: &[&str]) -> Vec<Media> {
        types
            .iter()
            .map(|t| Media {
                media_type: t.to_string(),
                schema: None,
                checker: None,
                examples: vec![],
                body: None,
                fields: vec![],
            })
            .collect()
    }

    fn pick(accept: &str, types: &[&str]) -> Result<String, u16> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, accept.parse().unwrap());
        let media = offered(types);
        choose(&headers, &media).map(|m| m.unwrap().media_type.clone()).map_err(|e| e.status)
    }

    #[test]
    fn accept_chooses_by_quality_then_declaration_order() {
        let both = ["application/json", "application/xml"];
        assert_eq!(pick("application/xml", &both), Ok("application/xml".into()));
        assert_eq!(pick("application/json;q=0.5, application/xml", &both), Ok("application/xml".into()));
        assert_eq!(pick("*/*", &both), Ok("application/json".into()));
        assert_eq!(pick("application/*;q=0.2, application/xml;q=0.1", &both), Ok("application/json".into()));
        assert_eq!(pick("text/*", &["application/json", "text/plain"]), Ok("text/plain".into()));
        assert_eq!(pick("text/html", &both), Err(406));
        assert_eq!(pick("application/xml;q=0", &["application/xml"]), Err(406));
        assert_eq!(pick("*/*;q=0.1, application/json;q=0", &both), Ok("application/xml".into()));
        assert_eq!(pick("garbage", &both), Ok("application/json".into()));
        assert_eq!(pick("text/plain", &["*/*"]), Ok("*/*".into()));
    }
}
