//! The `specmock` binary: the command line lives in the library (`src/cli/`).

fn main() -> std::process::ExitCode {
    specmock::cli::main()
}
