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

use super::limits::{MAX_COLUMNS, MAX_ROWS};
use super::{
    Cell, Format, Raw, ReadOptions, RowNum, RowRouter, SheetError, SheetSelector, SourceInfo,
    column_letter,
};

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

/// A time of day or a duration as a clock shows it: `10:10:10`, `34:05:00` (hours past a
/// day), `10:10:10.5`. Neither is a date, and no field of a lead is one: shown as text, a
/// cell mapped to a date says what it holds.
fn clock_text(seconds: f64) -> String {
    let negative = seconds < 0.0;
    let millis = (seconds.abs() * 1000.0).round() as u64;
    let (h, m, s, ms) = (
        millis / 3_600_000,
        millis / 60_000 % 60,
        millis / 1000 % 60,
        millis % 1000,
    );
    let mut out = format!("{}{h:02}:{m:02}:{s:02}", if negative { "-" } else { "" });
    if ms > 0 {
        let frac = format!("{:03}", ms);
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out
}

fn excel_datetime(d: &calamine::ExcelDateTime) -> Cell {
    let days = d.as_f64();
    if d.is_datetime() {
        // A time-of-day format on a value under one day: a time, not 1899-12-30 at that time.
        if (0.0..1.0).contains(&days) && days > 0.0 {
            return Cell::Text(clock_text(days * 86_400.0));
        }
        if let Some(v) = d.as_datetime() {
            return date_cell(v);
        }
    }
    // A duration (`[hh]:mm:ss`).
    Cell::Text(clock_text(days * 86_400.0))
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

/// An ISO 8601 duration as ODS stores times of day and durations (`PT10H10M10S`,
/// `P1DT2H`), as a clock; anything else stays as written.
fn iso_duration(s: &str) -> Cell {
    fn seconds(s: &str) -> Option<f64> {
        let (negative, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let body = s.strip_prefix('P')?;
        let (date, time) = body.split_once('T').unwrap_or((body, ""));
        let mut total = 0.0;
        let mut take = |part: &str, units: &[(char, f64)]| -> Option<()> {
            let mut number = String::new();
            for c in part.chars() {
                if c.is_ascii_digit() || c == '.' || c == ',' {
                    number.push(if c == ',' { '.' } else { c });
                    continue;
                }
                let (_, factor) = units.iter().find(|(u, _)| *u == c)?;
                total += number.parse::<f64>().ok()? * factor;
                number.clear();
            }
            number.is_empty().then_some(())
        };
        take(date, &[('D', 86_400.0), ('W', 604_800.0)])?;
        take(time, &[('H', 3600.0), ('M', 60.0), ('S', 1.0)])?;
        Some(if negative { -total } else { total })
    }
    match seconds(s.trim()) {
        Some(secs) => Cell::Text(clock_text(secs)),
        None => Cell::Text(s.to_string()),
    }
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
        DataRef::DurationIso(s) => iso_duration(s),
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
        Data::DurationIso(s) => iso_duration(s),
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
    match format {
        Format::Ods => super::ods_size::check(path, display)?,
        Format::Xls => super::xls_size::check(path, display)?,
        _ => {}
    }
    let info = SourceInfo {
        display: display.to_string(),
        path: path.to_path_buf(),
        format,
        sheet: None,
        sha256,
        header_row: RowNum(1),
        delimiter: None,
        encoding: None,
        notes: Vec::new(),
    };
    let path = path.to_path_buf();
    let display = display.to_string();
    let options = options.clone();
    super::start(info, move |feed| {
        let result = match format {
            Format::Xlsx | Format::Xlsb => stream(&path, &display, &options, format, feed),
            _ => read_range(&path, &display, &options, format, feed),
        };
        if let Err(failure) = result {
            let (router, e) = *failure;
            router.fail(e);
        }
    })
}

type Failure = Box<(RowRouter, SheetError)>;

/// Where a cell is and what it holds, or why the next cell cannot be read.
type NextCell = Result<Option<((u32, u32), Cell)>, String>;

/// Reads an XLSX or XLSB sheet cell by cell; cells arrive row by row, and rows without a cell
/// are counted as blank without being made.
fn stream(
    path: &Path,
    display: &str,
    options: &ReadOptions,
    format: Format,
    feed: super::Feed,
) -> Result<(), Failure> {
    let fail_early = |feed: super::Feed, e: SheetError| -> Result<(), Failure> {
        Err(Box::new((RowRouter::new(feed, options, None, display), e)))
    };
    if format == Format::Xlsb {
        let mut book: calamine::Xlsb<BufReader<std::fs::File>> = match calamine::open_workbook(path)
        {
            Ok(b) => b,
            Err(e) => return fail_early(feed, broken(display, format, e)),
        };
        let sheet = match pick_sheet(book.sheets_metadata(), options.sheet.as_ref(), display) {
            Ok(s) => s,
            Err(e) => return fail_early(feed, e),
        };
        let router = RowRouter::new(feed, options, Some(sheet.clone()), display);
        let mut reader = match book.worksheet_cells_reader(&sheet) {
            Ok(r) => r,
            Err(e) => return Err(Box::new((router, broken(display, format, e)))),
        };
        return route_cells(router, display, format, || {
            reader
                .next_cell()
                .map(|c| c.map(|c| (c.get_position(), from_ref(c.get_value()))))
                .map_err(|e| e.to_string())
        });
    }
    let mut book: calamine::Xlsx<BufReader<std::fs::File>> = match calamine::open_workbook(path) {
        Ok(b) => b,
        Err(e) => return fail_early(feed, broken(display, format, e)),
    };
    let sheet = match pick_sheet(book.sheets_metadata(), options.sheet.as_ref(), display) {
        Ok(s) => s,
        Err(e) => return fail_early(feed, e),
    };
    let router = RowRouter::new(feed, options, Some(sheet.clone()), display);
    let mut reader = match book.worksheet_cells_reader(&sheet) {
        Ok(r) => r,
        Err(e) => return Err(Box::new((router, broken(display, format, e)))),
    };
    route_cells(router, display, format, || {
        reader
            .next_cell()
            .map(|c| c.map(|c| (c.get_position(), from_ref(c.get_value()))))
            .map_err(|e| e.to_string())
    })
}

/// Gathers cells into rows for the router. A cell beyond Excel's last column or row is a
/// broken (or hostile) file: it is refused by its address before anything is allocated for
/// it, and so is a row that goes back up the sheet.
fn route_cells(
    mut router: RowRouter,
    display: &str,
    format: Format,
    mut next: impl FnMut() -> NextCell,
) -> Result<(), Failure> {
    let fail = |router: RowRouter, message: String| -> Result<(), Failure> {
        Err(Box::new((router, broken(display, format, message))))
    };
    let mut current: Option<u32> = None;
    let mut cells: Vec<Cell> = Vec::new();
    let mut far: Option<usize> = None;
    loop {
        let ((r, c), value) = match next() {
            Ok(Some(cell)) => cell,
            Ok(None) => break,
            Err(e) => return fail(router, e),
        };
        if c as usize >= MAX_COLUMNS || r >= MAX_ROWS {
            return fail(
                router,
                format!(
                    "a cell at row {}, column {} lies beyond the last cell a sheet can have ({}{MAX_ROWS}); the file is damaged or built to mislead",
                    u64::from(r) + 1,
                    u64::from(c) + 1,
                    column_letter(MAX_COLUMNS - 1)
                ),
            );
        }
        if current != Some(r) {
            if let Some(prev) = current {
                if r < prev {
                    return fail(
                        router,
                        format!(
                            "row {} comes after row {}: its rows are out of order",
                            r + 1,
                            prev + 1
                        ),
                    );
                }
                let mut raw = Raw::new(RowNum(prev + 1), std::mem::take(&mut cells));
                raw.far = far.take();
                if !router.row(raw) {
                    return Ok(());
                }
                if !router.blank_rows(RowNum(prev + 2), r - prev - 1) {
                    return Ok(());
                }
            } else if !router.blank_rows(RowNum(1), r) {
                return Ok(());
            }
            current = Some(r);
        }
        let c = c as usize;
        if router.width().is_some_and(|w| c > w) {
            // Right of the table: remembered, not built (the row is a problem either way).
            if !value.is_blank() {
                far = far.max(Some(c));
            }
            continue;
        }
        if cells.len() <= c {
            cells.resize(c + 1, Cell::Empty);
        }
        cells[c] = value;
    }
    if let Some(prev) = current {
        let mut raw = Raw::new(RowNum(prev + 1), cells);
        raw.far = far;
        router.row(raw);
    }
    router.finish();
    Ok(())
}

/// Reads XLS and ODS sheets as a whole range (their readers have no other way; ODS is
/// checked for its size first, see [`ods_size`], and XLS cannot exceed 65,536 × 256 cells).
fn read_range(
    path: &Path,
    display: &str,
    options: &ReadOptions,
    format: Format,
    feed: super::Feed,
) -> Result<(), Failure> {
    let fail_early = |feed: super::Feed, e: SheetError| -> Result<(), Failure> {
        Err(Box::new((RowRouter::new(feed, options, None, display), e)))
    };
    // By the detected format, not the extension: stdin is spooled to a file without one.
    let opened = match format {
        Format::Xls => calamine::open_workbook(path)
            .map(calamine::Sheets::Xls)
            .map_err(calamine::Error::Xls),
        _ => calamine::open_workbook(path)
            .map(calamine::Sheets::Ods)
            .map_err(calamine::Error::Ods),
    };
    let mut book = match opened {
        Ok(b) => b,
        Err(e) => return fail_early(feed, broken(display, format, e)),
    };
    let sheet = match pick_sheet(book.sheets_metadata(), options.sheet.as_ref(), display) {
        Ok(s) => s,
        Err(e) => return fail_early(feed, e),
    };
    let mut router = RowRouter::new(feed, options, Some(sheet.clone()), display);
    let range = match book.worksheet_range(&sheet) {
        Ok(r) => r,
        Err(e) => return Err(Box::new((router, broken(display, format, e)))),
    };
    let (row0, col0) = range.start().unwrap_or((0, 0));
    if !router.blank_rows(RowNum(1), row0) {
        return Ok(());
    }
    for (i, row) in range.rows().enumerate() {
        let mut cells = vec![Cell::Empty; col0 as usize];
        cells.extend(row.iter().map(|d| match from_data(d) {
            // calamine gives an ODS error cell as its text; no CRM value looks like one.
            Cell::Text(t) if format == Format::Ods && is_error_literal(&t) => Cell::Error(t),
            c => c,
        }));
        if !router.row(Raw::new(RowNum(row0 + i as u32 + 1), cells)) {
            return Ok(());
        }
    }
    router.finish();
    Ok(())
}
