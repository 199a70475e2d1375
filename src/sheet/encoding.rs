//! How the bytes of a delimited file become text. One pass before reading decides it and
//! computes the file's SHA-256: a byte-order mark, the encoding the user named, or the bytes
//! themselves (UTF-8; Windows-1252 when not one multi-byte UTF-8 sequence is in it; both, cell
//! by cell, when the file mixes them, as a UTF-8 file with lines pasted from a Windows-1252 one
//! does).

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use sha2::Digest;

use super::{SheetError, hex};

/// How the bytes of a delimited file become text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Decoding {
    /// UTF-8 throughout (a field that is not is a defect of its row: the user said UTF-8, or
    /// there is nothing to fall back to).
    Utf8,
    /// Transcoded as a whole (UTF-16, a single-byte encoding the user named or the bytes show).
    Whole(&'static Encoding),
    /// Mostly one, some lines the other: each field is read as UTF-8 when it is valid UTF-8,
    /// else as Windows-1252, and a row with a field in the minority's encoding says so.
    Mixed { utf8_majority: bool },
}

/// What the first pass learned.
pub(super) struct Scan {
    pub decoding: Decoding,
    pub bom_len: usize,
    pub sha256: String,
    /// The first 64 KiB, decoded, for delimiter detection.
    pub sample: String,
}

/// Counts lines by what their bytes are: with a valid multi-byte UTF-8 sequence, and with a
/// byte that is not UTF-8. Fed chunk by chunk; lines of any length cost nothing extra.
#[derive(Default)]
struct LineKinds {
    utf8_lines: u64,
    bad_lines: u64,
    line_utf8: bool,
    line_bad: bool,
    /// The start of a sequence cut by the chunk's end.
    carry: Vec<u8>,
}

impl LineKinds {
    fn end_line(&mut self) {
        // A line with both counts as both: its UTF-8 is evidence that the file is not
        // Windows-1252 throughout, and each of its fields is read by what its bytes are.
        self.utf8_lines += u64::from(self.line_utf8);
        self.bad_lines += u64::from(self.line_bad);
        self.line_utf8 = false;
        self.line_bad = false;
    }

    /// A run of valid UTF-8: marks the line, ending lines at each line end (LF, or CR alone as
    /// old Mac files have it; CRLF ends one line, the empty one between counts for nothing).
    fn valid(&mut self, run: &[u8]) {
        let line_end = |b: &u8| *b == b'\n' || *b == b'\r';
        if run.is_ascii() {
            // The line ends at the first line end; the lines after it in the run are ASCII.
            if run.iter().any(line_end) {
                self.end_line();
            }
            return;
        }
        for line in run.split_inclusive(line_end) {
            if !line.is_ascii() {
                self.line_utf8 = true;
            }
            if line.last().is_some_and(line_end) {
                self.end_line();
            }
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        let joined;
        let mut data = chunk;
        if !self.carry.is_empty() {
            let mut c = std::mem::take(&mut self.carry);
            c.extend_from_slice(chunk);
            joined = c;
            data = &joined;
        }
        loop {
            match std::str::from_utf8(data) {
                Ok(_) => {
                    self.valid(data);
                    return;
                }
                Err(e) => {
                    let (ok, rest) = data.split_at(e.valid_up_to());
                    self.valid(ok);
                    match e.error_len() {
                        Some(n) => {
                            self.line_bad = true;
                            data = &rest[n..];
                        }
                        None => {
                            self.carry = rest.to_vec();
                            return;
                        }
                    }
                }
            }
        }
    }

    fn finish(&mut self) {
        if !self.carry.is_empty() {
            self.line_bad = true;
            self.carry.clear();
        }
        self.end_line();
    }
}

pub(super) fn scan(
    path: &Path,
    display: &str,
    forced: Option<&'static Encoding>,
) -> Result<Scan, SheetError> {
    let io = |source| SheetError::Io {
        path: display.to_string(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut head: Vec<u8> = Vec::new();
    let mut kinds = LineKinds::default();
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        hasher.update(chunk);
        if head.len() < 64 * 1024 {
            head.extend_from_slice(&chunk[..chunk.len().min(64 * 1024 - head.len())]);
        }
        kinds.feed(chunk);
    }
    kinds.finish();
    let (bom_encoding, bom_len) = match Encoding::for_bom(&head) {
        Some((enc, len)) => (Some(enc), len),
        None => (None, 0),
    };
    let decoding = match forced.or(bom_encoding.filter(|e| *e != UTF_8)) {
        Some(e) if e == UTF_8 => Decoding::Utf8,
        Some(e) => Decoding::Whole(e),
        None if kinds.bad_lines == 0 => Decoding::Utf8,
        // Not a single multi-byte UTF-8 sequence: what a European Excel saves as "CSV".
        None if kinds.utf8_lines == 0 && bom_encoding.is_none() => Decoding::Whole(WINDOWS_1252),
        None => Decoding::Mixed {
            utf8_majority: bom_encoding == Some(UTF_8) || kinds.utf8_lines >= kinds.bad_lines,
        },
    };
    let encoding = match decoding {
        Decoding::Whole(e) => e,
        _ => UTF_8,
    };
    // A forced encoding still skips its own BOM, but not another encoding's.
    let bom_len = if bom_encoding == Some(encoding) {
        bom_len
    } else {
        0
    };
    let (sample, _) = encoding.decode_without_bom_handling(&head[bom_len.min(head.len())..]);
    Ok(Scan {
        decoding,
        bom_len,
        sha256: hex(&hasher.finalize()),
        sample: sample.into_owned(),
    })
}

/// A field as text, by the file's decoding; `Err` with its lossy text when its bytes are not
/// valid in it, `Ok((text, true))` when it was read in the minority's encoding of a mixed
/// file.
pub(super) fn decode_field(
    field: &[u8],
    decoding: Decoding,
) -> Result<(Cow<'_, str>, bool), String> {
    match (std::str::from_utf8(field), decoding) {
        (Ok(s), Decoding::Mixed { utf8_majority }) => {
            Ok((Cow::Borrowed(s), !utf8_majority && !s.is_ascii()))
        }
        (Ok(s), _) => Ok((Cow::Borrowed(s), false)),
        (Err(_), Decoding::Mixed { utf8_majority }) => {
            let (text, _) = WINDOWS_1252.decode_without_bom_handling(field);
            Ok((text, utf8_majority))
        }
        (Err(_), _) => Err(String::from_utf8_lossy(field).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoding_of(bytes: &[u8]) -> Decoding {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, bytes).unwrap();
        scan(&path, "t.csv", None).unwrap().decoding
    }

    #[test]
    fn utf8_beside_a_windows_1252_byte_on_one_line_is_still_utf8() {
        // No line is clean UTF-8, but one has UTF-8 in it: reading it all as Windows-1252
        // would make `MÃ¼ller` of Müller.
        let d = decoding_of(b"Name;City\nM\xC3\xBCller;K\xF6ln\n");
        assert!(matches!(d, Decoding::Mixed { .. }), "{d:?}");
        assert_eq!(decode_field(b"M\xC3\xBCller", d).unwrap().0, "M\u{fc}ller");
        assert_eq!(decode_field(b"K\xF6ln", d).unwrap().0, "K\u{f6}ln");
    }

    #[test]
    fn lines_ended_by_cr_alone_are_lines() {
        let d = decoding_of(b"Name\rM\xC3\xBCller\rK\xF6ln\rJos\xC3\xA9\r");
        assert_eq!(
            d,
            Decoding::Mixed {
                utf8_majority: true
            }
        );
        assert_eq!(
            decoding_of(b"Name\r\nK\xF6ln\r\nM\xFCller\r\n"),
            Decoding::Whole(WINDOWS_1252)
        );
        assert_eq!(decoding_of("Name\r\nMüller\r\n".as_bytes()), Decoding::Utf8);
    }
}
