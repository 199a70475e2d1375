//! `leadsheet template`: a blank workbook whose columns the mapping reads back, with dropdowns
//! offering the mapping's own words.

use crate::util::*;
use crate::validate_cli::{leadsheet, root, sheet_text};

#[test]
fn a_template_has_the_mapping_columns_and_its_words() {
    let dir = scratch();
    let out = dir.path().join("blank.xlsx");
    let mapping = root().join("templates/create-one-row.toml");
    let o = leadsheet()
        .arg("template")
        .arg("--mapping")
        .arg(&mapping)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let header = sheet_text(&out, "Leads").remove(0);
    assert!(
        header.contains("Stage") && header.contains("Offer 3 Type"),
        "{header}"
    );
    let lists = sheet_text(&out, "Lists");
    assert!(lists[0].starts_with("Stage"), "{lists:?}");
    let stages: Vec<&str> = lists[1..]
        .iter()
        .filter_map(|l| l.split('\t').next())
        .filter(|w| !w.is_empty())
        .collect();
    assert_eq!(
        stages,
        [
            "Prospect",
            "Qualified",
            "Accepted",
            "Open",
            "Validated",
            "Established",
            "Closed Won",
            "Closed Lost"
        ]
    );
    // The mapping reads the blank template without a missing column: a row typed into it
    // is checked, not refused.
    let o = leadsheet()
        .arg("validate")
        .arg(&out)
        .arg("--mapping")
        .arg(&mapping)
        .arg("-o")
        .arg(dir.path().join("blank.results.xlsx"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Only .xlsx holds dropdowns.
    let o = leadsheet()
        .args(["template", "-o"])
        .arg(dir.path().join("t.csv"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
}
