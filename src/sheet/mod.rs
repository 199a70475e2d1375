//! Reading the spreadsheets users have.
//!
//! Every format arrives as the same stream of [`SourceRow`]s, read on a thread of its own and
//! handed over in batches (`feed`), so validation starts while the file is still being read and
//! memory stays flat however long the file is. What a file is comes from its name and its first
//! bytes (`detect`); CSV-like files go through [`delimited`] (encoding and delimiter detection),
//! workbooks through [`workbook`] (calamine). Cells keep their types (`cell`). A source can be
//! opened twice: the results writer re-reads the rows instead of keeping them all.

mod cell;
pub mod delimited;
mod detect;
mod encoding;
mod feed;
mod header;
pub mod limits;
mod ods_size;
mod stream;
pub mod workbook;
mod xls_size;
mod zipped;

pub use cell::{Cell, CellRef, RowNum, column_letter, normalize_header, number_text};
pub use detect::{Detected, detect_format};
pub use feed::OpenSheet;
pub(crate) use feed::{Feed, Raw, start};
pub(crate) use header::RowRouter;
pub use limits::Limits;

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One data row of the source: its sheet row number and its cells, as wide as the header
/// (missing cells are `Empty`; cells beyond the header are in `extra`).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    pub row: RowNum,
    pub cells: Vec<Cell>,
    /// A problem of the row's shape or bytes (too few or too many cells, bad encoding).
    pub defect: Option<String>,
    /// Something to check that does not stop the row (a cell read in another encoding).
    pub warning: Option<String>,
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
            // Sheets are counted from 1: `0` can only be a sheet's name (and, if there is no
            // such sheet, the error lists those there are).
            Ok(0) => Ok(SheetSelector::Name(s.to_string())),
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
    /// The headers the mapping looks for, as written there (`Offer {n} Amount`): without
    /// `header_row`, the row among the first that holds most of them is the header, so a title
    /// or notes above the table are skipped.
    pub expected_headers: Vec<String>,
    pub limits: Limits,
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
    #[error("{path} is {what}, which leadsheet cannot read; {advice}")]
    NotASpreadsheet {
        path: String,
        what: String,
        advice: String,
    },
    #[error("{path}: {message}")]
    TooLarge { path: String, message: String },
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
            SheetError::Io { .. }
            | SheetError::Broken { .. }
            | SheetError::NoHeader { .. }
            | SheetError::NotASpreadsheet { .. }
            | SheetError::TooLarge { .. } => crate::Exit::Fatal,
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
    /// What the user should know about how the file was read: a name that says another format,
    /// a `sep=` line, a title above the header, lines in another encoding.
    pub notes: Vec<String>,
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

/// Opens `input` (a path, or `-` for stdin) for streaming: its header is read before this
/// returns, its rows as they are asked for.
///
/// # Errors
/// [`SheetError`] when the file cannot be read or is not what its name or bytes say, when the
/// sheet asked for does not exist, or when no header row is found.
pub fn open(input: &str, options: &ReadOptions) -> Result<OpenSheet, SheetError> {
    let path = Path::new(input);
    // A stream (stdin, a pipe such as `<(…)`, a device) is read once: from a copy.
    if input == "-" || crate::files::is_stream(path) {
        let spool = stream::spool(input)?;
        let copy = spool.path().to_path_buf();
        let mut sheet = open_path(&copy, input, options, None)?;
        sheet.spool = Some(Arc::new(spool));
        return Ok(sheet);
    }
    // The results are written from a second pass over the input: read a private copy, so that
    // saving the file in Excel during an import, or moving it, cannot misplace or lose them.
    if !path.is_file() {
        // Missing, or a directory: the reader says so.
        return open_path(path, input, options, None);
    }
    let detected = detect_format(path, input, &options.limits)?;
    match crate::scratch::copy_of(path, "input") {
        Ok(copy) => {
            let mut sheet = open_path(copy.path(), input, options, Some(detected))?;
            sheet.spool = Some(Arc::new(copy));
            Ok(sheet)
        }
        Err(e) => {
            tracing::warn!(
                "cannot copy {input} to a private snapshot ({e}); reading it in place: do not change it until the run ends"
            );
            open_path(path, input, options, Some(detected))
        }
    }
}

pub(super) fn open_path(
    path: &Path,
    display: &str,
    options: &ReadOptions,
    known: Option<Detected>,
) -> Result<OpenSheet, SheetError> {
    let detected = match known {
        Some(d) => d,
        None => detect_format(path, display, &options.limits)?,
    };
    let mut sheet = match detected.format {
        Format::Delimited => {
            let mut opts = options.clone();
            if opts.encoding.is_none() {
                opts.encoding = detected.utf16;
            }
            delimited::open(path, display, &opts)?
        }
        other => workbook::open(path, display, options, other)?,
    };
    if let Some(note) = detected.note {
        sheet.info.notes.insert(0, note);
    }
    Ok(sheet)
}

/// `text` cut to `n` characters, with an ellipsis when cut: a cell quoted in a message.
pub(crate) fn clip(text: &str, n: usize) -> String {
    let mut out: String = text.chars().take(n).collect();
    if text.chars().count() > n {
        out.push('…');
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
    fn delimiters() {
        assert_eq!(parse_delimiter("tab"), Some(b'\t'));
        assert_eq!(parse_delimiter("\\t"), Some(b'\t'));
        assert_eq!(parse_delimiter(";"), Some(b';'));
        assert_eq!(parse_delimiter(";;"), None);
    }
}
