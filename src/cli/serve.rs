//! `specmock serve`: serves the bundled APIs, or your own specs, until interrupted.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::app::{App, ConnectionLimits, MockServer, Settings};
use crate::cli::{fail, Sources};
use crate::http::scenario::Faults;
use crate::http::ServeOptions;
use crate::load::LoadedApi;
use crate::store::cache::StoreCache;

#[derive(Args)]
pub(crate) struct Serve {
    #[command(flatten)]
    sources: Sources,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Port to listen on; 0 picks a free one and prints it.
    #[arg(long, default_value_t = 4010)]
    port: u16,
    /// Log filter, e.g. `info`, `specmock=debug` (RUST_LOG works too).
    #[arg(long, default_value = "warn")]
    log: String,
    /// Check every response against the spec; a violation becomes a 500 carrying the report.
    #[arg(long)]
    strict: bool,
    /// Answer 400 to a query parameter the operation does not declare, naming the closest
    /// declared one (by default it is served, and noted in the journal and the log).
    #[arg(long)]
    reject_unknown_params: bool,
    /// Delay every response by this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    delay_ms: u64,
    /// Add a random delay of up to this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    delay_jitter_ms: u64,
    /// Answer this share of requests (0.0 to 1.0) with the operation's documented 500.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = share)]
    fail_rate: f64,
    /// Seed for jitter and failures, so a run repeats.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How many sessions (X-Specmock-Session) keep their writes at once; past it the least
    /// recently used one is dropped, and the log says so.
    #[arg(long, value_name = "N", default_value_t = crate::state::DEFAULT_MAX_SESSIONS)]
    sessions: usize,
    /// How many writes one session may make; past it a write answers 507 until the session is reset.
    #[arg(long, value_name = "N", default_value_t = crate::state::DEFAULT_MAX_WRITES)]
    session_writes: usize,
    /// About how much memory all sessions' records may hold, e.g. 256MiB; past it the least
    /// recently used sessions are dropped, and a session that alone holds it answers 507.
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = byte_size)]
    session_bytes: usize,
    /// How many requests the journal at /__admin/requests keeps.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    journal_size: usize,
    /// About how much memory the journal keeps, e.g. 16MiB or 512KiB; the oldest entries leave
    /// first. Each text field keeps at most 8 KiB either way.
    #[arg(long, value_name = "SIZE", default_value = "16MiB", value_parser = byte_size)]
    journal_bytes: usize,
    /// Do not serve /__admin.
    #[arg(long)]
    no_admin: bool,
    /// Print no line per request.
    #[arg(long, short)]
    quiet: bool,
    /// Require 'Authorization: Bearer TOKEN' on /__admin (health excepted).
    #[arg(long, value_name = "TOKEN", value_parser = token)]
    admin_token: Option<String>,
    /// Let /__admin answer to this Host name too (repeatable); by default it answers only to
    /// localhost names and the address listened on.
    #[arg(long, value_name = "NAME")]
    admin_host: Vec<String>,
    /// Close a connection whose request head has not arrived complete this many seconds after
    /// its first byte: half-sent requests.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = seconds)]
    header_timeout: Duration,
    /// Close a connection that has not begun a request this many seconds after it opened or
    /// after its last answer: idle keep-alive sockets.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = seconds)]
    idle_timeout: Duration,
    /// Serve at most this many connections at once; more are answered 503 and closed.
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Answer 431 to a request whose request line and headers exceed this many KiB (8 or more).
    #[arg(long, value_name = "KIB", default_value_t = 64, value_parser = clap::value_parser!(u32).range(8..=1024))]
    max_header_kib: u32,
    /// Reload specs and fixtures when their files change (with --spec); a bad change keeps the last good state.
    #[arg(long, requires = "specs")]
    watch: bool,
    /// Keep each API's compiled store here, so a restart with the same binary, specs and fixtures
    /// skips parsing, validating and indexing [default: $XDG_CACHE_HOME/specmock or ~/.cache/specmock]
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    cache_dir: Option<PathBuf>,
    /// Build every store from the fixtures; read and write no snapshots.
    #[arg(long)]
    no_cache: bool,
}

fn token(raw: &str) -> Result<String, String> {
    match raw.trim() {
        "" => Err("the token is empty; expected a token such as 'local-admin', or leave --admin-token out".into()),
        t if t.contains(char::is_whitespace) => Err(format!("{raw:?} holds whitespace; expected one word")),
        _ => Ok(raw.to_string()),
    }
}

fn seconds(raw: &str) -> Result<Duration, String> {
    match raw.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("{raw:?} is not a timeout; expected seconds above 0, e.g. 10 or 0.5")),
    }
}

fn byte_size(raw: &str) -> Result<usize, String> {
    let digits = raw.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = match raw[digits.len()..].to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => 0,
    };
    match digits.parse::<usize>() {
        Ok(n) if unit > 0 => Ok(n.saturating_mul(unit)),
        _ => Err(format!("{raw:?} is not a size; expected bytes with an optional unit, e.g. 16MiB, 512KiB or 1000000")),
    }
}

fn share(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("{raw:?} is not a share; expected a number from 0.0 to 1.0, e.g. 0.05")),
    }
}

pub(crate) fn run(serve: Serve) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&serve.log));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let settings = Settings {
        options: ServeOptions {
            strict: serve.strict,
            reject_unknown_params: serve.reject_unknown_params,
            switches: Default::default(),
            sessions: crate::state::Sessions::in_memory(serve.sessions, serve.session_writes, serve.session_bytes),
            faults: Faults::new(
                Duration::from_millis(serve.delay_ms),
                Duration::from_millis(serve.delay_jitter_ms),
                serve.fail_rate,
                serve.seed,
            ),
        },
        journal_size: serve.journal_size,
        journal_bytes: serve.journal_bytes,
        request_log: !serve.quiet,
        admin: !serve.no_admin,
        admin_token: serve.admin_token.clone(),
        admin_hosts: serve.admin_host.clone(),
        cache: match (&serve.cache_dir, serve.no_cache) {
            (_, true) => None,
            (Some(dir), false) => Some(StoreCache::in_dir(dir)),
            (None, false) => StoreCache::default_dir().map(StoreCache::in_dir),
        },
        limits: ConnectionLimits {
            header_timeout: serve.header_timeout,
            idle_timeout: serve.idle_timeout,
            max_connections: serve.max_connections as usize,
            max_header_bytes: serve.max_header_kib as usize * 1024,
        },
    };
    raise_open_file_limit(serve.max_connections as u64 + 64);
    let app = match App::new(serve.sources.origin(), settings) {
        Ok(app) => app,
        Err(e) => return fail(&e.to_string()),
    };
    for api in app.apis() {
        for line in api.api.warning_lines(20) {
            eprintln!("specmock: {line}");
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime starts");
    // The main thread waits outside the runtime: a thread parked in `block_on` can hold the I/O
    // driver and then wake the worker for every event, which costs a third of the throughput.
    let (done, finished) = std::sync::mpsc::channel();
    runtime.spawn(async move {
        let code = serve_until_interrupted(serve, app).await;
        let _ = done.send(code);
    });
    finished.recv().unwrap_or(ExitCode::FAILURE)
}

async fn serve_until_interrupted(serve: Serve, app: Arc<App>) -> ExitCode {
    let address = SocketAddr::new(serve.host, serve.port);
    let server = match MockServer::listen(app.clone(), address).await {
        Ok(s) => s,
        Err(e) => return fail(&format!("{e} (try --port 0 for a free port)")),
    };
    if serve.watch {
        app.watch(Duration::from_millis(500));
    }
    if !serve.host.is_loopback() && !serve.no_admin && serve.admin_token.is_none() {
        let named =
            if serve.admin_host.is_empty() { String::new() } else { format!(", {}", serve.admin_host.join(", ")) };
        eprintln!(
            "specmock: warning: listening on {} without --admin-token: /__admin answers the Hosts localhost{named} \
             and the address listened on, and any machine that reaches the port can send those; \
             give --admin-token TOKEN, or --no-admin",
            serve.host
        );
    }
    print!("{}", banner(&server.uri(), &app.apis(), !serve.no_admin));
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    drop(server);
    ExitCode::SUCCESS
}

/// Raises the soft open-file limit towards `wanted` (up to the hard limit), so the connection cap
/// and not the usual 1,024 descriptors decides when clients are refused.
fn raise_open_file_limit(wanted: u64) {
    #[cfg(target_os = "linux")]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < wanted {
                limit.rlim_cur = wanted.min(limit.rlim_max);
                libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = wanted;
}

/// What `serve` prints: the base URL and a ready curl line for each route.
fn banner(base: &str, apis: &[Arc<LoadedApi>], admin: bool) -> String {
    let mut out = format!("specmock listening on {base}\n");
    for api in apis {
        out.push_str(&format!("\n{} ({} operations)\n", api.api.title, api.api.operations.len()));
        out.push_str(&format!("  spec   {base}/__specmock/apis/{}/openapi.json (and .yaml)\n", api.api.name));
        let token = crate::app::catalogue::demo_token(api);
        for op in &api.api.operations {
            let values = crate::app::catalogue::try_it_values(api, op);
            let curl = crate::contract::verify::curl_line(&api.api, op, base, token.as_deref(), &values);
            out.push_str(&format!("  {:<6} {}\n         {curl}\n", op.method, op.summary));
        }
    }
    if admin {
        out.push_str(&format!(
            "\nconsole: {base}{}\nadmin: {base}/__admin/health  {base}/__admin/requests  {base}/__admin/openapi.json\n",
            crate::app::console::HOME
        ));
    }
    out
}
