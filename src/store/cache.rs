//! Keeps each API's compiled store on disk, so a restart with unchanged inputs skips parsing,
//! validating, indexing and rendering its fixtures.
//!
//! A snapshot is written only once every record of the API has passed validation, and it carries
//! a key over everything the store is made from: this binary, the spec, the behaviour file, and
//! the fixtures (their bytes; for embedded or generated data, how they were made). A snapshot
//! whose key differs, or that does not read back whole and consistent, is ignored and rewritten,
//! so a snapshot can make a start quicker but never change what is served.
//!
//! The layout: a magic line and the key, then one chunk per collection, in the behaviour file's
//! order: the length of its postcard-encoded metadata, the metadata, each view's raw bytes, and a
//! checksum of the metadata and bytes, so a damaged byte anywhere is found, not served.

use std::fs::File;
use std::hash::{BuildHasher, DefaultHasher, Hasher};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::query::{Query, QueryParts, QueryPartsRef};
use crate::store::render::Rendered;

/// Bumped whenever the layout or anything encoded in it changes.
const MAGIC: &[u8; 20] = b"specmock snapshot 1\n";

/// The checksum of one collection's chunk; fixed-seeded, and the key ties it to this binary.
fn checksum() -> impl Hasher {
    foldhash::fast::FixedState::with_seed(0x5EED).build_hasher()
}

/// The store cache: a folder of compiled stores, one file per API and origin of its fixtures.
///
/// The folder may be shared or tampered with, so: only regular files are read (a FIFO or device
/// at a snapshot's name is passed over with a warning, never opened blocking); snapshots are
/// written to a fresh file made with `O_EXCL` by the tempfile crate and renamed into place, so a
/// planted symlink is never followed; partial files a killed run left are removed; and a folder
/// specmock creates is private to the user (0700).
#[derive(Clone, Debug)]
pub(crate) struct StoreCache {
    dir: PathBuf,
    swept: std::sync::Arc<std::sync::Once>,
}

/// Partial snapshot files end so, after the writer's process id and a random part.
const PARTIAL: &str = ".partial";

impl StoreCache {
    /// Stores kept in `dir`, created when the first one is written.
    pub(crate) fn in_dir(dir: impl Into<PathBuf>) -> StoreCache {
        StoreCache { dir: dir.into(), swept: std::sync::Arc::new(std::sync::Once::new()) }
    }

    /// Removes partial files whose writer is gone (killed mid-write), once per process.
    fn sweep(&self) {
        self.swept.call_once(|| {
            let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str().and_then(|n| n.strip_suffix(PARTIAL)) else { continue };
                let writer = name.split('.').nth(1).and_then(|pid| pid.parse::<u32>().ok());
                if writer.is_none_or(|pid| !alive(pid)) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        });
    }

    /// The user's cache folder for specmock: `$XDG_CACHE_HOME/specmock`, else
    /// `$HOME/.cache/specmock`; None when neither variable is set.
    pub(crate) fn default_dir() -> Option<PathBuf> {
        let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        set("XDG_CACHE_HOME")
            .or_else(|| set("HOME").map(|home| home.join(".cache")))
            .map(|cache| cache.join("specmock"))
    }

    /// The file for `api` loaded from `origin`: each origin has its own, so switching between,
    /// say, bundled and scaled data keeps both.
    pub(crate) fn path(&self, api: &str, origin: &str) -> PathBuf {
        let mut hasher = DefaultHasher::new();
        hasher.write(origin.as_bytes());
        self.dir.join(format!("{api}-{:016x}.snapshot", hasher.finish()))
    }

    /// The snapshot of `api` from `origin`, if one with this `key` is there.
    pub(crate) fn open(&self, api: &str, origin: &str, key: u64) -> Option<CacheReader> {
        self.sweep();
        let path = self.path(api, origin);
        let file = open_regular(&path)?;
        let size = file.metadata().ok()?.len();
        let mut reader = CacheReader { file: BufReader::with_capacity(1 << 16, file), left: size, path };
        let mut head = [0u8; MAGIC.len() + 8];
        if reader.read_exact(&mut head).is_err() || &head[..MAGIC.len()] != MAGIC {
            tracing::info!("{} is not a snapshot of this format; it will be rewritten", reader.path.display());
            return None;
        }
        if head[MAGIC.len()..] != key.to_le_bytes() {
            tracing::info!("{} was made from other inputs; it will be rewritten", reader.path.display());
            return None;
        }
        Some(reader)
    }

    /// Starts writing the snapshot of `api` from `origin`; None, with a warning, when the folder
    /// cannot be written (serving goes on without a snapshot).
    pub(crate) fn create(&self, api: &str, origin: &str, key: u64) -> Option<CacheWriter> {
        let path = self.path(api, origin);
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or(api);
        let opened = private_dir(&self.dir).and_then(|()| {
            tempfile::Builder::new()
                .prefix(&format!("{stem}.{}.", std::process::id()))
                .suffix(PARTIAL)
                .tempfile_in(&self.dir)
        });
        let file = match opened {
            Ok(file) => file,
            Err(e) => {
                tracing::warn!("cannot write a snapshot in {}: {e}; starts will not be quicker", self.dir.display());
                return None;
            }
        };
        let mut writer = CacheWriter { file: Some(BufWriter::with_capacity(1 << 16, file)), path };
        writer.put(MAGIC).and_then(|()| writer.put(&key.to_le_bytes())).ok()?;
        Some(writer)
    }
}

/// Builds a snapshot key: everything a store is made from goes in, in a fixed order.
pub(crate) struct Key(DefaultHasher);

impl Key {
    /// A key that starts with this binary's identity (path, size and modification time), so a
    /// rebuilt binary never reads a snapshot an older one wrote. None when the binary cannot be
    /// found, and then no snapshot is used.
    pub(crate) fn new() -> Option<Key> {
        let exe = std::env::current_exe().ok()?;
        let meta = std::fs::metadata(&exe).ok()?;
        let modified = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
        let mut key = Key(DefaultHasher::new());
        key.add(MAGIC);
        key.add(env!("CARGO_PKG_VERSION").as_bytes());
        key.add(exe.as_os_str().as_encoded_bytes());
        key.add(&meta.len().to_le_bytes());
        key.add(&modified.as_nanos().to_le_bytes());
        Some(key)
    }

    /// Adds one input; each is length-prefixed so two inputs never run together.
    pub(crate) fn add(&mut self, bytes: &[u8]) {
        self.0.write_u64(bytes.len() as u64);
        self.0.write(bytes);
    }

    pub(crate) fn finish(&self) -> u64 {
        self.0.finish()
    }
}

#[derive(Serialize)]
struct CollectionOut<'a> {
    keys: &'a [String],
    aliases: Vec<(String, String)>,
    records: String,
    queries: Vec<QueryPartsRef<'a>>,
    /// Each view's record ends, holes and byte length; the bytes follow the metadata.
    views: Vec<(&'a [usize], &'a [usize], usize)>,
}

/// One collection as a snapshot keeps it.
#[derive(Deserialize)]
pub(crate) struct CollectionIn {
    pub(crate) keys: Vec<String>,
    pub(crate) aliases: Vec<(String, String)>,
    /// The records kept parsed (tenants and join targets), as a JSON array; empty otherwise.
    records: String,
    pub(crate) queries: Vec<QueryParts>,
    views: Vec<(Vec<usize>, Vec<usize>, usize)>,
}

impl CollectionIn {
    /// The records kept parsed, to parse on first use; None when none were kept.
    pub(crate) fn records(&mut self) -> Option<crate::store::records::Records> {
        let text = std::mem::take(&mut self.records);
        (!text.is_empty()).then(|| crate::store::records::Records::lazy(text))
    }
}

/// Writes one snapshot; it takes the snapshot's name only when [`CacheWriter::commit`]ted,
/// so a load that fails half-way leaves no snapshot behind.
pub(crate) struct CacheWriter {
    /// The partial file, removed when dropped uncommitted.
    file: Option<BufWriter<tempfile::NamedTempFile>>,
    path: PathBuf,
}

impl CacheWriter {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let file = self.file.as_mut().ok_or_else(|| std::io::Error::other("the snapshot was abandoned"))?;
        file.write_all(bytes)
    }

    /// Appends one collection: its keys and aliases, the records kept parsed, each binding's
    /// query parts and each view's bytes. A write error abandons the snapshot, with a warning.
    pub(crate) fn collection(
        &mut self,
        index: &crate::store::KeyIndex,
        records: &[Value],
        queries: &[&Query],
        views: &[&Rendered],
    ) {
        let out = CollectionOut {
            keys: &index.key_of,
            aliases: index.aliases(),
            records: if records.is_empty() {
                String::new()
            } else {
                serde_json::to_string(records).expect("JSON values serialise")
            },
            queries: queries.iter().map(|q| q.parts()).collect(),
            views: views.iter().map(|v| v.parts()).map(|(bytes, ends, holes)| (ends, holes, bytes.len())).collect(),
        };
        let written = postcard::to_stdvec(&out).map_err(std::io::Error::other).and_then(|meta| {
            let mut sum = checksum();
            self.put(&(meta.len() as u64).to_le_bytes())?;
            self.put(&meta)?;
            sum.write(&meta);
            for view in views {
                self.put(view.parts().0)?;
                sum.write(view.parts().0);
            }
            self.put(&sum.finish().to_le_bytes())
        });
        if let Err(e) = written {
            tracing::warn!("cannot write {}: {e}; starts will not be quicker", self.path.display());
            self.file = None;
        }
    }

    /// Finishes the snapshot and gives it its name.
    pub(crate) fn commit(mut self) {
        let Some(file) = self.file.take() else { return };
        let done = file
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|partial| partial.persist(&self.path).map(drop).map_err(|e| e.error));
        match done {
            Ok(()) => tracing::info!("wrote {}", self.path.display()),
            Err(e) => tracing::warn!("cannot write {}: {e}; starts will not be quicker", self.path.display()),
        }
    }
}

/// Opens `path` for reading if it is a regular file; anything else (missing, a FIFO, a device, a
/// folder) is None, with a warning for what is there but not a file. Opened non-blocking so a
/// FIFO cannot hang the start.
fn open_regular(path: &Path) -> Option<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).ok()?;
    match file.metadata() {
        Ok(meta) if meta.is_file() => Some(file),
        Ok(_) => {
            tracing::warn!("{} is not a regular file; the store is built from the fixtures", path.display());
            None
        }
        Err(_) => None,
    }
}

/// Creates `dir` (and its parents) if missing; folders it creates are the user's alone.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Whether process `pid` still runs (so its partial file may still be written).
fn alive(pid: u32) -> bool {
    #[cfg(target_os = "linux")]
    {
        Path::new(&format!("/proc/{pid}")).exists()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        true
    }
}

/// Reads one snapshot, collection by collection.
pub(crate) struct CacheReader {
    file: BufReader<File>,
    /// Bytes not read yet, so a damaged length cannot ask for more than the file holds.
    left: u64,
    path: PathBuf,
}

impl CacheReader {
    /// Where it is read from.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        self.file.read_exact(buf)?;
        self.left = self.left.saturating_sub(buf.len() as u64);
        Ok(())
    }

    fn read_vec(&mut self, len: u64) -> Result<Vec<u8>, String> {
        if len > self.left {
            return Err(format!("a part of {len} bytes is longer than the {} left", self.left));
        }
        let mut bytes = Vec::with_capacity(len as usize);
        (&mut self.file).take(len).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        if bytes.len() as u64 != len {
            return Err("the file ends early".into());
        }
        self.left -= len;
        Ok(bytes)
    }

    /// The next collection and its views' bytes.
    pub(crate) fn collection(&mut self) -> Result<(CollectionIn, Vec<Rendered>), String> {
        let mut len = [0u8; 8];
        self.read_exact(&mut len).map_err(|e| e.to_string())?;
        let meta = self.read_vec(u64::from_le_bytes(len))?;
        let mut sum = checksum();
        sum.write(&meta);
        let mut collection: CollectionIn = postcard::from_bytes(&meta).map_err(|e| e.to_string())?;
        drop(meta);
        let mut views = Vec::with_capacity(collection.views.len());
        for (ends, holes, len) in std::mem::take(&mut collection.views) {
            let bytes = self.read_vec(len as u64)?;
            sum.write(&bytes);
            views.push(Rendered::from_parts(bytes, ends, holes)?);
        }
        let mut kept = [0u8; 8];
        self.read_exact(&mut kept).map_err(|e| e.to_string())?;
        if u64::from_le_bytes(kept) != sum.finish() {
            return Err("its checksum does not match its bytes".into());
        }
        Ok((collection, views))
    }

    /// Says whether the whole file has been read: a snapshot with bytes to spare is not trusted.
    pub(crate) fn finished(&self) -> bool {
        self.left == 0
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_fifo_at_the_snapshot_path_is_passed_over_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let cache = StoreCache::in_dir(dir.path());
        let path = cache.path("api", "bundled");
        let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads the NUL-terminated path only.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        assert!(cache.open("api", "bundled", 1).is_none());
        // A snapshot written now replaces it.
        let writer = cache.create("api", "bundled", 1).unwrap();
        writer.commit();
        assert!(std::fs::metadata(&path).unwrap().is_file());
        assert!(cache.open("api", "bundled", 1).is_some());
    }

    #[test]
    fn partial_files_of_gone_writers_are_removed_and_created_folders_are_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("made/here");
        let cache = StoreCache::in_dir(&dir);
        let writer = cache.create("api", "bundled", 1).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        let gone = dir.join("api-0.4194305.abc.partial"); // above the kernel's pid limit
        let ours = dir.join(format!("api-0.{}.abc.partial", std::process::id()));
        std::fs::write(&gone, b"half").unwrap();
        std::fs::write(&ours, b"half").unwrap();
        drop(writer);
        let partials = || {
            std::fs::read_dir(&dir)
                .unwrap()
                .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "partial"))
                .count()
        };
        assert_eq!(partials(), 2, "the abandoned writer removed its own partial file");
        assert!(cache.open("api", "bundled", 1).is_none());
        assert!(!gone.exists(), "a dead writer's partial file is removed");
        assert!(ours.exists(), "a live writer's is left alone");
    }
}
