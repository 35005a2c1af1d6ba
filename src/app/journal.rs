//! The bounded request journal: each exchange ([`ReceivedRequest`]), which operation answered,
//! and what validation found. Memory stays flat: it is bounded by entries and by bytes, and the
//! oldest entry leaves first.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::response::Response;
use chrono::{DateTime, Utc};

pub(crate) use crate::app::exchange::{cut, KeptBody, ReceivedRequest, BODY_LIMIT, FIELD_LIMIT};
use crate::app::request_log::RequestLog;
use crate::contract::Finding;
use crate::http::pipeline::{Findings, Matched};

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
        crate::app::exchange::start_clock();
        let inner = Entries { list: VecDeque::with_capacity(capacity.min(4096)), ..Default::default() };
        // Room for 50 ms of entries at 80k requests a second: the live feed's batch.
        let (feed, _) = tokio::sync::broadcast::channel(4096);
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
        entry.kept_weight = weight;
        let entry = Arc::new(entry);
        self.tell(&entry);
        while entries.list.len() >= self.capacity
            || (entries.bytes + weight > self.max_bytes && !entries.list.is_empty())
        {
            let Some(oldest) = entries.list.pop_front() else { break };
            entries.bytes -= oldest.kept_weight;
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
            .take_while(|e| since.is_none_or(|s| e.time() >= s))
            .take(limit + 1)
            .cloned()
            .collect();
        let more = requests.len() > limit;
        requests.truncate(limit);
        let next_before = if more { requests.last().map(|e| e.seq) } else { None };
        JournalPage { requests, next_before }
    }

    /// The entry with sequence number `seq`, while the journal keeps it.
    pub(crate) fn get(&self, seq: u64) -> Option<Arc<ReceivedRequest>> {
        let entries = self.entries();
        let at = entries.list.partition_point(|e| e.seq < seq);
        entries.list.get(at).filter(|e| e.seq == seq).cloned()
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
    entry: ReceivedRequest,
}

impl Pending {
    /// Keeps the request's body.
    pub(crate) fn set_body(&mut self, body: KeptBody) {
        self.entry.request_body = body;
    }
}

impl Journal {
    /// Notes a request as it arrives; None when the journal keeps nothing.
    pub(crate) fn begin<B>(&self, req: &http::Request<B>) -> Option<Pending> {
        if !self.records() {
            return None;
        }
        Some(Pending {
            entry: ReceivedRequest::arriving(Instant::now(), req.method().clone(), req.uri(), req.headers()),
        })
    }

    /// Records a request refused while its head was read, before any route saw it.
    pub(crate) fn refused(&self, method: &str, url: &str, status: u16, why: String) {
        let method = http::Method::from_bytes(method.as_bytes()).unwrap_or_default();
        let mut entry = ReceivedRequest::refused(method, url);
        entry.status = status;
        entry.error = Some(why);
        self.push(entry);
    }

    /// Records the answer to a request noted by [`Journal::begin`], taking its findings. A body
    /// of known size is taken and put back (a body already in memory, so this never waits); a
    /// streamed one is not kept.
    pub(crate) fn end(&self, pending: Pending, response: Response) -> Response {
        use futures_util::FutureExt;
        use futures_util::StreamExt;
        use http_body::Body as _;
        use http_body_util::BodyExt;
        let mut entry = pending.entry;
        let (mut parts, mut body) = response.into_parts();
        entry.duration_ms = entry.arrived_elapsed_ms();
        let kept = match body.size_hint().exact() {
            Some(0) => KeptBody::empty(),
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
        entry.status = parts.status.as_u16();
        entry.response_body = kept;
        entry.answered(&parts.headers);
        if let Some(Matched(operation, secrets)) = parts.extensions.get::<Matched>() {
            entry.operation = Some(operation.clone());
            entry.query_secrets = secrets.clone();
        }
        if let Some(Findings(findings)) = parts.extensions.remove::<Findings>() {
            entry.findings = findings
                .into_iter()
                .map(|f| Finding { pointer: cut(&f.pointer), rule: cut(&f.rule), message: cut(&f.message) })
                .collect();
        }
        self.push(entry);
        Response::from_parts(parts, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(url: &str) -> ReceivedRequest {
        ReceivedRequest::refused(http::Method::GET, url)
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
