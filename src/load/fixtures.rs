//! Where an API's fixture files come from: embedded in the binary, a folder on disk, or the
//! seeded generator; and the identities file beside them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use include_dir::Dir;

use crate::behaviour::identities::Identities;
use crate::bundled::{embedded_text, release_pages, BUNDLED_FIXTURES};
use crate::error::LoadError;

/// Where fixture files come from.
#[derive(Clone, Debug)]
pub(crate) enum Files {
    /// Compiled into the binary.
    Embedded(&'static Dir<'static>),
    /// A folder on disk.
    Disk(PathBuf),
    /// One API's files generated in memory (`--scale`), over the embedded files.
    Generated(Arc<Generated>),
}

/// One API's fixtures made by the seeded generator, over the embedded files. They are generated
/// on the first read, so a start served from a snapshot never generates them, and each is handed
/// out once, so a large file is freed as soon as its collection is loaded.
#[derive(Debug)]
pub(crate) struct Generated {
    api: String,
    seed: u64,
    scale: u32,
    files: std::sync::Mutex<Option<HashMap<String, String>>>,
}

impl Generated {
    /// The fixtures of `api` at `scale` from `seed` (none for an API without a generator).
    pub(crate) fn new(api: &str, seed: u64, scale: u32) -> Generated {
        Generated { api: api.to_string(), seed, scale, files: Default::default() }
    }

    fn take(&self, rel: &str) -> Option<String> {
        let name = rel.strip_prefix(&self.api)?.strip_prefix('/')?;
        // The generator makes records; the behaviour file stays as embedded, and reading it
        // must not set off a generation that a snapshot would make needless.
        if name == "behaviour.yaml" {
            return None;
        }
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let files = files.get_or_insert_with(|| {
            let started = std::time::Instant::now();
            let generated = crate::generate::generate(&self.api, self.seed, self.scale).unwrap_or_default();
            tracing::info!(
                scale = self.scale,
                ms = started.elapsed().as_millis() as u64,
                "generated the {} fixtures",
                self.api
            );
            generated.into_iter().map(|file| (file.name, file.text)).collect()
        });
        files.remove(name)
    }
}

impl Files {
    /// The text of `rel`, None when it does not exist.
    pub(crate) fn read(&self, rel: &str) -> Result<Option<Cow<'_, str>>, LoadError> {
        let embedded = |rel: &str| BUNDLED_FIXTURES.get_file(rel).map(|f| embedded_text(f.contents()));
        match self {
            Files::Embedded(dir) => Ok(dir.get_file(rel).map(|f| embedded_text(f.contents()))),
            Files::Generated(generated) => Ok(generated.take(rel).map(Cow::Owned).or_else(|| embedded(rel))),
            Files::Disk(root) => {
                let path = root.join(rel);
                match std::fs::read_to_string(&path) {
                    Ok(text) => Ok(Some(Cow::Owned(text))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(LoadError::Read { file: path.display().to_string(), message: e.to_string() }),
                }
            }
        }
    }

    /// Names where the files come from, for a snapshot's file name and key. Embedded and
    /// generated files are part of the binary, which the key covers; files on disk are not, and
    /// their bytes go into the key as well (see [`Files::fingerprint`]).
    pub(crate) fn origin(&self) -> String {
        match self {
            Files::Embedded(_) => "embedded".to_string(),
            Files::Disk(root) => format!("disk {}", root.display()),
            Files::Generated(g) => format!("generated {} seed {} scale {}", g.api, g.seed, g.scale),
        }
    }

    /// Adds what `rel` holds to a snapshot key: its bytes when it is on disk.
    pub(crate) fn fingerprint(&self, rel: &str, key: &mut crate::store::cache::Key) -> Result<(), LoadError> {
        if let Files::Disk(_) = self {
            match self.read(rel)? {
                Some(text) => key.add(text.as_bytes()),
                None => key.add(b"(missing)"),
            }
        }
        Ok(())
    }

    /// Says `rel` has been read and is no longer needed in memory.
    pub(crate) fn done(&self, rel: &str) {
        let embedded = match self {
            Files::Embedded(dir) => dir.get_file(rel),
            Files::Generated(_) => BUNDLED_FIXTURES.get_file(rel),
            Files::Disk(_) => None,
        };
        if let Some(file) = embedded {
            release_pages(file.contents());
        }
    }

    /// How to name `rel` in messages.
    pub(crate) fn display(&self, rel: &str) -> String {
        match self {
            Files::Embedded(_) | Files::Generated(_) => format!("fixtures/{rel}"),
            Files::Disk(root) => root.join(rel).display().to_string(),
        }
    }
}

/// Reads `identities.json` from a fixtures root; no file means no identities.
pub(crate) fn load_identities(files: &Files) -> Result<Identities, LoadError> {
    match files.read("identities.json")? {
        None => Ok(Identities::default()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| LoadError::Fixture { file: files.display("identities.json"), message: e.to_string() }),
    }
}
