//! XLSX, XLSM, XLSB, XLS and ODS through calamine. XLSX is streamed cell by cell, so a sheet of
//! a million rows never sits in memory; the older formats are read as a range (they are small
//! in practice). Cell types are kept: text stays text (zip `01234`), numbers stay numbers, date
//! cells become dates in either the 1900 or 1904 date system, error cells (`#N/A`) stay errors,
//! and formulas give their cached value. Columns keep their real letters even when the table
//! does not start in column A.

use std::io::BufReader;
use std::path::Path;

use calamine::{Data, DataRef, Reader};
use chrono::{NaiveDate, NaiveDateTime, Timelike};

use super::{Cell, Format, ReadOptions, RowNum, RowRouter, SheetError, SheetSelector, SourceInfo};

fn broken(display: &str, format: Format, e: impl std::fmt::Display) -> SheetError {
    SheetError::Broken {
        path: display.to_string(),
        format: format.name(),
        message: e.to_string(),
    }
}

/// The sheet to read: by name, by 1-based position (a sheet whose name is that number wins,
/// so `--sheet 2025` finds a sheet named `2025`), or by default the first visible worksheet.
fn pick_sheet(
    sheets: &[calamine::Sheet],
    wanted: Option<&SheetSelector>,
    display: &str,
) -> Result<String, SheetError> {
    let names: Vec<String> = sheets.iter().map(|s| s.name.clone()).collect();
    match wanted {
        None => sheets
            .iter()
            .find(|s| {
                s.visible == calamine::SheetVisible::Visible
                    && s.typ == calamine::SheetType::WorkSheet
            })
            .or(sheets.first())
            .map(|s| s.name.clone())
            .ok_or_else(|| SheetError::NoSuchSheetIndex {
                path: display.to_string(),
                wanted: 1,
                count: 0,
            }),
        Some(SheetSelector::Index(i)) => names
            .iter()
            .find(|n| n.trim() == i.to_string())
            .or(names.get(i - 1))
            .cloned()
            .ok_or(SheetError::NoSuchSheetIndex {
                path: display.to_string(),
                wanted: *i,
                count: names.len(),
            }),
        Some(SheetSelector::Name(n)) => names
            .iter()
            .find(|s| *s == n)
            .or_else(|| {
                names
                    .iter()
                    .find(|s| s.trim().eq_ignore_ascii_case(n.trim()))
            })
            .cloned()
            .ok_or_else(|| SheetError::NoSuchSheet {
                path: display.to_string(),
                wanted: n.clone(),
                available: names
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
    }
}

fn date_cell(value: NaiveDateTime) -> Cell {
    let date_only = value.time().num_seconds_from_midnight() == 0 && value.time().nanosecond() == 0;
    Cell::DateTime { value, date_only }
}

fn excel_datetime(d: &calamine::ExcelDateTime) -> Cell {
    if d.is_datetime()
        && let Some(v) = d.as_datetime()
    {
        return date_cell(v);
    }
    // A duration (`[hh]:mm:ss`): keep the number of days as Excel stores it.
    Cell::Float(d.as_f64())
}

fn iso_cell(s: &str) -> Cell {
    if let Ok(v) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return date_cell(v);
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return date_cell(d.and_time(chrono::NaiveTime::MIN));
    }
    Cell::Text(s.to_string())
}

fn from_ref(d: &DataRef<'_>) -> Cell {
    match d {
        DataRef::Int(i) => Cell::Int(*i),
        DataRef::Float(f) => Cell::Float(*f),
        DataRef::String(s) if s.is_empty() => Cell::Empty,
        DataRef::String(s) => Cell::Text(s.clone()),
        DataRef::SharedString("") => Cell::Empty,
        DataRef::SharedString(s) => Cell::Text((*s).to_string()),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(d) => excel_datetime(d),
        DataRef::DateTimeIso(s) => iso_cell(s),
        DataRef::DurationIso(s) => Cell::Text(s.clone()),
        DataRef::Error(e) => Cell::Error(e.to_string()),
        DataRef::Empty => Cell::Empty,
    }
}

/// The texts of spreadsheet error values: Excel's, and LibreOffice's `Err:502`.
fn is_error_literal(t: &str) -> bool {
    matches!(
        t,
        "#N/A" | "#REF!" | "#DIV/0!" | "#VALUE!" | "#NAME?" | "#NUM!" | "#NULL!"
    ) || t
        .strip_prefix("Err:")
        .is_some_and(|n| n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit()))
}

fn from_data(d: &Data) -> Cell {
    match d {
        Data::Int(i) => Cell::Int(*i),
        Data::Float(f) => Cell::Float(*f),
        Data::String(s) if s.is_empty() => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(d) => excel_datetime(d),
        Data::DateTimeIso(s) => iso_cell(s),
        Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Error(e.to_string()),
        Data::Empty => Cell::Empty,
    }
}

pub fn open(
    path: &Path,
    display: &str,
    options: &ReadOptions,
    format: Format,
) -> Result<super::OpenSheet, SheetError> {
    let sha256 = super::sha256_file(path).map_err(|source| SheetError::Io {
        path: display.to_string(),
        source,
    })?;
    let info = SourceInfo {
        display: display.to_string(),
        path: path.to_path_buf(),
        format,
        sheet: None,
        sha256,
        header_row: RowNum(1),
        delimiter: None,
        encoding: None,
    };
    let path = path.to_path_buf();
    let display = display.to_string();
    let options = options.clone();
    super::start(info, move |feed| {
        let result = match format {
            Format::Xlsx => stream_xlsx(&path, &display, &options, feed),
            _ => read_range(&path, &display, &options, format, feed),
        };
        if let Err(failure) = result {
            let (router, e) = *failure;
            router.fail(e);
        }
    })
}

type Failure = Box<(RowRouter, SheetError)>;

/// Reads an XLSX sheet cell by cell; cells arrive row by row.
fn stream_xlsx(
    path: &Path,
    display: &str,
    options: &ReadOptions,
    feed: super::Feed,
) -> Result<(), Failure> {
    let fail_early = |feed: super::Feed, e: SheetError| -> Result<(), Failure> {
        Err(Box::new((RowRouter::new(feed, None, None, display), e)))
    };
    let mut book: calamine::Xlsx<BufReader<std::fs::File>> = match calamine::open_workbook(path) {
        Ok(b) => b,
        Err(e) => return fail_early(feed, broken(display, Format::Xlsx, e)),
    };
    let sheet = match pick_sheet(book.sheets_metadata(), options.sheet.as_ref(), display) {
        Ok(s) => s,
        Err(e) => return fail_early(feed, e),
    };
    let mut router = RowRouter::new(feed, options.header_row, Some(sheet.clone()), display);
    let mut reader = match book.worksheet_cells_reader(&sheet) {
        Ok(r) => r,
        Err(e) => return Err(Box::new((router, broken(display, Format::Xlsx, e)))),
    };
    let mut current: Option<u32> = None;
    let mut cells: Vec<Cell> = Vec::new();
    loop {
        let next = match reader.next_cell() {
            Ok(n) => n,
            Err(e) => return Err(Box::new((router, broken(display, Format::Xlsx, e)))),
        };
        let Some(cell) = next else { break };
        let (r, c) = cell.get_position();
        if current != Some(r) {
            if let Some(prev) = current {
                if !router.row(RowNum(prev + 1), std::mem::take(&mut cells), None) {
                    return Ok(());
                }
                // Rows without any cell are blank rows.
                for gap in prev + 1..r {
                    if !router.row(RowNum(gap + 1), Vec::new(), None) {
                        return Ok(());
                    }
                }
            } else {
                for gap in 0..r {
                    if !router.row(RowNum(gap + 1), Vec::new(), None) {
                        return Ok(());
                    }
                }
            }
            current = Some(r);
        }
        let c = c as usize;
        if cells.len() <= c {
            cells.resize(c + 1, Cell::Empty);
        }
        cells[c] = from_ref(cell.get_value());
    }
    if let Some(prev) = current {
        router.row(RowNum(prev + 1), cells, None);
    }
    router.finish();
    Ok(())
}

/// Reads XLS, XLSB and ODS sheets as a whole range.
fn read_range(
    path: &Path,
    display: &str,
    options: &ReadOptions,
    format: Format,
    feed: super::Feed,
) -> Result<(), Failure> {
    let fail_early = |feed: super::Feed, e: SheetError| -> Result<(), Failure> {
        Err(Box::new((RowRouter::new(feed, None, None, display), e)))
    };
    // By the detected format, not the extension: stdin is spooled to a file without one.
    let opened = match format {
        Format::Xls => calamine::open_workbook(path)
            .map(calamine::Sheets::Xls)
            .map_err(calamine::Error::Xls),
        Format::Ods => calamine::open_workbook(path)
            .map(calamine::Sheets::Ods)
            .map_err(calamine::Error::Ods),
        _ => calamine::open_workbook(path)
            .map(calamine::Sheets::Xlsb)
            .map_err(calamine::Error::Xlsb),
    };
    let mut book = match opened {
        Ok(b) => b,
        Err(e) => return fail_early(feed, broken(display, format, e)),
    };
    let sheet = match pick_sheet(book.sheets_metadata(), options.sheet.as_ref(), display) {
        Ok(s) => s,
        Err(e) => return fail_early(feed, e),
    };
    let mut router = RowRouter::new(feed, options.header_row, Some(sheet.clone()), display);
    let range = match book.worksheet_range(&sheet) {
        Ok(r) => r,
        Err(e) => return Err(Box::new((router, broken(display, format, e)))),
    };
    let (row0, col0) = range.start().unwrap_or((0, 0));
    for gap in 0..row0 {
        if !router.row(RowNum(gap + 1), Vec::new(), None) {
            return Ok(());
        }
    }
    for (i, row) in range.rows().enumerate() {
        let mut cells = vec![Cell::Empty; col0 as usize];
        cells.extend(row.iter().map(|d| match from_data(d) {
            // calamine gives an ODS error cell as its text; no CRM value looks like one.
            Cell::Text(t) if format == Format::Ods && is_error_literal(&t) => Cell::Error(t),
            c => c,
        }));
        if !router.row(RowNum(row0 + i as u32 + 1), cells, None) {
            return Ok(());
        }
    }
    router.finish();
    Ok(())
}
