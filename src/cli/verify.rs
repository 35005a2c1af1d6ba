//! `specmock verify`: contract-tests a running provider against a spec.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::cli::fail;
use crate::contract::verify::{self, Config};
use crate::openapi::Api;

#[derive(Args)]
pub(crate) struct Verify {
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
    /// Also send the operations that change data (POST, PUT, PATCH, DELETE); without it they are
    /// skipped, so a shared staging service is left as it was.
    #[arg(long)]
    writes: bool,
}

pub(crate) fn run(v: Verify) -> ExitCode {
    let api = match Api::from_file(&v.spec) {
        Ok(a) => a,
        Err(e) => return fail(&e.to_string()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime starts");
    let config = Config { base_url: v.base_url, token: v.token, negative: v.negative, writes: v.writes };
    let report = runtime.block_on(verify::run(&api, &config));
    print!("{}", report.text());
    if let Some(path) = v.junit {
        if let Err(e) = std::fs::write(&path, report.junit(&api.name)) {
            return fail(&format!("{}: {e}", path.display()));
        }
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
