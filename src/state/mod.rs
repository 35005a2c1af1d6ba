//! State: what clients wrote, kept per session over the read-only store.
//!
//! A request names its session with `X-Specmock-Session`; without it, it uses the default
//! session. Each session holds only what it changed ([`Changes`] per collection), so a new
//! session costs nothing until it writes, and a read of a collection no session changed takes
//! the indexed path unchanged. Sessions live behind [`SessionStore`], so a shared backend can
//! replace the in-memory one.

pub(crate) mod compute;
pub(crate) mod money;
pub(crate) mod template;
pub(crate) mod write;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::http::{HeaderMap, HeaderName};

use crate::http::error::HttpError;
pub(crate) use crate::store::merge::Changes;
pub(crate) use write::Written;

/// The header that names a request's session.
pub(crate) const SESSION_HEADER: HeaderName = HeaderName::from_static("x-specmock-session");

/// The sessions kept at once unless `--sessions` says otherwise.
pub(crate) const DEFAULT_MAX_SESSIONS: usize = 1_000;
/// The writes one session may make unless `--session-writes` says otherwise.
pub(crate) const DEFAULT_MAX_WRITES: usize = 100_000;
/// About how many bytes all sessions' records may hold unless `--session-bytes` says otherwise.
pub(crate) const DEFAULT_MAX_BYTES: usize = 256 << 20;

/// What one session changed in one API: records by collection, and answers kept for replay.
#[derive(Clone, Debug, Default)]
pub(crate) struct ApiChanges {
    /// Changed and added records, by collection.
    pub(crate) collections: HashMap<String, Changes>,
    /// First answers by operation and idempotency key.
    pub(crate) replays: HashMap<(String, String), Written>,
    /// About how many bytes the replays hold.
    pub(crate) replay_weight: usize,
}

impl ApiChanges {
    /// About how many bytes its records and replays hold.
    fn weight(&self) -> usize {
        self.collections.values().map(Changes::weight).sum::<usize>() + self.replay_weight
    }
}

/// A session as listed.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct SessionSummary {
    /// Its name; the default session is `default`.
    pub(crate) name: String,
    /// Writes it made.
    pub(crate) writes: usize,
    /// Records it changed or added, by API and collection.
    pub(crate) records: std::collections::BTreeMap<String, usize>,
}

/// Where sessions live. The in-memory store is the one built; a shared one (several specmock
/// replicas behind a load balancer) implements the same calls.
pub(crate) trait SessionStore: Send + Sync {
    /// Whether any session holds a change: false lets reads skip every lookup.
    fn touched(&self) -> bool;
    /// Runs `read` with what `session` changed in `api` (None: nothing).
    fn read(&self, session: &str, api: &str, read: &mut dyn FnMut(Option<&ApiChanges>));
    /// Runs `write` on `session`'s changes to `api`, one write at a time per session; counts it
    /// when it succeeds and is not a replay. Refuses with 507 past the session's cap.
    fn write(
        &self,
        session: &str,
        api: &str,
        write: &mut dyn FnMut(&mut ApiChanges) -> Result<Written, HttpError>,
    ) -> Result<Written, HttpError>;
    /// Every session holding changes.
    fn list(&self) -> Vec<SessionSummary>;
    /// Drops one session; false when there was none.
    fn remove(&self, session: &str) -> bool;
    /// Drops every session: all read the fixtures again.
    fn reset(&self);
    /// After a reload, carries each session's changes over to the new store with `rebase`; a
    /// session it refuses is dropped, and the log says why.
    fn rebase(&self, rebase: &mut dyn FnMut(&str, &mut ApiChanges) -> Result<(), String>);
}

/// The sessions a server keeps, behind their store.
#[derive(Clone)]
pub(crate) struct Sessions(pub(crate) Arc<dyn SessionStore>);

impl Sessions {
    /// In-memory sessions with these caps: sessions, writes per session, bytes in all.
    pub(crate) fn in_memory(max_sessions: usize, max_writes: usize, max_bytes: usize) -> Sessions {
        Sessions(Arc::new(MemorySessions::new(max_sessions, max_writes, max_bytes)))
    }
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::in_memory(DEFAULT_MAX_SESSIONS, DEFAULT_MAX_WRITES, DEFAULT_MAX_BYTES)
    }
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").field("sessions", &self.0.list().len()).finish()
    }
}

impl std::ops::Deref for Sessions {
    type Target = dyn SessionStore;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

/// One session in memory.
#[derive(Default)]
struct Session {
    apis: RwLock<HashMap<String, ApiChanges>>,
    writes: AtomicUsize,
    /// About how many bytes its records hold.
    bytes: AtomicUsize,
    /// The use clock's tick at its last use.
    last_used: AtomicU64,
}

/// Sessions in this process's memory, gone on restart.
pub(crate) struct MemorySessions {
    sessions: RwLock<HashMap<String, Arc<Session>>>,
    touched: AtomicBool,
    /// Counts uses, to order sessions by their last.
    uses: AtomicU64,
    max_sessions: usize,
    max_writes: usize,
    max_bytes: usize,
    /// About how many bytes all sessions' records hold.
    bytes: AtomicUsize,
    /// Serialises the creation of sessions, so the cap is kept exactly.
    creating: Mutex<()>,
}

impl MemorySessions {
    /// Sessions with these caps.
    pub(crate) fn new(max_sessions: usize, max_writes: usize, max_bytes: usize) -> MemorySessions {
        MemorySessions {
            sessions: RwLock::new(HashMap::new()),
            touched: AtomicBool::new(false),
            uses: AtomicU64::new(0),
            max_sessions: max_sessions.max(1),
            max_writes,
            max_bytes,
            bytes: AtomicUsize::new(0),
            creating: Mutex::new(()),
        }
    }

    /// Drops the least recently used sessions but `keep` while all hold more than the byte cap.
    fn shed(&self, keep: &str) {
        let mut sessions = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        while self.bytes.load(Ordering::Relaxed) > self.max_bytes {
            let Some(oldest) = sessions
                .iter()
                .filter(|(n, _)| n.as_str() != keep)
                .min_by_key(|(_, s)| s.last_used.load(Ordering::Relaxed))
                .map(|(n, _)| n.clone())
            else {
                return;
            };
            let dropped = sessions.remove(&oldest).expect("found");
            self.bytes.fetch_sub(dropped.bytes.load(Ordering::Relaxed), Ordering::Relaxed);
            tracing::warn!(
                session = %display_name(&oldest),
                "dropped the least recently used session to keep sessions' records under {} MiB (raise it with --session-bytes)",
                self.max_bytes >> 20
            );
        }
    }

    /// A tick of a use clock: later uses get larger numbers, even within one millisecond.
    fn now(&self) -> u64 {
        self.uses.fetch_add(1, Ordering::Relaxed)
    }

    fn get(&self, name: &str) -> Option<Arc<Session>> {
        self.sessions.read().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }

    /// The session, made if new; the least recently used one is dropped, and logged, to keep the cap.
    fn get_or_create(&self, name: &str) -> Arc<Session> {
        if let Some(session) = self.get(name) {
            return session;
        }
        let _one_at_a_time = self.creating.lock().unwrap_or_else(|e| e.into_inner());
        let mut sessions = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        if let Some(session) = sessions.get(name) {
            return session.clone();
        }
        while sessions.len() >= self.max_sessions {
            let oldest = sessions
                .iter()
                .min_by_key(|(_, s)| s.last_used.load(Ordering::Relaxed))
                .map(|(n, _)| n.clone())
                .expect("the map is not empty");
            let dropped = sessions.remove(&oldest).expect("found");
            self.bytes.fetch_sub(dropped.bytes.load(Ordering::Relaxed), Ordering::Relaxed);
            tracing::warn!(
                session = %display_name(&oldest),
                writes = dropped.writes.load(Ordering::Relaxed),
                "dropped the least recently used session to keep {} sessions (raise it with --sessions)",
                self.max_sessions
            );
        }
        let session = Arc::new(Session::default());
        sessions.insert(name.to_string(), session.clone());
        session
    }
}

impl SessionStore for MemorySessions {
    fn touched(&self) -> bool {
        self.touched.load(Ordering::Acquire)
    }

    fn read(&self, session: &str, api: &str, read: &mut dyn FnMut(Option<&ApiChanges>)) {
        let Some(session) = self.get(session) else { return read(None) };
        session.last_used.store(self.now(), Ordering::Relaxed);
        let apis = session.apis.read().unwrap_or_else(|e| e.into_inner());
        read(apis.get(api))
    }

    fn write(
        &self,
        name: &str,
        api: &str,
        write: &mut dyn FnMut(&mut ApiChanges) -> Result<Written, HttpError>,
    ) -> Result<Written, HttpError> {
        let session = self.get_or_create(name);
        session.last_used.store(self.now(), Ordering::Relaxed);
        let mut apis = session.apis.write().unwrap_or_else(|e| e.into_inner());
        let changes = apis.entry(api.to_string()).or_default();
        let writes = session.writes.load(Ordering::Relaxed);
        if writes >= self.max_writes {
            return Err(HttpError::new(
                507,
                format!(
                    "session '{}' holds {writes} writes, the most one session keeps; reset it (DELETE \
                     /__admin/sessions/NAME or POST /__admin/reset) or raise the cap with --session-writes",
                    display_name(name)
                ),
            ));
        }
        let held = session.bytes.load(Ordering::Relaxed);
        if held >= self.max_bytes {
            return Err(HttpError::new(
                507,
                format!(
                    "session '{}' holds about {} MiB of records, the most specmock keeps; reset it (DELETE \
                     /__admin/sessions/NAME or POST /__admin/reset) or raise the cap with --session-bytes",
                    display_name(name),
                    held >> 20
                ),
            ));
        }
        let before = changes.weight();
        // A write that panics may have taken records out half-way: the session's changes to this
        // API are dropped rather than kept half-made, and the client is told.
        let outcome = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write(changes))) {
            Ok(outcome) => outcome,
            Err(_) => {
                *changes = ApiChanges::default();
                tracing::error!(session = %display_name(name), api, "a write failed inside specmock; the session's changes to the API were dropped");
                Err(HttpError::new(
                    500,
                    format!(
                        "specmock failed on this write (a bug; please report it); session '{}' was reset for this API \
                         so no half-made write stays",
                        display_name(name)
                    ),
                ))
            }
        };
        let api_after = changes.weight();
        // Released before the sessions' map is locked to shed others (`list` locks the other way round).
        drop(apis);
        let grown = api_after as isize - before as isize;
        session.bytes.store((held as isize + grown).max(0) as usize, Ordering::Relaxed);
        match grown >= 0 {
            true => self.bytes.fetch_add(grown as usize, Ordering::Relaxed),
            false => self.bytes.fetch_sub((-grown) as usize, Ordering::Relaxed),
        };
        let written = outcome?;
        if !written.replayed {
            session.writes.fetch_add(1, Ordering::Relaxed);
            self.touched.store(true, Ordering::Release);
        }
        if self.bytes.load(Ordering::Relaxed) > self.max_bytes {
            self.shed(name);
        }
        Ok(written)
    }

    fn list(&self) -> Vec<SessionSummary> {
        let sessions = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        let mut listed: Vec<SessionSummary> = sessions
            .iter()
            .map(|(name, s)| {
                let apis = s.apis.read().unwrap_or_else(|e| e.into_inner());
                let records = apis
                    .iter()
                    .flat_map(|(api, c)| {
                        c.collections.iter().map(move |(coll, ch)| (format!("{api}/{coll}"), ch.len()))
                    })
                    .collect();
                SessionSummary {
                    name: display_name(name).to_string(),
                    writes: s.writes.load(Ordering::Relaxed),
                    records,
                }
            })
            .collect();
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        listed
    }

    fn remove(&self, session: &str) -> bool {
        let name = if session == "default" { "" } else { session };
        let removed = self.sessions.write().unwrap_or_else(|e| e.into_inner()).remove(name);
        if let Some(dropped) = &removed {
            self.bytes.fetch_sub(dropped.bytes.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        removed.is_some()
    }

    fn reset(&self) {
        self.sessions.write().unwrap_or_else(|e| e.into_inner()).clear();
        self.bytes.store(0, Ordering::Relaxed);
        self.touched.store(false, Ordering::Release);
    }

    fn rebase(&self, rebase: &mut dyn FnMut(&str, &mut ApiChanges) -> Result<(), String>) {
        let mut sessions = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|name, session| {
            let mut apis = session.apis.write().unwrap_or_else(|e| e.into_inner());
            let refused = apis.iter_mut().find_map(|(api, changes)| rebase(api, changes).err());
            match refused {
                None => true,
                Some(why) => {
                    self.bytes.fetch_sub(session.bytes.load(Ordering::Relaxed), Ordering::Relaxed);
                    tracing::warn!(session = %display_name(name), "the reload reset session '{}': {why}", display_name(name));
                    false
                }
            }
        });
        if sessions.is_empty() {
            self.touched.store(false, Ordering::Release);
        }
    }
}

/// A session's name as listed: the default session is `default`.
fn display_name(name: &str) -> &str {
    if name.is_empty() {
        "default"
    } else {
        name
    }
}

/// The session a request names: `""` for the default; a name must be 1 to 64 letters, digits,
/// `.`, `_` or `-`.
pub(crate) fn session_of(headers: &HeaderMap) -> Result<&str, HttpError> {
    let Some(value) = headers.get(&SESSION_HEADER) else { return Ok("") };
    let name = value.to_str().unwrap_or("\u{fffd}");
    let valid = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && name != "default";
    match valid {
        true => Ok(name),
        false => Err(HttpError::bad_request(format!(
            "X-Specmock-Session: {:?} is not a session name; expected 1 to 64 letters, digits, '.', '_' or '-' \
             (not 'default', which is the session of requests without the header)",
            String::from_utf8_lossy(&value.as_bytes()[..value.len().min(80)])
        ))),
    }
}

/// Moves one API's changes from the store they were made on to a reloaded one: replaced records
/// follow their keys to their new positions. Refused when the API, a collection or a replaced
/// record is gone, or an added record's key is now in the fixtures.
pub(crate) fn rebase(
    changes: &mut ApiChanges,
    old: Option<&crate::load::LoadedApi>,
    new: Option<&crate::load::LoadedApi>,
) -> Result<(), String> {
    let (Some(old), Some(new)) = (old, new) else { return Err("its API is no longer served".into()) };
    for (name, collection) in changes.collections.iter_mut() {
        let (Some(before), Some(after)) = (old.store.collection(name), new.store.collection(name)) else {
            return Err(format!("collection {name} is gone"));
        };
        let mut moved = hashbrown::HashMap::with_capacity(collection.replaced.len());
        for (index, record) in collection.replaced.drain() {
            let key = &before.index.key_of[index as usize];
            let at =
                after.index.find(key).ok_or_else(|| format!("{name} record {key} is no longer in the fixtures"))?;
            moved.insert(at, record);
        }
        collection.reindex(moved);
        if let Some(key) = collection.added_keys.keys().find(|k| after.index.find(k).is_some()) {
            return Err(format!("{name} record {key}, which the session added, is now in the fixtures"));
        }
        for record in collection.records() {
            if let Some(fault) = write::check(new, name, &record) {
                return Err(format!("{name} record {} no longer fits the spec: {fault}", after.key_of(&record)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_that_panics_leaves_no_half_made_change() {
        let sessions = MemorySessions::new(10, 100, 1 << 20);
        let add = |changes: &mut ApiChanges| {
            changes.collections.entry("books".into()).or_default().add("b1".into(), &serde_json::json!({"id": "b1"}));
            Ok(Written { status: 201, answer: Default::default(), key: "b1".into(), replayed: false })
        };
        sessions.write("s", "library", &mut add.clone()).unwrap();
        let half_made = sessions.write("s", "library", &mut |changes| {
            changes.collections.get_mut("books").unwrap().take(crate::store::merge::Slot::Added(0));
            panic!("a bug half-way through a write")
        });
        let refused = half_made.expect_err("the panic is an answer, not a dropped connection");
        assert_eq!(refused.status, 500);
        assert!(refused.message.contains("session 's' was reset"), "{}", refused.message);
        sessions.read("s", "library", &mut |changes| {
            assert!(changes.is_none_or(|c| c.collections.is_empty()), "nothing half-made is kept");
        });
        assert_eq!(sessions.bytes.load(Ordering::Relaxed), 0, "its bytes were given back");
        sessions.write("s", "library", &mut add.clone()).expect("the session writes again");
    }
}
