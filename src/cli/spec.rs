//! `specmock spec export`: writes each API's OpenAPI document as served at
//! `/__specmock/apis/NAME/openapi.json`, for generating clients without a running server.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::cli::{fail, Sources};

#[derive(Subcommand)]
pub(crate) enum Spec {
    /// Write each API's document (JSON, `servers` pointing at --base-url) as NAME.openapi.json.
    Export(Export),
}

#[derive(Args)]
pub(crate) struct Export {
    #[command(flatten)]
    sources: Sources,
    /// Folder to write into; created if missing.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
    /// The origin generated clients will call: where specmock serves.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:4010")]
    base_url: String,
}

pub(crate) fn run(command: Spec) -> ExitCode {
    let Spec::Export(export) = command;
    let apis = match export.sources.origin().load(None) {
        Ok(apis) => apis,
        Err(e) => return fail(&e.to_string()),
    };
    if let Err(e) = std::fs::create_dir_all(&export.out) {
        return fail(&format!("cannot create {}: {e}", export.out.display()));
    }
    let origin = export.base_url.trim_end_matches('/');
    for api in &apis {
        let path = export.out.join(format!("{}.openapi.json", api.api.name));
        let text = serde_json::to_string_pretty(&api.api.published(origin)).expect("a JSON value serialises");
        if let Err(e) = std::fs::write(&path, text + "\n") {
            return fail(&format!("cannot write {}: {e}", path.display()));
        }
        println!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}
