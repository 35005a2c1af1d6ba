//! The `specmock` binary: the command line lives in the library (`src/cli/`).

/// mimalloc: writes allocate and free many small JSON nodes, where glibc's allocator spent a third
/// of a transfer's time (see the commit that added it for the figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    specmock::cli::main()
}
