//! Durability on disk: what the journal and the atomic writes of `output` need beyond
//! `File::sync_all`, so that a power cut, not just a killed process, leaves the journal's lines
//! and a renamed file in place.

use std::path::Path;

/// Makes a new or renamed name in `path`'s directory durable (Unix; elsewhere a no-op).
pub fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })
    {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = path;
}
