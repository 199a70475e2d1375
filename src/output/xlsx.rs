//! The xlsx side of the output layer: one set of styles, one way to start a sheet (a styled,
//! frozen, filtered header with sensible widths), one cell writer that keeps every value within
//! Excel's limits, and the Summary sheet every workbook ends with. Sheets of rows are written in
//! rust_xlsxwriter's constant-memory mode, so a million rows cost no more memory than ten.

use rust_xlsxwriter::{Color, Format, FormatAlign, Workbook, Worksheet, XlsxError};

use super::SummaryValue;
use crate::sheet::Cell;

/// Excel's row limit, header included.
pub const MAX_ROWS: usize = 1_048_576;

/// The most characters an XLSX cell holds.
const CELL_MAX: usize = 32_767;

/// A text as an XLSX cell can hold it: one over Excel's limit of 32,767 characters (a long
/// description, a server's stack trace) keeps its start and says it was cut, rather than
/// failing the whole file.
pub fn fit_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= CELL_MAX || s.chars().count() <= CELL_MAX {
        return std::borrow::Cow::Borrowed(s);
    }
    let note = " … [cut: over Excel's 32,767-character limit]";
    let keep: String = s.chars().take(CELL_MAX - note.chars().count()).collect();
    std::borrow::Cow::Owned(keep + note)
}

/// The formats of every workbook leadsheet writes, built once per workbook.
pub struct Styles {
    pub header: Format,
    pub date: Format,
    pub datetime: Format,
    pub wrap: Format,
    /// Ids typed into a template keep their zeros and digits.
    pub text: Format,
    good: Format,
    same: Format,
    bad: Format,
    pending: Format,
}

impl Default for Styles {
    fn default() -> Self {
        let status = |fg: u32, bg: u32| {
            Format::new()
                .set_font_color(Color::RGB(fg))
                .set_background_color(Color::RGB(bg))
                .set_bold()
        };
        Styles {
            header: Format::new()
                .set_bold()
                .set_background_color(Color::RGB(0x1F3864))
                .set_font_color(Color::White)
                .set_align(FormatAlign::Top),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
            text: Format::new().set_num_format("@"),
            good: status(0x006100, 0xC6EFCE),
            same: status(0x375623, 0xE2EFDA),
            bad: status(0x9C0006, 0xFFC7CE),
            pending: status(0x9C5700, 0xFFEB9C),
        }
    }
}

/// How a status cell looks: green for done, red for failed, amber for not done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Same,
    Bad,
    Pending,
    Plain,
}

impl Styles {
    pub fn tone(&self, tone: Tone) -> Option<&Format> {
        match tone {
            Tone::Good => Some(&self.good),
            Tone::Same => Some(&self.same),
            Tone::Bad => Some(&self.bad),
            Tone::Pending => Some(&self.pending),
            Tone::Plain => None,
        }
    }
}

/// A column width for a header: its length and a little more, within reason.
pub fn width_for(header: &str) -> f64 {
    (header.chars().count() as f64 + 4.0).clamp(10.0, 40.0)
}

/// Adds a sheet (constant memory when `streamed`) named `name` with `headers` in a styled,
/// frozen, filtered first row over `rows` data rows. `widths` gives a width per column; `None`
/// sizes each by its header.
///
/// # Errors
/// rust_xlsxwriter's, for a name Excel refuses or a workbook that cannot take another sheet.
pub fn start_sheet<'a>(
    book: &'a mut Workbook,
    name: &str,
    headers: &[&str],
    widths: Option<&[f64]>,
    rows: usize,
    styles: &Styles,
    streamed: bool,
) -> Result<&'a mut Worksheet, XlsxError> {
    let ws = if streamed {
        book.add_worksheet_with_constant_memory()?
    } else {
        book.add_worksheet()
    };
    ws.set_name(name)?;
    for (i, h) in headers.iter().enumerate() {
        let w = widths
            .and_then(|w| w.get(i).copied())
            .unwrap_or_else(|| width_for(h));
        ws.set_column_width(i as u16, w)?;
    }
    header_row(ws, 0, headers, styles)?;
    ws.set_freeze_panes(1, 0)?;
    if !headers.is_empty() {
        ws.autofilter(
            0,
            0,
            rows.clamp(1, MAX_ROWS - 1) as u32,
            (headers.len() - 1) as u16,
        )?;
    }
    Ok(ws)
}

/// Writes `headers` in the header style on row `r`.
///
/// # Errors
/// rust_xlsxwriter's, for a row beyond Excel's limits.
pub fn header_row(
    ws: &mut Worksheet,
    r: u32,
    headers: &[&str],
    styles: &Styles,
) -> Result<(), XlsxError> {
    for (i, h) in headers.iter().enumerate() {
        ws.write_string_with_format(r, i as u16, fit_cell(h), &styles.header)?;
    }
    Ok(())
}

/// Writes one cell: text within Excel's limit, numbers as numbers, dates as dates, error values
/// as their text. The one cell writer of every workbook.
///
/// # Errors
/// rust_xlsxwriter's, for a cell beyond Excel's limits.
pub fn put(
    ws: &mut Worksheet,
    r: u32,
    c: u16,
    cell: &Cell,
    styles: &Styles,
) -> Result<(), XlsxError> {
    match cell {
        Cell::Empty => Ok(()),
        Cell::Text(s) | Cell::Error(s) => ws.write_string(r, c, fit_cell(s)).map(drop),
        Cell::Int(i) => ws.write_number(r, c, *i as f64).map(drop),
        Cell::Float(x) => ws.write_number(r, c, *x).map(drop),
        Cell::Bool(b) => ws.write_boolean(r, c, *b).map(drop),
        Cell::DateTime { value, date_only } => {
            let fmt = if *date_only {
                &styles.date
            } else {
                &styles.datetime
            };
            ws.write_datetime_with_format(r, c, value, fmt).map(drop)
        }
    }
}

/// Writes a text cell, in `tone` when it has one.
///
/// # Errors
/// rust_xlsxwriter's, for a cell beyond Excel's limits.
pub fn put_text(
    ws: &mut Worksheet,
    r: u32,
    c: u16,
    text: &str,
    tone: Tone,
    styles: &Styles,
) -> Result<(), XlsxError> {
    match styles.tone(tone) {
        Some(f) => ws.write_string_with_format(r, c, fit_cell(text), f),
        None => ws.write_string(r, c, fit_cell(text)),
    }
    .map(drop)
}

/// The Summary sheet: one line per entry, labels in the header style, numbers as numbers,
/// groups (rows by status) as one line each.
///
/// # Errors
/// rust_xlsxwriter's.
pub fn summary_sheet(
    book: &mut Workbook,
    lines: &[(String, SummaryValue)],
    styles: &Styles,
) -> Result<(), XlsxError> {
    let ws = book.add_worksheet().set_name("Summary")?;
    ws.set_column_width(0, 28)?;
    ws.set_column_width(1, 80)?;
    for (i, (label, value)) in lines.iter().enumerate() {
        let r = i as u32;
        ws.write_string_with_format(r, 0, label, &styles.header)?;
        match value {
            SummaryValue::Count(n) => ws.write_number(r, 1, *n as f64)?,
            SummaryValue::Number(x) => ws.write_number(r, 1, *x)?,
            SummaryValue::Text(t) => {
                ws.write_string_with_format(r, 1, fit_cell(t), &styles.wrap)?
            }
        };
    }
    Ok(())
}

/// Saves `book` at `path`. The first write that fails (a full disk) fails the save with its
/// error, and the writes after it are dropped: the zip writer would otherwise finish the
/// archive again as it is dropped and print that failure on stderr, beside the message that
/// names the file.
///
/// # Errors
/// The first I/O error, or rust_xlsxwriter's.
pub fn save(book: &mut Workbook, path: &std::path::Path) -> Result<(), XlsxError> {
    let mut out = FirstError {
        file: std::fs::File::create(path)?,
        failed: None,
    };
    let saved = book.save_to_writer(&mut out);
    match out.failed {
        Some(e) => Err(e.into()),
        None => saved,
    }
}

/// A writer that keeps its first error and ignores what is written after it.
struct FirstError {
    file: std::fs::File,
    failed: Option<std::io::Error>,
}

impl std::io::Write for FirstError {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.failed.is_some() {
            return Ok(buf.len());
        }
        self.file.write(buf).inspect_err(|e| {
            // An interrupted write is tried again by its caller: not a failure.
            if e.kind() != std::io::ErrorKind::Interrupted {
                self.failed = Some(std::io::Error::new(e.kind(), e.to_string()));
            }
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.failed.is_some() {
            return Ok(());
        }
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_fails_the_save_once() {
        let mut book = Workbook::new();
        let ws = book.add_worksheet();
        for r in 0..1000 {
            ws.write_string(r, 0, format!("row {r}")).unwrap();
        }
        let e = save(&mut book, std::path::Path::new("/dev/full")).unwrap_err();
        assert!(e.to_string().contains("No space left"), "{e}");
    }

    #[test]
    fn long_texts_fit_a_cell() {
        assert_eq!(fit_cell("short"), "short");
        let long = "é".repeat(40_000);
        let fitted = fit_cell(&long);
        assert_eq!(fitted.chars().count(), CELL_MAX);
        assert!(fitted.ends_with("32,767-character limit]"));
    }
}
