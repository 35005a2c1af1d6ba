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
#[derive(Clone, Debug)]
pub(crate) struct StoreCache {
    dir: PathBuf,
}

impl StoreCache {
    /// Stores kept in `dir`, created when the first one is written.
    pub(crate) fn in_dir(dir: impl Into<PathBuf>) -> StoreCache {
        StoreCache { dir: dir.into() }
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
        let path = self.path(api, origin);
        let file = File::open(&path).ok()?;
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
        let partial = path.with_extension(format!("partial-{}", std::process::id()));
        let opened = std::fs::create_dir_all(&self.dir).and_then(|()| File::create(&partial));
        let file = match opened {
            Ok(file) => file,
            Err(e) => {
                tracing::warn!("cannot write a snapshot in {}: {e}; starts will not be quicker", self.dir.display());
                return None;
            }
        };
        let mut writer = CacheWriter { file: Some(BufWriter::with_capacity(1 << 16, file)), partial, path };
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
    /// The records kept parsed.
    pub(crate) fn records(&self) -> Result<Vec<Value>, String> {
        if self.records.is_empty() {
            return Ok(Vec::new());
        }
        serde_json::from_str(&self.records).map_err(|e| format!("kept records: {e}"))
    }
}

/// Writes one snapshot; it takes the snapshot's name only when [`CacheWriter::commit`]ted,
/// so a load that fails half-way leaves no snapshot behind.
pub(crate) struct CacheWriter {
    file: Option<BufWriter<File>>,
    partial: PathBuf,
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
            tracing::warn!("cannot write {}: {e}; starts will not be quicker", self.partial.display());
            self.file = None;
        }
    }

    /// Finishes the snapshot and gives it its name.
    pub(crate) fn commit(mut self) {
        let Some(file) = self.file.take() else { return };
        let done =
            file.into_inner().map_err(|e| e.into_error()).and_then(|_| std::fs::rename(&self.partial, &self.path));
        match done {
            Ok(()) => tracing::info!("wrote {}", self.path.display()),
            Err(e) => tracing::warn!("cannot write {}: {e}; starts will not be quicker", self.path.display()),
        }
    }
}

impl Drop for CacheWriter {
    fn drop(&mut self) {
        // Gone already once committed; otherwise the partial file must not stay behind.
        let _ = std::fs::remove_file(&self.partial);
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
