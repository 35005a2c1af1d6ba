//! `specmock check`: loads and validates specs and fixtures, then exits.

use std::process::ExitCode;

use crate::cli::{fail, Sources};

pub(crate) fn run(sources: &Sources) -> ExitCode {
    match sources.origin().load(None) {
        Ok(apis) => {
            for api in &apis {
                for line in api.api.warning_lines(usize::MAX) {
                    eprintln!("specmock: {line}");
                }
                let warned = match api.api.warnings().len() {
                    0 => String::new(),
                    1 => ", 1 warning".to_string(),
                    n => format!(", {n} warnings"),
                };
                println!(
                    "ok  {} ({} operations, {} bound records{warned})",
                    api.api.name,
                    api.api.operations.len(),
                    api.store.record_count()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}
