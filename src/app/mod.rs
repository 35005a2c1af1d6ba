//! The running server: what it serves now and what survives a reload (settings, journal,
//! admin API), the dispatch in front of the routers, and [`MockServer`].

pub(crate) mod admin;
pub(crate) mod catalogue;
pub(crate) mod console;
mod data;
mod dispatch;
mod exchange;
pub(crate) mod journal;
mod journalled;
mod listener;
mod mock_server;
pub(crate) mod published;
mod request_log;
pub(crate) mod sources;
mod watch;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock, RwLock};

use axum::Router;
use serde_json::{json, Value};

use admin::AdminAccess;
use listener::ConnectionCounts;
pub(crate) use listener::ConnectionLimits;

use std::time::Duration;

use crate::error::LoadError;
use crate::http::edge::Edge;
use crate::http::scenario::MAX_DELAY;
use crate::http::switches::Switch;
use crate::http::ServeOptions;
use crate::load::LoadedApi;
use crate::store::cache::StoreCache;
pub(crate) use dispatch::Dispatch;
pub use exchange::{KeptBody, KeptHeaders, ReceivedRequest};
use journal::Journal;
use journalled::Journalled;
pub use mock_server::StartError;
pub use mock_server::{Forced, MockServer, MockServerBuilder, Session};
use sources::Sources;

/// Everything a server is set up with.
#[derive(Debug)]
pub(crate) struct Settings {
    /// Server-wide behaviour: strict validation and faults.
    pub(crate) options: ServeOptions,
    /// How many requests the journal keeps.
    pub(crate) journal_size: usize,
    /// About how many bytes the journal keeps.
    pub(crate) journal_bytes: usize,
    /// Print a line per request on stderr.
    pub(crate) request_log: bool,
    /// Whether `/__admin` is served.
    pub(crate) admin: bool,
    /// Bearer token `/__admin` requires, if any.
    pub(crate) admin_token: Option<String>,
    /// Host names `/__admin` answers to beside localhost's and the address listened on.
    pub(crate) admin_hosts: Vec<String>,
    /// Where compiled stores are kept between starts; None builds them from the fixtures always.
    pub(crate) cache: Option<StoreCache>,
    /// Timeouts and caps on connections.
    pub(crate) limits: ConnectionLimits,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            options: ServeOptions::default(),
            journal_size: 1000,
            journal_bytes: 16 << 20,
            request_log: false,
            admin: true,
            admin_token: None,
            admin_hosts: Vec::new(),
            cache: None,
            limits: ConnectionLimits::default(),
        }
    }
}

/// The journal the settings ask for, printing a line per request when asked.
fn journal(settings: &Settings) -> Journal {
    let journal = Journal::new(settings.journal_size, settings.journal_bytes);
    if !settings.request_log {
        return journal;
    }
    match request_log::RequestLog::start(std::io::stderr()) {
        Ok(log) => journal.with_log(log),
        Err(e) => {
            tracing::warn!("cannot start the request log: {e}");
            journal
        }
    }
}

/// One load of the sources: when, how long it took, and why it was refused, if it was.
#[derive(Clone, Debug)]
struct Load {
    at: chrono::DateTime<chrono::Utc>,
    took: Duration,
    refused: Option<String>,
}

impl Load {
    fn to_json(&self) -> Value {
        json!({
            "at": self.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "ms": (self.took.as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
            "refused": self.refused,
        })
    }
}

/// Where a reload's outcome goes back to its caller.
type Reply = mpsc::SyncSender<Result<(), Arc<LoadError>>>;

/// What serves each connection's requests.
pub(crate) type Service = Journalled<Edge<Dispatch>>;

/// A server's state: the APIs it serves now, and what survives a reload.
pub(crate) struct App {
    sources: Sources,
    options: Arc<ServeOptions>,
    /// The request journal.
    pub(crate) journal: Arc<Journal>,
    /// Who may use `/__admin`.
    pub(crate) admin_access: AdminAccess,
    admin: bool,
    cache: Option<StoreCache>,
    /// Timeouts and caps on connections.
    limits: ConnectionLimits,
    /// What happened to connections, for `/__admin/health`.
    connections: Arc<ConnectionCounts>,
    current: RwLock<(Router, Vec<Arc<LoadedApi>>)>,
    /// Where reload requests queue for the reload thread, started on the first.
    reloads: OnceLock<mpsc::Sender<Reply>>,
    /// The last good load and the last attempt, for `/__admin/health`.
    last_load: Mutex<(Load, Load)>,
    /// How many reloads have started.
    reloads_started: AtomicU64,
}

impl App {
    /// Loads the sources; fails with the first fault found.
    pub(crate) fn new(sources: Sources, settings: Settings) -> Result<Arc<App>, LoadError> {
        let started = std::time::Instant::now();
        let apis = sources.load(settings.cache.as_ref())?;
        let loaded = Load { at: chrono::Utc::now(), took: started.elapsed(), refused: None };
        let journal = Arc::new(journal(&settings));
        let options = Arc::new(settings.options);
        let router = crate::http::routes(apis.clone(), options.clone());
        Ok(Arc::new(App {
            sources,
            options,
            journal,
            admin_access: AdminAccess {
                token: settings.admin_token,
                hosts: settings.admin_hosts,
                listening: Default::default(),
            },
            admin: settings.admin,
            cache: settings.cache,
            limits: settings.limits,
            connections: Default::default(),
            current: RwLock::new((router, apis)),
            reloads: OnceLock::new(),
            last_load: Mutex::new((loaded.clone(), loaded)),
            reloads_started: AtomicU64::new(0),
        }))
    }

    /// Loads the sources again and swaps them in; on failure the last good state keeps serving.
    /// Requests in flight finish on the state they started with.
    ///
    /// Reloads run one at a time on one thread, and callers coalesce: every caller waiting when
    /// a reload starts shares its outcome, so many concurrent resets cost about two reloads. One
    /// thread also keeps every reload's allocations in one malloc arena, so memory freed by one
    /// reload is reused by the next instead of growing another thread's arena.
    pub(crate) fn reload(self: &Arc<Self>) -> Result<(), Arc<LoadError>> {
        let queue = self.reloads.get_or_init(|| {
            let (queue, requests) = mpsc::channel::<Reply>();
            let app = Arc::downgrade(self);
            let worker = move || {
                while let Ok(first) = requests.recv() {
                    let waiting: Vec<Reply> = std::iter::once(first).chain(requests.try_iter()).collect();
                    let Some(app) = app.upgrade() else { return };
                    let outcome = app.load_and_swap();
                    drop(app);
                    for caller in waiting {
                        let _ = caller.send(outcome.clone());
                    }
                }
            };
            if let Err(e) = std::thread::Builder::new().name("specmock-reload".into()).spawn(worker) {
                tracing::error!("cannot start the reload thread: {e}");
            }
            queue
        });
        let stopped =
            || Arc::new(LoadError::Read { file: "specmock".into(), message: "the reload thread stopped".into() });
        let (reply, outcome) = mpsc::sync_channel(1);
        queue.send(reply).map_err(|_| stopped())?;
        outcome.recv().unwrap_or_else(|_| Err(stopped()))
    }

    fn load_and_swap(&self) -> Result<(), Arc<LoadError>> {
        self.reloads_started.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let loaded = self.sources.load(self.cache.as_ref());
        let attempt = Load {
            at: chrono::Utc::now(),
            took: started.elapsed(),
            refused: loaded.as_ref().err().map(ToString::to_string),
        };
        let mut last = self.last_load.lock().unwrap_or_else(|e| e.into_inner());
        last.1 = attempt.clone();
        let apis = loaded.map_err(Arc::new)?;
        for api in &apis {
            for line in api.api.warning_lines(5) {
                tracing::warn!("{line}");
            }
        }
        drop(last);
        let router = crate::http::routes(apis.clone(), self.options.clone());
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        // Sessions index records by position: carry them over to the new store's positions.
        let old = std::mem::take(&mut current.1);
        self.options
            .sessions
            .rebase(&mut |name, changes| crate::state::rebase(changes, find(&old, name), find(&apis, name)));
        *current = (router, apis);
        drop(current);
        // Health says a load serves only once it does.
        self.last_load.lock().unwrap_or_else(|e| e.into_inner()).0 = attempt;
        Ok(())
    }

    /// Returns every session to the fixtures.
    pub(crate) fn reset_sessions(&self) {
        self.options.sessions.reset();
    }

    /// The sessions holding writes.
    pub(crate) fn sessions(&self) -> &crate::state::Sessions {
        &self.options.sessions
    }

    /// The APIs served now.
    pub(crate) fn apis(&self) -> Vec<Arc<LoadedApi>> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).1.clone()
    }

    /// The router serving the APIs now.
    fn router(&self) -> Router {
        self.current.read().unwrap_or_else(|e| e.into_inner()).0.clone()
    }

    /// Puts a scenario switch in force after checking it against the APIs served now: the
    /// operation exists, the status is declared, the example is named. Its id, or what is wrong.
    pub(crate) fn switch(&self, switch: Switch) -> Result<u64, String> {
        let apis = self.apis();
        let op =
            apis.iter().flat_map(|a| a.api.operations.iter()).find(|o| o.id == switch.operation).ok_or_else(|| {
                let ids: Vec<&str> = apis.iter().flat_map(|a| a.api.operations.iter().map(|o| o.id.as_str())).collect();
                format!("operation: no operation {:?}; expected one of {}", switch.operation, ids.join(", "))
            })?;
        if let Some(status) = switch.status.filter(|s| op.response_for(*s).is_none()) {
            return Err(format!("status: {} does not declare {status}; declared: {}", op.id, op.declared_statuses()));
        }
        if let Some(name) = &switch.example {
            let chosen = switch.status.and_then(|s| op.response_for(s));
            let named: Vec<&crate::openapi::ResponseSpec> =
                op.all_responses().filter(|r| chosen.is_none_or(|c| std::ptr::eq(c, *r))).collect();
            if !named.iter().any(|r| r.content.iter().any(|m| m.examples.iter().any(|(n, _)| n == name))) {
                let names: Vec<&str> = named
                    .iter()
                    .flat_map(|r| r.content.iter().flat_map(|m| m.examples.iter().map(|(n, _)| n.as_str())))
                    .collect();
                return Err(format!(
                    "example: {} has no example {name:?}; expected one of {}",
                    op.id,
                    names.join(", ")
                ));
            }
        }
        if !(0.0..=1.0).contains(&switch.fail_rate) {
            return Err(format!("failRate: got {}; expected a share from 0.0 to 1.0", switch.fail_rate));
        }
        if Duration::from_millis(switch.delay_ms) > MAX_DELAY {
            return Err(format!("delayMs: got {}; expected at most {}", switch.delay_ms, MAX_DELAY.as_millis()));
        }
        if switch.times == Some(0) || switch.seconds.is_some_and(|s| !(s > 0.0 && s <= 86_400.0)) {
            return Err("times and seconds: expected at least one call and from 0 to 86400 seconds".into());
        }
        Ok(self.options.switches.add(switch))
    }

    /// Whether `/__admin` is served.
    pub(crate) fn admin_served(&self) -> bool {
        self.admin
    }

    /// The scenario switches in force.
    pub(crate) fn switches(&self) -> &crate::http::switches::Switches {
        &self.options.switches
    }

    /// What `/__admin/health` says.
    pub(crate) fn health(&self) -> Value {
        let apis: Vec<Value> = self
            .apis()
            .iter()
            .map(|a| {
                json!({
                    "name": a.api.name,
                    "title": a.api.title,
                    "operations": a.api.operations.len(),
                    "records": a.store.record_count(),
                    "fromSnapshot": a.from_cache,
                })
            })
            .collect();
        let (good, attempt) = self.last_load.lock().unwrap_or_else(|e| e.into_inner()).clone();
        json!({
            "status": "ok",
            "apis": apis,
            "connections": self.connections.to_json(),
            "journal": self.journal.to_json(),
            "reloads": self.reloads_started.load(Ordering::Relaxed),
            "loaded": good.to_json(),
            "lastAttempt": attempt.to_json(),
            "adminTokenRequired": self.admin_access.token.is_some(),
        })
    }

    /// The whole service: the journal, request ids and CORS, then `/__admin` or the APIs.
    pub(crate) fn service(self: &Arc<Self>) -> Service {
        let admin = self.admin.then(|| admin::routes(self.clone()));
        Journalled::new(self.journal.clone(), Edge::new(Dispatch::new(self.clone(), admin)))
    }
}

/// The API called `name` among `apis`.
fn find<'a>(apis: &'a [Arc<LoadedApi>], name: &str) -> Option<&'a LoadedApi> {
    apis.iter().find(|a| a.api.name == name).map(|a| &**a)
}
