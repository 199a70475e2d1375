//! Export outputs, chosen by the extension of `-o`: `.xlsx` (Leads, OfferLines,
//! CustomerContacts, PartnerContacts, Errors, Summary), `.csv` (the Leads sheet with children
//! flattened by index, `offerLines.2.amount`) and `.jsonl` (the raw records). The import layout
//! writes the mapping's columns instead (one sheet, or the CSV). Every sheet is written in
//! constant-memory mode, one pass over the spooled records each. An export without sheets
//! lists the ids it could not fetch in a CSV beside it (`leads.errors.csv`).

use std::io::Write;
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{Workbook, XlsxError};
use serde_json::Value;

use super::csv::CsvWriter;
use super::xlsx::{self, Styles};
use super::{Format, OutputError, Summary, atomic};
use crate::api::contract::Section;
use crate::export::layout::{self, ImportLayout, csv_text};
use crate::export::{Fetched, Unfetched, record_id};
use crate::sheet::Cell;

/// The formats of a report export.
pub const FORMATS: &[Format] = &[Format::Xlsx, Format::Csv, Format::Jsonl];

/// The formats of an import-layout export (raw records have no layout).
pub const LAYOUT_FORMATS: &[Format] = &[Format::Xlsx, Format::Csv];

const ERROR_HEADERS: [&str; 6] = [
    "dsLeadOpportunityId",
    "HTTP status",
    "Error code",
    "Error message",
    "Trace id",
    "Attempts",
];

/// Writes the export to `path` in `format`: every field (the report), or a mapping's columns
/// with `layout` (to edit and re-import). For CSV and JSONL, the ids that could not be fetched
/// go to a CSV beside it, whose path is returned.
///
/// # Errors
/// [`OutputError::Write`] when a file cannot be written or the spooled records read.
pub fn write(
    path: &Path,
    format: Format,
    fetched: &Fetched,
    layout: Option<&ImportLayout>,
    summary: &Summary,
) -> Result<Option<PathBuf>, OutputError> {
    atomic(path, |tmp| match (layout, format) {
        (None, Format::Xlsx) => report_xlsx(tmp, fetched, summary),
        (None, Format::Csv) => report_csv(tmp, fetched),
        (_, Format::Jsonl) => jsonl(tmp, fetched),
        (Some(l), Format::Csv) => layout_csv(tmp, fetched, l),
        (Some(l), Format::Xlsx) => layout_xlsx(tmp, fetched, l, summary),
    })?;
    if format == Format::Xlsx || fetched.errors.is_empty() {
        return Ok(None);
    }
    let errors = errors_path(path);
    atomic(&errors, |tmp| errors_csv(tmp, &fetched.errors))?;
    Ok(Some(errors))
}

/// Where a CSV or JSONL export lists the ids it could not fetch: `leads.errors.csv` beside it.
pub fn errors_path(out: &Path) -> PathBuf {
    let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("export");
    out.with_file_name(format!("{stem}.errors.csv"))
}

fn records(
    fetched: &Fetched,
    path: &Path,
) -> Result<impl Iterator<Item = Result<Value, OutputError>>, OutputError> {
    let path = path.to_path_buf();
    let iter = fetched
        .records
        .iter()
        .map_err(|e| OutputError::write(&path, e))?;
    Ok(iter.map(move |r| r.map_err(|e| OutputError::write(&path, e))))
}

fn child_sheet(section: Section) -> (&'static str, &'static str) {
    match section {
        Section::OfferLine => ("OfferLines", "line"),
        Section::CustomerContact => ("CustomerContacts", "contact"),
        _ => ("PartnerContacts", "contact"),
    }
}

/// The reporting workbook.
fn report_xlsx(path: &Path, fetched: &Fetched, summary: &Summary) -> Result<(), OutputError> {
    let x = |err: XlsxError| OutputError::write(path, err);
    let styles = Styles::default();
    let mut book = Workbook::new();
    let headers = layout::lead_headers(&fetched.extra_keys);
    let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let ws = xlsx::start_sheet(
        &mut book,
        "Leads",
        &refs,
        None,
        fetched.records.len(),
        &styles,
        true,
    )
    .map_err(x)?;
    for (r, record) in records(fetched, path)?.enumerate() {
        for (c, v) in layout::lead_row(&record?, &fetched.extra_keys)
            .iter()
            .enumerate()
        {
            xlsx::put(ws, r as u32 + 1, c as u16, v, &styles).map_err(x)?;
        }
    }
    for section in Section::LISTS {
        let (name, index_name) = child_sheet(section);
        let fields = layout::read_names(section);
        let mut headers: Vec<&str> = vec![
            "dsLeadOpportunityId",
            "partnerLeadOpportunityId",
            index_name,
        ];
        headers.extend(fields.iter().copied());
        if section == Section::OfferLine {
            headers.insert(5, "currency");
        }
        let ws = xlsx::start_sheet(&mut book, name, &headers, None, 0, &styles, true).map_err(x)?;
        let mut r = 1u32;
        for record in records(fetched, path)? {
            let record = record?;
            let id = Cell::Text(record_id(&record));
            let plid = layout::out(
                record.get("partnerLeadOpportunityId"),
                "partnerLeadOpportunityId",
            );
            let currency = layout::out(record.get("currency"), "currency");
            for (i, item) in section.read_items(&record).iter().enumerate() {
                let mut row = vec![id.clone(), plid.clone(), Cell::Float(i as f64 + 1.0)];
                row.extend(fields.iter().map(|k| layout::out(item.get(*k), k)));
                if section == Section::OfferLine {
                    row.insert(5, currency.clone());
                }
                for (c, v) in row.iter().enumerate() {
                    xlsx::put(ws, r, c as u16, v, &styles).map_err(x)?;
                }
                r += 1;
            }
        }
    }
    errors_sheet(&mut book, &fetched.errors, &styles).map_err(x)?;
    xlsx::summary_sheet(&mut book, &summary.lines(), &styles).map_err(x)?;
    xlsx::save(&mut book, path).map_err(x)
}

fn errors_csv(path: &Path, errors: &[Unfetched]) -> Result<(), OutputError> {
    let mut w = CsvWriter::create(path)?;
    w.record(ERROR_HEADERS)?;
    for err in errors {
        w.record([
            err.id.clone(),
            err.http_status.map(|s| s.to_string()).unwrap_or_default(),
            err.code.clone().unwrap_or_default(),
            err.message.clone(),
            err.trace_id.clone().unwrap_or_default(),
            err.attempts.to_string(),
        ])?;
    }
    w.finish()
}

fn errors_sheet(
    book: &mut Workbook,
    errors: &[Unfetched],
    styles: &Styles,
) -> Result<(), XlsxError> {
    let ws = xlsx::start_sheet(
        book,
        "Errors",
        &ERROR_HEADERS,
        None,
        errors.len(),
        styles,
        true,
    )?;
    ws.set_column_width(3, 80)?;
    for (i, err) in errors.iter().enumerate() {
        let r = i as u32 + 1;
        let text = |s: &str| Cell::Text(s.to_string());
        let cells = [
            text(&err.id),
            err.http_status
                .map_or(Cell::Empty, |s| Cell::Int(i64::from(s))),
            err.code.as_deref().map_or(Cell::Empty, text),
            text(&err.message),
            err.trace_id.as_deref().map_or(Cell::Empty, text),
            Cell::Int(i64::from(err.attempts)),
        ];
        for (c, cell) in cells.iter().enumerate() {
            xlsx::put(ws, r, c as u16, cell, styles)?;
        }
    }
    Ok(())
}

/// The Leads sheet as CSV, children flattened by index (`offerLines.2.amount`, the read
/// model's names: `customerContact.1.email`).
fn report_csv(path: &Path, fetched: &Fetched) -> Result<(), OutputError> {
    let mut w = CsvWriter::create(path)?;
    let mut headers = layout::lead_headers(&fetched.extra_keys);
    let children: Vec<(Section, &str, Vec<&str>)> = Section::LISTS
        .iter()
        .map(|s| (*s, s.read_key().unwrap_or_default(), layout::read_names(*s)))
        .collect();
    for (i, (_, key, fields)) in children.iter().enumerate() {
        for n in 1..=fetched.max_items[i] {
            headers.extend(fields.iter().map(|f| format!("{key}.{n}.{f}")));
        }
    }
    w.record(&headers)?;
    for record in records(fetched, path)? {
        let record = record?;
        let mut row: Vec<String> = layout::lead_row(&record, &fetched.extra_keys)
            .iter()
            .map(|v| csv_text(v, false))
            .collect();
        for (i, (section, _, fields)) in children.iter().enumerate() {
            let items = section.read_items(&record);
            for n in 0..fetched.max_items[i] {
                row.extend(fields.iter().map(|f| {
                    items
                        .get(n)
                        .map(|it| csv_text(&layout::out(it.get(*f), f), false))
                        .unwrap_or_default()
                }));
            }
        }
        w.record(&row)?;
    }
    w.finish()
}

/// The raw records, one JSON object per line.
fn jsonl(path: &Path, fetched: &Fetched) -> Result<(), OutputError> {
    let io = |err: std::io::Error| OutputError::write(path, err);
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    for record in records(fetched, path)? {
        serde_json::to_writer(&mut w, &record?).map_err(|err| OutputError::write(path, err))?;
        w.write_all(b"\n").map_err(io)?;
    }
    w.flush().map_err(io)
}

fn layout_csv(path: &Path, fetched: &Fetched, layout: &ImportLayout) -> Result<(), OutputError> {
    let mut w = CsvWriter::create(path)?;
    w.record(layout.headers())?;
    for record in records(fetched, path)? {
        for row in layout.rows(&record?) {
            w.record(row.iter().map(|v| csv_text(v, layout.decimal_comma)))?;
        }
    }
    w.finish()
}

fn layout_xlsx(
    path: &Path,
    fetched: &Fetched,
    layout: &ImportLayout,
    summary: &Summary,
) -> Result<(), OutputError> {
    let x = |err: XlsxError| OutputError::write(path, err);
    let styles = Styles::default();
    let mut book = Workbook::new();
    let headers = layout.headers();
    let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let ws = xlsx::start_sheet(
        &mut book,
        "Leads",
        &refs,
        None,
        fetched.records.len(),
        &styles,
        true,
    )
    .map_err(x)?;
    let mut r = 1u32;
    for record in records(fetched, path)? {
        for row in layout.rows(&record?) {
            for (c, v) in row.iter().enumerate() {
                xlsx::put(ws, r, c as u16, v, &styles).map_err(x)?;
            }
            r += 1;
        }
    }
    errors_sheet(&mut book, &fetched.errors, &styles).map_err(x)?;
    xlsx::summary_sheet(&mut book, &summary.lines(), &styles).map_err(x)?;
    xlsx::save(&mut book, path).map_err(x)
}
