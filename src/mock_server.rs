//! The running server: where its APIs come from, the swappable router, the journal and admin API,
//! and [`MockServer`] for embedding in tests.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use axum::extract::Request;
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::ServiceExt;

use crate::journal::Journal;
use crate::runtime::{load_identities, ApiRuntime, Files, Generated, LoadError, BUNDLED_FIXTURES, BUNDLED_SPECS};
use crate::scenario::Faults;
use crate::server::{Edge, ServeOptions};
use crate::snapshot::Snapshots;

/// Loads the APIs compiled into the binary: every spec in `spec/` with its fixtures.
pub fn load_bundled() -> Result<Vec<Arc<ApiRuntime>>, LoadError> {
    load_bundled_from(Files::Embedded(&BUNDLED_FIXTURES), None)
}

/// Loads the bundled APIs with the OES partner fixtures generated at `scale` (seed 1): 500 gives
/// 1,000,000 allocations over 30,000 connections. The BRM data stays as bundled.
pub fn load_bundled_scaled(scale: u32) -> Result<Vec<Arc<ApiRuntime>>, LoadError> {
    Sources::Scaled(scale).load_with(None)
}

fn load_bundled_from(files: Files, snapshots: Option<&Snapshots>) -> Result<Vec<Arc<ApiRuntime>>, LoadError> {
    let identities = Arc::new(load_identities(&files)?);
    let mut specs: Vec<_> = BUNDLED_SPECS.files().collect();
    specs.sort_by_key(|f| f.path().to_path_buf());
    specs
        .into_iter()
        .map(|file| {
            let name = api_name(file.path());
            let text = String::from_utf8_lossy(file.contents());
            let source = format!("spec/{}", file.path().display());
            ApiRuntime::load_with(&name, &source, &text, Some(&files), identities.clone(), snapshots).map(Arc::new)
        })
        .collect()
}

/// Loads spec files from disk, each with `<fixtures>/<spec stem>/` when a fixtures folder is given.
pub fn load_files(specs: &[PathBuf], fixtures: Option<&Path>) -> Result<Vec<Arc<ApiRuntime>>, LoadError> {
    load_files_with(specs, fixtures, None)
}

fn load_files_with(
    specs: &[PathBuf],
    fixtures: Option<&Path>,
    snapshots: Option<&Snapshots>,
) -> Result<Vec<Arc<ApiRuntime>>, LoadError> {
    let files = fixtures.map(|f| Files::Disk(f.to_path_buf()));
    let identities = Arc::new(match &files {
        Some(files) => load_identities(files)?,
        None => Default::default(),
    });
    specs
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).map_err(|e| LoadError(format!("{}: {e}", path.display())))?;
            ApiRuntime::load_with(
                &api_name(path),
                &path.display().to_string(),
                &text,
                files.as_ref(),
                identities.clone(),
                snapshots,
            )
            .map(Arc::new)
        })
        .collect()
}

fn api_name(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Where a server's APIs come from, so that a reload reads them again.
#[derive(Clone)]
pub enum Sources {
    /// The specs and fixtures compiled into the binary.
    Bundled,
    /// Spec files, and optionally a fixtures folder, on disk.
    Files {
        /// OpenAPI documents.
        specs: Vec<PathBuf>,
        /// Folder with `<spec stem>/behaviour.yaml`, fixtures and `identities.json`.
        fixtures: Option<PathBuf>,
    },
    /// The bundled specs, with the OES partner fixtures generated at this scale (seed 1).
    Scaled(u32),
    /// APIs loaded by the caller; a reload keeps them.
    Loaded(Vec<Arc<ApiRuntime>>),
}

impl Sources {
    /// Loads every API.
    pub fn load(&self) -> Result<Vec<Arc<ApiRuntime>>, LoadError> {
        self.load_with(None)
    }

    /// Loads every API, each store from a snapshot in `snapshots` when one of the same inputs is
    /// there, and written there when not.
    pub fn load_with(&self, snapshots: Option<&Snapshots>) -> Result<Vec<Arc<ApiRuntime>>, LoadError> {
        match self {
            Sources::Bundled => load_bundled_from(Files::Embedded(&BUNDLED_FIXTURES), snapshots),
            Sources::Scaled(scale) => {
                load_bundled_from(Files::Generated(Arc::new(Generated::new("oes-partners", 1, *scale))), snapshots)
            }
            Sources::Files { specs, fixtures } => load_files_with(specs, fixtures.as_deref(), snapshots),
            Sources::Loaded(apis) => Ok(apis.clone()),
        }
    }

    /// Files to watch for changes (none for bundled or preloaded APIs).
    pub fn watched(&self) -> Vec<PathBuf> {
        match self {
            Sources::Files { specs, fixtures } => specs.iter().cloned().chain(fixtures.iter().cloned()).collect(),
            _ => Vec::new(),
        }
    }
}

/// Everything a server is set up with.
pub struct Settings {
    /// Server-wide behaviour: strict validation and faults.
    pub options: ServeOptions,
    /// How many requests the journal keeps.
    pub journal_size: usize,
    /// Whether `/__admin` is served.
    pub admin: bool,
    /// Bearer token `/__admin` requires, if any.
    pub admin_token: Option<String>,
    /// Where compiled stores are kept between starts; None builds them from the fixtures always.
    pub snapshots: Option<Snapshots>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            options: ServeOptions::default(),
            journal_size: 1000,
            admin: true,
            admin_token: None,
            snapshots: None,
        }
    }
}

/// A server's state: the APIs it serves now, and what survives a reload.
pub struct App {
    sources: Sources,
    options: Arc<ServeOptions>,
    /// The request journal.
    pub journal: Arc<Journal>,
    /// Bearer token `/__admin` requires.
    pub admin_token: Option<String>,
    admin: bool,
    snapshots: Option<Snapshots>,
    current: RwLock<(Router, Vec<Arc<ApiRuntime>>)>,
}

impl App {
    /// Loads the sources; fails with the first fault found.
    pub fn new(sources: Sources, settings: Settings) -> Result<Arc<App>, LoadError> {
        let apis = sources.load_with(settings.snapshots.as_ref())?;
        let options = Arc::new(settings.options);
        let router = crate::server::routes(apis.clone(), options.clone());
        Ok(Arc::new(App {
            sources,
            options,
            journal: Arc::new(Journal::new(settings.journal_size)),
            admin_token: settings.admin_token,
            admin: settings.admin,
            snapshots: settings.snapshots,
            current: RwLock::new((router, apis)),
        }))
    }

    /// Loads the sources again and swaps them in; on failure the last good state keeps serving.
    /// Requests in flight finish on the state they started with.
    pub fn reload(&self) -> Result<(), LoadError> {
        let apis = self.sources.load_with(self.snapshots.as_ref())?;
        let router = crate::server::routes(apis.clone(), self.options.clone());
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = (router, apis);
        Ok(())
    }

    /// The APIs served now.
    pub fn apis(&self) -> Vec<Arc<ApiRuntime>> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).1.clone()
    }

    /// What `/__admin/health` says.
    pub fn health(&self) -> Value {
        let apis: Vec<Value> = self
            .apis()
            .iter()
            .map(|a| {
                let records: usize = a.bindings.values().map(|b| b.query.index.len()).sum();
                json!({"name": a.api.name, "title": a.api.title, "operations": a.api.operations.len(), "records": records})
            })
            .collect();
        json!({"status": "ok", "apis": apis})
    }

    /// The whole service: CORS and request ids, then `/__admin` or the current APIs, journalled.
    pub fn service(self: &Arc<Self>) -> Edge<Dispatch> {
        let admin = self.admin.then(|| crate::admin::routes(self.clone()));
        crate::server::edge(Dispatch { app: self.clone(), admin })
    }

    /// Reloads whenever a watched file changes, checking every `period`.
    pub fn watch(self: &Arc<Self>, period: Duration) {
        let paths = self.sources.watched();
        if paths.is_empty() {
            return;
        }
        let app = self.clone();
        // Taken now, so a change made right after this call is seen.
        let mut last = fingerprint(&paths);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                let now = fingerprint(&paths);
                if now == last {
                    continue;
                }
                last = now;
                let app = app.clone();
                match tokio::task::spawn_blocking(move || app.reload()).await {
                    Ok(Ok(())) => tracing::warn!("reloaded specs and fixtures"),
                    Ok(Err(e)) => tracing::error!("reload refused, the last good state keeps serving: {e}"),
                    Err(e) => tracing::error!("reload failed: {e}"),
                }
            }
        });
    }
}

/// Sends `/__admin` to the admin API and everything else to the APIs served now, journalling
/// every request outside `/__admin`.
#[derive(Clone)]
pub struct Dispatch {
    app: Arc<App>,
    admin: Option<Router>,
}

impl tower::Service<Request> for Dispatch {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let is_admin = req.uri().path().starts_with("/__admin");
        if let (true, Some(admin)) = (is_admin, &self.admin) {
            return Box::pin(admin.clone().oneshot(req));
        }
        // Taken per request, so a reload applies to the next request and in-flight ones finish.
        let router = self.app.current.read().unwrap_or_else(|e| e.into_inner()).0.clone();
        let pending = if is_admin { None } else { self.app.journal.begin(&req) };
        let journal = self.app.journal.clone();
        Box::pin(async move {
            let mut response = router.oneshot(req).await?;
            if let Some(pending) = pending {
                journal.end(pending, &mut response);
            }
            Ok(response)
        })
    }
}

/// Modification times and sizes of every file under `paths`.
fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(path) = stack.pop() {
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => {
                if let Ok(entries) = std::fs::read_dir(&path) {
                    stack.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
                }
            }
            Ok(meta) => out.push((path, meta.modified().ok(), meta.len())),
            Err(_) => out.push((path, None, 0)),
        }
    }
    out.sort();
    out
}

/// A running specmock, for a test suite: it stops when dropped.
///
/// ```no_run
/// # async fn demo() {
/// let server = specmock::MockServer::start().await;
/// let url = format!("{}/brm/prepayBalanceManagement/v4/accumulatedBalance/account+12345", server.uri());
/// let body = reqwest::Client::new().get(url).bearer_auth("demo-token").send().await.unwrap();
/// assert_eq!(body.status(), 200);
/// # }
/// ```
pub struct MockServer {
    address: SocketAddr,
    app: Arc<App>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl MockServer {
    /// Starts the bundled APIs on a free loopback port, in strict mode: a response that breaks the
    /// spec becomes a 500 that says why.
    ///
    /// Panics if the bundled data does not load, which the test suite rules out.
    pub async fn start() -> MockServer {
        let settings =
            Settings { options: ServeOptions { strict: true, faults: Faults::default() }, ..Settings::default() };
        let app = App::new(Sources::Bundled, settings).expect("the bundled APIs load");
        MockServer::run(app, "127.0.0.1:0".parse().unwrap()).await.expect("a loopback port is free")
    }

    /// Serves already loaded APIs on `address` (port 0 picks a free port), in strict mode.
    pub async fn serve(apis: Vec<Arc<ApiRuntime>>, address: SocketAddr) -> std::io::Result<MockServer> {
        let settings =
            Settings { options: ServeOptions { strict: true, faults: Faults::default() }, ..Settings::default() };
        let app = App::new(Sources::Loaded(apis), settings).map_err(std::io::Error::other)?;
        MockServer::run(app, address).await
    }

    /// Serves an app on `address` until dropped.
    pub async fn run(app: Arc<App>, address: SocketAddr) -> std::io::Result<MockServer> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let (tx, rx) = oneshot::channel();
        let service = axum::ServiceExt::<Request>::into_make_service(app.service());
        tokio::spawn(async move {
            let _ = axum::serve(listener, service)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(MockServer { address, app, shutdown: Some(tx) })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The socket address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The server's state: journal, reload.
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// What `serve` prints: the base URL and a ready curl line for each route.
pub fn banner(base: &str, apis: &[Arc<ApiRuntime>], admin: bool) -> String {
    let mut out = format!("specmock listening on {base}\n");
    for api in apis {
        out.push_str(&format!("\n{} ({} operations)\n", api.api.title, api.api.operations.len()));
        let token = api.auth.as_ref().and_then(|rules| {
            api.identities
                .identities
                .iter()
                .find(|i| i.permissions.contains(&rules.permission))
                .map(|i| i.token.clone())
        });
        for op in &api.api.operations {
            let mut path = op.route.clone();
            for param in op.params.iter().filter(|p| p.location == crate::spec::Location::Path) {
                let value = param.example.as_ref().map(crate::store::text_of).unwrap_or_else(|| "1".into());
                path = path.replace(&format!("{{{}}}", param.name), &value);
            }
            let auth = token.as_ref().map(|t| format!(" -H 'Authorization: Bearer {t}'")).unwrap_or_default();
            out.push_str(&format!("  {:<6} {}\n         curl -s{auth} '{base}{path}'\n", op.method, op.summary));
        }
    }
    if admin {
        out.push_str(&format!(
            "\nadmin: {base}/__admin/health  {base}/__admin/requests  {base}/__admin/openapi.json\n"
        ));
    }
    out
}
