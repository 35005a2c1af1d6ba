//! Loading API sets and running the server, from the CLI or inside a test.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::runtime::{load_identities, ApiRuntime, Files, LoadError, BUNDLED_FIXTURES, BUNDLED_SPECS};

/// Loads the APIs compiled into the binary: every spec in `spec/` with its fixtures.
pub fn load_bundled() -> Result<Vec<Arc<ApiRuntime>>, LoadError> {
    let files = Files::Embedded(&BUNDLED_FIXTURES);
    let identities = Arc::new(load_identities(&files)?);
    let mut specs: Vec<_> = BUNDLED_SPECS.files().collect();
    specs.sort_by_key(|f| f.path().to_path_buf());
    specs
        .into_iter()
        .map(|file| {
            let name = api_name(file.path());
            let text = String::from_utf8_lossy(file.contents());
            let source = format!("spec/{}", file.path().display());
            ApiRuntime::load(&name, &source, &text, Some(&files), identities.clone()).map(Arc::new)
        })
        .collect()
}

/// Loads spec files from disk, each with `<fixtures>/<spec stem>/` when a fixtures folder is given.
pub fn load_files(specs: &[PathBuf], fixtures: Option<&Path>) -> Result<Vec<Arc<ApiRuntime>>, LoadError> {
    let files = fixtures.map(|f| Files::Disk(f.to_path_buf()));
    let identities = Arc::new(match &files {
        Some(files) => load_identities(files)?,
        None => Default::default(),
    });
    specs
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).map_err(|e| LoadError(format!("{}: {e}", path.display())))?;
            ApiRuntime::load(&api_name(path), &path.display().to_string(), &text, files.as_ref(), identities.clone())
                .map(Arc::new)
        })
        .collect()
}

fn api_name(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
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
    shutdown: Option<oneshot::Sender<()>>,
}

impl MockServer {
    /// Starts the bundled APIs on a free loopback port.
    ///
    /// Panics if the bundled data does not load, which the test suite rules out.
    pub async fn start() -> MockServer {
        let apis = load_bundled().expect("the bundled APIs load");
        MockServer::serve(apis, "127.0.0.1:0".parse().unwrap()).await.expect("a loopback port is free")
    }

    /// Serves already loaded APIs on `address` (port 0 picks a free port).
    pub async fn serve(apis: Vec<Arc<ApiRuntime>>, address: SocketAddr) -> std::io::Result<MockServer> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let (tx, rx) = oneshot::channel();
        let app = crate::server::router(apis);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(MockServer { address, shutdown: Some(tx) })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The socket address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
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
pub fn banner(base: &str, apis: &[Arc<ApiRuntime>]) -> String {
    let mut out = format!("specmock listening on {base}\n");
    for api in apis {
        out.push_str(&format!("\n{} ({} operations)\n", api.api.title, api.api.operations.len()));
        let token = api.auth.as_ref().and_then(|rules| {
            api.identities.identities.iter().find(|i| i.permissions.contains(&rules.permission)).map(|i| i.token.clone())
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
    out
}
