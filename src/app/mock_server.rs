//! [`MockServer`]: a running specmock for a test suite, started by a builder that reads like
//! wiremock-rs's, and stopped when dropped.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::ServiceExt;

use crate::app::journal::ReceivedRequest;
use crate::app::sources::Sources;
use crate::app::{App, Settings};
use crate::error::LoadError;
use crate::http::scenario::Faults;
use crate::http::switches::Switch;
use crate::http::ServeOptions;
use crate::store::cache::StoreCache;

/// A running specmock: it serves on a loopback port until dropped.
///
/// ```no_run
/// # async fn demo() {
/// let server = specmock::MockServer::start().await;
/// let url = format!("{}/brm/prepayBalanceManagement/v4/accumulatedBalance/account+12345", server.uri());
/// let reply = reqwest::Client::new().get(url).bearer_auth("demo-token").send().await.unwrap();
/// assert_eq!(reply.status(), 200);
/// assert_eq!(server.received_requests().len(), 1);
/// # }
/// ```
pub struct MockServer {
    address: SocketAddr,
    pub(crate) app: Arc<App>,
    service: crate::app::Service,
    shutdown: Option<oneshot::Sender<()>>,
}

/// Why a [`MockServer`] did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The specs or fixtures did not load.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A setting cannot work, e.g. an empty admin token.
    #[error("{0}")]
    Setting(String),
    /// The address could not be listened on.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address asked for.
        address: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
}

impl MockServer {
    /// Starts the bundled APIs on a free loopback port, in strict mode: a response that breaks
    /// the spec becomes a 500 that says why.
    ///
    /// Panics if the bundled data does not load, which the test suite rules out.
    pub async fn start() -> MockServer {
        MockServer::builder().start().await
    }

    /// A server to set up before it starts: which specs and fixtures, strictness, port, journal.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// let server = specmock::MockServer::builder()
    ///     .spec("openapi/things.yaml")
    ///     .journal_size(50)
    ///     .start()
    ///     .await;
    /// # }
    /// ```
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The socket address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The requests it answered, oldest first (as many as the journal keeps; `/__admin` calls
    /// are not journalled).
    pub fn received_requests(&self) -> Vec<ReceivedRequest> {
        self.app.journal.all()
    }

    /// Forgets the received requests, lifts every scenario switch and returns every session to
    /// the fixtures, so the next test starts clean.
    pub fn reset(&self) {
        self.app.journal.clear();
        self.app.switches().clear();
        self.app.reset_sessions();
    }

    /// A session of its own: requests made through the handle's clients carry
    /// `X-Specmock-Session: NAME`, so what they write only they read. Dropping the handle drops
    /// the session and its writes. Tests running in parallel against one server each take one.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = specmock::MockServer::start().await;
    /// let session = server.session("transfer-flow");
    /// let brm = session.prepay_balance("demo-token")?;
    /// let bucket = brm.retrieve_bucket().id("0.0.0.1+-balance_group+106463").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn session(&self, name: &str) -> Session<'_> {
        Session { server: self, name: name.to_string() }
    }

    /// Makes an operation answer as `switch` says, for every caller, until the returned guard
    /// is dropped (or the switch's count or time runs out). Refused when the operation, status
    /// or example is not in the spec.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// use specmock::{MockServer, Switch};
    /// let server = MockServer::start().await;
    /// let _outage = server.force(Switch::operation("listBucket").status(500).times(2)).unwrap();
    /// // the next two listBucket calls answer the documented 500
    /// # }
    /// ```
    pub fn force(&self, switch: Switch) -> Result<Forced<'_>, String> {
        let id = self.app.switch(switch)?;
        Ok(Forced { server: self, id })
    }

    /// Answers one request in-process, through the same stack a connection reaches (edge,
    /// admin API, journal), without a socket.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// let server = specmock::MockServer::start().await;
    /// let request = http::Request::get("/__admin/health").body(axum::body::Body::empty()).unwrap();
    /// assert_eq!(server.handle(request).await.status(), 200);
    /// # }
    /// ```
    pub async fn handle(&self, request: Request) -> Response {
        match self.service.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }

    /// Serves `app` on `address` until dropped.
    pub(crate) async fn listen(app: Arc<App>, address: SocketAddr) -> Result<MockServer, StartError> {
        let listen_error = |source| StartError::Listen { address, source };
        let listener = TcpListener::bind(address).await.map_err(listen_error)?;
        let address = listener.local_addr().map_err(listen_error)?;
        let _ = app.admin_access.listening.set(address.ip());
        let (tx, rx) = oneshot::channel();
        tokio::spawn(super::listener::serve(listener, app.clone(), rx));
        let service = app.service();
        Ok(MockServer { address, app, service, shutdown: Some(tx) })
    }
}

/// One session of a [`MockServer`] (see [`MockServer::session`]); dropping it drops the session.
pub struct Session<'a> {
    server: &'a MockServer,
    name: String,
}

impl Session<'_> {
    /// Its name, as `X-Specmock-Session` carries it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// An HTTP client that sends the session's header and `Authorization: Bearer TOKEN`.
    pub fn http(&self, token: &str) -> Result<reqwest::Client, crate::client::ClientError> {
        let mut auth = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))?;
        auth.set_sensitive(true);
        let session = reqwest::header::HeaderValue::from_str(&self.name)?;
        let headers = reqwest::header::HeaderMap::from_iter([
            (reqwest::header::AUTHORIZATION, auth),
            (reqwest::header::HeaderName::from_static("x-specmock-session"), session),
        ]);
        Ok(reqwest::Client::builder().default_headers(headers).build()?)
    }

    /// The generated BRM client, in this session.
    pub fn prepay_balance(
        &self,
        token: &str,
    ) -> Result<crate::client::prepay_balance::Client, crate::client::ClientError> {
        let base = format!("{}/brm/prepayBalanceManagement/v4", self.server.uri());
        Ok(crate::client::prepay_balance::Client::new_with_client(&base, self.http(token)?))
    }

    /// The generated OES client, in this session.
    pub fn oes_partners(&self, token: &str) -> Result<crate::client::oes_partners::Client, crate::client::ClientError> {
        Ok(crate::client::oes_partners::Client::new_with_client(&self.server.uri(), self.http(token)?))
    }

    /// How many writes the session made.
    pub fn writes(&self) -> usize {
        let sessions = self.server.app.sessions().list();
        sessions.iter().find(|s| s.name == self.name).map_or(0, |s| s.writes)
    }
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("name", &self.name).finish()
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        self.server.app.sessions().remove(&self.name);
    }
}

/// A scenario switch in force on a [`MockServer`]; dropping it lifts the switch.
#[must_use = "the switch is lifted when this guard is dropped"]
pub struct Forced<'a> {
    server: &'a MockServer,
    id: u64,
}

impl std::fmt::Debug for Forced<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forced").field("id", &self.id).finish()
    }
}

impl Drop for Forced<'_> {
    fn drop(&mut self) {
        self.server.app.switches().remove(self.id);
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Sets up a [`MockServer`]: by default the bundled APIs, strict, on a free loopback port.
#[derive(Debug)]
pub struct MockServerBuilder {
    specs: Vec<PathBuf>,
    fixtures: Option<PathBuf>,
    scale: Option<u32>,
    strict_spec: bool,
    address: SocketAddr,
    settings: Settings,
    /// The session caps: sessions, writes per session, bytes in all.
    sessions: (usize, usize, usize),
    faults: (Duration, Duration, f64, u64),
    watch: Option<Duration>,
}

impl Default for MockServerBuilder {
    fn default() -> Self {
        let settings = Settings { options: ServeOptions { strict: true, ..Default::default() }, ..Default::default() };
        MockServerBuilder {
            specs: Vec::new(),
            fixtures: None,
            scale: None,
            strict_spec: false,
            address: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            settings,
            faults: (Duration::ZERO, Duration::ZERO, 0.0, 1),
            watch: None,
            sessions: (
                crate::state::DEFAULT_MAX_SESSIONS,
                crate::state::DEFAULT_MAX_WRITES,
                crate::state::DEFAULT_MAX_BYTES,
            ),
        }
    }
}

impl MockServerBuilder {
    /// Serves this OpenAPI document (YAML or JSON) instead of the bundled APIs; call again for
    /// more than one.
    pub fn spec(mut self, path: impl Into<PathBuf>) -> Self {
        self.specs.push(path.into());
        self
    }

    /// Binds the specs' operations to fixtures: `DIR/<spec stem>/behaviour.yaml` and
    /// `DIR/identities.json`. Without it, operations answer from the spec's examples.
    pub fn fixtures(mut self, dir: impl Into<PathBuf>) -> Self {
        self.fixtures = Some(dir.into());
        self
    }

    /// Refuses a spec with any warning (a missing operationId, an example that breaks its
    /// schema...), listing them all; by default they are served around and reported.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// let server = specmock::MockServer::builder().spec("openapi.yaml").strict_spec(true).start().await;
    /// # }
    /// ```
    pub fn strict_spec(mut self, strict: bool) -> Self {
        self.strict_spec = strict;
        self
    }

    /// Serves the bundled APIs with the OES partner data generated at this scale (seed 1): 500
    /// holds 1,000,000 allocations. Ignored when a spec is given.
    pub fn scale(mut self, scale: u32) -> Self {
        self.scale = Some(scale.max(1));
        self
    }

    /// Checks every response against its operation; a violation becomes a 500 carrying the
    /// report. On by default.
    pub fn strict(mut self, strict: bool) -> Self {
        self.settings.options.strict = strict;
        self
    }

    /// How many sessions keep their writes at once (default 1,000); past it the least recently
    /// used one is dropped.
    pub fn sessions(mut self, sessions: usize) -> Self {
        self.sessions.0 = sessions;
        self
    }

    /// How many writes one session may make (default 100,000); past it a write answers 507.
    pub fn session_writes(mut self, writes: usize) -> Self {
        self.sessions.1 = writes;
        self
    }

    /// About how many bytes all sessions' records may hold (default 256 MiB); past it the least
    /// recently used sessions are dropped, and a session holding it alone answers 507.
    pub fn session_bytes(mut self, bytes: usize) -> Self {
        self.sessions.2 = bytes;
        self
    }

    /// Answers 400 to a query parameter the operation does not declare, naming the closest
    /// declared one; by default it is served and noted as a finding in the journal.
    pub fn reject_unknown_params(mut self, reject: bool) -> Self {
        self.settings.options.reject_unknown_params = reject;
        self
    }

    /// Listens on this address; port 0 (the default, on 127.0.0.1) picks a free port.
    pub fn address(mut self, address: SocketAddr) -> Self {
        self.address = address;
        self
    }

    /// Listens on this port of 127.0.0.1.
    pub fn port(mut self, port: u16) -> Self {
        self.address.set_port(port);
        self
    }

    /// How many requests the journal keeps (default 1000; 0 keeps none).
    pub fn journal_size(mut self, entries: usize) -> Self {
        self.settings.journal_size = entries;
        self
    }

    /// Bounds the journal's memory too: the oldest entries leave once its entries hold about
    /// this many bytes (default 16 MiB). Each text field keeps at most 8 KiB either way.
    pub fn journal_bytes(mut self, bytes: usize) -> Self {
        self.settings.journal_bytes = bytes;
        self
    }

    /// Requires `Authorization: Bearer TOKEN` on `/__admin` (health and openapi.json excepted).
    /// An empty token is refused at start.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.settings.admin_token = Some(token.into());
        self
    }

    /// Lets `/__admin` answer to this Host name too; by default it answers only to localhost
    /// names and the address it listens on, so a web page cannot reach it by DNS rebinding.
    pub fn admin_host(mut self, name: impl Into<String>) -> Self {
        self.settings.admin_hosts.push(name.into());
        self
    }

    /// Closes a connection whose request head has not arrived complete this long after its
    /// first byte (default 10 s), so half-sent requests do not hold a file descriptor for ever.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.settings.limits.header_timeout = timeout;
        self
    }

    /// Closes a connection that has not begun a request this long after it opened or after its
    /// last answer (default 30 s): idle keep-alive sockets.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.settings.limits.idle_timeout = timeout;
        self
    }

    /// Serves at most this many connections at once (default 512); more are answered 503 and
    /// closed.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.settings.limits.max_connections = connections.max(1);
        self
    }

    /// Answers 431 to a request whose head (request line and headers) is larger than this
    /// (default 64 KiB; at least 8 KiB).
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.settings.limits.max_header_bytes = bytes.max(8192);
        self
    }

    /// Serves no `/__admin` at all.
    pub fn without_admin(mut self) -> Self {
        self.settings.admin = false;
        self
    }

    /// Keeps each API's compiled store in this folder, so a restart with the same binary, specs
    /// and fixtures skips parsing, validating and indexing.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.settings.cache = Some(StoreCache::in_dir(dir));
        self
    }

    /// Delays every response by `delay` plus up to `jitter`, drawn from the fault seed.
    pub fn delay(mut self, delay: Duration, jitter: Duration) -> Self {
        (self.faults.0, self.faults.1) = (delay, jitter);
        self
    }

    /// Answers this share of requests (0.0 to 1.0) with the operation's documented 500, drawn
    /// from `seed` so a run repeats.
    pub fn fail_rate(mut self, share: f64, seed: u64) -> Self {
        (self.faults.2, self.faults.3) = (share, seed);
        self
    }

    /// Reloads specs and fixtures whenever their files change, checking every `period`; a change
    /// that fails validation is refused and the last good state keeps serving.
    pub fn watch(mut self, period: Duration) -> Self {
        self.watch = Some(period);
        self
    }

    /// Loads everything and starts serving; panics with the reason when it cannot, as a test
    /// would want.
    pub async fn start(self) -> MockServer {
        match self.try_start().await {
            Ok(server) => server,
            Err(e) => panic!("specmock did not start: {e}"),
        }
    }

    /// Loads everything and starts serving.
    pub async fn try_start(self) -> Result<MockServer, StartError> {
        let (address, watch) = (self.address, self.watch);
        if self.settings.admin_token.as_deref().is_some_and(str::is_empty) {
            return Err(StartError::Setting(
                "the admin token is empty; give a token, or none for an open admin API".into(),
            ));
        }
        let app = self.build()?;
        let server = MockServer::listen(app, address).await?;
        if let Some(period) = watch {
            server.app.watch(period);
        }
        Ok(server)
    }

    /// Loads everything into the state a server serves from.
    pub(crate) fn build(mut self) -> Result<Arc<App>, LoadError> {
        let sources = match (self.specs.is_empty(), self.scale) {
            (false, _) => Sources::Files { specs: self.specs, fixtures: self.fixtures, strict_spec: self.strict_spec },
            (true, Some(scale)) => Sources::Scaled(scale),
            (true, None) => Sources::Bundled,
        };
        let (delay, jitter, share, seed) = self.faults;
        self.settings.options.faults = Faults::new(delay, jitter, share, seed);
        self.settings.options.sessions =
            crate::state::Sessions::in_memory(self.sessions.0, self.sessions.1, self.sessions.2);
        App::new(sources, self.settings)
    }
}
