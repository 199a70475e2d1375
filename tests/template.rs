//! `leadsheet template`: a blank workbook whose columns the mapping reads back, with dropdowns
//! offering the mapping's own words.

use crate::util::*;

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
    // A sheet name Excel refuses is the mapping's error, said in Excel's terms.
    for (sheet, says) in [
        ("[x]", "none of"),
        ("", "empty"),
        (&"x".repeat(40), "31 characters"),
    ] {
        let mapping = dir.path().join("bad-sheet.toml");
        std::fs::write(
            &mapping,
            format!("[settings]\nsheet = \"{sheet}\"\n[leadOpportunity]\nname = \"Name\"\n"),
        )
        .unwrap();
        let o = leadsheet()
            .args(["template", "-o"])
            .arg(dir.path().join("t.xlsx"))
            .arg("--mapping")
            .arg(&mapping)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{sheet}: {err}");
        assert!(
            err.contains(says) && !err.contains("set_name"),
            "{sheet}: {err}"
        );
    }
}

#[test]
fn templates_are_read_back_whatever_the_mapping_settings() {
    let dir = scratch();
    let one_row = std::fs::read_to_string(root().join("templates/create-one-row.toml")).unwrap();
    let grouped = std::fs::read_to_string(root().join("templates/grouped-rows.toml")).unwrap();
    let variants = [
        // The header on row 3 of a sheet whose name is a number.
        one_row
            .replace("# sheet = \"Pipeline\"", "sheet = 2 #")
            .replace("# header_row = 1", "header_row = 3 #"),
        // A sheet called like the lists, and one column read by two fields.
        one_row
            .replace("# sheet = \"Pipeline\"", "sheet = \"lists\" #")
            .replace("name = \"Opportunity\"", "name = \"Account\""),
        // Rows grouped by a column no field reads.
        grouped.replace("group_by = \"Opportunity ID\"", "group_by = \"Deal Key\""),
    ];
    for (i, text) in variants.iter().enumerate() {
        let mapping = dir.path().join(format!("m{i}.toml"));
        std::fs::write(&mapping, text).unwrap();
        let book = dir.path().join(format!("t{i}.xlsx"));
        let o = leadsheet()
            .arg("template")
            .arg("--mapping")
            .arg(&mapping)
            .arg("-o")
            .arg(&book)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "variant {i}: {o:?}");
        let o = leadsheet()
            .arg("validate")
            .arg(&book)
            .arg("--mapping")
            .arg(&mapping)
            .arg("-o")
            .arg(dir.path().join(format!("t{i}.results.xlsx")))
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "variant {i}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
