//! The bounded request journal: what came in, what went out, which operation answered, and what
//! strict validation found. Memory stays flat: the oldest entry leaves when a new one comes.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::contract::Finding;
use crate::http::pipeline::{Findings, Matched};

/// One request the server answered, as the journal keeps it.
#[derive(Clone, Debug, Serialize)]
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
    /// Path and query.
    pub url: String,
    /// Response status.
    pub status: u16,
    /// The caller's User-Agent.
    pub user_agent: Option<String>,
    /// Time to the response head, in milliseconds.
    pub duration_ms: f64,
    /// The operationId that answered, if a route matched.
    pub operation: Option<String>,
    /// Strict-mode validation findings.
    pub findings: Vec<Finding>,
}

fn rfc3339<S: serde::Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// A bounded, shared request journal.
#[derive(Debug)]
pub(crate) struct Journal {
    capacity: usize,
    inner: Mutex<(u64, VecDeque<ReceivedRequest>)>,
}

impl Journal {
    /// A journal keeping the last `capacity` requests (0 keeps none).
    pub(crate) fn new(capacity: usize) -> Journal {
        Journal { capacity, inner: Mutex::new((0, VecDeque::with_capacity(capacity.min(4096)))) }
    }

    fn push(&self, mut entry: ReceivedRequest) {
        if self.capacity == 0 {
            return;
        }
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        guard.0 += 1;
        entry.seq = guard.0;
        if guard.1.len() == self.capacity {
            guard.1.pop_front();
        }
        guard.1.push_back(entry);
    }

    /// Newest first: at most `limit` entries that arrived at or after `since`.
    pub(crate) fn recent(&self, limit: usize, since: Option<DateTime<Utc>>) -> Vec<ReceivedRequest> {
        let guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        guard.1.iter().rev().filter(|e| since.is_none_or(|s| e.time >= s)).take(limit).cloned().collect()
    }

    /// Forgets every entry.
    pub(crate) fn clear(&self) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).1.clear();
    }
}

/// A request seen but not yet answered: what the journal keeps of it.
pub(crate) struct Pending {
    at: DateTime<Utc>,
    started: Instant,
    method: String,
    url: String,
    user_agent: Option<String>,
}

impl Journal {
    /// Notes a request as it arrives; None when the journal keeps nothing.
    pub(crate) fn begin<B>(&self, req: &http::Request<B>) -> Option<Pending> {
        if self.capacity == 0 {
            return None;
        }
        Some(Pending {
            at: Utc::now(),
            started: Instant::now(),
            method: req.method().as_str().to_string(),
            url: req.uri().path_and_query().map_or_else(String::new, |p| p.as_str().to_string()),
            user_agent: req.headers().get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string),
        })
    }

    /// Records the answer to a request noted by [`Journal::begin`], taking its findings.
    pub(crate) fn end(&self, pending: Pending, response: &mut Response) {
        let findings = response.extensions_mut().remove::<Findings>().map(|f| f.0).unwrap_or_default();
        self.push(ReceivedRequest {
            seq: 0,
            time: pending.at,
            method: pending.method,
            url: pending.url,
            status: response.status().as_u16(),
            user_agent: pending.user_agent,
            duration_ms: pending.started.elapsed().as_secs_f64() * 1000.0,
            operation: response.extensions().get::<Matched>().map(|m| m.0.to_string()),
            findings,
        });
    }
}
