//! One journalled exchange, [`ReceivedRequest`]: what came in and what went out, credentials
//! masked, long values and bodies cut with a marker.
//!
//! Built on the request path, so it copies nothing it can share: the URL and headers are the
//! request's own (reference-counted slices of the connection's read buffer), the arrival time
//! is an `Instant` turned into a date when read, and the operationId is shared. Credentials are
//! masked and long values cut wherever an entry is read (JSON, the console, the log line, the
//! Rust accessors); copying and masking every header on the request path cost 3,000
//! instructions a request by callgrind, a tenth of serving one. Because the shared slices keep
//! the read buffer alive, an entry weighs twice its head, and at least 8 KiB (hyper's first
//! buffer), in the journal's byte budget.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::ser::{SerializeSeq, SerializeStruct, Serializer};
use serde::Serialize;

use crate::contract::Finding;

/// The most bytes any one text value of an entry keeps (the URL, a header value, a finding);
/// the rest is cut with a marker saying how much, so a 300 KB User-Agent costs 8 KiB.
pub(crate) const FIELD_LIMIT: usize = 8 * 1024;

/// The most bytes of a request or response body an entry keeps, cut with a marker beyond:
/// enough for a page of records in the console. A response body is shared, not copied: a
/// 16 KiB copy cost the allocations page 17,000 instructions by callgrind (glibc's malloc and
/// free of mid-sized buffers), sharing costs nothing.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// What an entry is taken to hold beyond its own fields: the connection's read buffer that its
/// URL and header values share, at least hyper's first 8 KiB.
const MIN_HEAD_WEIGHT: usize = 8 * 1024;

/// One request the server answered, as the journal keeps it: the whole exchange, with
/// credentials masked and bodies cut at 64 KiB. New fields may be added, hence
/// `#[non_exhaustive]`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReceivedRequest {
    /// Sequence number, from 1.
    pub seq: u64,
    /// HTTP method.
    pub method: Method,
    /// Response status.
    pub status: u16,
    /// Time to the response head, in milliseconds.
    pub duration_ms: f64,
    /// The operationId that answered, if a route matched.
    pub operation: Option<Arc<str>>,
    /// Validation findings: strict mode's, and query parameters the operation does not declare.
    pub findings: Vec<Finding>,
    /// Why the request was refused before any route saw it (an oversized or malformed head,
    /// or one that did not arrive in time).
    pub error: Option<String>,
    /// The request's body.
    pub request_body: KeptBody,
    /// The response's body.
    pub response_body: KeptBody,
    arrived: Instant,
    url: Url,
    /// Query parameters that carry credentials, masked when the URL is read.
    pub(crate) query_secrets: crate::http::pipeline::QuerySecrets,
    /// The request's headers, then from `request_end` the response's, in the order sent: one
    /// list of shared names and values, with room for the response's kept from the start. A
    /// cloned `HeaderMap` each cost three times as much: it rebuilds its hash index.
    headers: Vec<(HeaderName, HeaderValue)>,
    request_end: usize,
    head_weight: usize,
    /// Its weight when the journal took it in, so dropping it costs no second count.
    pub(crate) kept_weight: usize,
}

/// Room for the response's headers in an entry's list, so it is allocated once.
const RESPONSE_HEADERS: usize = 8;

/// The request's path and query: shared with the request, or text for one refused before it
/// was parsed.
#[derive(Clone, Debug)]
enum Url {
    Shared(http::uri::PathAndQuery),
    Text(String),
}

impl ReceivedRequest {
    /// A request that arrived at `arrived`, sharing its URI and headers.
    pub(crate) fn arriving(arrived: Instant, method: Method, uri: &http::Uri, headers: &HeaderMap) -> ReceivedRequest {
        let url = uri.path_and_query().cloned().map_or(Url::Text(String::new()), Url::Shared);
        let head: usize = headers.iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum();
        let head_weight = (2 * (head + url.as_bytes().len())).max(MIN_HEAD_WEIGHT);
        let mut list = Vec::with_capacity(headers.len() + RESPONSE_HEADERS);
        list.extend(headers.iter().map(|(n, v)| (n.clone(), v.clone())));
        ReceivedRequest::new(arrived, method, url, list, head_weight)
    }

    /// A request refused before it was parsed: its method and URL as read, cut.
    pub(crate) fn refused(method: Method, url: &str) -> ReceivedRequest {
        let url = cut(url);
        let weight = url.len() + 64;
        ReceivedRequest::new(Instant::now(), method, Url::Text(url), Vec::new(), weight)
    }

    fn new(
        arrived: Instant,
        method: Method,
        url: Url,
        headers: Vec<(HeaderName, HeaderValue)>,
        head_weight: usize,
    ) -> Self {
        ReceivedRequest {
            seq: 0,
            method,
            status: 0,
            duration_ms: 0.0,
            operation: None,
            findings: Vec::new(),
            error: None,
            request_body: KeptBody::empty(),
            response_body: KeptBody::empty(),
            arrived,
            url,
            query_secrets: None,
            request_end: headers.len(),
            headers,
            head_weight,
            kept_weight: 0,
        }
    }

    /// Keeps the response's headers.
    pub(crate) fn answered(&mut self, headers: &HeaderMap) {
        self.headers.truncate(self.request_end);
        self.headers.extend(headers.iter().map(|(n, v)| (n.clone(), v.clone())));
    }

    /// Milliseconds since the request arrived.
    pub(crate) fn arrived_elapsed_ms(&self) -> f64 {
        self.arrived.elapsed().as_secs_f64() * 1000.0
    }

    /// Milliseconds since midnight (UTC) when the request arrived, for the log line: integer
    /// arithmetic rather than a calendar date.
    pub(crate) fn millis_of_day(&self) -> u64 {
        use chrono::Timelike;
        let (instant, wall) = clock();
        let base = u64::from(wall.num_seconds_from_midnight()) * 1000 + u64::from(wall.timestamp_subsec_millis());
        let offset = match self.arrived.checked_duration_since(*instant) {
            Some(after) => after.as_millis() as i128,
            None => -(instant.duration_since(self.arrived).as_millis() as i128),
        };
        (base as i128 + offset).rem_euclid(86_400_000) as u64
    }

    /// When the request arrived.
    pub fn time(&self) -> DateTime<Utc> {
        let (instant, wall) = clock();
        match self.arrived.checked_duration_since(*instant) {
            Some(after) => *wall + chrono::Duration::from_std(after).unwrap_or_default(),
            None => *wall - chrono::Duration::from_std(instant.duration_since(self.arrived)).unwrap_or_default(),
        }
    }

    /// Path and query, cut at 8 KiB, credentials in the query masked (`api_key=****`).
    pub fn url(&self) -> Cow<'_, str> {
        let text = match &self.url {
            Url::Shared(p) => p.as_str(),
            Url::Text(t) => t.as_str(),
        };
        let text = match &self.query_secrets {
            Some(names) => masked_query(text, names),
            None => Cow::Borrowed(text),
        };
        if text.len() <= FIELD_LIMIT {
            text
        } else {
            Cow::Owned(cut(&text))
        }
    }

    /// The caller's User-Agent, cut at 8 KiB.
    pub fn user_agent(&self) -> Option<Cow<'_, str>> {
        self.request_headers().get("user-agent")
    }

    /// The request's headers as the caller sent them, credentials masked (`Bearer ****wxyz`).
    pub fn request_headers(&self) -> KeptHeaders<'_> {
        KeptHeaders { list: &self.headers[..self.request_end] }
    }

    /// The response's headers as sent, request id and CORS headers included.
    pub fn response_headers(&self) -> KeptHeaders<'_> {
        KeptHeaders { list: &self.headers[self.request_end..] }
    }

    /// About how many bytes the entry holds, for the journal's byte bound.
    pub(crate) fn weight(&self) -> usize {
        let findings: usize = self.findings.iter().map(|f| f.pointer.len() + f.rule.len() + f.message.len() + 72).sum();
        let response: usize =
            self.headers[self.request_end..].iter().map(|(n, v)| n.as_str().len() + v.len() + 48).sum();
        256 + self.head_weight
            + response
            + self.error.as_ref().map_or(0, String::len)
            + findings
            + self.request_body.bytes.len()
            + self.response_body.bytes.len()
    }
}

impl Url {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Url::Shared(p) => p.as_str().as_bytes(),
            Url::Text(t) => t.as_bytes(),
        }
    }
}

/// The process's clock at one instant, to turn arrival instants into dates: reading the wall
/// clock and converting it per request cost more than the rest of an entry.
fn clock() -> &'static (Instant, DateTime<Utc>) {
    static CLOCK: OnceLock<(Instant, DateTime<Utc>)> = OnceLock::new();
    CLOCK.get_or_init(|| (Instant::now(), Utc::now()))
}

/// Starts the clock [`ReceivedRequest::time`] reads, before the first request.
pub(crate) fn start_clock() {
    clock();
}

impl Serialize for ReceivedRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut entry = s.serialize_struct("ReceivedRequest", 14)?;
        self.summary_fields(&mut entry)?;
        entry.serialize_field("requestHeaders", &self.request_headers())?;
        entry.serialize_field("requestBody", &self.request_body)?;
        entry.serialize_field("responseHeaders", &self.response_headers())?;
        entry.serialize_field("responseBody", &self.response_body)?;
        entry.end()
    }
}

impl ReceivedRequest {
    /// The entry without headers and bodies, as the live feed sends it: a row of the console's
    /// request list costs a tenth of the whole exchange to write, and the feed writes one per
    /// request while the console is open.
    pub(crate) fn summary(&self) -> Summary<'_> {
        Summary(self)
    }

    fn summary_fields<S: SerializeStruct>(&self, entry: &mut S) -> Result<(), S::Error> {
        entry.serialize_field("seq", &self.seq)?;
        entry.serialize_field("time", &rfc3339_millis(self.time()))?;
        entry.serialize_field("method", self.method.as_str())?;
        entry.serialize_field("url", &self.url())?;
        entry.serialize_field("status", &self.status)?;
        entry.serialize_field("userAgent", &self.user_agent())?;
        entry.serialize_field("durationMs", &self.duration_ms)?;
        entry.serialize_field("operation", &self.operation.as_deref())?;
        entry.serialize_field("findings", &self.findings)?;
        entry.serialize_field("error", &self.error)
    }
}

/// An entry's summary: [`ReceivedRequest::summary`].
pub(crate) struct Summary<'a>(&'a ReceivedRequest);

impl Serialize for Summary<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut entry = s.serialize_struct("Summary", 10)?;
        self.0.summary_fields(&mut entry)?;
        entry.end()
    }
}

/// `2026-12-03T07:41:02.123Z`, digit by digit: chrono's formatter cost 2,000 instructions an
/// entry, which the live feed pays per request.
fn rfc3339_millis(time: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let (date, clock) = (time.date_naive(), time.time());
    let mut out = String::with_capacity(24);
    let year = date.year().clamp(0, 9999) as u32;
    for divisor in [1000, 100, 10, 1] {
        out.push(char::from(b'0' + (year / divisor % 10) as u8));
    }
    for (separator, n) in
        [('-', date.month()), ('-', date.day()), ('T', clock.hour()), (':', clock.minute()), (':', clock.second())]
    {
        out.push(separator);
        out.push(char::from(b'0' + (n / 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
    }
    let millis = clock.nanosecond() / 1_000_000 % 1000;
    out.push('.');
    for divisor in [100, 10, 1] {
        out.push(char::from(b'0' + (millis / divisor % 10) as u8));
    }
    out.push('Z');
    out
}

/// A body as the journal keeps it: its first 64 KiB and how long it was. In JSON, the text
/// (invalid UTF-8 replaced) with a marker saying how much was cut, or null when empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeptBody {
    /// The bytes kept.
    pub bytes: Bytes,
    /// How long the whole body was; None when unknown: a streamed response (not kept) or a
    /// request body longer than what was kept, sent without a length.
    pub len: Option<u64>,
}

impl KeptBody {
    /// Keeps `body`'s first [`BODY_LIMIT`] bytes. A longer body is copied so the journal does
    /// not hold the whole buffer alive through a slice of it.
    pub(crate) fn of(body: &Bytes) -> KeptBody {
        let bytes = if body.len() <= BODY_LIMIT { body.clone() } else { Bytes::copy_from_slice(&body[..BODY_LIMIT]) };
        KeptBody { bytes, len: Some(body.len() as u64) }
    }

    /// No body.
    pub(crate) fn empty() -> KeptBody {
        KeptBody { bytes: Bytes::new(), len: Some(0) }
    }

    /// A streamed body's stand-in.
    pub(crate) fn streamed() -> KeptBody {
        KeptBody { bytes: Bytes::new(), len: None }
    }
}

impl Serialize for KeptBody {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.len {
            Some(0) => s.serialize_none(),
            None if self.bytes.is_empty() => s.serialize_str("…[streamed body, not kept]"),
            None => s.serialize_str(&format!("{}…[cut; length not sent]", String::from_utf8_lossy(&self.bytes))),
            Some(len) => {
                let text = String::from_utf8_lossy(&self.bytes);
                match len - self.bytes.len() as u64 {
                    0 => s.serialize_str(&text),
                    cut => s.serialize_str(&format!("{text}…[{cut} bytes cut]")),
                }
            }
        }
    }
}

/// Headers as the journal keeps them, read with credentials masked and each value cut at
/// 8 KiB. In JSON, `[{"name": ..., "value": ...}]`, in the order sent, repeats kept.
#[derive(Clone, Copy, Debug)]
pub struct KeptHeaders<'a> {
    list: &'a [(HeaderName, HeaderValue)],
}

impl<'a> KeptHeaders<'a> {
    /// Each header's name and value, in the order sent, credentials masked: `Bearer ****wxyz`
    /// keeps the scheme and, of a secret of 16 characters or more, the last four, so a reader
    /// can tell which token was used. Invalid UTF-8 is replaced.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, Cow<'a, str>)> + 'a {
        self.list.iter().map(|(name, value)| {
            let value: Cow<'a, str> = if is_secret(name) {
                let mut out = Vec::new();
                mask(name, value.as_bytes(), &mut out);
                Cow::Owned(String::from_utf8_lossy(&out).into_owned())
            } else if value.len() > FIELD_LIMIT {
                let mut out = Vec::new();
                push_cut(value.as_bytes(), &mut out);
                Cow::Owned(String::from_utf8_lossy(&out).into_owned())
            } else {
                String::from_utf8_lossy(value.as_bytes())
            };
            (name.as_str(), value)
        })
    }

    /// The first value of the header called `name` (lower case), masked if it is a credential.
    pub fn get(&self, name: &str) -> Option<Cow<'a, str>> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

impl Serialize for KeptHeaders<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Header<'a> {
            name: &'a str,
            value: Cow<'a, str>,
        }
        let mut list = s.serialize_seq(Some(self.list.len()))?;
        for (name, value) in self.iter() {
            list.serialize_element(&Header { name, value })?;
        }
        list.end()
    }
}

/// Appends `text`, or its first [`FIELD_LIMIT`] bytes (on a character boundary) and a marker
/// saying how many were cut.
fn push_cut(text: &[u8], out: &mut Vec<u8>) {
    if text.len() <= FIELD_LIMIT {
        out.extend_from_slice(text);
        return;
    }
    let mut end = FIELD_LIMIT;
    while end > 0 && (text[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    out.extend_from_slice(&text[..end]);
    out.extend_from_slice(format!("…[{} bytes cut]", text.len() - end).as_bytes());
}

/// `text`, cut as [`push_cut`] cuts.
pub(crate) fn cut(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len().min(FIELD_LIMIT + 32));
    push_cut(text.as_bytes(), &mut out);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Whether a header carries a credential: `Authorization`, cookies, and any name that says
/// token, secret, key, password or session (`X-API-Key`, `X-Auth-Token`).
fn is_secret(name: &HeaderName) -> bool {
    use http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION, SET_COOKIE};
    if name == AUTHORIZATION || name == PROXY_AUTHORIZATION || name == COOKIE || name == SET_COOKIE {
        return true;
    }
    // One pass over the (lower-case) name, each word tried only where its first letter is:
    // `str::contains` per word set up a searcher each time, 3,000 instructions a request.
    let name = name.as_str().as_bytes();
    (0..name.len()).any(|i| {
        let rest = &name[i..];
        match name[i] {
            b't' => rest.starts_with(b"token"),
            b's' => rest.starts_with(b"secret") || rest.starts_with(b"session"),
            b'k' => rest.starts_with(b"key"),
            b'p' => rest.starts_with(b"password"),
            _ => false,
        }
    })
}

/// A path and query with the values of the named query parameters masked as a header's would be.
fn masked_query<'u>(url: &'u str, secrets: &[Box<str>]) -> Cow<'u, str> {
    let Some(at) = memchr::memchr(b'?', url.as_bytes()) else { return Cow::Borrowed(url) };
    let (path, query) = (&url[..at], &url[at + 1..]);
    let secret = |name: &str| match name.bytes().any(|b| b == b'%' || b == b'+') {
        true => {
            let name = form_urlencoded::parse(name.as_bytes()).next().map(|(n, _)| n).unwrap_or_default();
            secrets.iter().any(|s| **s == *name)
        }
        false => secrets.iter().any(|s| **s == *name),
    };
    let name_of = |pair: &'u str| pair.split_once('=').map_or(pair, |(name, _)| name);
    if !query.split('&').any(|pair| secret(name_of(pair))) {
        return Cow::Borrowed(url);
    }
    let mut out = format!("{path}?");
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((name, value)) if secret(name) => {
                let mut masked = Vec::new();
                mask(&http::header::COOKIE, value.as_bytes(), &mut masked);
                out.push_str(name);
                out.push('=');
                out.push_str(&String::from_utf8_lossy(&masked));
            }
            _ => out.push_str(pair),
        }
    }
    Cow::Owned(out)
}

/// Appends a credential's masked form.
fn mask(name: &HeaderName, value: &[u8], out: &mut Vec<u8>) {
    let value = value.trim_ascii();
    let secret = match memchr::memchr(b' ', value) {
        Some(at) if name == http::header::AUTHORIZATION || name == http::header::PROXY_AUTHORIZATION => {
            out.extend_from_slice(&value[..=at]);
            value[at + 1..].trim_ascii()
        }
        _ => value,
    };
    out.extend_from_slice(b"****");
    if secret.len() >= 16 {
        let mut start = secret.len() - 4;
        while start > 0 && (secret[start] & 0xC0) == 0x80 {
            start -= 1;
        }
        out.extend_from_slice(&secret[start..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_with_a_marker_on_a_character_boundary() {
        assert_eq!(cut("short"), "short");
        let long = format!("{}é{}", "a".repeat(FIELD_LIMIT - 1), "b".repeat(100));
        let kept = cut(&long);
        assert!(kept.starts_with(&"a".repeat(FIELD_LIMIT - 1)));
        assert!(kept.ends_with("…[102 bytes cut]"), "{}", &kept[kept.len() - 30..]);
    }

    #[test]
    fn credentials_are_masked_and_other_headers_kept_in_order() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer short"));
        headers.insert("proxy-authorization", HeaderValue::from_static("Basic dXNlcjpwYXNzd29yZDEyMzQ="));
        headers.insert("cookie", HeaderValue::from_static("session=abcdefghijklmnopqrstuvwxyz"));
        headers.insert("x-auth-token", HeaderValue::from_static("t"));
        headers.insert("accept", HeaderValue::from_static("application/json"));
        headers.append("accept", HeaderValue::from_static("text/plain"));
        let uri: http::Uri = "/a?b=1".parse().unwrap();
        let entry = ReceivedRequest::arriving(Instant::now(), Method::GET, &uri, &headers);
        let kept = entry.request_headers();
        let get = |name: &str| kept.get(name).unwrap().into_owned();
        let everything = serde_json::to_string(&entry.request_headers()).unwrap();
        assert!(!everything.contains("dXNlcjpw") && !everything.contains("abcdefghijkl"), "{everything}");
        assert_eq!(get("authorization"), "Bearer ****", "a short secret shows nothing of itself");
        assert_eq!(get("proxy-authorization"), "Basic ****MzQ=");
        assert_eq!(get("cookie"), "****wxyz");
        assert_eq!(get("x-auth-token"), "****");
        let accepts: Vec<String> = kept.iter().filter(|(n, _)| *n == "accept").map(|(_, v)| v.into_owned()).collect();
        assert_eq!(accepts, ["application/json", "text/plain"], "repeats kept in order");
        assert_eq!(entry.url(), "/a?b=1");
        assert_eq!(entry.response_headers().iter().count(), 0);
    }

    #[test]
    fn credentials_in_the_query_are_masked() {
        let uri: http::Uri = "/pets?limit=2&api_key=abcdefghijklmnopqrst&access_token=short".parse().unwrap();
        let mut entry = ReceivedRequest::arriving(Instant::now(), Method::GET, &uri, &HeaderMap::new());
        assert_eq!(entry.url(), uri.to_string(), "an operation without query credentials");
        entry.query_secrets = Some(vec!["api_key".into(), "access_token".into()].into());
        assert_eq!(entry.url(), "/pets?limit=2&api_key=****qrst&access_token=****");
    }

    #[test]
    fn times_are_written_as_rfc3339_with_milliseconds() {
        let time: DateTime<Utc> = "2026-03-04T05:06:07.089Z".parse().unwrap();
        assert_eq!(rfc3339_millis(time), time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    }

    #[test]
    fn arrival_instants_read_as_dates() {
        start_clock();
        let before = Utc::now();
        let entry = ReceivedRequest::refused(Method::GET, "/");
        let after = Utc::now();
        let time = entry.time();
        let slack = chrono::Duration::milliseconds(5);
        assert!(time >= before - slack && time <= after + slack, "{before} {time} {after}");
    }
}
