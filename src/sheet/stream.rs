//! Inputs that can be read only once: stdin (`-`), a pipe named as a path (`<(…)` is
//! `/dev/fd/63`), a device. Each is copied whole to a private scratch file and read from the
//! copy like a file: sniffing a pipe in place would consume its first bytes, and the results
//! are written from a second pass. Its first bytes are judged before the rest is copied, by the
//! same judge as a file's (`detect.rs`), so binary data (`/dev/zero`, a gzip) is refused at
//! once with what it is, not spooled without end.

use std::io::{Read, Write};
use std::path::Path;

use super::SheetError;
use super::detect::{SNIFF, judge_head};

/// Copies `input` (`-` for stdin, or the path of a stream) to a scratch file, whose name keeps
/// the input's extension for the detection's ties.
///
/// # Errors
/// [`SheetError::NotASpreadsheet`] for bytes that are no spreadsheet, [`SheetError::Io`] when it
/// cannot be read or copied.
pub fn spool(input: &str) -> Result<tempfile::NamedTempFile, SheetError> {
    let io = |source| SheetError::Io {
        path: input.to_string(),
        source,
    };
    if input == "-" {
        return copy(std::io::stdin().lock(), input, "");
    }
    let path = Path::new(input);
    let suffix = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    copy(std::fs::File::open(path).map_err(io)?, input, &suffix)
}

fn copy(
    mut from: impl Read,
    display: &str,
    suffix: &str,
) -> Result<tempfile::NamedTempFile, SheetError> {
    let io = |source| SheetError::Io {
        path: display.to_string(),
        source,
    };
    // Up to SNIFF bytes, however few each read of a pipe returns.
    let mut head = Vec::with_capacity(SNIFF);
    (&mut from)
        .take(SNIFF as u64)
        .read_to_end(&mut head)
        .map_err(io)?;
    judge_head(&head, display)?;
    let mut file = crate::scratch::file("stdin", suffix).map_err(io)?;
    file.write_all(&head).map_err(io)?;
    std::io::copy(&mut from, &mut file).map_err(io)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pipe that hands out one byte per read.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((b, rest)), Some(slot)) => {
                    *slot = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn a_stream_is_judged_by_its_first_bytes_then_copied_whole() {
        let gzip = b"\x1f\x8b\x08\x00\x00\x00\x00\x00rest";
        let e = copy(Trickle(gzip), "-", "").unwrap_err().to_string();
        assert!(e.contains("a gzip-compressed file"), "{e}");
        // Zeros without end: refused from the first 8 KiB.
        let e = copy(std::io::repeat(0), "-", "").unwrap_err().to_string();
        assert!(e.contains("binary data"), "{e}");
        // Text in one-byte reads, longer than what is judged: all of it is copied.
        let text: Vec<u8> = b"a;b\n1;2\n".repeat(3000);
        let copied = copy(Trickle(&text), "-", ".csv").unwrap();
        assert_eq!(std::fs::read(copied.path()).unwrap(), text);
        assert!(copied.path().to_string_lossy().ends_with(".csv"));
    }
}
