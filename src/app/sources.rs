//! Where a server's APIs come from: the bundled specs and fixtures, generated data at a scale,
//! or files on disk. A reload reads them again from the same place.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bundled::{BUNDLED_FIXTURES, BUNDLED_SPECS};
use crate::error::LoadError;
use crate::load::fixtures::{load_identities, Files, Generated};
use crate::load::LoadedApi;
use crate::store::cache::StoreCache;

/// Where a server's APIs come from, so that a reload reads them again.
#[derive(Clone, Debug)]
pub(crate) enum Sources {
    /// The specs and fixtures compiled into the binary.
    Bundled,
    /// Spec files, and optionally a fixtures folder, on disk.
    Files {
        /// OpenAPI documents.
        specs: Vec<PathBuf>,
        /// Folder with `<spec stem>/behaviour.yaml`, fixtures and `identities.json`.
        fixtures: Option<PathBuf>,
        /// Refuse a spec with any warning, rather than serve around it.
        strict_spec: bool,
    },
    /// The bundled specs, with the OES partner fixtures generated at this scale (seed 1): 500
    /// gives 1,000,000 allocations over 30,000 connections. The BRM data stays as bundled.
    Scaled(u32),
}

impl Sources {
    /// Loads every API, each store from `cache` when it holds one made from the same inputs,
    /// and written there when not.
    pub(crate) fn load(&self, cache: Option<&StoreCache>) -> Result<Vec<Arc<LoadedApi>>, LoadError> {
        match self {
            Sources::Bundled => load_bundled(Files::Embedded(&BUNDLED_FIXTURES), cache),
            Sources::Scaled(scale) => {
                load_bundled(Files::Generated(Arc::new(Generated::new("oes-partners", 1, *scale))), cache)
            }
            Sources::Files { specs, fixtures, strict_spec } => {
                load_files(specs, fixtures.as_deref(), cache, *strict_spec)
            }
        }
    }

    /// Files to watch for changes (none for bundled APIs).
    pub(crate) fn watched(&self) -> Vec<PathBuf> {
        match self {
            Sources::Files { specs, fixtures, .. } => specs.iter().cloned().chain(fixtures.iter().cloned()).collect(),
            _ => Vec::new(),
        }
    }
}

/// Every spec in `spec/` with its fixtures from `files`.
fn load_bundled(files: Files, cache: Option<&StoreCache>) -> Result<Vec<Arc<LoadedApi>>, LoadError> {
    let identities = Arc::new(load_identities(&files)?);
    let mut specs: Vec<_> = BUNDLED_SPECS.files().collect();
    specs.sort_by_key(|f| f.path().to_path_buf());
    specs
        .into_iter()
        .map(|file| {
            let name = api_name(file.path());
            let text = String::from_utf8_lossy(file.contents());
            let source = format!("spec/{}", file.path().display());
            // Our own specs carry no slips: any warning is a bug in spec/.
            LoadedApi::load(&name, &source, &text, Some(&files), identities.clone(), cache, true).map(Arc::new)
        })
        .collect()
}

/// Spec files from disk, each with `<fixtures>/<spec stem>/` when a fixtures folder is given.
fn load_files(
    specs: &[PathBuf],
    fixtures: Option<&Path>,
    cache: Option<&StoreCache>,
    strict: bool,
) -> Result<Vec<Arc<LoadedApi>>, LoadError> {
    let files = fixtures.map(|f| Files::Disk(f.to_path_buf()));
    let identities = Arc::new(match &files {
        Some(files) => load_identities(files)?,
        None => Default::default(),
    });
    specs
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .map_err(|e| LoadError::Read { file: path.display().to_string(), message: e.to_string() })?;
            LoadedApi::load(
                &api_name(path),
                &path.display().to_string(),
                &text,
                files.as_ref(),
                identities.clone(),
                cache,
                strict,
            )
            .map(Arc::new)
        })
        .collect()
}

/// An API's short name: its spec's file stem.
fn api_name(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}
