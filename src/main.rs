//! The `specmock` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// A mock and contract-test server driven by OpenAPI.
///
/// With no arguments, `specmock serve` serves the bundled BitGo OES partner and Oracle BRM
/// prepay balance APIs on http://127.0.0.1:4010.
#[derive(Parser)]
#[command(name = "specmock", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the bundled APIs, or your own specs.
    Serve(Serve),
    /// Load and validate specs and fixtures, then exit: 0 when all is well.
    Check(Sources),
    /// Generate fixture data, or the JSON Schemas of the fixture formats.
    #[command(subcommand)]
    Fixtures(Fixtures),
    /// Contract-test a running provider against a spec: every operation, every response checked.
    Verify(Verify),
}

#[derive(Args)]
struct Verify {
    /// The OpenAPI document to check against.
    #[arg(long, value_name = "FILE")]
    spec: PathBuf,
    /// The provider's base URL, e.g. https://staging.example.com (the spec's server path is added).
    #[arg(long, value_name = "URL")]
    base_url: String,
    /// Bearer token sent with every request.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Also write the results as JUnit XML here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Also send invalid requests (bad UUID, unknown enum, bad paging) and expect a declared 4xx.
    #[arg(long)]
    negative: bool,
}

#[derive(Args)]
struct Sources {
    /// An OpenAPI 3.0 document (YAML or JSON) to serve instead of the bundled APIs. Repeatable.
    #[arg(long = "spec", value_name = "FILE")]
    specs: Vec<PathBuf>,
    /// Folder with `<spec stem>/behaviour.yaml` and its fixtures, and `identities.json`.
    /// Without it, operations answer from the spec's examples.
    #[arg(long, value_name = "DIR", requires = "specs")]
    fixtures: Option<PathBuf>,
    /// Serve the bundled APIs with the OES partner data generated at this scale (seed 1):
    /// 500 holds 1,000,000 allocations over 30,000 connections. BRM data stays as bundled.
    #[arg(long, value_name = "K", conflicts_with = "specs", value_parser = clap::value_parser!(u32).range(1..))]
    scale: Option<u32>,
}

#[derive(Args)]
struct Serve {
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
    /// How many requests the journal at /__admin/requests keeps.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    journal_size: usize,
    /// Do not serve /__admin.
    #[arg(long)]
    no_admin: bool,
    /// Require 'Authorization: Bearer TOKEN' on /__admin (health excepted).
    #[arg(long, value_name = "TOKEN")]
    admin_token: Option<String>,
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

fn share(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("{raw:?} is not a share; expected a number from 0.0 to 1.0, e.g. 0.05")),
    }
}

#[derive(Subcommand)]
enum Fixtures {
    /// Write seeded fixture records for one API: the same seed and scale give the same bytes.
    Generate {
        /// Which API: oes-partners or prepay-balance.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(specmock::generate::APIS))]
        api: String,
        /// Seed of the generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Multiplies the record counts (1 gives the bundled size).
        #[arg(long, default_value_t = 1)]
        scale: u32,
        /// Output folder; default `fixtures/<api>`.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Write the JSON Schemas of behaviour.yaml and identities.json.
    Schema {
        /// Output folder.
        #[arg(long, value_name = "DIR", default_value = "fixtures")]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(serve) => run_serve(serve),
        Command::Check(sources) => match load(&sources) {
            Ok(apis) => {
                for api in &apis {
                    let records: usize = api.bindings.values().map(|b| b.query.index.len()).sum();
                    println!(
                        "ok  {} ({} operations, {} bound records)",
                        api.api.name,
                        api.api.operations.len(),
                        records
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        },
        Command::Fixtures(Fixtures::Generate { api, seed, scale, out }) => {
            let files = specmock::generate::generate(&api, seed, scale).expect("clap checks the API name");
            let dir = out.unwrap_or_else(|| PathBuf::from("fixtures").join(&api));
            match specmock::generate::write(&dir, &files) {
                Ok(()) => {
                    for f in &files {
                        println!("wrote {} ({} records)", dir.join(&f.name).display(), f.records);
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&format!("{}: {e}", dir.display())),
            }
        }
        Command::Verify(v) => run_verify(v),
        Command::Fixtures(Fixtures::Schema { out }) => {
            let writes = [
                ("behaviour.schema.json", specmock::behaviour::Behaviour::json_schema()),
                ("identities.schema.json", specmock::auth::identities_json_schema()),
            ];
            for (name, text) in writes {
                if let Err(e) = std::fs::write(out.join(name), text) {
                    return fail(&format!("{}: {e}", out.join(name).display()));
                }
                println!("wrote {}", out.join(name).display());
            }
            ExitCode::SUCCESS
        }
    }
}

fn run_verify(v: Verify) -> ExitCode {
    let text = match std::fs::read_to_string(&v.spec) {
        Ok(t) => t,
        Err(e) => return fail(&format!("{}: {e}", v.spec.display())),
    };
    let name = v.spec.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let api = match specmock::spec::Api::from_text(&name, &v.spec.display().to_string(), &text) {
        Ok(a) => a,
        Err(e) => return fail(&e.to_string()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime starts");
    let config = specmock::verify::Config { base_url: v.base_url, token: v.token, negative: v.negative };
    let report = runtime.block_on(specmock::verify::run(&api, &config));
    print!("{}", report.text());
    if let Some(path) = v.junit {
        if let Err(e) = std::fs::write(&path, report.junit(&name)) {
            return fail(&format!("{}: {e}", path.display()));
        }
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn load(sources: &Sources) -> Result<Vec<std::sync::Arc<specmock::runtime::ApiRuntime>>, specmock::runtime::LoadError> {
    if let Some(scale) = sources.scale {
        specmock::mock_server::load_bundled_scaled(scale)
    } else if sources.specs.is_empty() {
        specmock::mock_server::load_bundled()
    } else {
        specmock::mock_server::load_files(&sources.specs, sources.fixtures.as_deref())
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("specmock: {message}");
    ExitCode::FAILURE
}

fn run_serve(serve: Serve) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&serve.log));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    use specmock::mock_server::{App, Settings, Sources as Origin};
    let origin = if let Some(scale) = serve.sources.scale {
        Origin::Scaled(scale)
    } else if serve.sources.specs.is_empty() {
        Origin::Bundled
    } else {
        Origin::Files { specs: serve.sources.specs.clone(), fixtures: serve.sources.fixtures.clone() }
    };
    let settings = Settings {
        options: specmock::server::ServeOptions {
            strict: serve.strict,
            faults: specmock::scenario::Faults::new(
                std::time::Duration::from_millis(serve.delay_ms),
                std::time::Duration::from_millis(serve.delay_jitter_ms),
                serve.fail_rate,
                serve.seed,
            ),
        },
        journal_size: serve.journal_size,
        admin: !serve.no_admin,
        admin_token: serve.admin_token.clone(),
        snapshots: match (&serve.cache_dir, serve.no_cache) {
            (_, true) => None,
            (Some(dir), false) => Some(specmock::snapshot::Snapshots::in_dir(dir)),
            (None, false) => specmock::snapshot::Snapshots::default_dir().map(specmock::snapshot::Snapshots::in_dir),
        },
    };
    let app = match App::new(origin, settings) {
        Ok(app) => app,
        Err(e) => return fail(&e.to_string()),
    };
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

async fn serve_until_interrupted(serve: Serve, app: std::sync::Arc<specmock::mock_server::App>) -> ExitCode {
    {
        let address = SocketAddr::new(serve.host, serve.port);
        let server = match specmock::MockServer::run(app.clone(), address).await {
            Ok(s) => s,
            Err(e) => return fail(&format!("cannot listen on {address}: {e} (try --port 0 for a free port)")),
        };
        if serve.watch {
            app.watch(std::time::Duration::from_millis(500));
        }
        print!("{}", specmock::mock_server::banner(&server.uri(), &app.apis(), !serve.no_admin));
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = tokio::signal::ctrl_c().await;
        drop(server);
        ExitCode::SUCCESS
    }
}
