//! The `specmock` command line: one file per command. `main.rs` only calls [`main`].

mod check;
mod fixtures;
mod serve;
mod spec;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::app::sources::Sources as Origin;

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
    Serve(serve::Serve),
    /// Load and validate specs and fixtures, then exit: 0 when all is well.
    Check(Sources),
    /// Generate fixture data, or the JSON Schemas of the fixture formats.
    #[command(subcommand)]
    Fixtures(fixtures::Fixtures),
    /// Contract-test a running provider against a spec: every operation, every response checked.
    Verify(verify::Verify),
    /// Export the OpenAPI documents specmock serves, for client generators.
    #[command(subcommand)]
    Spec(spec::Spec),
}

#[derive(Args)]
pub(crate) struct Sources {
    /// An OpenAPI 3.0 or 3.1 or Swagger 2.0 document (YAML or JSON) to serve instead of the
    /// bundled APIs. Repeatable. Slips such as a missing operationId are warnings.
    #[arg(long = "spec", value_name = "FILE")]
    specs: Vec<PathBuf>,
    /// Refuse a --spec document with any warning, listing them all, instead of serving around them.
    #[arg(long, requires = "specs")]
    strict_spec: bool,
    /// Folder with `<spec stem>/behaviour.yaml` and its fixtures, and `identities.json`.
    /// Without it, operations answer from the spec's examples.
    #[arg(long, value_name = "DIR", requires = "specs")]
    fixtures: Option<PathBuf>,
    /// Serve the bundled APIs with the OES partner data generated at this scale (seed 1):
    /// 500 holds 1,000,000 allocations over 30,000 connections. BRM data stays as bundled.
    #[arg(long, value_name = "K", conflicts_with = "specs", value_parser = clap::value_parser!(u32).range(1..))]
    scale: Option<u32>,
}

impl Sources {
    /// Where these flags say the APIs come from.
    fn origin(&self) -> Origin {
        if let Some(scale) = self.scale {
            Origin::Scaled(scale)
        } else if self.specs.is_empty() {
            Origin::Bundled
        } else {
            Origin::Files { specs: self.specs.clone(), fixtures: self.fixtures.clone(), strict_spec: self.strict_spec }
        }
    }
}

/// Runs the command line and says how it ended.
pub fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve(args) => serve::run(args),
        Command::Check(sources) => check::run(&sources),
        Command::Fixtures(command) => fixtures::run(command),
        Command::Verify(args) => verify::run(args),
        Command::Spec(command) => spec::run(command),
    }
}

/// Prints `specmock: MESSAGE` to stderr and fails.
fn fail(message: &str) -> ExitCode {
    eprintln!("specmock: {message}");
    ExitCode::FAILURE
}
