//! Files as people send them, and files built to hurt. The fixtures in `fixtures/wild/` were
//! written by other programs (LibreOffice, openpyxl, xlsxwriter, Python's zipfile and zlib;
//! see `make.py`); the largest hostile files are made here at run time, sparse, so that a
//! gigabyte costs no disk. Every hostile run is bounded: a virtual-memory limit and a time
//! limit around the process, and no run may print a panic.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use leadsheet::{Cell, ReadOptions, RowNum, SourceRow};

use crate::util::{results_rows, scratch, sheet_text};

fn wild(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wild")
        .join(name)
        .display()
        .to_string()
}

fn text(c: &Cell) -> String {
    c.to_text()
}

struct Read {
    headers: Vec<String>,
    rows: Vec<SourceRow>,
    info: leadsheet::SourceInfo,
}

fn read(path: &str, options: &ReadOptions) -> Read {
    let mut s = leadsheet::open_sheet(path, options).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut rows = vec![];
    while let Some(b) = s.next_batch() {
        rows.extend(b.unwrap());
    }
    Read {
        headers: s.headers.clone(),
        rows,
        info: s.info.clone(),
    }
}

/// Reading options that expect the fixtures' columns, as a mapping for them would.
fn expecting() -> ReadOptions {
    ReadOptions {
        expected_headers: vec!["CRM ID".into(), "Opportunity".into(), "Amount".into()],
        ..Default::default()
    }
}

/// The most virtual memory a hostile run may use (KiB), and how long it may take.
const MEMORY_KIB: u64 = 1 << 20;
const PATIENCE: Duration = Duration::from_secs(60);

/// Runs the binary under a memory and a time limit; the run may fail, but clearly: never a
/// panic, never killed by either limit.
fn bounded(args: &[&str]) -> Output {
    let bin = assert_cmd::cargo::cargo_bin!("leadsheet");
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let started = Instant::now();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {MEMORY_KIB}; exec timeout {} '{}' {}",
            PATIENCE.as_secs(),
            bin.display(),
            quoted.join(" ")
        ))
        .env_remove("LEADSHEET_API_KEY")
        .env_remove("LEADSHEET_PARTNER_ID")
        .env("LEADSHEET_CONFIG", "/nonexistent/leadsheet.toml")
        .env("LEADSHEET_TODAY", "2026-01-01")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("memory allocation"),
        "{args:?}: {stderr}"
    );
    assert!(
        matches!(out.status.code(), Some(0..=3)),
        "{args:?} ended with {:?} after {:?} (124: timed out; none: killed): {stderr}",
        out.status,
        started.elapsed()
    );
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn workbooks_named_as_another_format_are_read_by_their_content() {
    for (name, format) in [
        ("xlsx-named.csv", "XLSX"),
        ("ods-named.txt", "ODS"),
        ("xls-named.csv", "XLS"),
    ] {
        let r = read(&wild(name), &ReadOptions::default());
        assert_eq!(r.info.format.name(), format, "{name}");
        assert_eq!(r.headers, ["CRM ID", "Opportunity", "Amount"], "{name}");
        assert_eq!(text(&r.rows[0].cells[1]), "Müller GmbH", "{name}");
        assert_eq!(r.rows[0].cells[2], Cell::Float(13800.5), "{name}");
        assert!(
            r.info.notes[0].contains(&format!("it is an {format} workbook")),
            "{name}: {:?}",
            r.info.notes
        );
    }
    let r = read(&wild("csv-named.xls"), &ReadOptions::default());
    assert_eq!(r.info.format.name(), "CSV");
    assert_eq!(text(&r.rows[1].cells[1]), "Société Générale");
    assert!(r.info.notes[0].contains("not an XLS workbook"));
    // The note reaches the user.
    let dir = scratch();
    let out = dir.path().join("r.xlsx");
    let o = bounded(&[
        "validate",
        &wild("xlsx-named.csv"),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        stderr(&o).contains("note: ") && stderr(&o).contains("it is read as XLSX"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn files_that_are_no_spreadsheet_are_named_with_the_way_out() {
    let dir = scratch();
    let zeros = dir.path().join("zeros.csv");
    std::fs::write(&zeros, vec![0u8; 10 << 20]).unwrap();
    let zeros = zeros.display().to_string();
    for (file, what, way_out) in [
        (
            wild("web-page.xls"),
            "a web page",
            "save it as an Excel workbook (.xlsx)",
        ),
        (
            wild("excel-2003.xls"),
            "an Excel 2003 XML spreadsheet",
            "save it as an Excel workbook (.xlsx)",
        ),
        (
            wild("report.xlsx"),
            "a PDF document",
            "export the data as .xlsx or CSV",
        ),
        (wild("letter.xlsx"), "a Word document", "save it as .xlsx"),
        (zeros, "binary data", "leadsheet reads .xlsx"),
    ] {
        let o = bounded(&["validate", &file]);
        assert_eq!(o.status.code(), Some(1), "{file}");
        let e = stderr(&o);
        assert!(
            e.contains(&file) && e.contains(what) && e.contains(way_out),
            "{file}: {e}"
        );
        assert!(!e.contains("Cfb") && !e.contains("OLE signature"), "{e}");
    }
}

#[test]
fn a_csv_of_two_encodings_reads_each_line_right_and_says_which() {
    let r = read(&wild("mixed-encoding.csv"), &ReadOptions::default());
    let accounts: Vec<String> = r.rows.iter().map(|row| text(&row.cells[2])).collect();
    assert_eq!(
        accounts,
        [
            "Kraillinger Straße GmbH",
            "Präzisionswerk Dresden AG",
            "Société Lyonnaise"
        ]
    );
    assert_eq!(r.info.encoding, Some("UTF-8, some rows windows-1252"));
    assert!(r.info.notes[0].contains("some lines are Windows-1252"));
    let warned: Vec<(RowNum, String)> = r
        .rows
        .iter()
        .filter_map(|row| row.warning.clone().map(|w| (row.row, w)))
        .collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0].0, RowNum(3));
    assert!(
        warned[0]
            .1
            .contains("column C (`Präzisionswerk Dresden AG`)")
    );
    assert!(warned[0].1.contains("read as Windows-1252"));
    // Mostly Windows-1252, one line pasted from a UTF-8 file: the same, the other way round.
    let dir = scratch();
    let p = dir.path().join("mostly-1252.csv");
    let mut bytes = Vec::new();
    for (line, utf8) in [
        ("CRM ID;Account\r\n", false),
        ("CRM-1;Müller GmbH\r\n", false),
        ("CRM-2;Weiß AG\r\n", false),
        ("CRM-3;Société Générale\r\n", true),
    ] {
        if utf8 {
            bytes.extend_from_slice(line.as_bytes());
        } else {
            bytes.extend(line.chars().map(|c| c as u32 as u8));
        }
    }
    std::fs::write(&p, &bytes).unwrap();
    let r = read(p.to_str().unwrap(), &ReadOptions::default());
    let accounts: Vec<String> = r.rows.iter().map(|row| text(&row.cells[1])).collect();
    assert_eq!(accounts, ["Müller GmbH", "Weiß AG", "Société Générale"]);
    assert!(
        r.rows[2]
            .warning
            .as_deref()
            .unwrap()
            .contains("read as UTF-8")
    );
    assert!(r.rows[0].warning.is_none() && r.rows[1].warning.is_none());
    // Told it is UTF-8, leadsheet refuses the row it cannot read that way, naming the column.
    let r = read(
        &wild("mixed-encoding.csv"),
        &ReadOptions {
            encoding: Some(encoding_rs::UTF_8),
            ..Default::default()
        },
    );
    assert!(r.rows[1].defect.as_deref().unwrap().contains("column C"));
    assert!(r.rows[0].defect.is_none() && r.rows[2].defect.is_none());
    // Nowhere mojibake.
    for row in &r.rows {
        for c in &row.cells {
            assert!(!text(c).contains('Ã'), "{c:?}");
        }
    }
}

#[test]
fn excel_sep_line_names_the_delimiter_and_is_not_a_row() {
    let r = read(&wild("sep-line.csv"), &ReadOptions::default());
    assert_eq!(r.headers, ["CRM ID", "Opportunity", "Amount"]);
    assert_eq!(r.info.delimiter, Some(b';'));
    assert_eq!(r.info.header_row, RowNum(1));
    assert_eq!(r.rows[0].row, RowNum(2));
    assert_eq!(text(&r.rows[0].cells[1]), "a, b and c");
    assert!(r.info.notes[0].contains("`sep=;`"));
    // The second pass (the results) reads the same rows.
    let dir = scratch();
    let out = dir.path().join("r.xlsx");
    bounded(&[
        "validate",
        &wild("sep-line.csv"),
        "-o",
        out.to_str().unwrap(),
    ]);
    let rows = results_rows(&out);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["CRM ID"], "CRM-1");
    assert_eq!(rows[0]["Source row"], "2");
}

#[test]
fn a_title_above_the_header_is_skipped_and_said() {
    for name in ["title-rows.xlsx", "title-rows.ods"] {
        for options in [expecting(), ReadOptions::default()] {
            let r = read(&wild(name), &options);
            assert_eq!(r.headers, ["CRM ID", "Opportunity", "Amount"], "{name}");
            assert_eq!(r.info.header_row, RowNum(4), "{name}");
            assert_eq!(
                r.rows.iter().map(|r| r.row).collect::<Vec<_>>(),
                [RowNum(5), RowNum(6)]
            );
            let note = r.info.notes.join(" ");
            assert!(
                note.contains("the header is row 4")
                    && note.contains("`Pipeline report Q3 2026`")
                    && note.contains("--header-row 4"),
                "{name}: {note}"
            );
        }
    }
    // A mapping's columns decide among rows of equal width: the row that holds them.
    let dir = scratch();
    let p = dir.path().join("t.csv");
    std::fs::write(&p, "Report,Q3,2026\nCRM ID,Opportunity,Amount\nCRM-1,x,5\n").unwrap();
    let r = read(p.to_str().unwrap(), &expecting());
    assert_eq!(r.info.header_row, RowNum(2));
    assert_eq!(r.rows.len(), 1);
    // A mapping whose columns are missing says where it looked, and why.
    let m = dir.path().join("m.toml");
    std::fs::write(
        &m,
        "[leadOpportunity]\npartnerLeadOpportunityId = \"CRM ID\"\nname = \"Name of the deal\"\n",
    )
    .unwrap();
    let o = bounded(&[
        "validate",
        &wild("title-rows.xlsx"),
        "-m",
        m.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    let e = stderr(&o);
    assert!(
        e.contains("no column `Name of the deal`") && e.contains("the header is row 4"),
        "{e}"
    );
}

#[test]
fn times_of_day_and_durations_read_as_clock_times() {
    for name in ["times.xlsx", "times.ods"] {
        let r = read(&wild(name), &ReadOptions::default());
        let cells = &r.rows[0].cells;
        assert_eq!(text(&cells[1]), "10:10:10", "{name}");
        assert_eq!(text(&cells[2]), "34:05:00", "{name}");
        assert!(
            matches!(
                cells[3],
                Cell::DateTime {
                    date_only: true,
                    ..
                }
            ),
            "{name}"
        );
        assert_eq!(text(&cells[3]), "2026-06-30");
    }
}

#[test]
fn utf16_without_a_byte_order_mark_is_read() {
    let r = read(&wild("utf16-nobom.txt"), &ReadOptions::default());
    assert_eq!(r.headers, ["CRM ID", "Opportunity"]);
    assert_eq!(text(&r.rows[0].cells[1]), "Müller");
    assert!(r.info.notes[0].contains("UTF-16LE"));
}

#[test]
fn constants_of_a_list_no_column_fills_are_said_not_to_be_sent() {
    let dir = scratch();
    let csv = dir.path().join("offers.csv");
    std::fs::write(
        &csv,
        "partnerId,CRM ID,Name,Status,Close,Currency,Account,City,Country,Offer 1,Offer 1 Amount\n\
         PID,C-1,a,LEAD_OPEN,2026-06-30,EUR,Acme,Lyon,France,SOLIDWORKS_Premium_Term,100\n\
         PID,C-2,b,LEAD_OPEN,2026-06-30,EUR,Acme,Lyon,France,,\n",
    )
    .unwrap();
    let m = dir.path().join("m.toml");
    std::fs::write(
        &m,
        "partnerId = \"partnerId\"\n[leadOpportunity]\npartnerLeadOpportunityId = \"CRM ID\"\nname = \"Name\"\nstatus = \"Status\"\ncloseDate = \"Close\"\ncurrency = \"Currency\"\n\
         [customerLegalEntity]\nname = \"Account\"\ncity = \"City\"\ncountry = \"Country\"\n\
         [offerLines]\nofferNameId = \"Offer {n}\"\namount = \"Offer {n} Amount\"\nrevenueType = { value = \"YxC\" }\n",
    )
    .unwrap();
    let out = dir.path().join("r.xlsx");
    bounded(&[
        "validate",
        csv.to_str().unwrap(),
        "-m",
        m.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let problems = sheet_text(&out, "Problems").join("\n");
    let about: Vec<&str> = problems
        .lines()
        .filter(|l| l.contains("revenueType = `YxC`"))
        .collect();
    assert_eq!(about.len(), 1, "{problems}");
    assert!(
        about[0].starts_with("3\t")
            && about[0].contains("warning")
            && about[0].contains("revenueType = `YxC` is not sent"),
        "{problems}"
    );
}

#[test]
fn zip_bombs_and_lying_zips_are_refused_before_they_inflate() {
    let started = Instant::now();
    let o = bounded(&["validate", &wild("bomb.xlsx")]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("bomb.xlsx")
            && e.contains("zip bomb")
            && e.contains("beyond the limit of 1 GiB")
            && e.contains("--max-unzipped"),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // A part that inflates beyond the size its zip declares stops where it said it would end.
    let o = bounded(&["validate", &wild("liar.xlsx")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("larger than its declared"),
        "{}",
        stderr(&o)
    );
    // A table of texts that announces four billion entries.
    let o = bounded(&["validate", &wild("sst-lie.xlsx")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("announces 4000000000 texts"),
        "{}",
        stderr(&o)
    );
    // The limit is a flag: lowered, an ordinary workbook is refused by it.
    let o = bounded(&[
        "validate",
        &wild("title-rows.xlsx"),
        "--max-unzipped",
        "4KB",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("beyond the limit of 4 KiB"),
        "{}",
        stderr(&o)
    );
    // An ODS of a few hundred bytes that repeats one cell sixteen billion times.
    let o = bounded(&["validate", &wild("repeat-bomb.ods")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("Save it as .xlsx or CSV"),
        "{}",
        stderr(&o)
    );
    // An XLS whose sheet claims four billion rows; the same with the short (16-bit) form of
    // the record, rows 5 to 1, which the reader would count as four billion rows too. The
    // short record and an empty unknown one fill the long record's place.
    let dir = scratch();
    let short = dir.path().join("short-dimensions.xls");
    let mut bytes = std::fs::read(wild("huge-dimensions.xls")).unwrap();
    let at = bytes
        .windows(4)
        .position(|w| w == b"\x00\x02\x0e\x00")
        .unwrap();
    let record = [
        0x00, 0x02, 10, 0, 5, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0xEF, 0x7F, 0, 0,
    ];
    bytes[at..at + 18].copy_from_slice(&record);
    std::fs::write(&short, bytes).unwrap();
    for (file, said) in [
        (
            wild("huge-dimensions.xls"),
            "beyond what an XLS sheet can hold",
        ),
        (
            short.display().to_string(),
            "end (row 1) before they start (row 6)",
        ),
    ] {
        let o = bounded(&["validate", &file]);
        assert_eq!(o.status.code(), Some(1), "{file}");
        assert!(stderr(&o).contains(said), "{file}: {}", stderr(&o));
    }
}

#[test]
fn cells_beyond_the_last_a_sheet_can_have_are_refused_by_their_address() {
    for (name, said) in [
        ("wide-ref.xlsx", "column 100000000"),
        ("far-row.xlsx", "row 4000000000"),
        (
            "overflow-ref.xlsx",
            "overflow-ref.xlsx is not a readable XLSX file",
        ),
    ] {
        let o = bounded(&["validate", &wild(name)]);
        assert_eq!(o.status.code(), Some(1), "{name}");
        assert!(stderr(&o).contains(said), "{name}: {}", stderr(&o));
    }
}

#[test]
fn big_but_honest_workbooks_read_in_bounded_memory() {
    // A million texts in the table of texts, one used: read.
    let r = read(&wild("many-strings.xlsx"), &ReadOptions::default());
    assert_eq!(r.headers, ["CRM ID"]);
    assert_eq!(text(&r.rows[0].cells[0]), "x");
    bounded(&["validate", &wild("many-strings.xlsx")]);
    // A workbook of a thousand sheets: the first is read, any other by name or number.
    let r = read(&wild("thousand-sheets.xlsx"), &ReadOptions::default());
    assert_eq!(r.info.sheet.as_deref(), Some("S1"));
    let r = read(
        &wild("thousand-sheets.xlsx"),
        &ReadOptions {
            sheet: Some(leadsheet::SheetSelector::Index(1000)),
            ..Default::default()
        },
    );
    assert_eq!(text(&r.rows[0].cells[0]), "CRM-999");
    bounded(&["validate", &wild("thousand-sheets.xlsx"), "--sheet", "S700"]);
}

#[test]
fn truncated_and_corrupt_workbooks_are_errors_that_name_the_file() {
    let dir = scratch();
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for name in ["cells.xlsx", "cells.xls", "cells.ods", "cells-1904.xlsx"] {
        let whole = std::fs::read(fixtures.join(name)).unwrap();
        let ext = Path::new(name).extension().unwrap().to_str().unwrap();
        let mut cases: Vec<(String, Vec<u8>)> = [0.1, 0.5, 0.9, 0.99]
            .iter()
            .map(|f| {
                let cut = (whole.len() as f64 * f) as usize;
                (format!("cut at {f}"), whole[..cut].to_vec())
            })
            .collect();
        for at in [0.2, 0.5, 0.8] {
            let mut flipped = whole.clone();
            let i = (flipped.len() as f64 * at) as usize;
            for b in &mut flipped[i..(i + 64).min(whole.len())] {
                *b = !*b;
            }
            cases.push((format!("64 bytes flipped at {at}"), flipped));
        }
        for (how, bytes) in cases {
            let p = dir.path().join(format!("damaged.{ext}"));
            std::fs::write(&p, &bytes).unwrap();
            let o = bounded(&["validate", p.to_str().unwrap(), "-o", "/dev/null"]);
            // Damage the format checks catch is an error naming the file; damage inside a
            // cell's text can leave a readable file, which is read.
            if o.status.code() == Some(1) {
                assert!(
                    stderr(&o).contains("damaged."),
                    "{name} {how}: {}",
                    stderr(&o)
                );
            }
        }
    }
}

/// A sparse file: `head`, then `hole` bytes that read as zeros (or as `fill`, written), then
/// `tail`.
fn sparse(path: &Path, head: &[u8], hole: u64, tail: &[u8]) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(head).unwrap();
    f.seek(SeekFrom::Current(hole as i64)).unwrap();
    f.write_all(tail).unwrap();
}

#[test]
fn a_csv_row_of_a_gigabyte_stops_at_the_row_limit() {
    let dir = scratch();
    // A header, a data row, and a row that runs on for a gigabyte (zero bytes after its start:
    // no newline ends it).
    let p = dir.path().join("long-line.csv");
    // The row's first 8 KiB are text: a file whose first bytes are zeros is not text at all.
    let mut head = b"CRM ID,Opportunity\nCRM-1,fine\nCRM-2,this row never ends".to_vec();
    head.extend(std::iter::repeat_n(b'x', 8192));
    sparse(&p, &head, 1 << 30, b"\n");
    let started = Instant::now();
    let o = bounded(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("long-line.csv")
            && e.contains("row 3")
            && e.contains("longer than 16 MiB")
            && e.contains("--max-row-size"),
        "{e}"
    );
    eprintln!("a gigabyte line refused in {:?}", started.elapsed());
    // An unterminated quote at the end of a 500 MB file swallows the rest: said so.
    let p = dir.path().join("open-quote.csv");
    let mut head = b"CRM ID,Opportunity\nCRM-1,fine\nCRM-2,\"an opening quote".to_vec();
    head.extend(std::iter::repeat_n(b'x', 8192));
    sparse(&p, &head, 500 << 20, b"x\n");
    let o = bounded(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("row 3") && e.contains("a quoted field opens in this row and does not close"),
        "{e}"
    );
    // The limit is a flag.
    let p = dir.path().join("wide.csv");
    std::fs::write(
        &p,
        format!("CRM ID,Opportunity\nCRM-1,{}\n", "y".repeat(3 << 20)),
    )
    .unwrap();
    let o = bounded(&["validate", p.to_str().unwrap(), "--max-row-size", "1MiB"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("longer than 1 MiB"), "{}", stderr(&o));
    let o = bounded(&["validate", p.to_str().unwrap(), "--max-row-size", "8MiB"]);
    assert_ne!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn a_row_of_a_million_cells_is_refused_or_cut_to_the_header() {
    let dir = scratch();
    // A header of a million columns.
    let p = dir.path().join("wide-header.csv");
    std::fs::write(&p, format!("{}\n1\n", "h,".repeat(1_000_000))).unwrap();
    let o = bounded(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("a sheet has at most 16384"),
        "{}",
        stderr(&o)
    );
    // A data row of a million cells under a header of two: the row is a problem, the rest read.
    let p = dir.path().join("wide-row.csv");
    std::fs::write(
        &p,
        format!(
            "CRM ID,Opportunity\nCRM-1,{}\nCRM-2,b\nCRM-3,b{}z\n",
            "x,".repeat(1_000_000),
            ",".repeat(20_000)
        ),
    )
    .unwrap();
    let r = read(p.to_str().unwrap(), &ReadOptions::default());
    assert_eq!(r.rows.len(), 3);
    // A value beyond the widest row kept, after 20,000 empty cells, is said too.
    assert!(
        r.rows[2]
            .defect
            .as_deref()
            .unwrap_or_default()
            .contains("the row has 20002 cells but the header has 2"),
        "{:?}",
        r.rows[2].defect
    );
    assert!(
        r.rows[0]
            .defect
            .as_deref()
            .unwrap()
            .contains("the header has 2")
    );
    assert!(r.rows[1].defect.is_none());
}

#[test]
fn hostile_mappings_are_refused_quickly_and_briefly() {
    let dir = scratch();
    let csv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/create-one-row.csv");
    let csv = csv.to_str().unwrap();
    let write = |name: &str, text: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let many = write(
        "many.toml",
        std::iter::once("[leadOpportunity]".to_string())
            .chain((0..10_000).map(|i| format!("f{i} = \"Column {i}\"")))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let huge_map = write(
        "huge.toml",
        format!(
            "[leadOpportunity]\nstatus = {{ column = \"Stage\", map = {{ {} }} }}\n",
            (0..300_000)
                .map(|i| format!("\"v{i}\" = \"LEAD_OPEN\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let deep = write(
        "deep.toml",
        format!("x = {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
    );
    let deep_tables = write(
        "deep-tables.toml",
        format!("x = {}1{}\n", "{a=".repeat(50_000), "}".repeat(50_000)),
    );
    let long_line = write(
        "long-line.toml",
        format!("[leadOpportunity]\nname = \"{}\n", "x".repeat(2 << 20)),
    );
    for (m, said) in [
        (many, "`f0` is not a field of [leadOpportunity]"),
        (huge_map, "larger than 4 MiB"),
        (deep, "max recursion depth"),
        (deep_tables, "max recursion depth"),
        (long_line, "TOML parse error"),
    ] {
        let started = Instant::now();
        let o = bounded(&["validate", csv, "-m", &m]);
        assert_eq!(o.status.code(), Some(3), "{m}");
        let e = stderr(&o);
        assert!(e.contains(said), "{m}: {e}");
        assert!(
            e.lines().all(|l| l.chars().count() < 400),
            "{m}: a line of {e}"
        );
        assert!(started.elapsed() < Duration::from_secs(20), "{m}");
    }
}

#[test]
fn an_xlsb_is_streamed_row_by_row_with_its_gaps_and_known_on_stdin() {
    let r = read(&wild("cells.xlsb"), &ReadOptions::default());
    assert_eq!(r.info.format.name(), "XLSB");
    assert_eq!(r.headers, ["CRM ID", "Opportunity", "Amount"]);
    assert_eq!(
        r.rows.iter().map(|r| r.row).collect::<Vec<_>>(),
        [RowNum(2), RowNum(5)]
    );
    assert_eq!(text(&r.rows[1].cells[1]), "Société Générale");
    assert_eq!(r.rows[0].cells[2], Cell::Float(13800.5));
    // Without a name at all (stdin is spooled to a file without an extension).
    let o = std::process::Command::new(assert_cmd::cargo::cargo_bin!("leadsheet"))
        .args(["validate", "-", "-o", "/dev/null"])
        .env("LEADSHEET_CONFIG", "/nonexistent/leadsheet.toml")
        .stdin(std::fs::File::open(wild("cells.xlsb")).unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("2 row(s) (2 blank skipped)"),
        "{}",
        stderr(&o)
    );
}

/// Found by `fuzz::ods_and_xls_readers`: an ODS whose content ends inside a table made the ODS
/// reader loop for ever.
#[test]
fn an_ods_whose_content_is_cut_short_is_an_error_not_a_hang() {
    let original = std::fs::read(wild("title-rows.ods")).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&original)).unwrap();
    let dir = scratch();
    let path = dir.path().join("cut.ods");
    let mut out = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        let mut bytes = Vec::new();
        std::io::copy(&mut entry, &mut bytes).unwrap();
        if name == "content.xml" {
            // Cut after a tag, inside the table: well-formed so far, never closed.
            let cut = bytes[..bytes.len() * 6 / 10]
                .iter()
                .rposition(|&b| b == b'>')
                .unwrap();
            bytes.truncate(cut + 1);
        }
        out.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap();
    let started = Instant::now();
    let o = bounded(&["validate", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cut short"), "{}", stderr(&o));
    assert!(started.elapsed() < Duration::from_secs(10));
}
