//! The portfolio as a workbook (sheet `Portfolio`, booleans as booleans) or a CSV.

use std::path::Path;

use rust_xlsxwriter::{Workbook, XlsxError};
use serde_json::Value;

use super::csv::CsvWriter;
use super::xlsx::{self, Styles};
use super::{Format, OutputError, atomic};
use crate::export::portfolio::{Portfolio, item_text};
use crate::sheet::Cell;

/// The formats of the portfolio.
pub const FORMATS: &[Format] = &[Format::Xlsx, Format::Csv];

/// Writes the portfolio to `path` in `format`.
///
/// # Errors
/// [`OutputError::Write`] when the file cannot be written.
pub fn write(path: &Path, format: Format, portfolio: &Portfolio) -> Result<(), OutputError> {
    let headers = portfolio.headers();
    atomic(path, |tmp| {
        if format == Format::Csv {
            let mut w = CsvWriter::create(tmp)?;
            w.record(&headers)?;
            for item in &portfolio.items {
                w.record(headers.iter().map(|h| item_text(item.get(h))))?;
            }
            return w.finish();
        }
        workbook(tmp, &headers, &portfolio.items).map_err(|e| OutputError::write(tmp, e))
    })
}

fn workbook(path: &Path, headers: &[String], items: &[Value]) -> Result<(), XlsxError> {
    let styles = Styles::default();
    let mut book = Workbook::new();
    let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let widths: Vec<f64> = headers
        .iter()
        .map(|h| (h.len() as f64 + 4.0).max(16.0))
        .collect();
    let ws = xlsx::start_sheet(
        &mut book,
        "Portfolio",
        &refs,
        Some(&widths),
        items.len(),
        &styles,
        true,
    )?;
    for (r, item) in items.iter().enumerate() {
        for (c, h) in headers.iter().enumerate() {
            let cell = match item.get(h) {
                Some(Value::Bool(b)) => Cell::Bool(*b),
                Some(Value::Number(n)) => Cell::Float(n.as_f64().unwrap_or_default()),
                v => Cell::Text(item_text(v)),
            };
            xlsx::put(ws, (r + 1) as u32, c as u16, &cell, &styles)?;
        }
    }
    xlsx::save(&mut book, path)
}
