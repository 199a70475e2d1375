//! Fuzz targets: whatever bytes a file holds, whatever a mapping says, whatever text a cell
//! holds and whatever an API answer looks like, leadsheet answers with rows, problems or an
//! error, never a panic. Each target is a property test over inputs generated (and shrunk, on
//! failure) by proptest.
//!
//! In CI each target runs a few dozen cases. For a long run, give it seconds:
//!
//! ```sh
//! LEADSHEET_FUZZ_SECONDS=60 cargo test --release --test integration fuzz::csv_reader -- --nocapture
//! ```
//!
//! (`fuzz::` alone runs every target for that long, one after the other with `--test-threads
//! 1`.) A failure prints the input, shrunk, and the seed to run it again
//! (`LEADSHEET_FUZZ_SEED`); what a long run finds is fixed and kept as a regression test in
//! `tests/wild.rs` or below.

use std::io::Write;
use std::time::{Duration, Instant};

use leadsheet::contract::{ApiVersion, FIELDS, Kind, Section};
use leadsheet::{Cell, Conv, MappingConfig, Mode, OfflinePlan, ReadOptions};
use leadsheet::{date_format, parse_number};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::Value;

/// Runs `test` on values of `strategy`: for `LEADSHEET_FUZZ_SECONDS` (a long run), else
/// `cases` of them.
fn fuzz<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let seconds: Option<u64> = std::env::var("LEADSHEET_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok());
    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    let mut seed: u64 = std::env::var("LEADSHEET_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            if deadline.is_some() {
                // A long run explores; a CI run repeats itself.
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            } else {
                0x1ead_5ee7
            }
        });
    let mut ran = 0u64;
    loop {
        let config = Config {
            cases: if deadline.is_some() { 64 } else { cases },
            failure_persistence: None,
            ..Config::default()
        };
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
        if let Err(e) = runner.run(&strategy, &test) {
            panic!("fuzz target {name} failed (LEADSHEET_FUZZ_SEED={seed}): {e}");
        }
        ran += u64::from(runner.config().cases);
        match deadline {
            Some(d) if Instant::now() < d => seed = seed.wrapping_add(1),
            _ => break,
        }
    }
    if deadline.is_some() {
        eprintln!("fuzz target {name}: {ran} cases");
    }
}

fn read_everything(path: &std::path::Path, options: &ReadOptions) {
    if let Ok(mut s) = leadsheet::open_sheet(path.to_str().unwrap(), options) {
        while let Some(batch) = s.next_batch() {
            if batch.is_err() {
                break;
            }
        }
    }
}

fn validate_everything(path: &std::path::Path, mapping: MappingConfig) {
    let plan = OfflinePlan {
        input: path.to_str().unwrap().to_string(),
        read: ReadOptions::default(),
        mapping,
        mapping_path: "(fuzzed)".into(),
        mode: Mode::Upsert,
        version: ApiVersion::V1,
        partner_id: Some("1".into()),
        fallback_partner_id: None,
        spool_requests: true,
        today: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    };
    if let Ok(p) = leadsheet::prepare(&plan) {
        let out = path.with_extension("results.csv");
        let _ = leadsheet::write_results(&p, &out, &Default::default());
        let _ = p.valid_leads().map(|l| l.count());
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

/// Edits to a byte string: overwrite, insert, delete, cut.
#[derive(Debug, Clone)]
enum Edit {
    Set(prop::sample::Index, u8),
    Insert(prop::sample::Index, Vec<u8>),
    Delete(prop::sample::Index, usize),
    Cut(prop::sample::Index),
}

fn edits(tokens: &'static [&'static [u8]]) -> impl Strategy<Value = Vec<Edit>> {
    let token = prop_oneof![
        proptest::collection::vec(any::<u8>(), 1..8),
        prop::sample::select(tokens).prop_map(<[u8]>::to_vec),
    ];
    let edit = prop_oneof![
        4 => (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        4 => (any::<prop::sample::Index>(), token).prop_map(|(i, t)| Edit::Insert(i, t)),
        2 => (any::<prop::sample::Index>(), 1..64usize).prop_map(|(i, n)| Edit::Delete(i, n)),
        1 => any::<prop::sample::Index>().prop_map(Edit::Cut),
    ];
    proptest::collection::vec(edit, 1..6)
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        if bytes.is_empty() {
            break;
        }
        match e {
            Edit::Set(i, b) => {
                let at = i.index(bytes.len());
                bytes[at] = *b;
            }
            Edit::Insert(i, t) => {
                let at = i.index(bytes.len());
                bytes.splice(at..at, t.iter().copied());
            }
            Edit::Delete(i, n) => {
                let at = i.index(bytes.len());
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
            Edit::Cut(i) => bytes.truncate(i.index(bytes.len())),
        }
    }
    bytes
}

/// A zip with the entry `name` replaced by `content`, the others as they were.
fn rezip(original: &[u8], name: &str, content: &[u8]) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(original)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let entry_name = entry.name().unwrap().to_string();
        out.start_file(entry_name.as_str(), opts).unwrap();
        if entry_name == name {
            out.write_all(content).unwrap();
        } else {
            std::io::copy(&mut entry, &mut out).unwrap();
        }
    }
    out.finish().unwrap().into_inner()
}

fn entry(original: &[u8], name: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(original)).unwrap();
    let mut e = archive.by_name(name).unwrap();
    let mut v = Vec::new();
    std::io::copy(&mut e, &mut v).unwrap();
    v
}

const CSV_TOKENS: &[&[u8]] = &[
    b"\"",
    b"\"\"",
    b"\r\n",
    b"\n",
    b"\r",
    b";",
    b",",
    b"\t",
    b"sep=;\n",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfc",
    b"\xc3\xbc",
    b"\xc3",
    b"\0",
    b"=cmd",
    b"31.02.2026",
    b"1.234,5",
];

#[test]
fn csv_reader() {
    let base = b"CRM ID;Opportunity;Close;Amount\r\nCRM-1;\"M\xc3\xbcller, \"\"GmbH\"\"\";30.06.2026;13.800,50\r\n\r\nCRM-2;x;;5\r\n".to_vec();
    let strategy = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2048),
        edits(CSV_TOKENS).prop_map(move |e| apply(base.clone(), &e)),
    ];
    fuzz("csv_reader", 64, strategy, |bytes| {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.csv");
        std::fs::write(&p, &bytes).unwrap();
        let small = ReadOptions {
            limits: leadsheet::Limits {
                max_row_bytes: 256,
                ..Default::default()
            },
            ..Default::default()
        };
        read_everything(&p, &small);
        validate_everything(&p, MappingConfig::default_layout());
        Ok(())
    });
}

const XML_TOKENS: &[&[u8]] = &[
    b"<row>",
    b"</row>",
    b"<c r=\"XFD1\">",
    b"<c r=\"A1048577\">",
    b"<c r=\"ZZZZZZZZ9\">",
    b" t=\"s\"",
    b" t=\"inlineStr\"",
    b"<v>999999999</v>",
    b"<v>-1</v>",
    b"<v>1e308</v>",
    b" s=\"99\"",
    b"<is><t>",
    b"</t></is>",
    b"&amp;",
    b"&#0;",
    b"<![CDATA[",
    b"]]>",
    b"<row r=\"4294967295\">",
    b"<f>SUM(A1)</f>",
    b" t=\"d\"",
    b"<v>2026-13-45</v>",
];

#[test]
fn xlsx_reader() {
    // openpyxl's workbook (cells inline, every kind of cell), and LibreOffice's (a table of
    // texts).
    let book = fixture("cells.xlsx");
    let sheet = entry(&book, "xl/worksheets/sheet1.xml");
    let libre = fixture("wild/xlsx-named.csv");
    let strings = entry(&libre, "xl/sharedStrings.xml");
    let (b1, b2, b3) = (book.clone(), libre, book.clone());
    let strategy = prop_oneof![
        // The sheet's XML edited, zipped again: the XML reader's paths, not the zip's CRC.
        edits(XML_TOKENS).prop_map(move |e| rezip(
            &b1,
            "xl/worksheets/sheet1.xml",
            &apply(sheet.clone(), &e)
        )),
        edits(XML_TOKENS).prop_map(move |e| rezip(
            &b2,
            "xl/sharedStrings.xml",
            &apply(strings.clone(), &e)
        )),
        // The zip itself damaged.
        edits(&[
            b"PK\x03\x04",
            b"PK\x01\x02",
            b"PK\x05\x06",
            b"\xff\xff\xff\xff"
        ])
        .prop_map(move |e| apply(b3.clone(), &e)),
        proptest::collection::vec(any::<u8>(), 0..2048),
    ];
    fuzz("xlsx_reader", 48, strategy, |bytes| {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.xlsx");
        std::fs::write(&p, &bytes).unwrap();
        read_everything(&p, &ReadOptions::default());
        validate_everything(&p, MappingConfig::default_layout());
        Ok(())
    });
}

const ODS_TOKENS: &[&[u8]] = &[
    b"<table:table-row>",
    b"</table:table-row>",
    b"<table:table-cell office:value-type=\"float\" office:value=\"1\"/>",
    b" table:number-columns-repeated=\"16384\"",
    b" table:number-rows-repeated=\"1048576\"",
    b" table:number-columns-repeated=\"-1\"",
    b" office:time-value=\"PT99999999H\"",
    b" office:value-type=\"time\"",
    b" office:date-value=\"2026-02-30\"",
    b"<text:p>",
    b"</text:p>",
];

#[test]
fn ods_and_xls_readers() {
    let ods = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wild/title-rows.ods"),
    )
    .unwrap();
    let content = entry(&ods, "content.xml");
    let xls = fixture("cells.xls");
    let o2 = ods.clone();
    let strategy = prop_oneof![
        edits(ODS_TOKENS).prop_map(move |e| (
            "ods",
            rezip(&o2, "content.xml", &apply(content.clone(), &e))
        )),
        edits(&[
            b"\x09\x08",
            b"\x00\x02\x0e\x00",
            b"\xff\xff\xff\xff",
            b"\xfc\x00"
        ])
        .prop_map(move |e| ("xls", apply(xls.clone(), &e))),
    ];
    fuzz("ods_and_xls_readers", 48, strategy, |(ext, bytes)| {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(format!("in.{ext}"));
        std::fs::write(&p, &bytes).unwrap();
        read_everything(&p, &ReadOptions::default());
        Ok(())
    });
}

const TOML_LINES: &[&str] = &[
    "[settings]",
    "[leadOpportunity]",
    "[customerLegalEntity]",
    "[offerLines]",
    "[customerContacts]",
    "partnerId = \"partnerId\"",
    "mode = \"upsert\"",
    "header_row = 0",
    "header_row = 4294967295",
    "group_by = \"CRM ID\"",
    "date_format = \"DD.MM.YYYY\"",
    "timezone = \"Europe/Berlin\"",
    "timezone = \"Mars/Olympus\"",
    "decimal_comma = true",
    "delimiter = \";;\"",
    "encoding = \"klingon\"",
    "name = \"Opportunity\"",
    "partnerLeadOpportunityId = \"CRM ID\"",
    "status = { column = \"Stage\", map = { Open = \"LEAD_OPEN\", Won = \"WON\" } }",
    "closeDate = { column = \"Close\", format = [\"DD.MM.YYYY\", \"%Y-%m-%d\"] }",
    "currency = { value = \"EUR\" }",
    "offerNameId = \"Offer {n}\"",
    "amount = { column = \"Offer {n} Amount\", decimal_comma = true }",
    "revenueType = { value = \"YxC\" }",
    "competitors = { column = \"Competitors\", separator = \"\" }",
    "email = { column = [\"E-Mail\", \"Mail\"], optional = true, default = \"x@y\" }",
    "x = [[[[1]]]]",
    "\"\" = \"\"",
];

#[test]
fn mapping_parser() {
    let strategy = prop_oneof![
        3 => proptest::collection::vec(prop::sample::select(TOML_LINES), 0..16).prop_map(|l| l.join("\n")),
        1 => ".{0,200}",
    ];
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("in.csv");
    std::fs::write(
        &csv,
        "partnerId;CRM ID;Opportunity;Stage;Close;Offer 1;Offer 1 Amount;Competitors;E-Mail\n1;C-1;x;Open;30.06.2026;SOLIDWORKS_Premium_Term;1.000,5;A;B;a@b\n",
    )
    .unwrap();
    fuzz("mapping_parser", 64, strategy, |text| {
        if let Ok(m) = MappingConfig::parse(&text, std::path::Path::new("fuzzed.toml")) {
            validate_everything(&csv, m);
        }
        Ok(())
    });
}

#[test]
fn date_and_number_parsers() {
    let strategy = (
        prop_oneof![
            ".{0,60}",
            "[0-9./: T+-]{0,30}",
            "[0-9.,' -]{0,24}",
            Just("31.02.2026".to_string()),
            Just("2026-06-30T25:61:00+14:00".to_string()),
        ],
        any::<bool>(),
        any::<f64>(),
        prop_oneof![
            Just("DD.MM.YYYY HH:mm"),
            Just("MM/DD/YYYY"),
            Just("%d.%m.%Y %H:%M:%S%.f"),
            Just("YYYY")
        ],
    );
    fuzz(
        "date_and_number_parsers",
        128,
        strategy,
        |(s, comma, x, format)| {
            for f in FIELDS {
                let mut conv = Conv::new(f.kind);
                conv.decimal_comma = comma;
                if let Ok(fmt) = date_format(format) {
                    conv.formats = vec![fmt];
                }
                conv.tz = "Europe/Berlin".parse().unwrap();
                let _ = conv.text(&s);
                let _ = conv.cell(&Cell::Text(s.clone()));
                let _ = conv.cell(&Cell::Float(x));
                if f.kind == Kind::Number {
                    let _ = parse_number(&s, comma);
                }
            }
            let _ = date_format(&s);
            let _ = leadsheet::normalize_header(&s);
            let _ = leadsheet::number_text(x);
            Ok(())
        },
    );
}

/// JSON of any shape, with the keys of the API's answers more often than not.
fn answer_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        3 => prop::sample::select(&[
            "data", "leadOpportunity", "dsLeadOpportunityId", "partnerLeadOpportunityId",
            "offerLines", "customerContacts", "partnerContacts", "customerLegalEntity",
            "errors", "error", "code", "message", "traceId", "success", "status", "name",
            "amount", "closeDate", "modifiedDate", "competitors", "reasonWon",
        ][..]).prop_map(str::to_string),
        1 => ".{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<i64>().prop_map(|i| Value::Number(i.into())),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

#[test]
fn api_answer_readers() {
    let layout = leadsheet::answers::ImportLayout::new(
        &MappingConfig::default_layout(),
        std::path::Path::new("(default)"),
        [3, 2, 2],
        Some("1".into()),
    )
    .unwrap();
    let strategy = (
        answer_json(),
        any::<u16>(),
        proptest::collection::vec(any::<u8>(), 0..256),
    );
    fuzz("api_answer_readers", 128, strategy, |(v, status, raw)| {
        use leadsheet::answers::*;
        let _ = (
            trace_id(&v),
            success_flag(&v),
            created_id(&v),
            updated_id(&v),
            search_ids(&v),
        );
        let _ = failure(status, &raw);
        let text = serde_json::to_vec(&v).unwrap();
        let _ = failure(status, &text);
        let record = v
            .get("data")
            .and_then(|d| d.get("leadOpportunity"))
            .unwrap_or(&v);
        let extra = unknown_keys(record);
        let _ = lead_headers(&extra);
        let _ = lead_row(record, &extra);
        let _ = layout.rows(record);
        let _ = record_id(record);
        let mut lines = Vec::new();
        flatten("", record, &mut lines);
        for s in Section::ALL {
            let _ = s.key();
        }
        Ok(())
    });
}
