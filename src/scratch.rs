//! Scratch files: the temporary copies of a user's data that a run keeps while it lasts (the
//! input's snapshot, stdin, the requests for `--emit-requests`, an export's fetched records).
//!
//! They hold customer data, so each is readable by its owner only (0600, as `tempfile` creates
//! it: nothing may copy the input's wider permissions onto it) and is removed when the run
//! ends. A run killed with SIGKILL cannot remove its own, so on Unix each scratch file is held
//! under an advisory lock for as long as it is open, and the first scratch file a process makes
//! sweeps the temporary directory of `leadsheet-` files whose lock nobody holds any more: the
//! leftovers of a killed run go with the next run, never a file a live run still reads. A run
//! ended by a signal removes its own first ([`remove_all`]).

use std::io;
use std::path::Path;

use tempfile::NamedTempFile;

/// What every scratch file's name starts with: specific, so that the sweep can never take a
/// user's own `leadsheet-notes.txt` (or the binary itself) for a leftover.
const PREFIX: &str = "leadsheet-scratch-";

/// The kinds of scratch file, and the endings they are given.
const KINDS: [&str; 4] = ["input", "stdin", "requests", "export"];

/// The random part `tempfile` puts in a name.
const RANDOM_LEN: usize = 6;

/// A leftover younger than this is never swept: its run may have created it and not yet
/// locked it, or (on NFS, where Linux emulates `flock` with POSIX locks that any close of the
/// file releases) may hold it without a lock. Hours: a nightly job's leftovers go the next
/// night, and no import runs that long.
#[cfg(unix)]
const SWEEP_AGE: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// A new scratch file named `leadsheet-scratch-{kind}-XXXXXX{suffix}` in the temporary
/// directory, removed when dropped. `kind` is one of [`KINDS`].
///
/// # Errors
/// When the temporary directory cannot take a new file.
pub fn file(kind: &str, suffix: &str) -> io::Result<NamedTempFile> {
    #[cfg(unix)]
    {
        static SWEEP: std::sync::Once = std::sync::Once::new();
        SWEEP.call_once(|| sweep(&std::env::temp_dir()));
    }
    debug_assert!(
        KINDS.contains(&kind),
        "a scratch kind the sweep does not know: {kind}"
    );
    let f = tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{kind}-"))
        .rand_bytes(RANDOM_LEN)
        .suffix(suffix)
        .tempfile()?;
    // Held until the file is closed; a failure to lock only means a later run cannot tell
    // that this file is still in use, and leaves it (it is younger than SWEEP_AGE anyway).
    #[cfg(unix)]
    let _ = f.as_file().try_lock();
    if let Ok(mut live) = LIVE.lock() {
        live.push(f.path().to_path_buf());
    }
    Ok(f)
}

/// Every scratch file this process made, for [`remove_all`]; a few per run.
static LIVE: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Removes every scratch file this process made (those already removed are skipped): for a
/// process about to end without unwinding (an interrupt), whose files would otherwise wait for
/// the next run's sweep.
pub fn remove_all() {
    if let Ok(live) = LIVE.lock() {
        for p in live.iter() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A copy of the file at `path` as a scratch file of `kind`, its extension kept (it still says
/// things: `.tsv` is tab-separated).
///
/// # Errors
/// When `path` cannot be read or the copy cannot be written.
pub fn copy_of(path: &Path, kind: &str) -> io::Result<NamedTempFile> {
    let suffix = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let mut copy = file(kind, &suffix)?;
    // Through the open handle, not `fs::copy`: that would give the copy the input's
    // permissions, often readable by everyone.
    io::copy(&mut std::fs::File::open(path)?, copy.as_file_mut())?;
    Ok(copy)
}

/// Whether `name` is one [`file`] makes: the prefix, a known kind, the random part, and at most
/// an extension after it. Bytes, not characters: any name can stand in a shared directory.
#[cfg(unix)]
fn is_scratch_name(name: &[u8]) -> bool {
    let Some(rest) = name.strip_prefix(PREFIX.as_bytes()) else {
        return false;
    };
    KINDS.iter().any(|kind| {
        rest.strip_prefix(kind.as_bytes())
            .and_then(|r| r.strip_prefix(b"-"))
            .is_some_and(|r| {
                let Some((random, ext)) = r.split_at_checked(RANDOM_LEN) else {
                    return false;
                };
                random.iter().all(u8::is_ascii_alphanumeric)
                    && (ext.is_empty() || (ext[0] == b'.' && !ext[1..].contains(&b'.')))
            })
    })
}

/// Removes the scratch files in `dir` older than [`SWEEP_AGE`] whose lock is free: their run
/// has ended without removing them.
#[cfg(unix)]
fn sweep(dir: &Path) {
    use std::os::unix::fs::MetadataExt;
    // Who this process is, as the owner of a file it creates now (no `unsafe` for getuid).
    let Some(me) = tempfile::tempfile()
        .and_then(|f| f.metadata())
        .ok()
        .map(|m| m.uid())
    else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !is_scratch_name(std::os::unix::ffi::OsStrExt::as_bytes(
            entry.file_name().as_os_str(),
        )) {
            continue;
        }
        // Regular files only (never follow a link someone else planted), of this user's.
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() || meta.uid() != me {
            continue;
        }
        let old = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age >= SWEEP_AGE);
        if !old {
            continue;
        }
        let path = entry.path();
        let Ok(f) = std::fs::File::open(&path) else {
            continue;
        };
        if f.try_lock().is_ok() {
            tracing::debug!("removing {}, left by a run that was killed", path.display());
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn age(path: &Path, secs: u64) {
        let f = std::fs::File::options().write(true).open(path).unwrap();
        let then = std::time::SystemTime::now() - std::time::Duration::from_secs(secs);
        f.set_modified(then).unwrap();
    }

    #[test]
    fn the_names_made_are_the_names_swept() {
        for kind in KINDS {
            for suffix in ["", ".csv"] {
                let f = file(kind, suffix).unwrap();
                let name = f.path().file_name().unwrap().to_string_lossy().into_owned();
                assert!(is_scratch_name(name.as_bytes()), "{name}");
            }
        }
    }

    #[test]
    fn a_copy_is_private_whatever_the_input_allows() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("leads.tsv");
        std::fs::write(&input, "a\tb\n").unwrap();
        std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o644)).unwrap();
        let copy = copy_of(&input, "input").unwrap();
        let mode = copy.as_file().metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(copy.path().to_string_lossy().ends_with(".tsv"));
        assert_eq!(std::fs::read(copy.path()).unwrap(), b"a\tb\n");
    }

    #[test]
    fn the_sweep_removes_leftovers_and_spares_live_files() {
        let dir = tempfile::tempdir().unwrap();
        let leftover = dir.path().join("leadsheet-scratch-input-dead01.csv");
        let young = dir.path().join("leadsheet-scratch-input-young1.csv");
        // A name cut in the middle of a character must not trip the sweep up.
        std::fs::write(dir.path().join("leadsheet-scratch-input-abcde\u{e9}"), "x").unwrap();
        let others = [
            "someone-else.csv",
            "leadsheet-notes.txt",
            "leadsheet-review",
            "leadsheet-scratch-input-mine.csv",
            "leadsheet-scratch-other-abcdef.csv",
        ]
        .map(|n| dir.path().join(n));
        for p in others.iter().chain([&leftover, &young]) {
            std::fs::write(p, "x").unwrap();
        }
        age(&leftover, 7 * 3600);
        for p in &others {
            age(p, 7 * 3600);
        }
        let live = dir.path().join("leadsheet-scratch-input-live01.csv");
        std::fs::write(&live, "x").unwrap();
        age(&live, 7 * 3600);
        let held = std::fs::File::open(&live).unwrap();
        held.lock().unwrap();
        sweep(dir.path());
        assert!(!leftover.exists(), "a leftover nobody holds goes");
        assert!(live.exists(), "a file a live run holds stays");
        assert!(young.exists(), "a file too young to judge stays");
        for p in &others {
            assert!(p.exists(), "a file that is not ours stays: {}", p.display());
        }
        drop(held);
    }
}
