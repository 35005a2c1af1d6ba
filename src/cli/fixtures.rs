//! `specmock fixtures`: seeded fixture data, and the JSON Schemas of the fixture formats.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::cli::fail;

#[derive(Subcommand)]
pub(crate) enum Fixtures {
    /// Write seeded fixture records for one API: the same seed and scale give the same bytes.
    Generate {
        /// Which API: oes-partners or prepay-balance.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(crate::generate::APIS))]
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

pub(crate) fn run(command: Fixtures) -> ExitCode {
    match command {
        Fixtures::Generate { api, seed, scale, out } => {
            let files = crate::generate::generate(&api, seed, scale).expect("clap checks the API name");
            let dir = out.unwrap_or_else(|| PathBuf::from("fixtures").join(&api));
            match crate::generate::write(&dir, &files) {
                Ok(()) => {
                    for f in &files {
                        println!("wrote {} ({} records)", dir.join(&f.name).display(), f.records);
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&format!("{}: {e}", dir.display())),
            }
        }
        Fixtures::Schema { out } => {
            let writes = [
                ("behaviour.schema.json", crate::behaviour::Behaviour::json_schema()),
                ("identities.schema.json", crate::behaviour::identities::identities_json_schema()),
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
