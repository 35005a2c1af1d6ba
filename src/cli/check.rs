//! `specmock check`: loads and validates specs and fixtures, then exits.

use std::process::ExitCode;

use crate::cli::{fail, Sources};

pub(crate) fn run(sources: &Sources) -> ExitCode {
    match sources.origin().load(None) {
        Ok(apis) => {
            for api in &apis {
                println!(
                    "ok  {} ({} operations, {} bound records)",
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
