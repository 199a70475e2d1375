//! CSV, TSV and TXT as Excel and European Excel save them: the delimiter is detected among
//! `,` `;` tab `|`; the encoding is UTF-8 (with or without BOM), UTF-16 LE/BE with a BOM
//! ("Unicode text"), or Windows-1252 when the bytes are not UTF-8 (what a German or French
//! Excel writes as "CSV"), cell by cell when a file mixes the two; Excel's `sep=;` first line
//! names the delimiter. Quoted newlines, CRLF or LF; rows bounded in bytes. Every cell arrives as text, so leading
//! zeros and long ids survive untouched.
//!
//! One pass over the bytes before reading decides the encoding (`encoding.rs`) and computes
//! the file's SHA-256 for the Summary.

use std::io::{BufReader, Read};
use std::path::Path;

use super::encoding::{Decoding, decode_field, scan};
use super::limits::{MAX_COLUMNS, show_size};
use super::{Cell, Format, Raw, ReadOptions, RowNum, RowRouter, SheetError, SourceInfo, clip};

/// Excel's `sep=;` first line, which names the delimiter and is not a row.
fn sep_line(sample: &str) -> Option<u8> {
    let first = sample.lines().next()?.trim_end_matches('\r');
    let inner = first.trim_matches('"');
    let rest = inner
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("sep="))
        .map(|_| &inner[4..])?;
    let mut chars = rest.chars();
    let d = chars.next()?;
    // Excel, saving the file again, pads the line with delimiters: `sep=;;;;`.
    if !d.is_ascii() || d.is_ascii_alphanumeric() || !chars.all(|c| c == d || c == '"') {
        return None;
    }
    Some(d as u8)
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
    let sep = sep_line(&scan.sample);
    let delimiter = options
        .delimiter
        .or(sep)
        .unwrap_or_else(|| sniff_delimiter(&scan.sample, path));
    let decoding = scan.decoding;
    let info = SourceInfo {
        display: display.to_string(),
        path: path.to_path_buf(),
        format: Format::Delimited,
        sheet: None,
        sha256: scan.sha256,
        header_row: RowNum(1),
        delimiter: Some(delimiter),
        encoding: Some(match decoding {
            Decoding::Utf8 => "UTF-8",
            Decoding::Whole(e) => e.name(),
            Decoding::Mixed {
                utf8_majority: true,
            } => "UTF-8, some rows windows-1252",
            Decoding::Mixed {
                utf8_majority: false,
            } => "windows-1252, some rows UTF-8",
        }),
        notes: Vec::new(),
    };
    let path = path.to_path_buf();
    let display = display.to_string();
    let options = options.clone();
    let bom_len = scan.bom_len;
    let max_row = options.limits.max_row_bytes;
    super::start(info, move |feed| {
        let mut router = RowRouter::new(feed, &options, None, &display);
        if let Some(d) = sep {
            router.note(format!(
                "its first line `sep={}` names the delimiter, as Excel reads it; that line is not a row, and rows are numbered from the line after it, as Excel shows them",
                d as char
            ));
        }
        if let Decoding::Mixed { utf8_majority } = decoding {
            let (most, some) = if utf8_majority {
                ("UTF-8", "Windows-1252")
            } else {
                ("Windows-1252", "UTF-8")
            };
            router.note(format!(
                "it is {most} but some lines are {some} (pasted from another file?): each cell is read in the encoding its bytes are in, and every row with a cell in {some} has a warning; check those rows"
            ));
        }
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(source) => {
                return router.fail(SheetError::Io {
                    path: display.clone(),
                    source,
                });
            }
        };
        let reader: Box<dyn Read> = match decoding {
            Decoding::Whole(encoding) => {
                let decoder = encoding_rs_io::DecodeReaderBytesBuilder::new()
                    .encoding(Some(encoding))
                    .build(file);
                Box::new(BufReader::with_capacity(256 * 1024, decoder))
            }
            _ => {
                let mut r = BufReader::with_capacity(256 * 1024, file);
                // Skip the BOM by hand; the bytes are read as they are.
                let mut bom = vec![0u8; bom_len];
                if r.read_exact(&mut bom).is_err() {
                    return router.finish();
                }
                Box::new(r)
            }
        };
        let mut lines = KeepBlankLines::new(reader, delimiter, max_row);
        if sep.is_some() {
            lines.skip_first_line();
        }
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(lines);
        let mut record = csv::ByteRecord::new();
        let mut n: u32 = 0;
        loop {
            let Some(next) = n.checked_add(1) else {
                return router.fail(SheetError::Broken {
                    path: display.clone(),
                    format: "CSV",
                    message: format!("it has more than {n} rows, more than leadsheet counts"),
                });
            };
            match rdr.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let row = n + 1;
                    let message = match e.kind() {
                        csv::ErrorKind::Io(io) => io.to_string(),
                        _ => e.to_string(),
                    };
                    return router.fail(SheetError::Broken {
                        path: display.clone(),
                        format: "CSV",
                        message: format!("row {row}: {message}"),
                    });
                }
            }
            n = next;
            let mut defect = None;
            let mut other: Vec<String> = Vec::new();
            // Never wider than a sheet: a row of a million delimiters makes no million cells.
            let cells: Vec<Cell> = record
                .iter()
                .take(MAX_COLUMNS + 1)
                .enumerate()
                .map(|(i, field)| match decode_field(field, decoding) {
                    Ok((s, _)) if s.is_empty() => Cell::Empty,
                    Ok((s, minority)) => {
                        if minority && other.len() < 3 {
                            other.push(format!("{} (`{}`)", super::column_letter(i), clip(&s, 30)));
                        }
                        Cell::Text(s.into_owned())
                    }
                    Err(lossy) => {
                        defect.get_or_insert_with(|| {
                            format!(
                                "column {} holds bytes that are not valid UTF-8; set --encoding (e.g. windows-1252)",
                                super::column_letter(i),
                            )
                        });
                        Cell::Text(lossy)
                    }
                })
                .collect();
            let warning = (!other.is_empty()).then(|| {
                let (what, as_) = match decoding {
                    Decoding::Mixed {
                        utf8_majority: true,
                    } => ("not UTF-8 like the rest of the file", "Windows-1252"),
                    _ => ("UTF-8, unlike the rest of the file", "UTF-8"),
                };
                if other.len() == 1 {
                    format!(
                        "column {} is {what}: read as {as_}; check that it reads right",
                        other[0]
                    )
                } else {
                    format!(
                        "columns {} are {what}: read as {as_}; check that they read right",
                        other.join(", ")
                    )
                }
            });
            if !router.row(Raw {
                row: RowNum(n),
                cells,
                defect,
                warning,
                // A value beyond the cells kept (a row of a million delimiters) is said.
                far: record
                    .iter()
                    .enumerate()
                    .skip(MAX_COLUMNS + 1)
                    .rev()
                    .find(|(_, f)| !f.iter().all(u8::is_ascii_whitespace))
                    .map(|(i, _)| i),
            }) {
                return;
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
/// a quote, and CRLF, LF or a lone CR each end one line. Knowing where rows end, it also
/// bounds them: a row longer than `max_row` bytes (a line of a gigabyte, a quote that never
/// closes and swallows the rest of the file) is an error before the reader buffers it.
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
    /// Bytes of the row being read, and the most a row may have.
    row_bytes: u64,
    max_row: u64,
    /// Dropping the first line (`sep=;`).
    skipping: bool,
    /// Reused read buffer, and the adapted bytes waiting to be handed out.
    raw: Vec<u8>,
    buf: Vec<u8>,
    pos: usize,
    /// A row over the limit, told once the rows before it are handed out (so the reader
    /// names the right row).
    pending: Option<std::io::Error>,
}

impl<R: Read> KeepBlankLines<R> {
    fn new(inner: R, delimiter: u8, max_row: u64) -> Self {
        KeepBlankLines {
            inner,
            delimiter,
            in_quotes: false,
            just_closed: false,
            field_start: true,
            at_line_start: true,
            after_cr: false,
            row_bytes: 0,
            max_row,
            skipping: false,
            raw: vec![0; 64 * 1024],
            buf: Vec::with_capacity(66 * 1024),
            pos: 0,
            pending: None,
        }
    }

    fn skip_first_line(&mut self) {
        self.skipping = true;
    }

    fn adapt(&mut self, b: u8) {
        if self.skipping {
            self.skipping = b != b'\n';
            return;
        }
        self.row_bytes += 1;
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
            b'\n' if after_cr => self.row_bytes = 0,
            b'\n' | b'\r' => {
                if self.at_line_start {
                    self.buf.push(self.delimiter);
                }
                self.at_line_start = true;
                self.field_start = true;
                self.after_cr = b == b'\r';
                self.row_bytes = 0;
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

    fn too_long(&self) -> std::io::Error {
        let limit = show_size(self.max_row);
        let message = if self.in_quotes {
            format!(
                "a quoted field opens in this row and does not close within {limit} (a `\"` without its pair?); it would swallow the rest of the file"
            )
        } else {
            format!(
                "the row is longer than {limit}, the most a row may have; --max-row-size raises the limit"
            )
        };
        std::io::Error::new(std::io::ErrorKind::InvalidData, message)
    }
}

impl<R: Read> Read for KeepBlankLines<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buf.len() {
            if let Some(e) = self.pending.take() {
                return Err(e);
            }
            let n = self.inner.read(&mut self.raw)?;
            if n == 0 {
                return Ok(0);
            }
            self.buf.clear();
            self.pos = 0;
            for i in 0..n {
                let b = self.raw[i];
                self.adapt(b);
                if self.row_bytes > self.max_row {
                    self.pending = Some(self.too_long());
                    break;
                }
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
            .from_reader(KeepBlankLines::new(text.as_bytes(), b';', 1 << 20))
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
    fn a_row_over_the_limit_comes_after_the_rows_before_it() {
        // The limit trips inside the first 64 KiB the adapter reads: the rows before it are
        // still handed out, so the reader counts them and names the right row.
        let mut text = String::from("a;b\n");
        for i in 0..10 {
            text.push_str(&format!("{i};x\n"));
        }
        text.push_str(&"y".repeat(2048));
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(b';')
            .from_reader(KeepBlankLines::new(text.as_bytes(), b';', 1024));
        let mut read = 0;
        let mut record = csv::ByteRecord::new();
        let e = loop {
            match rdr.read_byte_record(&mut record) {
                Ok(true) => read += 1,
                Ok(false) => panic!("the long row was read"),
                Err(e) => break e,
            }
        };
        assert_eq!(read, 11, "the header and ten rows come first");
        assert!(e.to_string().contains("longer than 1 KiB"), "{e}");
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
