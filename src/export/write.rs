//! Export outputs, chosen by the extension of `-o`: `.xlsx` (Leads, OfferLines,
//! CustomerContacts, PartnerContacts, Errors, Summary), `.csv` (the Leads sheet with children
//! flattened by index, formula-safe) and `.jsonl` (the raw records). The import layout writes
//! the mapping's columns instead (one sheet, or the CSV). Every sheet is written in
//! constant-memory mode, one pass over the spooled records each.

use std::io::Write;
use std::path::Path;

use rust_xlsxwriter::{Color, Format, Workbook, Worksheet, XlsxError};
use serde_json::Value;

use super::layout::{self, ImportLayout, Out};
use super::{ExportError, Fetched, record_id};
use crate::api::contract::Section;
use crate::sheet::results::{fit_cell, inert};

#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {message}")]
pub struct WriteError {
    pub path: String,
    pub message: String,
}

fn werr(path: &Path) -> impl Fn(String) -> WriteError + '_ {
    move |message| WriteError {
        path: path.display().to_string(),
        message,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    Xlsx,
    Csv,
    Jsonl,
}

impl OutputKind {
    /// By extension; `None` for one leadsheet does not write.
    pub fn for_path(path: &Path) -> Option<OutputKind> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("xlsx") => Some(OutputKind::Xlsx),
            Some("csv") | Some("txt") => Some(OutputKind::Csv),
            Some("jsonl") | Some("ndjson") | Some("json") => Some(OutputKind::Jsonl),
            _ => None,
        }
    }
}

struct Formats {
    header: Format,
    date: Format,
    datetime: Format,
    wrap: Format,
}

fn formats() -> Formats {
    Formats {
        header: Format::new()
            .set_bold()
            .set_background_color(Color::RGB(0x1F3864))
            .set_font_color(Color::White),
        date: Format::new().set_num_format("yyyy-mm-dd"),
        datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
        wrap: Format::new().set_text_wrap(),
    }
}

fn put(ws: &mut Worksheet, r: u32, c: u16, v: &Out, f: &Formats) -> Result<(), XlsxError> {
    match v {
        Out::Empty => Ok(()),
        Out::Text(s) => ws.write_string(r, c, fit_cell(s)).map(drop),
        Out::Num(n) => ws.write_number(r, c, *n).map(drop),
        Out::Date(d, true) => ws.write_datetime_with_format(r, c, d, &f.date).map(drop),
        Out::Date(d, false) => ws
            .write_datetime_with_format(r, c, d, &f.datetime)
            .map(drop),
    }
}

/// Adds a constant-memory sheet with a styled, frozen, filtered header.
fn sheet<'a>(
    book: &'a mut Workbook,
    name: &str,
    headers: &[String],
    rows: usize,
    f: &Formats,
) -> Result<&'a mut Worksheet, XlsxError> {
    let ws = book.add_worksheet_with_constant_memory()?;
    ws.set_name(name)?;
    for (i, h) in headers.iter().enumerate() {
        ws.set_column_width(i as u16, (h.chars().count() as f64 + 3.0).clamp(10.0, 40.0))?;
    }
    for (i, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, h, &f.header)?;
    }
    ws.set_freeze_panes(1, 0)?;
    if !headers.is_empty() {
        ws.autofilter(0, 0, rows.min(1_048_575) as u32, (headers.len() - 1) as u16)?;
    }
    Ok(ws)
}

fn child_sheet_fields(section: Section) -> (&'static str, Vec<&'static str>, &'static str) {
    let fields = layout::read_names(section);
    match section {
        Section::OfferLine => ("OfferLines", fields, "line"),
        Section::CustomerContact => ("CustomerContacts", fields, "contact"),
        _ => ("PartnerContacts", fields, "contact"),
    }
}

/// The reporting workbook.
pub fn xlsx(
    path: &Path,
    fetched: &Fetched,
    summary: &[(String, String)],
) -> Result<(), WriteError> {
    let e = werr(path);
    let x = |err: XlsxError| e(err.to_string());
    let io = |err: std::io::Error| e(err.to_string());
    let f = formats();
    let mut book = Workbook::new();
    let headers = layout::lead_headers(&fetched.extra_keys);
    let ws = sheet(&mut book, "Leads", &headers, fetched.records.len(), &f).map_err(x)?;
    for (r, record) in fetched.records.iter().map_err(io)?.enumerate() {
        let record = record.map_err(io)?;
        for (c, v) in layout::lead_row(&record, &fetched.extra_keys)
            .iter()
            .enumerate()
        {
            put(ws, r as u32 + 1, c as u16, v, &f).map_err(x)?;
        }
    }
    for section in Section::LISTS {
        let (name, fields, index_name) = child_sheet_fields(section);
        let mut headers: Vec<String> = vec![
            "dsLeadOpportunityId".into(),
            "partnerLeadOpportunityId".into(),
            index_name.into(),
        ];
        headers.extend(fields.iter().map(|s| s.to_string()));
        if section == Section::OfferLine {
            headers.insert(5, "currency".into());
        }
        let ws = sheet(&mut book, name, &headers, 0, &f).map_err(x)?;
        let mut r = 1u32;
        for record in fetched.records.iter().map_err(io)? {
            let record = record.map_err(io)?;
            let id = Out::Text(record_id(&record));
            let plid = layout::out(
                record.get("partnerLeadOpportunityId"),
                "partnerLeadOpportunityId",
            );
            let currency = layout::out(record.get("currency"), "currency");
            for (i, item) in layout::children(&record, section).iter().enumerate() {
                let mut row = vec![id.clone(), plid.clone(), Out::Num(i as f64 + 1.0)];
                row.extend(fields.iter().map(|k| layout::out(item.get(*k), k)));
                if section == Section::OfferLine {
                    row.insert(5, currency.clone());
                }
                for (c, v) in row.iter().enumerate() {
                    put(ws, r, c as u16, v, &f).map_err(x)?;
                }
                r += 1;
            }
        }
    }
    errors_sheet(&mut book, &fetched.errors, &f).map_err(x)?;
    summary_sheet(&mut book, summary, &f).map_err(x)?;
    book.save(path).map_err(x)
}

const ERROR_HEADERS: [&str; 6] = [
    "dsLeadOpportunityId",
    "HTTP status",
    "Error code",
    "Error message",
    "Trace id",
    "Attempts",
];

/// Where a CSV or JSONL export lists the ids it could not fetch: `leads.errors.csv` beside it.
pub fn errors_path(out: &Path) -> std::path::PathBuf {
    let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("export");
    out.with_file_name(format!("{stem}.errors.csv"))
}

/// The Errors sheet as CSV, for exports that have no sheets.
pub fn errors_csv(path: &Path, errors: &[ExportError]) -> Result<(), WriteError> {
    let e = werr(path);
    let c = |err: csv::Error| e(err.to_string());
    let mut w = csv::Writer::from_path(path).map_err(c)?;
    w.write_record(ERROR_HEADERS).map_err(c)?;
    for err in errors {
        w.write_record([
            inert(&err.id).into_owned(),
            err.http_status.map(|s| s.to_string()).unwrap_or_default(),
            inert(err.code.as_deref().unwrap_or_default()).into_owned(),
            inert(&err.message).into_owned(),
            inert(err.trace_id.as_deref().unwrap_or_default()).into_owned(),
            err.attempts.to_string(),
        ])
        .map_err(c)?;
    }
    w.flush().map_err(|err| e(err.to_string()))
}

fn errors_sheet(book: &mut Workbook, errors: &[ExportError], f: &Formats) -> Result<(), XlsxError> {
    let headers: Vec<String> = ERROR_HEADERS.iter().map(|s| s.to_string()).collect();
    let ws = sheet(book, "Errors", &headers, errors.len(), f)?;
    ws.set_column_width(3, 80)?;
    for (i, err) in errors.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, &err.id)?;
        if let Some(s) = err.http_status {
            ws.write_number(r, 1, f64::from(s))?;
        }
        if let Some(c) = &err.code {
            ws.write_string(r, 2, c)?;
        }
        ws.write_string(r, 3, fit_cell(&err.message))?;
        if let Some(t) = &err.trace_id {
            ws.write_string(r, 4, t)?;
        }
        ws.write_number(r, 5, f64::from(err.attempts))?;
    }
    Ok(())
}

fn summary_sheet(
    book: &mut Workbook,
    summary: &[(String, String)],
    f: &Formats,
) -> Result<(), XlsxError> {
    let ws = book.add_worksheet().set_name("Summary")?;
    ws.set_column_width(0, 28)?;
    ws.set_column_width(1, 80)?;
    for (i, (k, v)) in summary.iter().enumerate() {
        ws.write_string_with_format(i as u32, 0, k, &f.header)?;
        ws.write_string_with_format(i as u32, 1, v, &f.wrap)?;
    }
    Ok(())
}

/// The Leads sheet as CSV, children flattened by index (`offerLines.2.amount`).
pub fn csv(path: &Path, fetched: &Fetched) -> Result<(), WriteError> {
    let e = werr(path);
    let io = |err: std::io::Error| e(err.to_string());
    let mut w = csv::Writer::from_path(path).map_err(|err| e(err.to_string()))?;
    let mut headers = layout::lead_headers(&fetched.extra_keys);
    let child_keys: Vec<(&str, Vec<&str>)> = Section::LISTS
        .iter()
        .map(|s| (s.read_key().unwrap_or_default(), layout::read_names(*s)))
        .collect();
    for (i, (key, fields)) in child_keys.iter().enumerate() {
        for n in 1..=fetched.max_items[i] {
            headers.extend(fields.iter().map(|f| format!("{key}.{n}.{f}")));
        }
    }
    w.write_record(headers.iter().map(|h| inert(h).into_owned()))
        .map_err(|err| e(err.to_string()))?;
    for record in fetched.records.iter().map_err(io)? {
        let record = record.map_err(io)?;
        let mut row: Vec<String> = layout::lead_row(&record, &fetched.extra_keys)
            .iter()
            .map(|v| v.text(false))
            .collect();
        for (i, section) in Section::LISTS.iter().enumerate() {
            let items = layout::children(&record, *section);
            let fields = &child_keys[i].1;
            for n in 0..fetched.max_items[i] {
                row.extend(fields.iter().map(|f| {
                    items
                        .get(n)
                        .map(|it| layout::out(it.get(*f), f).text(false))
                        .unwrap_or_default()
                }));
            }
        }
        w.write_record(row.iter().map(|s| inert(s).into_owned()))
            .map_err(|err| e(err.to_string()))?;
    }
    w.flush().map_err(io)
}

/// The raw records, one JSON object per line.
pub fn jsonl(path: &Path, fetched: &Fetched) -> Result<(), WriteError> {
    let e = werr(path);
    let io = |err: std::io::Error| e(err.to_string());
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    for record in fetched.records.iter().map_err(io)? {
        let record: Value = record.map_err(io)?;
        serde_json::to_writer(&mut w, &record).map_err(|err| e(err.to_string()))?;
        w.write_all(b"\n").map_err(io)?;
    }
    w.flush().map_err(io)
}

/// The import layout: one sheet (plus Errors and Summary) or a CSV.
pub fn import_layout(
    path: &Path,
    fetched: &Fetched,
    layout: &ImportLayout,
    summary: &[(String, String)],
) -> Result<(), WriteError> {
    let e = werr(path);
    let io = |err: std::io::Error| e(err.to_string());
    let headers = layout.headers();
    match OutputKind::for_path(path) {
        Some(OutputKind::Csv) => {
            let mut w = csv::Writer::from_path(path).map_err(|err| e(err.to_string()))?;
            w.write_record(headers.iter().map(|h| inert(h).into_owned()))
                .map_err(|err| e(err.to_string()))?;
            for record in fetched.records.iter().map_err(io)? {
                for row in layout.rows(&record.map_err(io)?) {
                    w.write_record(
                        row.iter()
                            .map(|v| inert(&v.text(layout.decimal_comma)).into_owned()),
                    )
                    .map_err(|err| e(err.to_string()))?;
                }
            }
            w.flush().map_err(io)
        }
        // The command refuses `--layout import` with JSONL: raw records have no layout.
        Some(OutputKind::Jsonl) => jsonl(path, fetched),
        Some(OutputKind::Xlsx) | None => {
            let x = |err: XlsxError| e(err.to_string());
            let f = formats();
            let mut book = Workbook::new();
            let ws = sheet(&mut book, "Leads", &headers, fetched.records.len(), &f).map_err(x)?;
            let mut r = 1u32;
            for record in fetched.records.iter().map_err(io)? {
                for row in layout.rows(&record.map_err(io)?) {
                    for (c, v) in row.iter().enumerate() {
                        put(ws, r, c as u16, v, &f).map_err(x)?;
                    }
                    r += 1;
                }
            }
            errors_sheet(&mut book, &fetched.errors, &f).map_err(x)?;
            summary_sheet(&mut book, summary, &f).map_err(x)?;
            book.save(path).map_err(x)
        }
    }
}
