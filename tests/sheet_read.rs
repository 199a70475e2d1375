//! The readers on the files users really have: every workbook format with its cell types, and
//! CSV in the encodings and delimiters Excel writes.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use leadsheet::{Cell, ReadOptions, RowNum, SheetError, SheetSelector, SourceInfo, SourceRow};

use crate::util::*;

pub fn read_all(
    path: &str,
    options: &ReadOptions,
) -> Result<(Vec<String>, Vec<SourceRow>, u64, SourceInfo), SheetError> {
    let mut s = leadsheet::open_sheet(path, options)?;
    let mut rows = vec![];
    while let Some(b) = s.next_batch() {
        rows.extend(b?);
    }
    Ok((s.headers.clone(), rows, s.blank_rows(), s.info.clone()))
}

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn date(y: i32, m: u32, d: u32) -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

#[test]
fn workbooks_keep_cell_types() {
    // XLSM is XLSX with macros: the same reader, chosen by its extension.
    let dir = scratch();
    let xlsm = dir.path().join("cells.xlsm");
    std::fs::copy(fixture("cells.xlsx"), &xlsm).unwrap();
    for name in [
        "cells.xlsx",
        "cells-1904.xlsx",
        "cells.xls",
        "cells.ods",
        "cells.xlsm",
    ] {
        let path = if name == "cells.xlsm" {
            xlsm.display().to_string()
        } else {
            fixture(name)
        };
        let (headers, rows, blank, info) = read_all(&path, &ReadOptions::default()).unwrap();
        assert_eq!(headers[0], "CRM ID", "{name}");
        assert_eq!(info.sheet.as_deref(), Some("Leads"), "{name}");
        assert_eq!(rows.len(), 2, "{name}");
        assert_eq!(blank, 1, "{name}: the blank row between the two data rows");
        let r = &rows[0];
        assert_eq!(r.row, RowNum(2));
        assert_eq!(r.cells[0], Cell::Text("CRM-1".into()), "{name}");
        assert_eq!(
            r.cells[1].to_text(),
            "200000000014442",
            "{name}: a 15-digit id stays whole"
        );
        assert_eq!(
            r.cells[2],
            Cell::Text("01234".into()),
            "{name}: zip keeps its zero"
        );
        assert_eq!(r.cells[3].to_text(), "4989123456", "{name}");
        assert_eq!(
            r.cells[4],
            Cell::DateTime {
                value: date(2025, 12, 31),
                date_only: true
            },
            "{name}: date cell (1900 or 1904 system)"
        );
        assert_eq!(
            r.cells[5],
            Cell::DateTime {
                value: NaiveDate::from_ymd_opt(2025, 6, 1)
                    .unwrap()
                    .and_hms_opt(14, 30, 0)
                    .unwrap(),
                date_only: false
            },
            "{name}"
        );
        assert_eq!(r.cells[6], Cell::Float(13800.5), "{name}");
        assert_eq!(r.cells[7], Cell::Bool(true), "{name}");
        // The XLS fixture's formula error has no cached value (xlwt writes none).
        if name != "cells.xls" {
            assert_eq!(
                r.cells[8],
                Cell::Error("#N/A".into()),
                "{name}: error cells stay errors"
            );
        }
        assert_eq!(rows[1].row, RowNum(4), "{name}");
        assert_eq!(
            rows[1].cells[0],
            Cell::Empty,
            "{name}: the row starts in column B"
        );
        assert_eq!(rows[1].cells[2], Cell::Text("00042".into()), "{name}");
    }
}

#[test]
fn sheets_by_name_and_number() {
    let by_name = ReadOptions {
        sheet: Some(SheetSelector::Name("second".into())),
        ..Default::default()
    };
    let (headers, rows, ..) = read_all(&fixture("cells.xlsx"), &by_name).unwrap();
    assert_eq!(headers, vec!["only", "header"]);
    assert!(rows.is_empty());
    let by_number = ReadOptions {
        sheet: Some(SheetSelector::Index(2)),
        ..Default::default()
    };
    assert_eq!(
        read_all(&fixture("cells.xlsx"), &by_number).unwrap().0[0],
        "only"
    );
    let missing = ReadOptions {
        sheet: Some(SheetSelector::Name("Nope".into())),
        ..Default::default()
    };
    let e = read_all(&fixture("cells.xlsx"), &missing)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`Leads`, `Second`"), "{e}");
    let beyond = ReadOptions {
        sheet: Some(SheetSelector::Index(3)),
        ..Default::default()
    };
    assert!(read_all(&fixture("cells.xlsx"), &beyond).is_err());
}

#[test]
fn header_row_can_be_chosen() {
    let dir = scratch();
    let p = dir.path().join("t.csv");
    std::fs::write(&p, "Report of 2025\n\nA,B\n1,2\n").unwrap();
    // Found by itself: a one-cell title above a wider row is not the header.
    let (headers, rows, ..) = read_all(p.to_str().unwrap(), &ReadOptions::default()).unwrap();
    assert_eq!(headers, vec!["A", "B"]);
    assert_eq!(rows.len(), 1);
    let (headers, rows, ..) = read_all(
        p.to_str().unwrap(),
        &ReadOptions {
            header_row: Some(3),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(headers, vec!["A", "B"]);
    assert_eq!(rows[0].row, RowNum(4));
    assert!(
        read_all(
            p.to_str().unwrap(),
            &ReadOptions {
                header_row: Some(2),
                ..Default::default()
            }
        )
        .is_err()
    );
    assert!(
        read_all(
            p.to_str().unwrap(),
            &ReadOptions {
                header_row: Some(9),
                ..Default::default()
            }
        )
        .is_err()
    );
}

fn write_bytes(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

fn utf16(text: &str, le: bool) -> Vec<u8> {
    let mut out = if le {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for u in text.encode_utf16() {
        out.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
    }
    out
}

#[test]
fn csv_encodings_and_delimiters() {
    let dir = scratch();
    let text = "Kunde;Stadt;PLZ\r\nMüller GmbH;Köln;01234\r\nÉtienne & Fils;Orléans;45000\r\n";
    let (win, _, _) = encoding_rs::WINDOWS_1252.encode(text);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("utf8.csv", text.as_bytes().to_vec(), "UTF-8"),
        (
            "bom.csv",
            [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
            "UTF-8",
        ),
        ("win.csv", win.into_owned(), "windows-1252"),
        (
            "u16le.txt",
            utf16(&text.replace(';', "\t"), true),
            "UTF-16LE",
        ),
        (
            "u16be.txt",
            utf16(&text.replace(';', "|"), false),
            "UTF-16BE",
        ),
        (
            "lf.csv",
            text.replace("\r\n", "\n").replace(';', ",").into_bytes(),
            "UTF-8",
        ),
    ];
    for (name, bytes, encoding) in cases {
        let path = write_bytes(dir.path(), name, &bytes);
        let (headers, rows, _, info) = read_all(&path, &ReadOptions::default()).unwrap();
        assert_eq!(headers, vec!["Kunde", "Stadt", "PLZ"], "{name}");
        assert_eq!(rows[0].cells[0], Cell::Text("Müller GmbH".into()), "{name}");
        assert_eq!(rows[1].cells[1], Cell::Text("Orléans".into()), "{name}");
        assert_eq!(rows[0].cells[2], Cell::Text("01234".into()), "{name}");
        assert_eq!(info.encoding, Some(encoding), "{name}");
    }
}

#[test]
fn csv_quotes_and_ragged_rows() {
    let dir = scratch();
    let path = write_bytes(
        dir.path(),
        "q.csv",
        b"id,note,amount\n1,\"two\nlines, and a comma\",5\n2,short\n3,a,4,extra\n4,b,6,\n\n5,c,7\n",
    );
    let (_, rows, blank, _) = read_all(&path, &ReadOptions::default()).unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[0].cells[1],
        Cell::Text("two\nlines, and a comma".into())
    );
    assert_eq!(rows[0].defect, None);
    assert!(
        rows[1]
            .defect
            .as_deref()
            .unwrap()
            .contains("has 2 cells but the header has 3"),
        "{:?}",
        rows[1]
    );
    assert!(
        rows[2]
            .defect
            .as_deref()
            .unwrap()
            .contains("has 4 cells but the header has 3"),
        "{:?}",
        rows[2]
    );
    assert_eq!(rows[3].defect, None, "an empty trailing cell is harmless");
    assert_eq!(blank, 1);
    // Row numbers are those a spreadsheet shows: the quoted newline stays inside row 2.
    assert_eq!(rows[4].row, RowNum(7));

    // The same with Windows line ends and an inch mark in a plain field.
    let path = write_bytes(
        dir.path(),
        "crlf.csv",
        b"id,note,amount\r\n1,\"two\r\nlines\",5\r\n2,24\" screen,6\r\n\r\n\r\n3,c,7\r\n",
    );
    let (_, rows, blank, _) = read_all(&path, &ReadOptions::default()).unwrap();
    assert_eq!(blank, 2);
    assert_eq!(rows[1].cells[1], Cell::Text("24\" screen".into()));
    assert_eq!(rows[2].row, RowNum(6), "{rows:?}");
}

#[test]
fn a_tsv_stays_tab_separated() {
    // One column whose values have commas: the extension says tab, whatever the sniffing says.
    let dir = scratch();
    let path = write_bytes(dir.path(), "one.tsv", b"Customer\nAcme, Inc\nBeta, Ltd\n");
    let (headers, rows, _, _) = read_all(&path, &ReadOptions::default()).unwrap();
    assert_eq!(headers, ["Customer"]);
    assert_eq!(rows[0].cells, [Cell::Text("Acme, Inc".into())]);
    assert_eq!(rows[0].defect, None);
}

#[test]
fn broken_files_are_errors_not_panics() {
    let dir = scratch();
    let p = write_bytes(dir.path(), "broken.xlsx", b"PK\x03\x04 this is not a zip");
    let e = read_all(&p, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("broken.xlsx"), "{e}");
    let p = write_bytes(dir.path(), "empty.csv", b"");
    assert!(
        read_all(&p, &ReadOptions::default())
            .unwrap_err()
            .to_string()
            .contains("no header")
    );
    let e = read_all("/nonexistent/leads.csv", &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/leads.csv"), "{e}");
}

#[test]
fn forced_encoding_and_delimiter() {
    let dir = scratch();
    let (win, _, _) = encoding_rs::WINDOWS_1252.encode("a|b\nÄ|ö\n");
    let path = write_bytes(dir.path(), "x.dat", &win);
    let opts = ReadOptions {
        delimiter: Some(b'|'),
        encoding: Some(encoding_rs::WINDOWS_1252),
        ..Default::default()
    };
    let (headers, rows, ..) = read_all(&path, &opts).unwrap();
    assert_eq!(headers, vec!["a", "b"]);
    assert_eq!(rows[0].cells[0], Cell::Text("Ä".into()));
    // Forced to UTF-8, the same bytes are flagged on their row, not fatal.
    let opts = ReadOptions {
        delimiter: Some(b'|'),
        encoding: Some(encoding_rs::UTF_8),
        ..Default::default()
    };
    let (_, rows, ..) = read_all(&path, &opts).unwrap();
    assert!(rows[0].defect.as_deref().unwrap().contains("--encoding"));
}

#[test]
fn a_stray_value_far_right_of_the_table_is_a_problem_of_its_cell_and_cheap() {
    // 20,000 rows, each with one stray value in column XFD: a row of 16,384 cells built for
    // each would take minutes; the rows still say which cell holds the value.
    let dir = scratch();
    let p = dir.path().join("far.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write(0, 0, "CRM ID").unwrap();
    ws.write(0, 1, "Name").unwrap();
    for r in 1..=20_000u32 {
        ws.write(r, 0, format!("CRM-{r}")).unwrap();
        ws.write(r, 16_383, "stray").unwrap();
    }
    ws.write(20_001, 0, "CRM-LAST").unwrap();
    ws.write(20_001, 1, "kept").unwrap();
    wb.save(&p).unwrap();
    let started = std::time::Instant::now();
    let (headers, rows, ..) = read_all(p.to_str().unwrap(), &ReadOptions::default()).unwrap();
    let took = started.elapsed();
    assert_eq!(headers, vec!["CRM ID", "Name"]);
    assert_eq!(rows.len(), 20_001);
    let first = rows[0].defect.as_deref().unwrap_or_default();
    assert!(
        first.contains("cell XFD2 holds a value right of the table"),
        "{first}"
    );
    assert!(rows.iter().all(|r| r.cells.len() == 2));
    assert!(rows[20_000].defect.is_none());
    assert!(took < std::time::Duration::from_secs(20), "took {took:?}");
}

#[test]
fn a_long_gap_while_the_header_is_sought_is_counted_whole() {
    // The header is sought among the first rows; a gap of 197 rows among them counts as 197
    // skipped rows, not as the two it used to be held as.
    let dir = scratch();
    let p = dir.path().join("gap.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write(0, 0, "CRM ID").unwrap();
    ws.write(1, 0, "CRM-1").unwrap();
    ws.write(199, 0, "CRM-200").unwrap();
    wb.save(&p).unwrap();
    let (_, rows, blank, _) = read_all(p.to_str().unwrap(), &ReadOptions::default()).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.row).collect::<Vec<_>>(),
        [RowNum(2), RowNum(200)]
    );
    assert_eq!(blank, 197);
}
