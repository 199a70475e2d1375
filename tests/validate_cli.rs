//! `leadsheet validate` as users run it: the bundled samples give the expected VALID/INVALID
//! rows and messages (golden files), the emitted bodies validate against the contract's
//! schemas, and bad input ends with a clear message and the documented exit code.

use std::path::{Path, PathBuf};

use calamine::{Data, Reader};
use serde_json::Value;

use crate::util::*;

/// The outcome columns of Results (status onwards, without the input columns) and Problems.
pub fn outcome_text(path: &Path) -> String {
    let results = sheet_text(path, "Results");
    let status_col = results[0]
        .split('\t')
        .position(|h| h == "Status")
        .expect("a Status column");
    let mut out = vec!["# Results".to_string()];
    for line in &results {
        out.push(
            line.split('\t')
                .skip(status_col)
                .collect::<Vec<_>>()
                .join("\t"),
        );
    }
    out.push("# Problems".into());
    out.extend(sheet_text(path, "Problems"));
    out.join("\n") + "\n"
}

/// Compares with `tests/golden/<name>`; `UPDATE_GOLDEN=1` rewrites it instead.
pub fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {}; run with UPDATE_GOLDEN=1", path.display()));
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (e, a))| e != a)
            .take(5)
            .map(|(i, (e, a))| format!("line {}:\n  expected: {e}\n  actual:   {a}", i + 1))
            .collect();
        panic!(
            "{} differs (UPDATE_GOLDEN=1 to accept):\n{}",
            path.display(),
            diff.join("\n")
        );
    }
}

fn validate(
    sample: &str,
    ext: &str,
    dir: &Path,
    extra: &[&str],
) -> (std::process::Output, PathBuf) {
    let out = dir.join(format!("{sample}.{ext}.results.xlsx"));
    let output = leadsheet()
        .arg("validate")
        .arg(root().join(format!("samples/{sample}.{ext}")))
        .arg("--mapping")
        .arg(root().join(format!("templates/{sample}.toml")))
        .arg("-o")
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    (output, out)
}

#[test]
fn samples_match_their_golden_results() {
    let dir = scratch();
    for sample in ["create-one-row", "grouped-rows", "update-status"] {
        // The XLSX and the Windows-1252 CSV of a sample say exactly the same.
        for ext in ["xlsx", "csv"] {
            let (output, results) = validate(sample, ext, dir.path(), &[]);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{sample}.{ext}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            golden(&format!("{sample}.txt"), &outcome_text(&results));
        }
    }
}

#[test]
fn results_keep_input_cells_as_read() {
    let dir = scratch();
    let (_, results) = validate("create-one-row", "xlsx", dir.path(), &[]);
    let mut book = calamine::open_workbook_auto(&results).unwrap();
    let r = book.worksheet_range("Results").unwrap();
    let header: Vec<String> = r
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let col = |h: &str| header.iter().position(|x| x == h).unwrap();
    // Row 3 of the sample: zip 01069 as text, the close date as a date, the amount as a number.
    let row = r.rows().nth(2).unwrap();
    assert_eq!(row[col("ZIP")], Data::String("01069".into()));
    assert!(
        matches!(row[col("Close Date")], Data::DateTime(_)),
        "{:?}",
        row[col("Close Date")]
    );
    assert_eq!(row[col("Offer 1 Amount")], Data::Float(5490.0));
    assert_eq!(row[col("Source row")], Data::Float(3.0));
    let summary = sheet_text(&results, "Summary").join("\n");
    for needle in [
        "Input SHA-256",
        "create-one-row.xlsx",
        "Mapping file",
        "API version\tv1",
        "Mode\tcreate",
        "Rows VALID\t6",
        "Rows INVALID\t4",
        "leadsheet version",
    ] {
        assert!(summary.contains(needle), "{needle} not in\n{summary}");
    }
}

fn schema_validator(rel: &str) -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(&contract_json(&format!("resolved/{rel}")))
        .unwrap()
}

fn check_emitted(path: &Path, version: &str) -> usize {
    let create = schema_validator(&format!(
        "{version}/createLeadsOpportunities.request.schema.json"
    ));
    let update = schema_validator(&format!(
        "{version}/updateLeadOpportunitiesDetails.request.schema.json"
    ));
    let text = std::fs::read_to_string(path).unwrap();
    let mut n = 0;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let body = &v["body"];
        let validator = match v["action"].as_str().unwrap() {
            "create" => &create,
            _ => &update,
        };
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{version} rejects {body}: {errors:?}");
        assert!(v["rows"].as_array().is_some_and(|r| !r.is_empty()));
        n += 1;
    }
    n
}

#[test]
fn emitted_requests_validate_against_the_schemas() {
    let dir = scratch();
    for (sample, expected) in [
        ("create-one-row", 6),
        ("grouped-rows", 2),
        ("update-status", 4),
    ] {
        for ext in ["xlsx", "csv"] {
            let jsonl = dir.path().join(format!("{sample}.{ext}.jsonl"));
            let (output, _) = validate(
                sample,
                ext,
                dir.path(),
                &["--emit-requests", jsonl.to_str().unwrap()],
            );
            assert_eq!(output.status.code(), Some(2));
            assert_eq!(
                check_emitted(&jsonl, "v1-derived"),
                expected,
                "{sample}.{ext}"
            );
        }
    }
    // The grouped sample's lead OPP-FR-101 gathers three rows, three lines and two contacts.
    let text = std::fs::read_to_string(dir.path().join("grouped-rows.xlsx.jsonl")).unwrap();
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["rows"], serde_json::json!([2, 4, 6]));
    assert_eq!(first["body"]["offerLines"].as_array().unwrap().len(), 3);
    assert_eq!(
        first["body"]["customerContacts"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        first["body"]["leadOpportunity"]["nextMilestoneDate"],
        "2026-07-15T08:00:00.000Z"
    );
    assert_eq!(first["body"]["offerLines"][1]["amount"], 12500.5);
    assert_eq!(first["method"], "POST");
    assert_eq!(first["path"], "/sales/api4partners/v1/leads-opportunities");
}

#[test]
fn v0_bodies_validate_against_the_v0_schemas() {
    let dir = scratch();
    let csv = dir.path().join("v0.csv");
    std::fs::write(
        &csv,
        "partnerId,leadOpportunity.partnerLeadOpportunityId,leadOpportunity.name,leadOpportunity.status,leadOpportunity.closeDate,leadOpportunity.currency,\
customerLegalEntity.name,customerLegalEntity.city,customerLegalEntity.country,offerLines.1.offerNameId,offerLines.1.amount,offerLines.1.revenueType,\
offerLines.2.offerNameId,offerLines.2.revenueType,leadOpportunity.reasonWon\n\
200000000014442,V0-1,Lead,LEAD_OPEN,2026-06-01,EUR,ACME,Paris,France,OFFER_A,13800,UPFRONT,OFFER_B,RENTAL_BOOKING,PRTNR_SKILL_&_EXPRT\n\
200000000014442,V0-2,Oppy,OPPY_OPEN,2026-06-01T10:00:00Z,USD,ACME,Paris,France,OFFER_A,5,PxC,,,\n",
    )
    .unwrap();
    let jsonl = dir.path().join("v0.jsonl");
    let out = leadsheet()
        .args([
            "validate",
            csv.to_str().unwrap(),
            "--api-version",
            "v0",
            "--emit-requests",
            jsonl.to_str().unwrap(),
            "-o",
        ])
        .arg(dir.path().join("v0.results.csv"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(check_emitted(&jsonl, "v0"), 1);
    let results = std::fs::read_to_string(dir.path().join("v0.results.csv")).unwrap();
    assert!(results.contains("`PxC` is not a v0 value"), "{results}");
    // v0 updates too.
    let jsonl = dir.path().join("v0-update.jsonl");
    let (out, _) = validate(
        "update-status",
        "xlsx",
        dir.path(),
        &[
            "--api-version",
            "v0",
            "--emit-requests",
            jsonl.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(check_emitted(&jsonl, "v0"), 4);
}

/// Runs `cmd` with `bytes` written to its stdin (a pipe); its output.
fn with_stdin(cmd: &mut std::process::Command, bytes: &[u8]) -> std::process::Output {
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), bytes).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn json_summary_csv_results_and_stdin() {
    let dir = scratch();
    let out_csv = dir.path().join("r.csv");
    let input = std::fs::read(root().join("samples/create-one-row.csv")).unwrap();
    let out = with_stdin(
        leadsheet()
            .args(["validate", "-", "--mapping"])
            .arg(root().join("templates/create-one-row.toml"))
            .arg("-o")
            .arg(&out_csv)
            .arg("--json"),
        &input,
    );
    assert_eq!(out.status.code(), Some(2));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["rowsByStatus"]["VALID"], 6);
    assert_eq!(summary["rowsByStatus"]["INVALID"], 4);
    assert_eq!(summary["input"], "-");
    assert_eq!(summary["exitCode"], 2);
    let text = std::fs::read_to_string(&out_csv).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    assert!(headers.iter().any(|h| h == "Status"));
    assert_eq!(rdr.records().count(), 10);
}

/// A pipe named as a path (`<(…)` is `/dev/fd/63`; here `/dev/stdin` on a pipe) is read whole,
/// its first bytes included, and its results go to the current directory (a pipe has no
/// beside); a device of zeros is refused at once, not copied without end.
#[cfg(target_os = "linux")]
#[test]
fn pipes_and_devices_named_as_paths() {
    let dir = scratch();
    let input = std::fs::read(root().join("samples/create-one-row.xlsx")).unwrap();
    let out = with_stdin(
        leadsheet()
            .current_dir(dir.path())
            .args(["validate", "/dev/stdin", "--mapping"])
            .arg(root().join("templates/create-one-row.toml")),
        &input,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let rows = results_rows(&dir.path().join("stdin.results.xlsx"));
    assert_eq!(rows.len(), 10, "{err}");
    // `/dev/stdin < leads.xlsx` and `-o /dev/stdout > results.xlsx` lead to regular files, but
    // are streams: nothing is written beside them in /dev (nor renamed over them).
    let sample = root().join("samples/create-one-row.xlsx");
    let to = dir.path().join("redirected.xlsx");
    let out = leadsheet()
        .current_dir(dir.path())
        .args(["validate", "/dev/stdin", "-o", "/dev/stdout", "--mapping"])
        .arg(root().join("templates/create-one-row.toml"))
        .stdin(std::fs::File::open(&sample).unwrap())
        .stdout(std::fs::File::create(&to).unwrap())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(results_rows(&to).len(), 10, "{err}");
    assert!(!Path::new("/dev/stdout.partial").exists());
    // Were the refusal to break, the copy would grow without end: it grows in the test's
    // directory, and is stopped after 10 s.
    for input in ["/dev/zero", "-"] {
        let mut child = leadsheet()
            .env("TMPDIR", dir.path())
            .args(["validate", input, "--mapping"])
            .arg(root().join("templates/create-one-row.toml"))
            .stdin(std::fs::File::open("/dev/zero").unwrap())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > std::time::Duration::from_secs(10) {
                let _ = child.kill();
                panic!("{input}: still copying after 10 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(&format!("{input} is binary data")), "{err}");
    }
}

#[test]
fn csv_results_make_formulas_inert() {
    let dir = scratch();
    let input = dir.path().join("evil.csv");
    std::fs::write(
        &input,
        "leadOpportunity.name,leadOpportunity.description\n=HYPERLINK(\"http://x\"),+1+2\n",
    )
    .unwrap();
    let out_csv = dir.path().join("r.csv");
    let out = leadsheet()
        .arg("validate")
        .arg(&input)
        .arg("-o")
        .arg(&out_csv)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = std::fs::read_to_string(&out_csv).unwrap();
    assert!(text.contains("'=HYPERLINK"), "{text}");
    assert!(text.contains("'+1+2"), "{text}");
}

#[test]
fn bad_input_gets_a_clear_message_and_exit_code() {
    let dir = scratch();
    let mapping = root().join("templates/create-one-row.toml");
    // A mapping naming a column the file lacks: exit 3, with the headers and a suggestion.
    let csv = dir.path().join("cols.csv");
    std::fs::write(&csv, "CRM ID;Opportunity Name\nX;Y\n").unwrap();
    let out = leadsheet()
        .arg("validate")
        .arg(&csv)
        .arg("--mapping")
        .arg(&mapping)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no column `Opportunity`")
            && err.contains("A `CRM ID`")
            && err.contains("cols.csv"),
        "{err}"
    );
    // A file that does not exist, a broken workbook: exit 1, naming the file.
    let out = leadsheet()
        .args(["validate", "/no/such/leads.xlsx"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/leads.xlsx"));
    let broken = dir.path().join("broken.xlsx");
    std::fs::write(&broken, b"not a workbook at all").unwrap();
    let out = leadsheet().arg("validate").arg(&broken).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.xlsx"));
    // A broken mapping: exit 3 with the line.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[leadOpportunity]\nname = { colum = \"X\" }\n").unwrap();
    let out = leadsheet()
        .arg("validate")
        .arg(&csv)
        .arg("--mapping")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"));
    // An unknown sheet: exit 3, listing the sheets.
    let out = leadsheet()
        .arg("validate")
        .arg(root().join("samples/create-one-row.xlsx"))
        .args(["--sheet", "Leads", "--mapping"])
        .arg(&mapping)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`Pipeline`"));
    // All rows valid: exit 0.
    let ok = dir.path().join("ok.csv");
    std::fs::write(&ok, "leadOpportunity.partnerLeadOpportunityId,leadOpportunity.name,leadOpportunity.status,leadOpportunity.closeDate,leadOpportunity.currency,customerLegalEntity.name,customerLegalEntity.city,customerLegalEntity.country,offerLines.1.offerNameId\nP-1,Lead,LEAD_OPEN,2026-06-01,EUR,ACME,Paris,France,OFFER\n").unwrap();
    let out = leadsheet()
        .arg("validate")
        .arg(&ok)
        .args(["--partner-id", "200000000014442", "-o"])
        .arg(dir.path().join("ok.xlsx"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = leadsheet()
        .arg("validate")
        .arg(&ok)
        .arg("-o")
        .arg(dir.path().join("ok2.xlsx"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "no partner id: the create is invalid"
    );
    // ... unless the config profile gives one, as import would use it.
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[profiles.default]\nenv = \"ppt\"\npartner_id = \"200000000014442\"\n",
    )
    .unwrap();
    let out = leadsheet()
        .env("LEADSHEET_CONFIG", &config)
        .arg("validate")
        .arg(&ok)
        .arg("-o")
        .arg(dir.path().join("ok3.xlsx"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "the profile's partner id");
    // A bad flag is a usage error: exit 3, not 2 (which means invalid rows).
    let out = leadsheet()
        .arg("validate")
        .arg(&ok)
        .args(["--mode", "bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let out = leadsheet().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = leadsheet()
        .args(["get", " ", "--sandbox"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the id is empty"));
    // Results written over the input would destroy it: refused, the input intact.
    let before = std::fs::read(&ok).unwrap();
    let out = leadsheet()
        .arg("validate")
        .arg(&ok)
        .arg("-o")
        .arg(&ok)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is the input file"));
    assert_eq!(std::fs::read(&ok).unwrap(), before);
    // A full disk: exit 1 and one line naming the file (not also the zip writer's complaint).
    #[cfg(target_os = "linux")]
    {
        let out = leadsheet()
            .arg("validate")
            .arg(&ok)
            .args(["-q", "-o", "/dev/full"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.trim().lines().count() == 1 && err.contains("cannot write /dev/full"),
            "{err}"
        );
    }
}

#[test]
fn workbooks_on_stdin_and_sheets_named_like_numbers() {
    let dir = scratch();
    // An ODS on stdin is recognised by its content, not taken for XLSX.
    let out = leadsheet()
        .args(["validate", "-", "--json", "-o"])
        .arg(dir.path().join("ods.results.xlsx"))
        .stdin(std::fs::File::open(root().join("tests/fixtures/cells.ods")).unwrap())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("XLSX"), "{err}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["dataRows"].as_u64().unwrap() > 0, "{summary}");
    // `--sheet 2025` picks the sheet named 2025 (the first here), not the 2025th.
    let book_path = dir.path().join("years.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    for (name, plid) in [("2025", "P-2025"), ("2024", "P-2024"), ("0", "P-0")] {
        let ws = book.add_worksheet().set_name(name).unwrap();
        ws.write_string(0, 0, "leadOpportunity.partnerLeadOpportunityId")
            .unwrap();
        ws.write_string(1, 0, plid).unwrap();
    }
    book.save(&book_path).unwrap();
    // A sheet named `0` is named so: sheets are counted from 1 (the mapping's `sheet = "0"`
    // read the first sheet, silently).
    for (sheet, want) in [
        ("2025", "P-2025"),
        ("2", "P-2024"),
        ("2024", "P-2024"),
        ("0", "P-0"),
    ] {
        let results = dir.path().join(format!("years-{sheet}.results.csv"));
        let out = leadsheet()
            .arg("validate")
            .arg(&book_path)
            .args(["--sheet", sheet, "-o"])
            .arg(&results)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let text = std::fs::read_to_string(&results).unwrap();
        assert!(text.contains(want), "--sheet {sheet}: {text}");
    }
    let mapping = dir.path().join("sheet0.toml");
    std::fs::write(&mapping, "[settings]\nsheet = \"0\"\n").unwrap();
    let results = dir.path().join("years-mapping-0.results.csv");
    let out = leadsheet()
        .arg("validate")
        .arg(&book_path)
        .arg("--mapping")
        .arg(&mapping)
        .arg("-o")
        .arg(&results)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(std::fs::read_to_string(&results).unwrap().contains("P-0"));
}

#[test]
fn duplicate_partner_ids_in_one_file_are_flagged() {
    let dir = scratch();
    let csv = dir.path().join("dup.csv");
    let head = "leadOpportunity.partnerLeadOpportunityId,leadOpportunity.name,leadOpportunity.status,leadOpportunity.closeDate,leadOpportunity.currency,customerLegalEntity.name,customerLegalEntity.city,customerLegalEntity.country,offerLines.1.offerNameId\n";
    std::fs::write(&csv, format!("{head}P-1,A,LEAD_OPEN,2026-06-01,EUR,X,Y,Z,O\nP-2,B,LEAD_OPEN,2026-06-01,EUR,X,Y,Z,O\nP-1,C,LEAD_OPEN,2026-06-01,EUR,X,Y,Z,O\n")).unwrap();
    let out_csv = dir.path().join("dup.results.csv");
    let out = leadsheet()
        .arg("validate")
        .arg(&csv)
        .args(["--partner-id", "1"])
        .arg("-o")
        .arg(&out_csv)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = std::fs::read_to_string(&out_csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].contains("INVALID") && lines[1].contains("also used on row 4"),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains("VALID"));
    assert!(
        lines[3].contains("INVALID") && lines[3].contains("also used on row 2"),
        "{}",
        lines[3]
    );
}

/// Columns of the rule table: the default layout's headers.
const RULE_COLUMNS: &[&str] = &[
    "partnerId",
    "dsLeadOpportunityId",
    "leadOpportunity.partnerLeadOpportunityId",
    "leadOpportunity.name",
    "leadOpportunity.status",
    "leadOpportunity.forecastCategory",
    "leadOpportunity.closeDate",
    "leadOpportunity.currency",
    "customerLegalEntity.name",
    "customerLegalEntity.city",
    "customerLegalEntity.country",
    "offerLines.1.offerNameId",
    "offerLines.1.amount",
    "offerLines.1.revenueType",
    "offerLines.1.startDate",
    "offerLines.1.endDate",
    "customerContacts.1.email",
    "customerContacts.1.firstName",
    "customerContacts.1.lastName",
    "partnerContacts.1.salesRepEmail",
    "partnerContacts.1.salesRepFirstName",
    "partnerContacts.1.salesRepLastName",
];

/// A case of a rule table: its name, the changes to the base row, the status and the message.
type RuleCase<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a str);

/// Validates one row per case (a valid base row with `changes`) and checks each row's status
/// and that its message says `expect`.
fn rule_table(mode: &str, base: &[(&str, &str)], cases: &[RuleCase<'_>]) {
    let dir = scratch();
    let input = dir.path().join(format!("rules-{mode}.csv"));
    let mut w = csv::Writer::from_path(&input).unwrap();
    w.write_record(RULE_COLUMNS).unwrap();
    for (i, (_, changes, _, _)) in cases.iter().enumerate() {
        let plid = format!("RULE-{i:03}");
        let row: Vec<String> = RULE_COLUMNS
            .iter()
            .map(|col| {
                if let Some((_, v)) = changes.iter().find(|(c, _)| c == col) {
                    return v.to_string();
                }
                if *col == "leadOpportunity.partnerLeadOpportunityId" {
                    return plid.clone();
                }
                base.iter()
                    .find(|(c, _)| c == col)
                    .map_or(String::new(), |(_, v)| v.replace("{i}", &format!("{i:06}")))
            })
            .collect();
        w.write_record(&row).unwrap();
    }
    w.flush().unwrap();
    let out = dir.path().join("rules.results.csv");
    let o = leadsheet()
        .arg("validate")
        .arg(&input)
        .args(["--mode", mode, "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(2),
        "{o:?}"
    );
    let mut rdr = csv::Reader::from_path(&out).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), cases.len());
    for (rec, (name, _, status, expect)) in records.iter().zip(cases) {
        let message = &rec[col("Error message")];
        assert_eq!(&rec[col("Status")], *status, "{name}: {message}");
        assert!(
            message.contains(expect),
            "{name}: `{message}` should say `{expect}`"
        );
    }
}

const CREATE_BASE: &[(&str, &str)] = &[
    ("partnerId", "200000000014442"),
    ("leadOpportunity.name", "Lead"),
    ("leadOpportunity.status", "OPPY_OPEN"),
    ("leadOpportunity.forecastCategory", "COMMIT"),
    ("leadOpportunity.closeDate", "2026-06-01"),
    ("leadOpportunity.currency", "EUR"),
    ("customerLegalEntity.name", "Customer"),
    ("customerLegalEntity.city", "Paris"),
    ("customerLegalEntity.country", "France"),
    ("offerLines.1.offerNameId", "OFFER_1"),
    ("offerLines.1.amount", "1000"),
];

#[test]
fn every_create_rule_has_its_message() {
    rule_table(
        "create",
        CREATE_BASE,
        &[
            ("valid", &[], "VALID", ""),
            (
                "negative amount: the contract sets no minimum",
                &[("offerLines.1.amount", "-5")],
                "VALID",
                "offerLines[1].amount: -5 is negative",
            ),
            (
                "an unknown ISO 4217 code",
                &[("leadOpportunity.currency", "EUX")],
                "VALID",
                "`EUX` is not an ISO 4217 currency code (did you mean EUR?)",
            ),
            (
                "a close date in the past",
                &[("leadOpportunity.closeDate", "2025-06-01")],
                "VALID",
                "is in the past for an open lead",
            ),
            (
                "huge amount",
                &[("offerLines.1.amount", &"9".repeat(400))],
                "INVALID",
                "too large",
            ),
            (
                "end before start",
                &[
                    ("offerLines.1.revenueType", "YxC"),
                    ("offerLines.1.startDate", "2026-07-01"),
                    ("offerLines.1.endDate", "2026-06-01"),
                ],
                "INVALID",
                "is before the start date",
            ),
            (
                "dates without YxC/QxC",
                &[("offerLines.1.startDate", "2026-07-01")],
                "INVALID",
                "only used with revenueType YxC or QxC",
            ),
            (
                "no offer line",
                &[
                    ("offerLines.1.offerNameId", ""),
                    ("offerLines.1.amount", ""),
                ],
                "INVALID",
                "offer line",
            ),
            (
                "customer contact without a name",
                &[("customerContacts.1.email", "a@b.com")],
                "INVALID",
                "customerContacts[1].firstName: is required for every customer contact",
            ),
            (
                "partner contact without a last name",
                &[
                    ("partnerContacts.1.salesRepEmail", "rep@reseller.com"),
                    ("partnerContacts.1.salesRepFirstName", "Rep"),
                ],
                "INVALID",
                "partnerContacts[1].salesRepLastName: is required for every partner contact",
            ),
            (
                "bad e-mail",
                &[
                    ("customerContacts.1.email", "not-an-email"),
                    ("customerContacts.1.firstName", "A"),
                    ("customerContacts.1.lastName", "B"),
                ],
                "VALID",
                "`not-an-email` does not look like an e-mail address",
            ),
            (
                "currency pattern",
                &[("leadOpportunity.currency", "EURO")],
                "INVALID",
                "currency",
            ),
            (
                "enum typo",
                &[("leadOpportunity.status", "WONN")],
                "INVALID",
                "Did you mean `WON`?",
            ),
            (
                "bad date",
                &[("leadOpportunity.closeDate", "31/12/2026")],
                "INVALID",
                "set format = \"DD/MM/YYYY\"",
            ),
            (
                "forecast ignored for a lead",
                &[("leadOpportunity.status", "LEAD_OPEN")],
                "VALID",
                "ignored",
            ),
            (
                "forecast replaced when won",
                &[("leadOpportunity.status", "WON")],
                "VALID",
                "will be replaced by WON",
            ),
            (
                "id ignored in create mode",
                &[("dsLeadOpportunityId", "9YEL-Y3W56Q")],
                "VALID",
                "is ignored in create mode",
            ),
            (
                "missing partner lead id",
                &[("leadOpportunity.partnerLeadOpportunityId", "")],
                "INVALID",
                "leadOpportunity.partnerLeadOpportunityId: is required for a create, but the cell is empty; fill it in",
            ),
        ],
    );
}

#[test]
fn every_update_rule_has_its_message() {
    rule_table(
        "update",
        &[
            ("partnerId", "200000000014442"),
            ("dsLeadOpportunityId", "9YEL-{i}"),
            ("leadOpportunity.status", "QUALIFIED"),
        ],
        &[
            ("valid", &[], "VALID", ""),
            (
                "no id",
                &[("dsLeadOpportunityId", "")],
                "INVALID",
                "dsLeadOpportunityId",
            ),
            (
                "no partner id on v1",
                &[("partnerId", "")],
                "INVALID",
                "partnerId: is required",
            ),
            (
                "changes nothing",
                &[("leadOpportunity.status", "")],
                "VALID",
                "changes nothing",
            ),
        ],
    );
}

#[test]
fn reading_flags_quiet_and_verbose() {
    let dir = scratch();
    // A title line above the header, `|` as delimiter, Windows-1252 bytes (é = 0xE9).
    let input = dir.path().join("flags.txt");
    let mut bytes =
        b"Pipeline export, Q3\nleadOpportunity.partnerLeadOpportunityId|leadOpportunity.name\n"
            .to_vec();
    bytes.extend_from_slice(b"P-1|Soci\xe9t\xe9\n");
    std::fs::write(&input, bytes).unwrap();
    let results = dir.path().join("flags.results.csv");
    let out = leadsheet()
        .arg("--quiet")
        .arg("validate")
        .arg(&input)
        .args([
            "--header-row",
            "2",
            "--delimiter",
            "|",
            "--encoding",
            "windows-1252",
        ])
        .arg("-o")
        .arg(&results)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "--quiet: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&results).unwrap();
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .starts_with("P-1,Société,INVALID"),
        "{text}"
    );
    // -v: logs on stderr, plain text when stderr is not a terminal.
    let out = leadsheet()
        .arg("-v")
        .arg("validate")
        .arg(&input)
        .args([
            "--header-row",
            "2",
            "--delimiter",
            "|",
            "--encoding",
            "windows-1252",
        ])
        .arg("-o")
        .arg(&results)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(" INFO reading"), "{err}");
    assert!(!err.contains('\u{1b}'), "no colour codes in a file: {err}");
}

/// No output overwrites an input or another output, and none is found unwritable only after
/// the work: each is refused at once, with exit code 3 and both names.
#[test]
fn outputs_never_overwrite_inputs_or_each_other() {
    let dir = scratch();
    let d = dir.path();
    let mapping = d.join("m.toml");
    std::fs::copy(root().join("templates/create-one-row.toml"), &mapping).unwrap();
    let input = root().join("samples/create-one-row.csv");
    let read_only = d.join("ro.xlsx");
    std::fs::write(&read_only, "kept").unwrap();
    let mut perms = std::fs::metadata(&read_only).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&read_only, perms).unwrap();
    let p = |name: &str| d.join(name).to_string_lossy().into_owned();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            s(&["-o", &p("m.toml")]),
            "leadsheet writes the results as .xlsx or .csv",
        ),
        (
            s(&["-o", &p("r.journal")]),
            "leadsheet writes the results as .xlsx or .csv",
        ),
        (
            s(&["-o", &p("r.xlsx"), "--emit-requests", &p("r.xlsx")]),
            "-o and --emit-requests are the same file",
        ),
        (
            s(&["-o", &p("r.xlsx"), "--emit-requests", &p("m.toml")]),
            "is the mapping",
        ),
        (
            s(&["-o", &p("r.xlsx"), "--emit-requests", &p("r.xlsx.txt")]),
            "--emit-requests as .jsonl",
        ),
        (s(&["-o", &p("missing/r.xlsx")]), "does not exist"),
        (s(&["-o", &p("")]), "is a directory"),
        (s(&["-o", &read_only.to_string_lossy()]), "is read-only"),
    ];
    for (extra, says) in cases {
        let out = leadsheet()
            .arg("validate")
            .arg(&input)
            .arg("--mapping")
            .arg(&mapping)
            .args(&extra)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{extra:?}: {err}");
        assert!(err.contains(says), "{extra:?}: {err}");
    }
    // The import's journal is an output too: results over it would leave nothing to resume.
    let out = leadsheet()
        .arg("import")
        .arg(&input)
        .arg("--mapping")
        .arg(&mapping)
        .args(["--base-url", "http://127.0.0.1:9", "-o", &p("r.xlsx")])
        .args(["--journal", &p("r.xlsx")])
        .env("LEADSHEET_API_KEY", "k")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("-o and the journal are the same file"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&read_only).unwrap(), "kept");
    assert_eq!(
        std::fs::read(&mapping).unwrap(),
        std::fs::read(root().join("templates/create-one-row.toml")).unwrap()
    );
}

/// A check interrupted before it ends (Ctrl-C, SIGTERM, SIGHUP) removes its private copies of
/// the data at once, rather than leave them in the temporary directory for the next run's
/// sweep, and exits as the signal would (130, 143, 129).
#[cfg(unix)]
#[test]
fn an_interrupted_check_removes_its_copies_of_the_data() {
    let dir = scratch();
    let input = generated_csv(dir.path(), 100_000, "SIG");
    for (signal, code) in [("-INT", 130), ("-TERM", 143), ("-HUP", 129)] {
        let tmp = tempfile::tempdir_in(dir.path()).unwrap();
        let scratch_files = || {
            std::fs::read_dir(tmp.path())
                .unwrap()
                .filter(|e| {
                    e.as_ref().is_ok_and(|e| {
                        e.file_name()
                            .to_string_lossy()
                            .starts_with("leadsheet-scratch-")
                    })
                })
                .count()
        };
        let child = leadsheet()
            .env("TMPDIR", tmp.path())
            .arg("validate")
            .arg(&input)
            .arg("-o")
            .arg(dir.path().join("sig.results.xlsx"))
            .arg("--emit-requests")
            .arg(dir.path().join("sig.jsonl"))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while scratch_files() < 2 {
            assert!(
                started.elapsed().as_secs() < 20,
                "{signal}: no scratch files"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{signal}: {err}");
        assert!(
            err.contains("stopped; nothing was written"),
            "{signal}: {err}"
        );
        assert_eq!(scratch_files(), 0, "{signal}");
    }
}
