//! Reading the spreadsheets users have.
//!
//! Every format arrives as the same stream of [`SourceRow`]s, read on a thread of its own and
//! handed over in batches, so validation starts while the file is still being read and memory
//! stays flat however long the file is. CSV-like files go through [`delimited`] (encoding and
//! delimiter detection), workbooks through [`workbook`] (calamine). A source can be opened
//! twice: the results writer re-reads the rows instead of keeping them all.

pub mod delimited;
pub mod workbook;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};

use chrono::NaiveDateTime;

/// A 1-based spreadsheet row as users see it (the header is usually row 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowNum(pub u32);

impl fmt::Display for RowNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `A`, `B`, … `Z`, `AA` for a 0-based column index.
pub fn column_letter(mut idx: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (idx % 26) as u8);
        if idx < 26 {
            break;
        }
        idx = idx / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII letters")
}

/// A cell address such as `F12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellRef {
    pub row: RowNum,
    /// 0-based column index.
    pub col: u32,
}

impl fmt::Display for CellRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", column_letter(self.col as usize), self.row)
    }
}

/// One cell as read, with its type kept: ids stay text, numbers stay numbers, dates stay dates.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Cell {
    #[default]
    Empty,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A date or date-time cell of a workbook; `date_only` when it has no time part.
    DateTime {
        value: NaiveDateTime,
        date_only: bool,
    },
    /// An error value such as `#N/A` or `#REF!`.
    Error(String),
}

impl Cell {
    /// Empty, or text that is only whitespace.
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as text, the way a user would type it: integers without `.0` or exponent
    /// (a 15-digit customer id stays `200000000014442`), dates as ISO 8601.
    pub fn to_text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => number_text(*f),
            Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Cell::DateTime { value, date_only } => {
                if *date_only {
                    value.date().to_string()
                } else {
                    value.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
                }
            }
            Cell::Error(e) => e.clone(),
        }
    }
}

/// A number as plain decimal text: whole numbers without a fraction or exponent.
pub fn number_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e17 {
        format!("{}", f as i64)
    } else {
        // Rust's Display for f64 never uses an exponent and round-trips.
        format!("{f}")
    }
}

/// One data row of the source: its sheet row number and its cells, as wide as the header
/// (missing cells are `Empty`; cells beyond the header are in `extra`).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    pub row: RowNum,
    pub cells: Vec<Cell>,
    /// A problem of the row's shape or bytes (too few or too many cells, bad encoding).
    pub defect: Option<String>,
}

/// Which sheet of a workbook to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetSelector {
    Name(String),
    /// 1-based position, as users count sheets.
    Index(usize),
}

impl std::str::FromStr for SheetSelector {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().parse::<usize>() {
            Ok(0) => Err("sheet numbers start at 1".into()),
            Ok(n) => Ok(SheetSelector::Index(n)),
            Err(_) => Ok(SheetSelector::Name(s.to_string())),
        }
    }
}

/// A delimiter as `--delimiter` or the mapping's `settings.delimiter` gives it: one character,
/// or `tab` (also `\t`).
pub fn parse_delimiter(d: &str) -> Option<u8> {
    match d {
        "\\t" | "tab" | "\t" => Some(b'\t'),
        d if d.len() == 1 => Some(d.as_bytes()[0]),
        _ => None,
    }
}

/// How to read a source; anything `None` is detected.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub sheet: Option<SheetSelector>,
    /// 1-based header row; default the first non-empty row.
    pub header_row: Option<u32>,
    pub delimiter: Option<u8>,
    pub encoding: Option<&'static encoding_rs::Encoding>,
}

/// The kind of file, decided by extension and then by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Delimited,
    Xlsx,
    Xls,
    Xlsb,
    Ods,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Delimited => "CSV",
            Format::Xlsx => "XLSX",
            Format::Xls => "XLS",
            Format::Xlsb => "XLSB",
            Format::Ods => "ODS",
        }
    }
}

/// What stops a source from being read at all. Bad *rows* are not errors: they reach the
/// results with their reason.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("cannot read {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a readable {format} file: {message}")]
    Broken {
        path: String,
        format: &'static str,
        message: String,
    },
    #[error("{path} has no sheet named `{wanted}`; its sheets are: {available}")]
    NoSuchSheet {
        path: String,
        wanted: String,
        available: String,
    },
    #[error("{path} has {count} sheet(s); there is no sheet number {wanted}")]
    NoSuchSheetIndex {
        path: String,
        wanted: usize,
        count: usize,
    },
    #[error("{path}{sheet}: no header row found (the sheet is empty)")]
    NoHeader { path: String, sheet: String },
    #[error("{path}{sheet}: header row {row} is empty or beyond the last row")]
    BadHeaderRow {
        path: String,
        sheet: String,
        row: u32,
    },
    #[error("{path}: unknown encoding `{0}`", path = .1)]
    UnknownEncoding(String, String),
}

impl SheetError {
    /// A wrong sheet name, header row or encoding is the user's to fix (exit 3); a file that
    /// cannot be read stops the run (exit 1).
    pub fn exit(&self) -> crate::Exit {
        match self {
            SheetError::NoSuchSheet { .. }
            | SheetError::NoSuchSheetIndex { .. }
            | SheetError::BadHeaderRow { .. }
            | SheetError::UnknownEncoding(..) => crate::Exit::Usage,
            SheetError::Io { .. } | SheetError::Broken { .. } | SheetError::NoHeader { .. } => {
                crate::Exit::Fatal
            }
        }
    }
}

/// A source file's identity for the Summary sheet and messages.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    /// As the user named it (`-` for stdin).
    pub display: String,
    /// The file actually read (a spooled copy for stdin).
    pub path: PathBuf,
    pub format: Format,
    pub sheet: Option<String>,
    pub sha256: String,
    pub header_row: RowNum,
    /// For delimited files: the delimiter and encoding used.
    pub delimiter: Option<u8>,
    pub encoding: Option<&'static str>,
}

impl SourceInfo {
    /// `leads.xlsx` or `leads.xlsx, sheet Leads`, for messages.
    pub fn label(&self) -> String {
        match &self.sheet {
            Some(s) => format!("{}, sheet `{s}`", self.display),
            None => self.display.clone(),
        }
    }
}

/// What the reader thread sends.
pub(crate) enum Message {
    Rows(Vec<SourceRow>),
    Failed(SheetError),
    /// The end of the rows. A stream that stops without it lost its reader (a bug in a
    /// parser): that is reported, never taken for the end of the file.
    Done,
}

pub(crate) const BATCH: usize = 2048;

/// An opened source: its header and a stream of row batches read on another thread.
pub struct OpenSheet {
    pub info: SourceInfo,
    /// Header texts, trimmed; blank headers are `""`.
    pub headers: Vec<String>,
    rx: Receiver<Message>,
    done: bool,
    blank_rows: Arc<AtomicU64>,
    /// Keeps a spooled stdin copy alive while it may be re-read.
    _spool: Option<Arc<tempfile::NamedTempFile>>,
}

impl OpenSheet {
    /// The next batch of rows; `None` at the end. Blank rows never appear.
    pub fn next_batch(&mut self) -> Option<Result<Vec<SourceRow>, SheetError>> {
        if self.done {
            return None;
        }
        match self.rx.recv() {
            Ok(Message::Rows(rows)) => Some(Ok(rows)),
            Ok(Message::Failed(e)) => {
                self.done = true;
                Some(Err(e))
            }
            Ok(Message::Done) => {
                self.done = true;
                None
            }
            Err(_) => {
                self.done = true;
                Some(Err(SheetError::Broken {
                    path: self.info.display.clone(),
                    format: self.info.format.name(),
                    message: "the reader stopped unexpectedly before the end of the file".into(),
                }))
            }
        }
    }

    /// Blank rows skipped so far (all of them once the stream has ended).
    pub fn blank_rows(&self) -> u64 {
        self.blank_rows.load(Ordering::Relaxed)
    }

    /// The same source again, from the first data row, for a second pass.
    pub fn reopen(&self, options: &ReadOptions) -> Result<OpenSheet, SheetError> {
        let mut opts = options.clone();
        opts.header_row = Some(self.info.header_row.0);
        if let Some(name) = &self.info.sheet {
            opts.sheet = Some(SheetSelector::Name(name.clone()));
        }
        opts.delimiter = self.info.delimiter.or(opts.delimiter);
        if let Some(enc) = self.info.encoding {
            opts.encoding = encoding_rs::Encoding::for_label(enc.as_bytes());
        }
        let mut again = open_path(
            &self.info.path,
            &self.info.display,
            &opts,
            Some(self.info.format),
        )?;
        again._spool = self._spool.clone();
        Ok(again)
    }
}

/// The reader thread's end of the stream: it announces the header once, then pushes rows,
/// which are batched, padded to the header's width, and counted when blank.
pub(crate) struct Feed {
    header_tx: Option<SyncSender<HeaderResult>>,
    tx: SyncSender<Message>,
    batch: Vec<SourceRow>,
    blank: Arc<AtomicU64>,
    pending_blank: u64,
    width: usize,
    /// A workbook's sheet (cells have letters users can find), not a delimited file.
    in_workbook: bool,
}

/// The header texts, the header's row and the sheet name, or why there is no header.
pub(crate) type HeaderResult = Result<(Vec<String>, RowNum, Option<String>), SheetError>;

impl Feed {
    /// Announces the header (or the failure to find one); false if reading should stop.
    pub fn header(&mut self, h: HeaderResult) -> bool {
        let ok = h.is_ok();
        if let Ok((headers, _, sheet)) = &h {
            self.width = headers.len();
            self.in_workbook = sheet.is_some();
        }
        if let Some(tx) = self.header_tx.take() {
            let _ = tx.send(h);
        }
        ok
    }

    /// Adds a data row; false when the consumer has gone away and reading should stop.
    pub fn push(&mut self, row: RowNum, mut cells: Vec<Cell>, mut defect: Option<String>) -> bool {
        if cells.iter().all(Cell::is_blank) && defect.is_none() {
            // Counted only once a data row follows: trailing formatted-but-empty rows are not
            // "skipped rows" to a user.
            self.pending_blank += 1;
            return true;
        }
        if self.pending_blank > 0 {
            self.blank
                .fetch_add(std::mem::take(&mut self.pending_blank), Ordering::Relaxed);
        }
        if cells.len() > self.width {
            // Nothing is dropped silently: a value with no header makes the row a problem.
            let last = cells.iter().rposition(|c| !c.is_blank()).unwrap_or(0);
            if last >= self.width && defect.is_none() {
                defect = Some(if self.in_workbook {
                    format!(
                        "cell {}{} holds a value right of the table, whose header ends at column {}; give that column a header or clear the cell",
                        column_letter(last),
                        row,
                        column_letter(self.width.saturating_sub(1))
                    )
                } else {
                    format!(
                        "the row has {} cells but the header has {}; a delimiter or quote may be wrong",
                        last + 1,
                        self.width
                    )
                });
            }
            cells.truncate(self.width);
        }
        cells.resize(self.width, Cell::Empty);
        self.batch.push(SourceRow { row, cells, defect });
        if self.batch.len() >= BATCH {
            let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            return self.tx.send(Message::Rows(full)).is_ok();
        }
        true
    }

    /// Reports an error that ends the stream (after the header).
    pub fn fail(mut self, e: SheetError) {
        if self.header_tx.is_some() {
            self.header(Err(e));
            return;
        }
        self.flush();
        let _ = self.tx.send(Message::Failed(e));
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let rest = std::mem::take(&mut self.batch);
            let _ = self.tx.send(Message::Rows(rest));
        }
    }

    pub fn finish(mut self) {
        self.flush();
        let _ = self.tx.send(Message::Done);
    }
}

struct Started {
    header: HeaderResult,
    rx: Receiver<Message>,
    blank: Arc<AtomicU64>,
}

/// Runs `read` on a reader thread and waits for the header it announces.
fn spawn_reader(read: impl FnOnce(Feed) + Send + 'static) -> Result<Started, SheetError> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Message>(8);
    let (htx, hrx) = std::sync::mpsc::sync_channel::<HeaderResult>(1);
    let blank = Arc::new(AtomicU64::new(0));
    let feed = Feed {
        header_tx: Some(htx),
        tx,
        batch: Vec::with_capacity(BATCH),
        blank: blank.clone(),
        pending_blank: 0,
        in_workbook: false,
        width: 0,
    };
    std::thread::Builder::new()
        .name("leadsheet-reader".into())
        .spawn(move || read(feed))
        .map_err(|source| SheetError::Io {
            path: "(reader thread)".into(),
            source,
        })?;
    let header = hrx.recv().unwrap_or_else(|_| {
        Err(SheetError::Broken {
            path: String::new(),
            format: "spreadsheet",
            message: "the reader stopped before finding a header".into(),
        })
    });
    Ok(Started { header, rx, blank })
}

/// Starts a reader and builds the [`OpenSheet`] once its header is known.
pub(crate) fn start(
    mut info: SourceInfo,
    read: impl FnOnce(Feed) + Send + 'static,
) -> Result<OpenSheet, SheetError> {
    let started = spawn_reader(read)?;
    let (headers, header_row, sheet) = started.header?;
    info.header_row = header_row;
    info.sheet = sheet;
    Ok(OpenSheet {
        info,
        headers,
        rx: started.rx,
        done: false,
        blank_rows: started.blank,
        _spool: None,
    })
}

/// Opens `input` (a path, or `-` for stdin) for streaming.
pub fn open(input: &str, options: &ReadOptions) -> Result<OpenSheet, SheetError> {
    if input == "-" {
        let spool = delimited::spool_stdin()?;
        let path = spool.path().to_path_buf();
        let mut sheet = open_path(&path, "-", options, None)?;
        sheet._spool = Some(Arc::new(spool));
        return Ok(sheet);
    }
    // The results are written from a second pass over the input: read a private copy, so that
    // saving the file in Excel during an import, or moving it, cannot misplace or lose them.
    let path = Path::new(input);
    if !path.is_file() {
        // Missing (the reader says so), or a pipe that can be read only once anyway.
        return open_path(path, input, options, None);
    }
    let format = detect_format(path, input)?;
    match snapshot(path, path.extension()) {
        Ok(copy) => {
            let mut sheet = open_path(copy.path(), input, options, Some(format))?;
            sheet._spool = Some(Arc::new(copy));
            Ok(sheet)
        }
        Err(e) => {
            tracing::warn!(
                "cannot copy {input} to a private snapshot ({e}); reading it in place: do not change it until the run ends"
            );
            open_path(path, input, options, Some(format))
        }
    }
}

/// A copy of `path` in the temporary directory, removed when dropped. It keeps the extension,
/// which still says things (`.tsv`: tab-separated).
fn snapshot(
    path: &Path,
    ext: Option<&std::ffi::OsStr>,
) -> std::io::Result<tempfile::NamedTempFile> {
    let suffix = ext
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let copy = tempfile::Builder::new()
        .prefix("leadsheet-input-")
        .suffix(&suffix)
        .tempfile()?;
    std::fs::copy(path, copy.path())?;
    Ok(copy)
}

fn open_path(
    path: &Path,
    display: &str,
    options: &ReadOptions,
    known: Option<Format>,
) -> Result<OpenSheet, SheetError> {
    let format = match known {
        Some(f) => f,
        None => detect_format(path, display)?,
    };
    match format {
        Format::Delimited => delimited::open(path, display, options),
        other => workbook::open(path, display, options, other),
    }
}

/// Whether the last 64 KiB of a zip (its central directory, which lists every entry's name)
/// hold `name`.
fn zip_tail_names(path: &Path, name: &[u8]) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut tail = Vec::new();
    f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)))
        .and_then(|_| f.read_to_end(&mut tail))
        .is_ok()
        && tail.windows(name.len()).any(|w| w == name)
}

/// By extension first, then by the first bytes (zip: a workbook; OLE: XLS; else text).
pub fn detect_format(path: &Path, display: &str) -> Result<Format, SheetError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "xlsx" | "xlsm" | "xltx" | "xltm" | "xlam" => return Ok(Format::Xlsx),
        "xls" | "xla" => return Ok(Format::Xls),
        "xlsb" => return Ok(Format::Xlsb),
        "ods" => return Ok(Format::Ods),
        "csv" | "tsv" | "txt" | "tab" => return Ok(Format::Delimited),
        _ => {}
    }
    use std::io::Read;
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|source| SheetError::Io {
            path: display.to_string(),
            source,
        })?;
    let head = &head[..n];
    if head.starts_with(b"PK\x03\x04") {
        // A zip: ODS names its mimetype first; everything else is taken as XLSX.
        let mut buf = Vec::new();
        let _ = std::fs::File::open(path).and_then(|f| f.take(200).read_to_end(&mut buf));
        let ods: &[u8] = b"application/vnd.oasis.opendocument.spreadsheet";
        if buf.windows(ods.len()).any(|w| w == ods) {
            return Ok(Format::Ods);
        }
        // XLSB names `xl/workbook.bin` in the zip's central directory, at the end of the file.
        if zip_tail_names(path, b"xl/workbook.bin") {
            return Ok(Format::Xlsb);
        }
        return Ok(Format::Xlsx);
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Ok(Format::Xls);
    }
    Ok(Format::Delimited)
}

/// Routes a reader's raw rows: rows before the header are dropped, the header is announced,
/// the rest are data. Both readers feed it, so header rules live in one place.
pub(crate) struct RowRouter {
    feed: Feed,
    wanted: Option<u32>,
    found: bool,
    sheet: Option<String>,
    display: String,
}

impl RowRouter {
    pub fn new(feed: Feed, wanted: Option<u32>, sheet: Option<String>, display: &str) -> Self {
        RowRouter {
            feed,
            wanted,
            found: false,
            sheet,
            display: display.to_string(),
        }
    }

    fn sheet_label(&self) -> String {
        self.sheet
            .as_ref()
            .map(|s| format!(", sheet `{s}`"))
            .unwrap_or_default()
    }

    /// Takes the next raw row; false when reading should stop.
    pub fn row(&mut self, row: RowNum, cells: Vec<Cell>, defect: Option<String>) -> bool {
        if self.found {
            return self.feed.push(row, cells, defect);
        }
        let is_header = match self.wanted {
            Some(n) if row.0 < n => return true,
            Some(n) if row.0 > n => {
                // The wanted row was missing entirely (a sparse sheet): it is empty.
                let e = SheetError::BadHeaderRow {
                    path: self.display.clone(),
                    sheet: self.sheet_label(),
                    row: n,
                };
                self.feed.header(Err(e));
                return false;
            }
            Some(_) => true,
            None => !cells.iter().all(Cell::is_blank),
        };
        if !is_header {
            return true;
        }
        let headers = header_texts(&cells);
        if headers.is_empty() {
            let e = SheetError::BadHeaderRow {
                path: self.display.clone(),
                sheet: self.sheet_label(),
                row: row.0,
            };
            self.feed.header(Err(e));
            return false;
        }
        self.found = true;
        self.feed.header(Ok((headers, row, self.sheet.clone())))
    }

    pub fn fail(self, e: SheetError) {
        self.feed.fail(e);
    }

    pub fn header_found(&self) -> bool {
        self.found
    }

    pub fn header_width(&self) -> Option<usize> {
        self.found.then_some(self.feed.width)
    }

    pub fn finish(mut self) {
        if !self.found {
            let e = match self.wanted {
                Some(row) => SheetError::BadHeaderRow {
                    path: self.display.clone(),
                    sheet: self.sheet_label(),
                    row,
                },
                None => SheetError::NoHeader {
                    path: self.display.clone(),
                    sheet: self.sheet_label(),
                },
            };
            self.feed.header(Err(e));
            return;
        }
        self.feed.finish();
    }
}

/// The header texts of a row, trimmed, without trailing blank cells.
pub(crate) fn header_texts(cells: &[Cell]) -> Vec<String> {
    let mut out: Vec<String> = cells
        .iter()
        .map(|c| c.to_text().trim().to_string())
        .collect();
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// The SHA-256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = std::io::Read::read(&mut f, &mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workbooks_without_an_extension_are_known_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&[u8], Format); 4] = [
            (
                b"PK\x03\x04....[Content_Types].xml....PK\x01\x02xl/workbook.bin",
                Format::Xlsb,
            ),
            (
                b"PK\x03\x04....[Content_Types].xml....PK\x01\x02xl/workbook.xml",
                Format::Xlsx,
            ),
            (
                b"PK\x03\x04mimetypeapplication/vnd.oasis.opendocument.spreadsheet",
                Format::Ods,
            ),
            (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", Format::Xls),
        ];
        for (i, (bytes, want)) in cases.iter().enumerate() {
            let path = dir.path().join(format!("upload-{i}"));
            std::fs::write(&path, bytes).unwrap();
            assert_eq!(detect_format(&path, "upload").unwrap(), *want, "case {i}");
        }
    }

    #[test]
    fn delimiters() {
        assert_eq!(parse_delimiter("tab"), Some(b'\t'));
        assert_eq!(parse_delimiter("\\t"), Some(b'\t'));
        assert_eq!(parse_delimiter(";"), Some(b';'));
        assert_eq!(parse_delimiter(";;"), None);
    }

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
        assert_eq!(
            CellRef {
                row: RowNum(12),
                col: 5
            }
            .to_string(),
            "F12"
        );
    }

    #[test]
    fn numbers_as_text_keep_ids_whole() {
        assert_eq!(number_text(200000000014442.0), "200000000014442");
        assert_eq!(number_text(120000000000000.0), "120000000000000");
        assert_eq!(number_text(13800.5), "13800.5");
        assert_eq!(Cell::Float(1234.0).to_text(), "1234");
    }
}
