//! The results workbook that `validate` and `import` write: sheet `Results` (every input
//! column as read, then the outcome columns, rows in input order), sheet `Problems` (one line
//! per problem) and sheet `Summary`. Rows are written as they are re-read from the source, in
//! constant-memory mode, so a million-row file costs no more memory than a small one. With a
//! `.csv` path only the Results sheet is written, with formula-looking cells made inert.

use std::path::{Path, PathBuf};

use rust_xlsxwriter::{Color, Format, FormatAlign, Workbook, Worksheet, XlsxError};

use super::{Cell, CellRef, RowNum, SourceRow, column_letter};

/// The outcome columns after the input columns.
pub const OUTCOME_COLUMNS: &[&str] = &[
    "Status",
    "dsLeadOpportunityId",
    "Action",
    "HTTP status",
    "Error code",
    "Error message",
    "Trace id",
    "Attempts",
    "Source row",
];

/// Excel's row limit, header included.
pub const XLSX_MAX_ROWS: usize = 1_048_576;

/// One row's outcome as the writer shows it.
#[derive(Debug, Default, Clone)]
pub struct ResultRow<'a> {
    pub status: &'a str,
    pub ds_id: Option<&'a str>,
    pub action: Option<&'a str>,
    pub http_status: Option<u16>,
    pub error_code: Option<&'a str>,
    pub message: Option<&'a str>,
    pub trace_id: Option<&'a str>,
    pub attempts: Option<u32>,
}

/// One line of the Problems sheet.
#[derive(Debug, Clone)]
pub struct ProblemLine<'a> {
    pub row: Option<RowNum>,
    pub cell: Option<CellRef>,
    pub column: &'a str,
    pub field: String,
    pub severity: &'static str,
    pub message: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("cannot write the results to {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error(
        "{rows} rows do not fit in an XLSX sheet (at most {max}); write the results as CSV with -o results.csv",
        max = XLSX_MAX_ROWS - 1
    )]
    TooManyRows { rows: usize },
}

/// Which file the results go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultsFormat {
    Xlsx,
    Csv,
}

impl ResultsFormat {
    pub fn for_path(path: &Path) -> ResultsFormat {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") | Some("txt") => ResultsFormat::Csv,
            _ => ResultsFormat::Xlsx,
        }
    }
}

/// How many of `count` problems fit a sheet of `max_rows` rows (one is the header), and the
/// row of the note that says how many did not.
fn problems_fit(count: usize, max_rows: usize) -> (usize, Option<u32>) {
    let room = max_rows - 1;
    if count <= room {
        (count, None)
    } else {
        (room - 1, Some(room as u32))
    }
}

/// The most characters an XLSX cell holds.
const XLSX_CELL_MAX: usize = 32_767;

/// A text as an XLSX cell can hold it: one over Excel's limit of 32,767 characters (a long
/// description, a server's stack trace) keeps its start and says it was cut, rather than
/// failing the whole file.
pub fn fit_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= XLSX_CELL_MAX || s.chars().count() <= XLSX_CELL_MAX {
        return std::borrow::Cow::Borrowed(s);
    }
    let note = " … [cut: over Excel's 32,767-character limit]";
    let keep: String = s
        .chars()
        .take(XLSX_CELL_MAX - note.chars().count())
        .collect();
    std::borrow::Cow::Owned(keep + note)
}

/// Makes a text cell inert for spreadsheet programs: a leading `=`, `+`, `-`, `@`, tab or
/// carriage return would start a formula (CSV injection).
pub fn inert(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => std::borrow::Cow::Owned(format!("'{s}")),
        _ => std::borrow::Cow::Borrowed(s),
    }
}

struct Formats {
    header: Format,
    date: Format,
    datetime: Format,
    status: Vec<(&'static str, Format)>,
    wrap: Format,
}

impl Formats {
    fn new() -> Formats {
        let status = |fg: u32, bg: u32| {
            Format::new()
                .set_font_color(Color::RGB(fg))
                .set_background_color(Color::RGB(bg))
                .set_bold()
        };
        Formats {
            header: Format::new()
                .set_bold()
                .set_background_color(Color::RGB(0x1F3864))
                .set_font_color(Color::White)
                .set_align(FormatAlign::Top),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            status: vec![
                ("VALID", status(0x006100, 0xC6EFCE)),
                ("CREATED", status(0x006100, 0xC6EFCE)),
                ("UPDATED", status(0x006100, 0xC6EFCE)),
                ("UNCHANGED", status(0x375623, 0xE2EFDA)),
                ("INVALID", status(0x9C0006, 0xFFC7CE)),
                ("REJECTED", status(0x9C0006, 0xFFC7CE)),
                ("FAILED", status(0x9C0006, 0xFFC7CE)),
                ("NOT_SUBMITTED", status(0x9C5700, 0xFFEB9C)),
            ],
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
        }
    }
}

enum Sink {
    Xlsx {
        book: Box<Workbook>,
        formats: Box<Formats>,
    },
    Csv(Box<csv::Writer<std::fs::File>>),
}

/// Streams the results file, row by row.
pub struct ResultsWriter {
    path: PathBuf,
    sink: Sink,
    headers: Vec<String>,
    next_row: u32,
}

fn xerr(path: &Path) -> impl Fn(XlsxError) -> ResultsError + '_ {
    move |e| ResultsError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl ResultsWriter {
    /// Starts a results file for a source with `headers` and `data_rows` rows.
    pub fn create(
        path: &Path,
        headers: &[String],
        data_rows: usize,
    ) -> Result<ResultsWriter, ResultsError> {
        let headers: Vec<String> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                if h.is_empty() {
                    format!("(column {})", column_letter(i))
                } else {
                    h.clone()
                }
            })
            .collect();
        let sink = match ResultsFormat::for_path(path) {
            ResultsFormat::Csv => {
                let file = std::fs::File::create(path).map_err(|e| ResultsError::Write {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
                let mut w = csv::Writer::from_writer(file);
                let header: Vec<&str> = headers
                    .iter()
                    .map(String::as_str)
                    .chain(OUTCOME_COLUMNS.iter().copied())
                    .collect();
                w.write_record(header.iter().map(|h| inert(h).into_owned()))
                    .map_err(|e| ResultsError::Write {
                        path: path.to_path_buf(),
                        message: e.to_string(),
                    })?;
                Sink::Csv(Box::new(w))
            }
            ResultsFormat::Xlsx => {
                if data_rows + 1 > XLSX_MAX_ROWS {
                    return Err(ResultsError::TooManyRows { rows: data_rows });
                }
                let mut book = Workbook::new();
                let formats = Formats::new();
                let ws = book
                    .add_worksheet_with_constant_memory()
                    .map_err(xerr(path))?;
                ws.set_name("Results").map_err(xerr(path))?;
                let total = headers.len() + OUTCOME_COLUMNS.len();
                for i in 0..total {
                    let width = match i.checked_sub(headers.len()) {
                        Some(5) => 60.0,
                        Some(1) | Some(6) => 22.0,
                        Some(_) => 13.0,
                        None => (headers[i].chars().count() as f64 + 4.0).clamp(10.0, 40.0),
                    };
                    ws.set_column_width(i as u16, width).map_err(xerr(path))?;
                }
                for (i, h) in headers
                    .iter()
                    .map(String::as_str)
                    .chain(OUTCOME_COLUMNS.iter().copied())
                    .enumerate()
                {
                    ws.write_string_with_format(0, i as u16, h, &formats.header)
                        .map_err(xerr(path))?;
                }
                ws.set_freeze_panes(1, 0).map_err(xerr(path))?;
                ws.autofilter(0, 0, data_rows as u32, (total - 1) as u16)
                    .map_err(xerr(path))?;
                Sink::Xlsx {
                    book: Box::new(book),
                    formats: Box::new(formats),
                }
            }
        };
        Ok(ResultsWriter {
            path: path.to_path_buf(),
            sink,
            headers,
            next_row: 1,
        })
    }

    /// Writes one input row (its cells as read) with its outcome.
    pub fn row(&mut self, src: &SourceRow, out: &ResultRow<'_>) -> Result<(), ResultsError> {
        let path = self.path.clone();
        match &mut self.sink {
            Sink::Csv(w) => {
                let werr = |e: csv::Error| ResultsError::Write {
                    path: path.clone(),
                    message: e.to_string(),
                };
                for i in 0..self.headers.len() {
                    match src.cells.get(i) {
                        Some(Cell::Text(s)) => w.write_field(inert(s).as_bytes()),
                        Some(Cell::Empty) | None => w.write_field(b""),
                        Some(other) => w.write_field(inert(&other.to_text()).as_bytes()),
                    }
                    .map_err(werr)?;
                }
                let http = out.http_status.map(|s| s.to_string()).unwrap_or_default();
                let attempts = out.attempts.map(|a| a.to_string()).unwrap_or_default();
                let row = src.row.to_string();
                for field in [
                    out.status,
                    out.ds_id.unwrap_or_default(),
                    out.action.unwrap_or_default(),
                    &http,
                    out.error_code.unwrap_or_default(),
                    out.message.unwrap_or_default(),
                    out.trace_id.unwrap_or_default(),
                    &attempts,
                    &row,
                ] {
                    w.write_field(inert(field).as_bytes()).map_err(werr)?;
                }
                w.write_record(None::<&[u8]>).map_err(werr)?;
            }
            Sink::Xlsx { book, formats } => {
                let ws = book.worksheet_from_index(0).map_err(xerr(&path))?;
                let r = self.next_row;
                for (c, cell) in src.cells.iter().enumerate() {
                    write_cell(ws, r, c as u16, cell, formats).map_err(xerr(&path))?;
                }
                let base = self.headers.len() as u16;
                let status_format = formats
                    .status
                    .iter()
                    .find(|(s, _)| *s == out.status)
                    .map(|(_, f)| f);
                match status_format {
                    Some(f) => ws.write_string_with_format(r, base, out.status, f),
                    None => ws.write_string(r, base, out.status),
                }
                .map_err(xerr(&path))?;
                let texts = [
                    (1, out.ds_id),
                    (2, out.action),
                    (4, out.error_code),
                    (6, out.trace_id),
                ];
                for (off, v) in texts {
                    if let Some(v) = v {
                        ws.write_string(r, base + off, fit_cell(v))
                            .map_err(xerr(&path))?;
                    }
                }
                if let Some(s) = out.http_status {
                    ws.write_number(r, base + 3, f64::from(s))
                        .map_err(xerr(&path))?;
                }
                if let Some(m) = out.message {
                    ws.write_string(r, base + 5, fit_cell(m))
                        .map_err(xerr(&path))?;
                }
                if let Some(a) = out.attempts {
                    ws.write_number(r, base + 7, f64::from(a))
                        .map_err(xerr(&path))?;
                }
                ws.write_number(r, base + 8, f64::from(src.row.0))
                    .map_err(xerr(&path))?;
            }
        }
        self.next_row += 1;
        Ok(())
    }

    /// Adds the Problems and Summary sheets (XLSX only) and closes the file.
    pub fn finish<'a>(
        self,
        problems_count: usize,
        problems: impl Iterator<Item = ProblemLine<'a>>,
        summary: &[(String, String)],
    ) -> Result<(), ResultsError> {
        let path = self.path;
        match self.sink {
            Sink::Csv(mut w) => w.flush().map_err(|e| ResultsError::Write {
                path: path.clone(),
                message: e.to_string(),
            }),
            Sink::Xlsx { mut book, formats } => {
                let ws = book
                    .add_worksheet_with_constant_memory()
                    .map_err(xerr(&path))?;
                ws.set_name("Problems").map_err(xerr(&path))?;
                let cols = ["Row", "Cell", "Column", "Field", "Severity", "Message"];
                for (i, w) in [8.0, 8.0, 24.0, 36.0, 10.0, 100.0].iter().enumerate() {
                    ws.set_column_width(i as u16, *w).map_err(xerr(&path))?;
                }
                for (i, c) in cols.iter().enumerate() {
                    ws.write_string_with_format(0, i as u16, *c, &formats.header)
                        .map_err(xerr(&path))?;
                }
                ws.set_freeze_panes(1, 0).map_err(xerr(&path))?;
                // Past Excel's row limit the sheet's last row says how many did not fit (each
                // row's message on the Results sheet still has its own). Written after the
                // problems: a constant-memory sheet cannot go back to earlier rows.
                let (shown, note_row) = problems_fit(problems_count, XLSX_MAX_ROWS);
                ws.autofilter(0, 0, shown.max(1) as u32, 5)
                    .map_err(xerr(&path))?;
                for (i, p) in problems.take(shown).enumerate() {
                    let r = i as u32 + 1;
                    if let Some(row) = p.row {
                        ws.write_number(r, 0, f64::from(row.0))
                            .map_err(xerr(&path))?;
                    }
                    if let Some(c) = p.cell {
                        ws.write_string(r, 1, c.to_string()).map_err(xerr(&path))?;
                    }
                    ws.write_string(r, 2, fit_cell(p.column))
                        .map_err(xerr(&path))?;
                    ws.write_string(r, 3, &p.field).map_err(xerr(&path))?;
                    let sev = if p.severity == "error" {
                        &formats.status[4].1
                    } else {
                        &formats.status[7].1
                    };
                    ws.write_string_with_format(r, 4, p.severity, sev)
                        .map_err(xerr(&path))?;
                    ws.write_string(r, 5, fit_cell(p.message))
                        .map_err(xerr(&path))?;
                }
                if let Some(r) = note_row {
                    ws.write_string(
                        r,
                        5,
                        format!(
                            "… and {} more problems: over Excel's row limit; each row's Error message on the Results sheet still has its own",
                            problems_count - shown
                        ),
                    )
                    .map_err(xerr(&path))?;
                }
                let ws = book
                    .add_worksheet()
                    .set_name("Summary")
                    .map_err(xerr(&path))?;
                ws.set_column_width(0, 28).map_err(xerr(&path))?;
                ws.set_column_width(1, 80).map_err(xerr(&path))?;
                for (i, (k, v)) in summary.iter().enumerate() {
                    ws.write_string_with_format(i as u32, 0, k, &formats.header)
                        .map_err(xerr(&path))?;
                    match v.parse::<f64>() {
                        Ok(n) if !v.starts_with('0') || v == "0" => ws.write_number(i as u32, 1, n),
                        _ => ws.write_string_with_format(i as u32, 1, fit_cell(v), &formats.wrap),
                    }
                    .map_err(xerr(&path))?;
                }
                book.save(&path).map_err(xerr(&path))
            }
        }
    }
}

fn write_cell(
    ws: &mut Worksheet,
    r: u32,
    c: u16,
    cell: &Cell,
    f: &Formats,
) -> Result<(), XlsxError> {
    match cell {
        Cell::Empty => Ok(()),
        Cell::Text(s) => ws.write_string(r, c, fit_cell(s)).map(drop),
        Cell::Int(i) => ws.write_number(r, c, *i as f64).map(drop),
        Cell::Float(x) => ws.write_number(r, c, *x).map(drop),
        Cell::Bool(b) => ws.write_boolean(r, c, *b).map(drop),
        Cell::DateTime { value, date_only } => {
            let fmt = if *date_only { &f.date } else { &f.datetime };
            ws.write_datetime_with_format(r, c, value, fmt).map(drop)
        }
        Cell::Error(e) => ws.write_string(r, c, e).map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_past_the_row_limit_leave_a_note_last() {
        assert_eq!(problems_fit(10, 20), (10, None));
        assert_eq!(problems_fit(19, 20), (19, None));
        assert_eq!(problems_fit(20, 20), (18, Some(19)));
        assert_eq!(
            problems_fit(2_000_000, XLSX_MAX_ROWS),
            (1_048_574, Some(1_048_575))
        );
    }

    #[test]
    fn long_texts_fit_a_cell() {
        assert_eq!(fit_cell("short"), "short");
        let long = "é".repeat(40_000);
        let fitted = fit_cell(&long);
        assert_eq!(fitted.chars().count(), XLSX_CELL_MAX);
        assert!(fitted.ends_with("32,767-character limit]"));
        assert_eq!(inert("=1+1"), "'=1+1");
        assert_eq!(inert("@x"), "'@x");
        assert_eq!(inert("-3"), "'-3");
    }
}
