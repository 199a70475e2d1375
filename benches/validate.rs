//! Benchmark of `validate` against floors measured in the same run: a plain read of the same
//! file (csv crate / calamine, no mapping) and a plain write of a results-sized workbook
//! (rust_xlsxwriter, constant memory). Reports ratios, not just seconds, so figures from
//! different machines compare. Then a 1,000,000-row CSV through the real binary, for time and
//! peak memory (GNU time, when installed).
//!
//!     cargo bench --bench validate            # ROWS=100000 BIG_ROWS=1000000 by default

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use calamine::Reader;
use leadsheet::OfflinePlan;
use leadsheet::ReadOptions;
use leadsheet::contract::ApiVersion;
use leadsheet::{MappingConfig, Mode};

const HEADERS: &[&str] = &[
    "CRM ID",
    "Opportunity",
    "Stage",
    "Forecast",
    "Close Date",
    "Currency",
    "Account",
    "Street",
    "ZIP",
    "City",
    "Country",
    "VAT",
    "Contact First Name",
    "Contact Last Name",
    "Contact E-Mail",
    "Contact Phone",
    "Offer 1",
    "Offer 1 Amount",
    "Offer 1 Type",
    "Offer 2",
    "Offer 2 Amount",
    "Offer 2 Type",
    "Competitors",
    "Description",
];
const STAGES: &[&str] = &[
    "Prospect",
    "Qualified",
    "Open",
    "Validated",
    "Closed Won",
    "Negotiation",
];

/// Row `i` as text cells (CSV form); every 50th row has a bad date, every 97th a bad stage.
fn row(i: usize) -> Vec<String> {
    let stage = if i.is_multiple_of(97) {
        STAGES[5]
    } else {
        STAGES[i % 5]
    };
    let date = if i.is_multiple_of(50) {
        "31.02.2026".to_string()
    } else {
        format!("{:02}.{:02}.2026", i % 28 + 1, i % 12 + 1)
    };
    vec![
        format!("CRM-{i:08}"),
        format!("Opportunity number {i}"),
        stage.into(),
        if stage == "Open" {
            "Commit".into()
        } else {
            String::new()
        },
        date,
        "EUR".into(),
        format!("Customer {} GmbH", i % 5000),
        "Hauptstraße 1".into(),
        format!("{:05}", i % 99999),
        "München".into(),
        "Germany".into(),
        format!("DE{:09}", i),
        "Anna".into(),
        "Müller".into(),
        format!("anna{i}@example.com"),
        "+49 89 123456".into(),
        "3DEXPERIENCE_Design/Engineering_On_Premise".into(),
        format!("{}.{:03},50", 10 + i % 90, i % 1000),
        "Perpetual".into(),
        if i.is_multiple_of(3) {
            "SIMULIA_Abaqus_Token".into()
        } else {
            String::new()
        },
        if i.is_multiple_of(3) {
            "1.200".into()
        } else {
            String::new()
        },
        if i.is_multiple_of(3) {
            "Yearly rental".into()
        } else {
            String::new()
        },
        "Siemens;PTC".into(),
        "Imported from the CRM".into(),
    ]
}

fn write_csv(path: &Path, rows: usize) {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_path(path)
        .unwrap();
    w.write_record(HEADERS).unwrap();
    for i in 1..=rows {
        w.write_record(row(i)).unwrap();
    }
    w.flush().unwrap();
}

fn write_xlsx(path: &Path, rows: usize) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let date = rust_xlsxwriter::Format::new().set_num_format("dd.mm.yyyy");
    let ws = book.add_worksheet_with_constant_memory().unwrap();
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for i in 1..=rows {
        let r = i as u32;
        for (c, v) in row(i).iter().enumerate() {
            let c = c as u16;
            match c {
                4 if i % 50 != 0 => {
                    let d = chrono::NaiveDate::parse_from_str(v, "%d.%m.%Y").unwrap();
                    ws.write_datetime_with_format(r, c, d, &date).unwrap();
                }
                17 => {
                    ws.write_number(r, c, leadsheet::parse_number(v, true).unwrap())
                        .unwrap();
                }
                _ if v.is_empty() => {}
                _ => {
                    ws.write_string(r, c, v).unwrap();
                }
            }
        }
    }
    book.save(path).unwrap();
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn plain_read(path: &Path) -> usize {
    if path.extension().unwrap() == "csv" {
        let mut r = csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_path(path)
            .unwrap();
        let mut rec = csv::ByteRecord::new();
        let mut n = 0;
        while r.read_byte_record(&mut rec).unwrap() {
            n += rec.len();
        }
        n
    } else {
        let mut book = calamine::open_workbook_auto(path).unwrap();
        let name = book.sheet_names()[0].clone();
        book.worksheet_range(&name).unwrap().get_size().0
    }
}

/// Writes a workbook the size of the results (input columns + 9 outcome columns) with strings.
fn plain_write(path: &Path, rows: usize) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet_with_constant_memory().unwrap();
    let cols = HEADERS.len() + 9;
    for i in 0..=rows {
        let cells = row(i.max(1));
        for c in 0..cols {
            let v = cells.get(c).map(String::as_str).unwrap_or("VALID");
            ws.write_string(i as u32, c as u16, v).unwrap();
        }
    }
    book.save(path).unwrap();
}

fn validate(input: &Path, out: &Path) -> usize {
    let mapping_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/create-one-row.toml");
    let plan = OfflinePlan {
        input: input.display().to_string(),
        read: ReadOptions::default(),
        mapping: MappingConfig::load(&mapping_path).unwrap(),
        mapping_path,
        mode: Mode::Create,
        version: ApiVersion::V1,
        partner_id: None,
        fallback_partner_id: None,
        spool_requests: false,
        today: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    };
    let p = leadsheet::prepare(&plan).unwrap();
    leadsheet::write_results(&p, out, &Default::default()).unwrap();
    p.recorder.lead_count()
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn main() {
    let rows: usize = std::env::var("ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let big: usize = std::env::var("BIG_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| -> PathBuf { dir.path().join(n) };
    println!(
        "validate benchmark: {rows} rows, {} threads",
        rayon::current_num_threads()
    );
    println!("| input | plain read | plain write | read + write | validate | ratio | rows/s |");
    println!("|---|---|---|---|---|---|---|");
    for ext in ["csv", "xlsx"] {
        let input = d(&format!("in.{ext}"));
        if ext == "csv" {
            write_csv(&input, rows)
        } else {
            write_xlsx(&input, rows)
        }
        let read = best_of(3, || plain_read(&input));
        let write = best_of(3, || plain_write(&d("plain.xlsx"), rows));
        let val = best_of(3, || validate(&input, &d(&format!("results.{ext}.xlsx"))));
        let floor = read + write;
        println!(
            "| {} {ext} | {} | {} | {} | {} | {:.2}× | {:.0} |",
            rows,
            secs(read),
            secs(write),
            secs(floor),
            secs(val),
            val.as_secs_f64() / floor.as_secs_f64(),
            rows as f64 / val.as_secs_f64()
        );
    }
    if big == 0 {
        return;
    }
    let input = d("big.csv");
    write_csv(&input, big);
    let read = best_of(1, || plain_read(&input));
    let bin = env!("CARGO_BIN_EXE_leadsheet");
    let mapping = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/create-one-row.toml");
    let out = d("big.results.xlsx");
    let gnu_time = Path::new("/usr/bin/time").exists();
    let mut cmd = if gnu_time {
        let mut c = std::process::Command::new("/usr/bin/time");
        c.arg("-v").arg(bin);
        c
    } else {
        std::process::Command::new(bin)
    };
    cmd.args(["validate", "--quiet"])
        .arg(&input)
        .arg("--mapping")
        .arg(&mapping)
        .arg("-o")
        .arg(&out);
    let t = Instant::now();
    let output = cmd.output().unwrap();
    let took = t.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let peak = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|kb| format!("{} MB", kb / 1024))
        .unwrap_or_else(|| "n/a (GNU time not installed)".into());
    println!();
    println!(
        "{big} rows CSV through `leadsheet validate` (results as XLSX): {} (exit {:?}); plain read {}; ratio {:.1}×; peak RSS {peak}",
        secs(took),
        output.status.code(),
        secs(read),
        took.as_secs_f64() / read.as_secs_f64()
    );
}
