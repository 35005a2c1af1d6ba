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
                    let records: usize = api.bindings.values().map(|b| b.query.collection.len()).sum();
                    println!("ok  {} ({} operations, {} bound records)", api.api.name, api.api.operations.len(), records);
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
                        println!("wrote {} ({} records)", dir.join(&f.name).display(), f.records.len());
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&format!("{}: {e}", dir.display())),
            }
        }
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

fn load(sources: &Sources) -> Result<Vec<std::sync::Arc<specmock::runtime::ApiRuntime>>, specmock::runtime::LoadError> {
    if sources.specs.is_empty() {
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
    let apis = match load(&serve.sources) {
        Ok(apis) => apis,
        Err(e) => return fail(&e.to_string()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime starts");
    runtime.block_on(async move {
        let address = SocketAddr::new(serve.host, serve.port);
        let server = match specmock::MockServer::serve(apis.clone(), address).await {
            Ok(s) => s,
            Err(e) => return fail(&format!("cannot listen on {address}: {e} (try --port 0 for a free port)")),
        };
        print!("{}", specmock::mock_server::banner(&server.uri(), &apis));
        let _ = tokio::signal::ctrl_c().await;
        drop(server);
        ExitCode::SUCCESS
    })
}
