//! The results workbook that `validate` and `import` write: sheet `Results` (every input column
//! as read, then the outcome columns, rows in input order), sheet `Problems` (one line per
//! problem) and sheet `Summary`. Rows are written as they are re-read from the source next to
//! the recorded outcomes, in constant-memory mode, so a million-row file costs no more memory
//! than a small one. With a `.csv` path only the Results sheet is written, every field inert.
//! Also here: `--emit-requests`, the exact bodies the valid leads send, one per line.

use std::io::{BufWriter, Write};
use std::path::Path;

use rust_xlsxwriter::{Workbook, Worksheet, XlsxError};

use super::csv::CsvWriter;
use super::xlsx::{self, Styles, Tone};
use super::{Format, OutputError, Summary, atomic};
use crate::api::contract::Operation;
use crate::pipeline::{Prepared, ResultRow};
use crate::problem::{Problem, Severity};
use crate::sheet::{Cell, SourceRow, column_letter};
use crate::validate::Action;

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

/// The formats the results are written as; a name with another extension gets a workbook.
pub const FORMATS: &[Format] = &[Format::Xlsx, Format::Csv];

fn tone(status: &str) -> Tone {
    match status {
        "VALID" | "CREATED" | "UPDATED" => Tone::Good,
        "UNCHANGED" | "EXISTS" => Tone::Same,
        "INVALID" | "REJECTED" | "FAILED" => Tone::Bad,
        "NOT_SUBMITTED" => Tone::Pending,
        _ => Tone::Plain,
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

enum Sink {
    Xlsx {
        book: Box<Workbook>,
        styles: Box<Styles>,
    },
    Csv(Box<CsvWriter>),
}

/// Streams the results file, row by row.
struct ResultsWriter<'p> {
    path: &'p Path,
    sink: Sink,
    width: usize,
    next_row: u32,
}

impl<'p> ResultsWriter<'p> {
    /// Starts a results file for a source with `headers` and `data_rows` rows.
    fn create(
        path: &'p Path,
        format: Format,
        headers: &[String],
        data_rows: usize,
    ) -> Result<ResultsWriter<'p>, OutputError> {
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
        let all: Vec<&str> = headers
            .iter()
            .map(String::as_str)
            .chain(OUTCOME_COLUMNS.iter().copied())
            .collect();
        let sink = match format {
            Format::Xlsx => {
                if data_rows + 1 > xlsx::MAX_ROWS {
                    return Err(OutputError::TooManyRows { rows: data_rows });
                }
                let mut book = Workbook::new();
                let styles = Styles::default();
                let widths: Vec<f64> = (0..all.len())
                    .map(|i| match i.checked_sub(headers.len()) {
                        Some(5) => 60.0,
                        Some(1) | Some(6) => 22.0,
                        Some(_) => 13.0,
                        None => xlsx::width_for(&headers[i]),
                    })
                    .collect();
                xlsx::start_sheet(
                    &mut book,
                    "Results",
                    &all,
                    Some(&widths),
                    data_rows,
                    &styles,
                    true,
                )
                .map_err(|e| OutputError::write(path, e))?;
                Sink::Xlsx {
                    book: Box::new(book),
                    styles: Box::new(styles),
                }
            }
            _ => {
                let mut w = CsvWriter::create(path)?;
                w.record(&all)?;
                Sink::Csv(Box::new(w))
            }
        };
        Ok(ResultsWriter {
            path,
            sink,
            width: headers.len(),
            next_row: 1,
        })
    }

    /// Writes one input row (its cells as read) with its outcome.
    fn row(&mut self, src: &SourceRow, out: &ResultRow<'_>) -> Result<(), OutputError> {
        match &mut self.sink {
            Sink::Csv(w) => {
                let http = out.http_status.map(|s| s.to_string()).unwrap_or_default();
                let attempts = out.attempts.map(|a| a.to_string()).unwrap_or_default();
                let row = src.row.to_string();
                let cells = (0..self.width).map(|i| match src.cells.get(i) {
                    Some(Cell::Text(s)) => s.clone(),
                    Some(Cell::Empty) | None => String::new(),
                    Some(other) => other.to_text(),
                });
                let outcome = [
                    out.status,
                    out.ds_id.unwrap_or_default(),
                    out.action.unwrap_or_default(),
                    &http,
                    out.error_code.unwrap_or_default(),
                    out.message.unwrap_or_default(),
                    out.trace_id.unwrap_or_default(),
                    &attempts,
                    &row,
                ]
                .map(str::to_string);
                w.record(cells.chain(outcome))?;
            }
            Sink::Xlsx { book, styles } => {
                let ws = book
                    .worksheet_from_index(0)
                    .map_err(|e| OutputError::write(self.path, e))?;
                outcome_row(ws, self.next_row, self.width as u16, src, out, styles)
                    .map_err(|e| OutputError::write(self.path, e))?;
            }
        }
        self.next_row += 1;
        Ok(())
    }

    /// Adds the Problems and Summary sheets (XLSX only) and closes the file.
    fn finish<'a>(
        self,
        problems_count: usize,
        problems: impl Iterator<Item = ProblemLine<'a>>,
        summary: &Summary,
    ) -> Result<(), OutputError> {
        let path = self.path;
        match self.sink {
            Sink::Csv(w) => (*w).finish(),
            Sink::Xlsx { mut book, styles } => {
                let x = |e: XlsxError| OutputError::write(path, e);
                problems_sheet(&mut book, problems_count, problems, &styles).map_err(x)?;
                xlsx::summary_sheet(&mut book, &summary.lines(), &styles).map_err(x)?;
                xlsx::save(&mut book, path).map_err(x)
            }
        }
    }
}

fn outcome_row(
    ws: &mut Worksheet,
    r: u32,
    base: u16,
    src: &SourceRow,
    out: &ResultRow<'_>,
    styles: &Styles,
) -> Result<(), XlsxError> {
    for (c, cell) in src.cells.iter().enumerate() {
        xlsx::put(ws, r, c as u16, cell, styles)?;
    }
    xlsx::put_text(ws, r, base, out.status, tone(out.status), styles)?;
    let texts = [
        (1, out.ds_id),
        (2, out.action),
        (4, out.error_code),
        (5, out.message),
        (6, out.trace_id),
    ];
    for (off, v) in texts {
        if let Some(v) = v {
            xlsx::put_text(ws, r, base + off, v, Tone::Plain, styles)?;
        }
    }
    if let Some(s) = out.http_status {
        ws.write_number(r, base + 3, f64::from(s))?;
    }
    if let Some(a) = out.attempts {
        ws.write_number(r, base + 7, f64::from(a))?;
    }
    ws.write_number(r, base + 8, f64::from(src.row.0))?;
    Ok(())
}

/// One line of the Problems sheet.
struct ProblemLine<'a> {
    problem: &'a Problem,
    /// The header of the problem's column.
    column: &'a str,
}

fn problems_sheet<'a>(
    book: &mut Workbook,
    count: usize,
    problems: impl Iterator<Item = ProblemLine<'a>>,
    styles: &Styles,
) -> Result<(), XlsxError> {
    let cols = ["Row", "Cell", "Column", "Field", "Severity", "Message"];
    // Past Excel's row limit the sheet's last row says how many did not fit (each row's
    // message on the Results sheet still has its own). Written after the problems: a
    // constant-memory sheet cannot go back to earlier rows.
    let (shown, note_row) = problems_fit(count, xlsx::MAX_ROWS);
    let ws = xlsx::start_sheet(
        book,
        "Problems",
        &cols,
        Some(&[8.0, 8.0, 24.0, 36.0, 10.0, 100.0]),
        shown,
        styles,
        true,
    )?;
    for (i, line) in problems.take(shown).enumerate() {
        let r = i as u32 + 1;
        let p = line.problem;
        if let Some(row) = p.row {
            ws.write_number(r, 0, f64::from(row.0))?;
        }
        if let Some(c) = p.cell {
            ws.write_string(r, 1, c.to_string())?;
        }
        xlsx::put_text(ws, r, 2, line.column, Tone::Plain, styles)?;
        ws.write_string(r, 3, p.field.to_string())?;
        let sev = match p.severity {
            Severity::Error => Tone::Bad,
            Severity::Warning => Tone::Pending,
        };
        xlsx::put_text(ws, r, 4, p.severity.as_str(), sev, styles)?;
        xlsx::put_text(ws, r, 5, &p.message, Tone::Plain, styles)?;
    }
    if let Some(r) = note_row {
        ws.write_string(
            r,
            5,
            format!(
                "… and {} more problems: over Excel's row limit; each row's Error message on the Results sheet still has its own",
                count - shown
            ),
        )?;
    }
    Ok(())
}

/// Writes the results file by re-reading the source next to the recorded outcomes. The file
/// is written beside `out` and renamed into place.
///
/// # Errors
/// [`OutputError`] when `out` asks for a format the results do not have, when the source
/// cannot be read again, or when the file cannot be written.
pub fn write_results(
    prepared: &Prepared,
    out: &Path,
    summary: &Summary,
) -> Result<(), OutputError> {
    let format = Format::choose(out, "the results", FORMATS, Some(Format::Xlsx))?;
    atomic(out, |tmp| {
        let mut writer =
            ResultsWriter::create(tmp, format, prepared.headers(), prepared.data_rows)?;
        let mut again = prepared
            .reopen()
            .map_err(|e| OutputError::write(out, format!("the input cannot be read again: {e}")))?;
        let mut idx = 0usize;
        let mut scratch = String::new();
        while let Some(batch) = again.next_batch() {
            let batch = batch.map_err(|e| {
                OutputError::write(out, format!("the input cannot be read again: {e}"))
            })?;
            for row in batch {
                let view = prepared.recorder.result_row(idx, &mut scratch);
                writer.row(&row, &view)?;
                idx += 1;
            }
        }
        let headers = prepared.headers();
        // Streamed from the recorder: a million problems are not copied once more.
        let lines = prepared.recorder.all_problems().map(|p| ProblemLine {
            problem: p,
            column: p
                .cell
                .and_then(|c| headers.get(c.col as usize))
                .map_or("", String::as_str),
        });
        writer.finish(prepared.recorder.all_problems().count(), lines, summary)
    })
}

/// Where the results went when they could not go where they were asked to.
#[derive(Debug)]
pub struct Elsewhere {
    pub path: std::path::PathBuf,
    /// Why the asked-for path could not be written.
    pub why: OutputError,
}

/// Writes the results to `out`; if that fails (the file is open in Excel, the disk is full),
/// beside it with a time stamp, then in the temporary directory: once leads were sent, losing
/// their outcomes would be the worst failure of all. `Ok(Some(..))` says where they went.
///
/// # Errors
/// The first failure, when no place could take the results.
pub fn write_results_somewhere(
    prepared: &Prepared,
    out: &Path,
    summary: &Summary,
) -> Result<Option<Elsewhere>, OutputError> {
    let first = match write_results(prepared, out, summary) {
        Ok(()) => return Ok(None),
        Err(e @ (OutputError::Format { .. } | OutputError::TooManyRows { .. })) => return Err(e),
        Err(e) => e,
    };
    // The process id too: two imports failing in the same second must not share a name.
    let stamp = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S"),
        std::process::id()
    );
    let name = out
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("results");
    let ext = out.extension().and_then(|s| s.to_str()).unwrap_or("xlsx");
    let beside = out.with_file_name(format!("{name}.{stamp}.{ext}"));
    let in_temp = std::env::temp_dir().join(format!("{name}.{stamp}.{ext}"));
    for alt in [beside, in_temp] {
        if !alt.exists() && write_results(prepared, &alt, summary).is_ok() {
            return Ok(Some(Elsewhere {
                path: alt,
                why: first,
            }));
        }
    }
    Err(first)
}

/// Writes `--emit-requests`: one JSON object per valid lead with its method, path, rows and
/// the exact body it would send. Returns how many.
///
/// # Errors
/// [`OutputError::Write`] when the file cannot be written or the prepared bodies read.
pub fn write_requests(prepared: &Prepared, path: &Path) -> Result<usize, OutputError> {
    let werr = |e: std::io::Error| OutputError::write(path, e);
    let version = prepared.resolved.version;
    atomic(path, |tmp| {
        let mut w = BufWriter::new(std::fs::File::create(tmp).map_err(werr)?);
        let mut n = 0;
        for lead in prepared
            .valid_leads()
            .map_err(|e| OutputError::write(path, e))?
        {
            let op = match lead.action {
                Action::Create => Operation::Create,
                Action::Update => Operation::Update,
            };
            let line = serde_json::json!({
                "rows": lead.rows,
                "action": lead.action,
                "method": op.method().to_string(),
                "path": op.path(version, lead.ds_id.as_deref().unwrap_or_default()),
                "body": lead.body_json(),
            });
            serde_json::to_writer(&mut w, &line).map_err(|e| werr(e.into()))?;
            w.write_all(b"\n").map_err(werr)?;
            n += 1;
        }
        w.flush().map_err(werr)?;
        Ok(n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Status;

    #[test]
    fn problems_past_the_row_limit_leave_a_note_last() {
        assert_eq!(problems_fit(10, 20), (10, None));
        assert_eq!(problems_fit(19, 20), (19, None));
        assert_eq!(problems_fit(20, 20), (18, Some(19)));
        assert_eq!(
            problems_fit(2_000_000, xlsx::MAX_ROWS),
            (1_048_574, Some(1_048_575))
        );
    }

    #[test]
    fn every_status_has_a_colour() {
        for s in [
            Status::Valid,
            Status::Invalid,
            Status::Created,
            Status::Updated,
            Status::Unchanged,
            Status::Exists,
            Status::Rejected,
            Status::Failed,
            Status::NotSubmitted,
        ] {
            assert_ne!(tone(s.as_str()), Tone::Plain, "{s:?}");
        }
    }
}
