//! How leadsheet treats the paths it is given, in one place: a stream (a pipe, a device, a path
//! under `/dev` or `/proc` such as `/dev/stdout` or `<(…)`'s `/dev/fd/63`) is read once and
//! written as it is, and has no "beside" for the files named after it; and a small text file
//! (a mapping, the config) is read within a bound, so that a device or a wrong file is not read
//! into memory to find out it is not one.

use std::io::{self, Read};
use std::path::Path;

/// Whether `path` is a stream rather than a place that keeps a file: something that exists
/// and is neither a regular file nor a directory, or (on Unix) a path under `/dev` or `/proc`,
/// which names a stream even when it leads to a file (`/dev/stdin < leads.csv`).
pub fn is_stream(path: &Path) -> bool {
    if cfg!(unix) && (path.starts_with("/dev") || path.starts_with("/proc")) {
        return true;
    }
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// The name the files of a stream input take (`NAME.results.xlsx`, `NAME.results.journal`, in
/// the current directory): a named pipe's stem, else `stdin` (for `-`, and for `<(…)`'s
/// `/dev/fd/63`, whose number says nothing).
pub fn stream_stem(input: &Path) -> &str {
    input
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| *s != "-" && !s.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("stdin")
}

/// A small text file, or the news that it is larger than asked.
#[derive(Debug)]
pub enum Small {
    Text(String),
    /// Larger than the bound: not read further.
    TooLarge,
}

/// Reads `path` as UTF-8 text of at most `max` bytes.
///
/// # Errors
/// When it cannot be opened or read, or is not UTF-8.
pub fn read_small(path: &Path, max: u64) -> io::Result<Small> {
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(max + 1)
        .read_to_string(&mut text)?;
    Ok(if text.len() as u64 > max {
        Small::TooLarge
    } else {
        Small::Text(text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("leads.csv");
        std::fs::write(&file, "a,b\n").unwrap();
        assert!(!is_stream(&file));
        assert!(!is_stream(dir.path()));
        assert!(!is_stream(&dir.path().join("missing.csv")));
        #[cfg(unix)]
        for s in ["/dev/null", "/dev/stdout", "/dev/fd/63", "/proc/self/fd/0"] {
            assert!(is_stream(Path::new(s)), "{s}");
        }
        assert_eq!(stream_stem(Path::new("-")), "stdin");
        assert_eq!(stream_stem(Path::new("/dev/fd/63")), "stdin");
        assert_eq!(stream_stem(Path::new("/tmp/leads.csv")), "leads");
        assert!(matches!(read_small(&file, 4), Ok(Small::Text(t)) if t == "a,b\n"));
        assert!(matches!(read_small(&file, 3), Ok(Small::TooLarge)));
        #[cfg(unix)]
        assert!(matches!(
            read_small(Path::new("/dev/zero"), 1 << 20),
            Ok(Small::TooLarge)
        ));
    }
}
