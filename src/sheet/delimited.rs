//! CSV, TSV and TXT as Excel and European Excel save them: the delimiter is detected among
//! `,` `;` tab `|`; the encoding is UTF-8 (with or without BOM), UTF-16 LE/BE with a BOM
//! ("Unicode text"), or Windows-1252 when the bytes are not UTF-8 (what a German or French
//! Excel writes as "CSV"). Quoted newlines, CRLF or LF. Every cell arrives as text, so leading
//! zeros and long ids survive untouched.
//!
//! One pass over the bytes before reading decides the encoding (a single invalid byte deep in
//! the file is enough to rule out UTF-8) and computes the file's SHA-256 for the Summary.

use std::io::{BufReader, Read};
use std::path::Path;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use sha2::Digest;

use super::{Cell, Format, ReadOptions, RowNum, RowRouter, SheetError, SourceInfo, hex};

/// Copies stdin to a temporary file so that it can be sniffed and read twice.
pub fn spool_stdin() -> Result<tempfile::NamedTempFile, SheetError> {
    let io = |source| SheetError::Io {
        path: "-".into(),
        source,
    };
    let mut file = tempfile::NamedTempFile::new().map_err(io)?;
    std::io::copy(&mut std::io::stdin().lock(), &mut file).map_err(io)?;
    Ok(file)
}

/// What the first pass learned.
struct Scan {
    encoding: &'static Encoding,
    bom_len: usize,
    sha256: String,
    /// The first 64 KiB, decoded, for delimiter detection.
    sample: String,
}

fn scan(path: &Path, display: &str, forced: Option<&'static Encoding>) -> Result<Scan, SheetError> {
    let io = |source| SheetError::Io {
        path: display.to_string(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut head: Vec<u8> = Vec::new();
    let mut utf8_ok = true;
    let mut carry: Vec<u8> = Vec::new();
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
        if utf8_ok {
            carry.extend_from_slice(chunk);
            match std::str::from_utf8(&carry) {
                Ok(_) => carry.clear(),
                Err(e) if e.error_len().is_none() => {
                    // An incomplete sequence at the end: keep it for the next chunk.
                    carry.drain(..e.valid_up_to());
                }
                Err(_) => {
                    utf8_ok = false;
                    carry.clear();
                }
            }
        }
    }
    if !carry.is_empty() {
        utf8_ok = false;
    }
    let (bom_encoding, bom_len) = match Encoding::for_bom(&head) {
        Some((enc, len)) => (Some(enc), len),
        None => (None, 0),
    };
    let encoding = forced
        .or(bom_encoding)
        .unwrap_or(if utf8_ok { UTF_8 } else { WINDOWS_1252 });
    // A forced encoding still skips its own BOM, but not another encoding's.
    let bom_len = if bom_encoding == Some(encoding) {
        bom_len
    } else {
        0
    };
    let (sample, _) = encoding.decode_without_bom_handling(&head[bom_len.min(head.len())..]);
    Ok(Scan {
        encoding,
        bom_len,
        sha256: hex(&hasher.finalize()),
        sample: sample.into_owned(),
    })
}

/// Picks the delimiter whose field count is the same on most of the sample's lines (tab for a
/// `.tsv` or `.tab` file).
pub fn sniff_delimiter(sample: &str, path: &Path) -> u8 {
    let candidates = [b',', b';', b'\t', b'|'];
    let tab_first = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("tsv") || e.eq_ignore_ascii_case("tab"));
    // A .tsv says what it is; commas in its values must not win.
    if tab_first {
        return b'\t';
    }
    let mut best = (b',', 0.0f64);
    // Drop the last line of the sample: it may be cut short.
    let sample = match sample.rfind('\n') {
        Some(i) if i + 1 < sample.len() => &sample[..=i],
        _ => sample,
    };
    for d in candidates {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(d)
            .has_headers(false)
            .flexible(true)
            .from_reader(sample.as_bytes());
        let counts: Vec<usize> = rdr
            .byte_records()
            .take(50)
            .filter_map(Result::ok)
            .filter(|r| r.iter().any(|f| !f.is_empty()))
            .map(|r| r.len())
            .collect();
        if counts.is_empty() {
            continue;
        }
        let mut freq = std::collections::HashMap::new();
        for c in &counts {
            *freq.entry(*c).or_insert(0usize) += 1;
        }
        let (mode, hits) = freq
            .into_iter()
            .max_by_key(|(c, n)| (*n, *c))
            .unwrap_or((1, 0));
        if mode < 2 {
            continue;
        }
        let consistency = hits as f64 / counts.len() as f64;
        let score = if consistency >= 0.9 {
            mode as f64
        } else {
            mode as f64 * consistency / 4.0
        };
        if score > best.1 {
            best = (d, score);
        }
    }
    best.0
}

pub fn open(
    path: &Path,
    display: &str,
    options: &ReadOptions,
) -> Result<super::OpenSheet, SheetError> {
    let scan = scan(path, display, options.encoding)?;
    let delimiter = options
        .delimiter
        .unwrap_or_else(|| sniff_delimiter(&scan.sample, path));
    let info = SourceInfo {
        display: display.to_string(),
        path: path.to_path_buf(),
        format: Format::Delimited,
        sheet: None,
        sha256: scan.sha256,
        header_row: RowNum(1),
        delimiter: Some(delimiter),
        encoding: Some(scan.encoding.name()),
    };
    let path = path.to_path_buf();
    let display = display.to_string();
    let wanted = options.header_row;
    let encoding = scan.encoding;
    let bom_len = scan.bom_len;
    super::start(info, move |feed| {
        let mut router = RowRouter::new(feed, wanted, None, &display);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(source) => {
                return router.fail(SheetError::Io {
                    path: display.clone(),
                    source,
                });
            }
        };
        let reader: Box<dyn Read> = if encoding == UTF_8 {
            let mut r = BufReader::with_capacity(256 * 1024, file);
            // Skip the BOM by hand; the bytes are already known to be UTF-8.
            let mut bom = vec![0u8; bom_len];
            if r.read_exact(&mut bom).is_err() {
                return router.finish();
            }
            Box::new(r)
        } else {
            let decoder = encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding))
                .build(file);
            Box::new(BufReader::with_capacity(256 * 1024, decoder))
        };
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(KeepBlankLines::new(reader, delimiter));
        let mut record = csv::ByteRecord::new();
        let mut n: u32 = 0;
        let mut header_width: Option<usize> = None;
        loop {
            match rdr.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let row = n + 1;
                    return router.fail(SheetError::Broken {
                        path: display.clone(),
                        format: "CSV",
                        message: format!("row {row}: {e}"),
                    });
                }
            }
            n += 1;
            let mut defect = None;
            let cells: Vec<Cell> = record
                .iter()
                .enumerate()
                .map(|(i, field)| match std::str::from_utf8(field) {
                    Ok("") => Cell::Empty,
                    Ok(s) => Cell::Text(s.to_string()),
                    Err(_) => {
                        defect.get_or_insert_with(|| {
                            format!(
                                "column {} holds bytes that are not valid {}; set --encoding (e.g. windows-1252)",
                                super::column_letter(i),
                                encoding.name()
                            )
                        });
                        Cell::Text(String::from_utf8_lossy(field).into_owned())
                    }
                })
                .collect();
            if let Some(w) = header_width
                && cells.len() < w
                && defect.is_none()
                && !cells.iter().all(Cell::is_blank)
            {
                defect = Some(format!(
                    "the row has {} cells but the header has {w}; a delimiter or quote may be missing",
                    cells.len()
                ));
            }
            let was_header = header_width.is_none();
            let width = cells.len();
            if !router.row(RowNum(n), cells, defect) {
                return;
            }
            if was_header && router.header_found() {
                header_width = Some(router.header_width().unwrap_or(width));
            }
        }
        router.finish();
    })
}

/// The csv crate skips empty lines, but a spreadsheet shows them as rows, and row numbers in
/// messages must be the ones users see. This adapter turns each empty line outside quotes into
/// a line holding one delimiter (two empty cells), which the reader then counts as blank.
///
/// It follows the CSV grammar just enough to know where lines start: a `"` opens a quoted
/// field only at the start of a field (so `24" monitor` is plain text), `""` inside quotes is
/// a quote, and CRLF, LF or a lone CR each end one line.
struct KeepBlankLines<R> {
    inner: R,
    delimiter: u8,
    in_quotes: bool,
    /// A quoted field just closed: a `"` now is an escaped quote (`""`).
    just_closed: bool,
    field_start: bool,
    at_line_start: bool,
    /// The last byte was a CR outside quotes: an LF now ends the same line.
    after_cr: bool,
    /// Reused read buffer, and the adapted bytes waiting to be handed out.
    raw: Vec<u8>,
    buf: Vec<u8>,
    pos: usize,
}

impl<R: Read> KeepBlankLines<R> {
    fn new(inner: R, delimiter: u8) -> Self {
        KeepBlankLines {
            inner,
            delimiter,
            in_quotes: false,
            just_closed: false,
            field_start: true,
            at_line_start: true,
            after_cr: false,
            raw: vec![0; 64 * 1024],
            buf: Vec::with_capacity(66 * 1024),
            pos: 0,
        }
    }

    fn adapt(&mut self, b: u8) {
        if self.in_quotes {
            if b == b'"' {
                self.in_quotes = false;
                self.just_closed = true;
            }
            self.buf.push(b);
            return;
        }
        let just_closed = std::mem::take(&mut self.just_closed);
        let after_cr = std::mem::take(&mut self.after_cr);
        match b {
            b'"' if self.field_start || just_closed => {
                self.in_quotes = true;
                self.field_start = false;
                self.at_line_start = false;
            }
            // The LF of a CRLF: the line already ended at the CR.
            b'\n' if after_cr => {}
            b'\n' | b'\r' => {
                if self.at_line_start {
                    self.buf.push(self.delimiter);
                }
                self.at_line_start = true;
                self.field_start = true;
                self.after_cr = b == b'\r';
            }
            d if d == self.delimiter => {
                self.field_start = true;
                self.at_line_start = false;
            }
            _ => {
                self.field_start = false;
                self.at_line_start = false;
            }
        }
        self.buf.push(b);
    }
}

impl<R: Read> Read for KeepBlankLines<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.buf.len() {
            let n = self.inner.read(&mut self.raw)?;
            if n == 0 {
                return Ok(0);
            }
            self.buf.clear();
            self.pos = 0;
            for i in 0..n {
                let b = self.raw[i];
                self.adapt(b);
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The records the csv crate reads through the adapter, as lines of `|`-joined cells.
    fn records(text: &str) -> Vec<String> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(b';')
            .from_reader(KeepBlankLines::new(text.as_bytes(), b';'))
            .records()
            .map(|r| r.unwrap().iter().collect::<Vec<_>>().join("|"))
            .collect()
    }

    #[rstest::rstest]
    #[case::lf("a;b\n\n1;2\n\n\n3;4\n", &["a|b", "|", "1|2", "|", "|", "3|4"])]
    #[case::crlf("a;b\r\n\r\n1;2\r\n\r\n\r\n3;4\r\n", &["a|b", "|", "1|2", "|", "|", "3|4"])]
    #[case::lone_cr("a;b\r\r1;2\r", &["a|b", "|", "1|2"])]
    #[case::inch_mark("a;b\n24\" monitor;x\n\n1;2\n", &["a|b", "24\" monitor|x", "|", "1|2"])]
    #[case::quoted_newlines(
        "a;b\n\"two\n\nlines\";\"say \"\"hi\"\"\"\n\n1;2\n",
        &["a|b", "two\n\nlines|say \"hi\"", "|", "1|2"]
    )]
    fn blank_lines_are_kept_once(#[case] text: &str, #[case] want: &[&str]) {
        assert_eq!(records(text), want);
    }

    #[test]
    fn sniffs_delimiters() {
        let p = Path::new("x.csv");
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n", p), b',');
        assert_eq!(sniff_delimiter("a;b;c\n1,5;2;3\n4;5,5;6\n", p), b';');
        assert_eq!(sniff_delimiter("a\tb\n1\t2\n", p), b'\t');
        assert_eq!(sniff_delimiter("a|b|c\n1|2|3\n", p), b'|');
        assert_eq!(sniff_delimiter("just one column\nvalue\n", p), b',');
        assert_eq!(
            sniff_delimiter("name;\"note, with comma\";x\n1;\"a,b,c,d\";2\n", p),
            b';'
        );
    }
}
