//! The `specmock` binary: the command line lives in the library (`src/cli/`).

/// mimalloc: writes allocate and free many small JSON nodes, where glibc's allocator spent a third
/// of a transfer's time (see the commit that added it for the figures). Built without its
/// transparent-huge-page advice (`no_thp`): with it, each touch of a fresh arena page faulted in
/// 2 MiB, and a server under the reliability test's load kept 40 MB more resident.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`'s place in mimalloc 3's `mi_option_t` (the sys crate names only the
/// older options).
const PURGE_DELAY: i32 = 15;

fn main() -> std::process::ExitCode {
    // Memory freed goes back to the system at once rather than a second later, so a burst of large
    // answers does not stack up resident memory.
    // SAFETY: a plain option setter, called before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
    specmock::cli::main()
}
