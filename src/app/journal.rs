//! The bounded request journal: what came in, what went out, which operation answered, and what
//! strict validation found. Memory stays flat: it is bounded by entries and by bytes, the oldest
//! entry leaves first, and no field keeps more than [`FIELD_LIMIT`] bytes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::response::Response;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use http::HeaderMap;
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;

use crate::app::request_log::RequestLog;
use crate::contract::Finding;
use crate::http::pipeline::{Findings, Matched};

/// The most bytes any one text field of an entry keeps; the rest is cut with a marker saying
/// how much, so a 300 KB User-Agent costs 8 KiB.
pub(crate) const FIELD_LIMIT: usize = 8 * 1024;

/// The most bytes of a request or response body an entry keeps: enough for a page of records
/// in the console, cut with a marker beyond.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// One request the server answered, as the journal keeps it: the whole exchange, with secrets
/// masked and bodies cut at 64 KiB. New fields may be added, hence `#[non_exhaustive]`.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ReceivedRequest {
    /// Sequence number, from 1.
    pub seq: u64,
    /// When the request arrived (RFC 3339, UTC).
    #[serde(serialize_with = "rfc3339")]
    pub time: DateTime<Utc>,
    /// HTTP method.
    pub method: String,
    /// Path and query, cut at 8 KiB.
    pub url: String,
    /// Response status.
    pub status: u16,
    /// The caller's User-Agent, cut at 8 KiB.
    pub user_agent: Option<String>,
    /// Time to the response head, in milliseconds.
    pub duration_ms: f64,
    /// The operationId that answered, if a route matched.
    pub operation: Option<String>,
    /// Strict-mode validation findings.
    pub findings: Vec<Finding>,
    /// Why the request was refused before any route saw it (an oversized or malformed head,
    /// or one that did not arrive in time).
    pub error: Option<String>,
    /// The request's headers as the caller sent them, credentials masked (`Bearer ****wxyz`).
    pub request_headers: KeptHeaders,
    /// The request's body.
    pub request_body: KeptBody,
    /// The response's headers as sent, request id and CORS headers included.
    pub response_headers: KeptHeaders,
    /// The response's body.
    pub response_body: KeptBody,
}

/// A body as the journal keeps it: its first 64 KiB and how long it was. In JSON,
/// the text (invalid UTF-8 replaced) with a marker saying how much was cut, or null when empty.
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

/// Headers as the journal keeps them: in order, repeats kept, credentials masked, each value cut
/// at 8 KiB. In JSON, `[{"name": ..., "value": ...}]`.
///
/// Kept as `name: value` lines in one buffer: building a `HeaderMap` per request cost 10,000
/// instructions by callgrind, and a request's own values are slices of the connection's read
/// buffer, which they would keep alive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeptHeaders {
    lines: Vec<u8>,
}

impl KeptHeaders {
    /// A copy of `headers` with every credential masked: `Bearer ****wxyz` keeps the scheme
    /// and, of a secret of 16 characters or more, the last four, so a reader can tell which
    /// token was used without the journal holding it.
    pub(crate) fn of(headers: &HeaderMap) -> KeptHeaders {
        let size: usize = headers.iter().map(|(n, v)| n.as_str().len() + v.len().min(FIELD_LIMIT + 32) + 3).sum();
        let mut lines = Vec::with_capacity(size);
        for (name, value) in headers {
            lines.extend_from_slice(name.as_str().as_bytes());
            lines.extend_from_slice(b": ");
            if is_secret(name) {
                mask(name, value.as_bytes(), &mut lines);
            } else if value.len() > FIELD_LIMIT {
                lines.extend_from_slice(cut(&String::from_utf8_lossy(value.as_bytes())).as_bytes());
            } else {
                lines.extend_from_slice(value.as_bytes());
            }
            lines.push(b'\n');
        }
        KeptHeaders { lines }
    }

    /// Each header's name and value, in the order sent; invalid UTF-8 is replaced.
    pub fn iter(&self) -> impl Iterator<Item = (std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)> {
        self.lines.split(|&b| b == b'\n').filter(|line| !line.is_empty()).map(|line| {
            let at = memchr::memchr(b':', line).unwrap_or(line.len());
            let value = line.get(at + 2..).unwrap_or_default();
            (String::from_utf8_lossy(&line[..at]), String::from_utf8_lossy(value))
        })
    }

    /// The first value of the header called `name` (lower case).
    pub fn get(&self, name: &str) -> Option<String> {
        self.iter().find(|(n, _)| n == name).map(|(_, v)| v.into_owned())
    }

    /// How many bytes it holds.
    fn len(&self) -> usize {
        self.lines.len()
    }
}

impl Serialize for KeptHeaders {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Header<'a> {
            name: std::borrow::Cow<'a, str>,
            value: std::borrow::Cow<'a, str>,
        }
        let mut list = s.serialize_seq(None)?;
        for (name, value) in self.iter() {
            list.serialize_element(&Header { name, value })?;
        }
        list.end()
    }
}

/// Whether a header carries a credential: `Authorization`, cookies, and any name that says
/// token, secret, key, password or session (`X-API-Key`, `X-Auth-Token`).
fn is_secret(name: &http::HeaderName) -> bool {
    use http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION, SET_COOKIE};
    if name == AUTHORIZATION || name == PROXY_AUTHORIZATION || name == COOKIE || name == SET_COOKIE {
        return true;
    }
    // One pass over the (lower-case) name: `str::contains` per word sets up a searcher each
    // time, which cost 3,000 instructions a request by callgrind.
    const WORDS: [&[u8]; 5] = [b"token", b"secret", b"key", b"password", b"session"];
    let name = name.as_str().as_bytes();
    (0..name.len())
        .any(|i| matches!(name[i], b't' | b's' | b'k' | b'p') && WORDS.iter().any(|w| name[i..].starts_with(w)))
}

/// Appends a credential's masked form.
fn mask(name: &http::HeaderName, value: &[u8], out: &mut Vec<u8>) {
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

impl ReceivedRequest {
    /// About how many bytes the entry holds, for the journal's byte bound.
    fn weight(&self) -> usize {
        let text = |s: &str| s.len() + 24;
        let findings: usize = self.findings.iter().map(|f| text(&f.pointer) + text(&f.rule) + text(&f.message)).sum();
        128 + text(&self.method)
            + text(&self.url)
            + self.user_agent.as_deref().map_or(0, text)
            + self.operation.as_deref().map_or(0, text)
            + self.error.as_deref().map_or(0, text)
            + findings
            + self.request_headers.len()
            + self.response_headers.len()
            + self.request_body.bytes.len()
            + self.response_body.bytes.len()
    }
}

/// `text`, or its first [`FIELD_LIMIT`] bytes (on a character boundary) and a marker saying how
/// many bytes were cut.
pub(crate) fn cut(text: &str) -> String {
    if text.len() <= FIELD_LIMIT {
        return text.to_string();
    }
    let mut end = FIELD_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[{} bytes cut]", &text[..end], text.len() - end)
}

fn rfc3339<S: serde::Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// A bounded, shared request journal.
#[derive(Debug)]
pub(crate) struct Journal {
    capacity: usize,
    max_bytes: usize,
    inner: Mutex<Entries>,
    /// Where each entry is also printed, if anywhere.
    log: Option<RequestLog>,
    /// New entries, for live readers (`/__admin/requests/live`).
    feed: tokio::sync::broadcast::Sender<Arc<ReceivedRequest>>,
    /// How many live readers there are: read without a lock, so no reader costs nothing.
    listeners: Arc<std::sync::atomic::AtomicUsize>,
}

#[derive(Debug, Default)]
struct Entries {
    last_seq: u64,
    bytes: usize,
    /// Oldest first; shared, so a read copies pointers and never holds the lock to serialise.
    list: VecDeque<Arc<ReceivedRequest>>,
}

/// One page of the journal, newest first.
#[derive(Debug)]
pub(crate) struct JournalPage {
    /// The entries.
    pub(crate) requests: Vec<Arc<ReceivedRequest>>,
    /// The `before` that reads the next, older page, when there is one.
    pub(crate) next_before: Option<u64>,
}

impl Journal {
    /// A journal keeping at most `capacity` requests (0 keeps none) and about `max_bytes`.
    pub(crate) fn new(capacity: usize, max_bytes: usize) -> Journal {
        let inner = Entries { list: VecDeque::with_capacity(capacity.min(4096)), ..Default::default() };
        let (feed, _) = tokio::sync::broadcast::channel(1024);
        Journal { capacity, max_bytes, inner: Mutex::new(inner), log: None, feed, listeners: Default::default() }
    }

    /// Prints a line for each entry too.
    pub(crate) fn with_log(mut self, log: RequestLog) -> Journal {
        self.log = Some(log);
        self
    }

    /// Whether entries go anywhere.
    fn records(&self) -> bool {
        self.capacity > 0 || self.log.is_some() || self.listeners.load(std::sync::atomic::Ordering::Relaxed) > 0
    }

    /// Every entry from now on, as it is journalled; the feed says when a slow reader missed some.
    pub(crate) fn follow(&self) -> LiveFeed {
        self.listeners.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        LiveFeed { entries: self.feed.subscribe(), listeners: self.listeners.clone() }
    }

    fn tell(&self, entry: &Arc<ReceivedRequest>) {
        if let Some(log) = &self.log {
            log.note(entry);
        }
        if self.listeners.load(std::sync::atomic::Ordering::Relaxed) > 0 {
            let _ = self.feed.send(entry.clone());
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, mut entry: ReceivedRequest) {
        if self.capacity == 0 {
            self.tell(&Arc::new(entry));
            return;
        }
        let weight = entry.weight();
        let mut entries = self.entries();
        entries.last_seq += 1;
        entry.seq = entries.last_seq;
        let entry = Arc::new(entry);
        self.tell(&entry);
        while entries.list.len() >= self.capacity
            || (entries.bytes + weight > self.max_bytes && !entries.list.is_empty())
        {
            let Some(oldest) = entries.list.pop_front() else { break };
            entries.bytes -= oldest.weight();
        }
        entries.bytes += weight;
        entries.list.push_back(entry);
    }

    /// Newest first: at most `limit` entries older than sequence number `before` (if given)
    /// that arrived at or after `since` (if given).
    pub(crate) fn page(&self, before: Option<u64>, limit: usize, since: Option<DateTime<Utc>>) -> JournalPage {
        let entries = self.entries();
        let end = before.map_or(entries.list.len(), |b| entries.list.partition_point(|e| e.seq < b));
        let mut requests: Vec<_> = entries
            .list
            .range(..end)
            .rev()
            .take_while(|e| since.is_none_or(|s| e.time >= s))
            .take(limit + 1)
            .cloned()
            .collect();
        let more = requests.len() > limit;
        requests.truncate(limit);
        let next_before = if more { requests.last().map(|e| e.seq) } else { None };
        JournalPage { requests, next_before }
    }

    /// Every entry, oldest first.
    pub(crate) fn all(&self) -> Vec<ReceivedRequest> {
        self.entries().list.iter().map(|e| (**e).clone()).collect()
    }

    /// How many bytes the entries hold, about.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.entries().bytes
    }

    /// What `/__admin/health` says of it.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let entries = self.entries();
        serde_json::json!({"entries": entries.list.len(), "bytes": entries.bytes, "maxBytes": self.max_bytes})
    }

    /// Forgets every entry.
    pub(crate) fn clear(&self) {
        let mut entries = self.entries();
        entries.list.clear();
        entries.bytes = 0;
    }
}

/// A live reader's view of the journal: new entries as they come.
pub(crate) struct LiveFeed {
    pub(crate) entries: tokio::sync::broadcast::Receiver<Arc<ReceivedRequest>>,
    listeners: Arc<std::sync::atomic::AtomicUsize>,
}

impl Drop for LiveFeed {
    fn drop(&mut self) {
        self.listeners.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A request seen but not yet answered: what the journal keeps of it.
pub(crate) struct Pending {
    at: DateTime<Utc>,
    started: Instant,
    method: String,
    url: String,
    user_agent: Option<String>,
    headers: KeptHeaders,
    /// The request's body, once read.
    pub(crate) body: KeptBody,
}

impl Journal {
    /// Notes a request as it arrives; None when the journal keeps nothing.
    pub(crate) fn begin<B>(&self, req: &http::Request<B>) -> Option<Pending> {
        if !self.records() {
            return None;
        }
        Some(Pending {
            at: Utc::now(),
            started: Instant::now(),
            method: req.method().as_str().to_string(),
            url: req.uri().path_and_query().map_or_else(String::new, |p| cut(p.as_str())),
            user_agent: req
                .headers()
                .get(http::header::USER_AGENT)
                .map(|v| v.to_str().map_or_else(|_| cut(&String::from_utf8_lossy(v.as_bytes())), cut)),
            headers: KeptHeaders::of(req.headers()),
            body: KeptBody { bytes: Bytes::new(), len: Some(0) },
        })
    }

    /// Records a request refused while its head was read, before any route saw it.
    pub(crate) fn refused(&self, method: String, url: String, status: u16, why: String) {
        self.push(ReceivedRequest {
            seq: 0,
            time: Utc::now(),
            method,
            url,
            status,
            user_agent: None,
            duration_ms: 0.0,
            operation: None,
            findings: Vec::new(),
            error: Some(why),
            ..Default::default()
        });
    }

    /// Records the answer to a request noted by [`Journal::begin`], taking its findings. A body
    /// of known size is taken and put back (a body already in memory, so this never waits); a
    /// streamed one is not kept.
    pub(crate) fn end(&self, pending: Pending, response: Response) -> Response {
        use futures_util::FutureExt;
        use futures_util::StreamExt;
        use http_body::Body as _;
        use http_body_util::BodyExt;
        let (mut parts, mut body) = response.into_parts();
        let findings = parts.extensions.remove::<Findings>().map(|f| f.0).unwrap_or_default();
        let kept = match body.size_hint().exact() {
            Some(0) => KeptBody::of(&Bytes::new()),
            Some(_) => match body.frame().now_or_never() {
                Some(Some(Ok(frame))) if body.is_end_stream() => match frame.into_data() {
                    Ok(data) => {
                        let kept = KeptBody::of(&data);
                        body = axum::body::Body::from(data);
                        kept
                    }
                    Err(_) => KeptBody::streamed(),
                },
                // Not all of it at once: cannot happen for the bodies specmock builds, but a
                // frame taken must not be lost, so the answer becomes what was read.
                Some(Some(Ok(frame))) => {
                    let data = frame.into_data().unwrap_or_default();
                    body = axum::body::Body::from_stream(
                        futures_util::stream::once(std::future::ready(Ok::<_, axum::Error>(data)))
                            .chain(body.into_data_stream()),
                    );
                    KeptBody::streamed()
                }
                _ => KeptBody::streamed(),
            },
            None => KeptBody::streamed(),
        };
        self.push(ReceivedRequest {
            seq: 0,
            time: pending.at,
            method: pending.method,
            url: pending.url,
            status: parts.status.as_u16(),
            user_agent: pending.user_agent,
            duration_ms: pending.started.elapsed().as_secs_f64() * 1000.0,
            operation: parts.extensions.get::<Matched>().map(|m| m.0.to_string()),
            findings: findings
                .into_iter()
                .map(|f| Finding { pointer: cut(&f.pointer), rule: cut(&f.rule), message: cut(&f.message) })
                .collect(),
            error: None,
            request_headers: pending.headers,
            request_body: pending.body,
            response_headers: KeptHeaders::of(&parts.headers),
            response_body: kept,
        });
        Response::from_parts(parts, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn entry(url: &str) -> ReceivedRequest {
        ReceivedRequest {
            seq: 0,
            time: Utc::now(),
            method: "GET".into(),
            url: cut(url),
            status: 200,
            user_agent: None,
            duration_ms: 0.0,
            operation: None,
            ..Default::default()
        }
    }

    #[test]
    fn long_fields_are_cut_with_a_marker_on_a_character_boundary() {
        assert_eq!(cut("short"), "short");
        let long = format!("{}é{}", "a".repeat(FIELD_LIMIT - 1), "b".repeat(100));
        let kept = cut(&long);
        assert!(kept.starts_with(&"a".repeat(FIELD_LIMIT - 1)));
        assert!(kept.ends_with("…[102 bytes cut]"), "{}", &kept[kept.len() - 30..]);
    }

    #[test]
    fn credentials_are_masked_and_other_headers_kept() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer short"));
        headers.insert("proxy-authorization", HeaderValue::from_static("Basic dXNlcjpwYXNzd29yZDEyMzQ="));
        headers.insert("cookie", HeaderValue::from_static("session=abcdefghijklmnopqrstuvwxyz"));
        headers.insert("x-auth-token", HeaderValue::from_static("t"));
        headers.insert("accept", HeaderValue::from_static("application/json"));
        headers.append("accept", HeaderValue::from_static("text/plain"));
        let kept = KeptHeaders::of(&headers);
        let get = |name: &str| kept.get(name).unwrap();
        assert_eq!(get("authorization"), "Bearer ****", "a short secret shows nothing of itself");
        assert_eq!(get("proxy-authorization"), "Basic ****MzQ=");
        assert_eq!(get("cookie"), "****wxyz");
        assert_eq!(get("x-auth-token"), "****");
        let accepts: Vec<String> = kept.iter().filter(|(n, _)| n == "accept").map(|(_, v)| v.into_owned()).collect();
        assert_eq!(accepts, ["application/json", "text/plain"], "repeats kept in order");
    }

    #[test]
    fn the_journal_is_bounded_by_bytes_and_entries_and_pages_newest_first() {
        let journal = Journal::new(100, 64 * 1024);
        for i in 0..50 {
            journal.push(entry(&format!("/{i}/{}", "x".repeat(20_000))));
        }
        assert!(journal.bytes() <= 64 * 1024, "{}", journal.bytes());
        let kept = journal.all();
        assert!(kept.len() >= 7 && kept.len() < 10, "{} entries of about 8 KiB", kept.len());
        assert_eq!(kept.last().unwrap().seq, 50, "the newest stays");
        journal.clear();
        for i in 0..10 {
            journal.push(entry(&format!("/{i}")));
        }
        let first = journal.page(None, 4, None);
        let seqs = |p: &JournalPage| p.requests.iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(seqs(&first), [60, 59, 58, 57]);
        assert_eq!(first.next_before, Some(57));
        let second = journal.page(first.next_before, 4, None);
        assert_eq!(seqs(&second), [56, 55, 54, 53]);
        let last = journal.page(Some(53), 4, None);
        assert_eq!(seqs(&last), [52, 51]);
        assert_eq!(last.next_before, None);
        assert!(Journal::new(0, 1024).page(None, 10, None).requests.is_empty());
    }
}
