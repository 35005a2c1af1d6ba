//! `--watch`: reloads specs and fixtures when their files change.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::app::App;

impl App {
    /// Reloads whenever a watched file changes, checking every `period`.
    pub(crate) fn watch(self: &Arc<Self>, period: Duration) {
        let paths = self.sources.watched();
        if paths.is_empty() {
            return;
        }
        let app = self.clone();
        // Taken now, so a change made right after this call is seen.
        let mut last = fingerprint(&paths);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                let now = fingerprint(&paths);
                if now == last {
                    continue;
                }
                last = now;
                let app = app.clone();
                match tokio::task::spawn_blocking(move || app.reload()).await {
                    Ok(Ok(())) => tracing::warn!("reloaded specs and fixtures"),
                    Ok(Err(e)) => tracing::error!("reload refused, the last good state keeps serving: {e}"),
                    Err(e) => tracing::error!("reload failed: {e}"),
                }
            }
        });
    }
}

/// Modification times and sizes of every file under `paths`.
fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(path) = stack.pop() {
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => {
                if let Ok(entries) = std::fs::read_dir(&path) {
                    stack.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
                }
            }
            Ok(meta) => out.push((path, meta.modified().ok(), meta.len())),
            Err(_) => out.push((path, None, 0)),
        }
    }
    out.sort();
    out
}
