//! The specs and fixtures compiled into the binary, so it runs from any folder.

use std::borrow::Cow;

use include_dir::{include_dir, Dir};

/// The specs compiled into the binary.
pub(crate) static BUNDLED_SPECS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/spec");
/// The fixtures compiled into the binary.
pub(crate) static BUNDLED_FIXTURES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/fixtures");

/// Embedded bytes as text, borrowed when they are UTF-8 (they are, unless the build broke).
pub(crate) fn embedded_text(bytes: &'static [u8]) -> Cow<'static, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Hands the pages of an embedded file back to the kernel once it is loaded.
///
/// Embedded files live in the binary's read-only data and are read only while loading; afterwards
/// their pages would count towards the resident set for nothing. They are clean file-backed
/// pages, so dropping them loses nothing: a reload faults them back in from the binary.
pub(crate) fn release_pages(bytes: &'static [u8]) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096).max(1);
        let start = (bytes.as_ptr() as usize).next_multiple_of(page);
        let end = (bytes.as_ptr() as usize + bytes.len()) / page * page;
        if end > start {
            // SAFETY: [start, end) is whole pages inside one immutable static byte array that
            // nothing writes; MADV_DONTNEED on those clean, private, file-backed pages only drops
            // them, and the next read maps the binary's unchanged bytes again.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = bytes;
}
