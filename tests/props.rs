//! Property tests: whatever bytes a file holds and whatever text a cell holds, leadsheet
//! answers with rows, problems or an error, never a panic.

use leadsheet::OfflinePlan;
use leadsheet::contract::ApiVersion;
use leadsheet::contract::{FIELDS, Kind};
use leadsheet::{Cell, ReadOptions};
use leadsheet::{Conv, date_format, parse_number};
use leadsheet::{MappingConfig, Mode};
use proptest::prelude::*;

fn read_everything(path: &std::path::Path) {
    if let Ok(mut s) = leadsheet::open_sheet(path.to_str().unwrap(), &ReadOptions::default()) {
        while let Some(batch) = s.next_batch() {
            if batch.is_err() {
                break;
            }
        }
    }
}

fn validate_everything(path: &std::path::Path) {
    let plan = OfflinePlan {
        input: path.to_str().unwrap().to_string(),
        read: ReadOptions::default(),
        mapping: MappingConfig::default_layout(),
        mapping_path: "(default)".into(),
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

/// A valid small XLSX to corrupt.
fn small_xlsx() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.write(0, 0, "leadOpportunity.name").unwrap();
    ws.write(0, 1, "offerLines.1.amount").unwrap();
    ws.write(1, 0, "Lead").unwrap();
    ws.write(1, 1, 12.5).unwrap();
    book.save_to_buffer().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_as_csv(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.csv");
        std::fs::write(&p, &bytes).unwrap();
        read_everything(&p);
        validate_everything(&p);
    }

    #[test]
    fn csv_like_text(lines in proptest::collection::vec("[a-zA-Z0-9 ,;\"|\t.\\-/:éü]{0,40}", 0..30)) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.csv");
        let text = format!("leadOpportunity.name;leadOpportunity.closeDate;offerLines.1.amount\n{}", lines.join("\n"));
        std::fs::write(&p, text).unwrap();
        validate_everything(&p);
    }

    #[test]
    fn any_bytes_as_xlsx(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.xlsx");
        std::fs::write(&p, &bytes).unwrap();
        read_everything(&p);
    }

    #[test]
    fn corrupted_xlsx(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut bytes = small_xlsx();
        for (i, b) in flips {
            let at = i.index(bytes.len());
            bytes[at] = b;
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.xlsx");
        std::fs::write(&p, &bytes).unwrap();
        read_everything(&p);
        validate_everything(&p);
    }

    #[test]
    fn any_cell_text_converts_or_explains(s in ".{0,60}", comma in any::<bool>()) {
        for f in FIELDS {
            let mut conv = Conv::new(f.kind);
            conv.decimal_comma = comma;
            conv.formats = vec![date_format("DD.MM.YYYY HH:mm").unwrap()];
            conv.tz = "Europe/Berlin".parse().unwrap();
            let _ = conv.text(&s);
            let _ = conv.cell(&Cell::Text(s.clone()));
            if f.kind == Kind::Number {
                let _ = parse_number(&s, comma);
            }
        }
        let _ = date_format(&s);
        let _ = leadsheet::normalize_header(&s);
    }

    #[test]
    fn any_number_cell_converts(x in any::<f64>()) {
        for f in FIELDS {
            let _ = Conv::new(f.kind).cell(&Cell::Float(x));
        }
        let _ = leadsheet::number_text(x);
    }
}
