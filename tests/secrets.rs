//! The API key stays secret: whatever command runs, at whatever verbosity, through whatever
//! failure, the key appears in no stdout, stderr, results workbook, CSV, journal, emitted
//! request file or export. Every output file a run leaves in its directory is read whole,
//! workbooks through their zip (every sheet, every part), so a new output cannot slip by.

use std::path::Path;

use leadsheet::SandboxConfig;

use crate::util::*;

/// Recognisable in any output, and accepted by the sandbox.
const KEY: &str = "LSK-7f3a-SECRET-9c1e-do-not-print";

/// Every byte a run left: its stdout and stderr, and each file under `dir`, workbooks and
/// other zips unpacked entry by entry (their parts are compressed, so the key would not show
/// in their raw bytes).
fn everything_written(o: &std::process::Output, dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![
        ("stdout".to_string(), o.stdout.clone()),
        ("stderr".to_string(), o.stderr.clone()),
    ];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bytes = std::fs::read(&p).unwrap();
            if bytes.starts_with(b"PK\x03\x04") {
                let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
                for i in 0..zip.len() {
                    let mut entry = zip.by_index(i).unwrap();
                    let name = format!("{} :: {}", p.display(), entry.name().unwrap());
                    let mut content = Vec::new();
                    std::io::copy(&mut entry, &mut content).unwrap();
                    out.push((name, content));
                }
            } else {
                out.push((p.display().to_string(), bytes));
            }
        }
    }
    out
}

fn assert_secret(what: &str, o: &std::process::Output, dir: &Path) {
    let written = everything_written(o, dir);
    for (name, bytes) in &written {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains(KEY) && !text.contains(&KEY[4..20]),
            "{what}: the key is in {name}:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_is_in_no_output_of_any_command_at_any_verbosity_through_any_failure() {
    // A server that takes the key, one that refuses it, one that fails and drops and is slow.
    let mut good = sandbox(SandboxConfig {
        api_keys: vec![KEY.into()],
        ..Default::default()
    })
    .await;
    good.key = KEY.into();
    let refusing = sandbox(SandboxConfig::default()).await;
    let mut failing = sandbox(SandboxConfig {
        api_keys: vec![KEY.into()],
        fail_503: 0.2,
        commit_then_fail: 0.2,
        drop: 0.1,
        slow: 0.2,
        slow_ms: 1500,
        seed: 11,
        ..Default::default()
    })
    .await;
    failing.key = KEY.into();
    let seeded = good.create_basic("SECRET-SEED-1").await;
    let verbosities: [(&[&str], Option<&str>); 5] = [
        (&["-q"], None),
        (&[], None),
        (&["-v"], None),
        (&["-vv"], None),
        (&[], Some("trace")),
    ];
    // Every (verbosity, server) pair in a task of its own, its commands one after the other:
    // most of the time is spent waiting for timeouts and retries.
    let mut tasks = Vec::new();
    for (flags, log) in verbosities {
        for (server, label) in [
            (&good, "accepted"),
            (&refusing, "refused (403)"),
            (&failing, "503s, drops, timeouts"),
        ] {
            let base = server.handle.base_url();
            let seeded = seeded.clone();
            tasks.push(tokio::task::spawn_blocking(move || {
                let dir = scratch();
                let d = dir.path();
                let input = generated_csv(d, 6, "SECRET");
                let p = |name: &str| d.join(name).display().to_string();
                let commands: Vec<Vec<String>> = vec![
                    s(&["validate", &p("SECRET.csv"), "-o", &p("v.results.csv")]),
                    s(&[
                        "import",
                        input.to_str().unwrap(),
                        "-o",
                        &p("i.results.xlsx"),
                        "--emit-requests",
                        &p("i.requests.jsonl"),
                        "--timeout",
                        "1",
                        "--max-retries",
                        "2",
                        "--json",
                    ]),
                    s(&[
                        "import",
                        input.to_str().unwrap(),
                        "-o",
                        &p("u.results.csv"),
                        "--mode",
                        "upsert",
                        "--timeout",
                        "1",
                        "--max-retries",
                        "2",
                    ]),
                    s(&["get", &seeded, "--timeout", "1"]),
                    s(&["get", &seeded, "--json", "--timeout", "1"]),
                    s(&[
                        "export",
                        "--modified-since",
                        "1d",
                        "-o",
                        &p("e.xlsx"),
                        "--timeout",
                        "1",
                        "--max-retries",
                        "1",
                    ]),
                    s(&[
                        "export",
                        "--id",
                        &seeded,
                        "-o",
                        &p("e.csv"),
                        "--timeout",
                        "1",
                    ]),
                    // A reader that fails inside (a panic caught, reported as an unreadable file).
                    s(&[
                        "validate",
                        &root()
                            .join("tests/fixtures/wild/overflow-ref.xlsx")
                            .display()
                            .to_string(),
                        "-o",
                        &p("panic.results.xlsx"),
                    ]),
                ];
                let mut runs = 0;
                for command in commands {
                    let mut cmd = leadsheet();
                    cmd.args(flags)
                        .args(&command)
                        .env("LEADSHEET_API_KEY", KEY)
                        .current_dir(d);
                    if command[0] != "validate" {
                        cmd.args(["--base-url", &base]);
                    }
                    if let Some(level) = log {
                        cmd.env("LEADSHEET_LOG", level);
                    }
                    let o = cmd.output().unwrap();
                    let what = format!("{flags:?} {log:?} {label}: {command:?}");
                    // Runs that end in a usage error prove nothing.
                    assert!(
                        matches!(o.status.code(), Some(0..=2)),
                        "{what}: {}",
                        String::from_utf8_lossy(&o.stderr)
                    );
                    assert_secret(&what, &o, d);
                    runs += 1;
                }
                runs
            }));
        }
    }
    let mut runs = 0;
    for t in tasks {
        runs += t.await.unwrap();
    }
    assert_eq!(runs, 5 * 3 * 8);
    // The failing server did fail, and the refusing one refused: the key went through errors.
    let stats = failing.stats().await;
    assert!(
        stats["faults"]["fail503"].as_u64().unwrap_or(0) > 0,
        "{stats}"
    );
    assert_eq!(refusing.stats().await["records"]["total"], 0);
}

#[test]
fn a_key_from_a_profile_is_in_no_output_either_and_never_in_an_error_about_its_file() {
    let dir = scratch();
    // A config file with a syntax error on the key's line: the error names the line, never
    // quotes it.
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!("[profiles.p]\nbase_url = \"http://127.0.0.1:9\"\napi_key = \"{KEY}\" oops\n"),
    )
    .unwrap();
    let input = generated_csv(dir.path(), 1, "CFG");
    let o = leadsheet()
        .args([
            "-vv",
            "import",
            input.to_str().unwrap(),
            "--profile",
            "p",
            "--config",
            cfg.to_str().unwrap(),
            "--timeout",
            "1",
        ])
        .env("LEADSHEET_LOG", "trace")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::remove_file(&cfg).unwrap();
    assert_secret("profile with a syntax error", &o, dir.path());
    // A good profile against a port where nothing listens: connection errors, retries, a stop.
    std::fs::write(
        &cfg,
        format!("[profiles.p]\nbase_url = \"http://127.0.0.1:9\"\napi_key = \"{KEY}\"\n"),
    )
    .unwrap();
    let o = leadsheet()
        .args([
            "-vv",
            "import",
            input.to_str().unwrap(),
            "--profile",
            "p",
            "--config",
            cfg.to_str().unwrap(),
            "--timeout",
            "1",
            "--max-retries",
            "1",
            "-o",
            dir.path().join("cfg.results.xlsx").to_str().unwrap(),
        ])
        .env("LEADSHEET_LOG", "trace")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(1 | 2)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::remove_file(&cfg).unwrap();
    assert_secret("profile against nothing", &o, dir.path());
}

/// Every field of a CSV file; none may start a formula in a spreadsheet program.
fn assert_inert(path: &Path) {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut fields = 0;
    for record in rdr.records() {
        for field in record.unwrap().iter() {
            fields += 1;
            assert!(
                !field.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{}: `{field}` would start a formula",
                path.display()
            );
        }
    }
    assert!(fields > 0, "{} is empty", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_csv_leadsheet_writes_is_inert_to_formulas() {
    let sb = sandbox(SandboxConfig::default()).await;
    // A lead whose texts are formulas, as a hostile CRM export would hold them.
    let mut body = basic_create_v1();
    body["leadOpportunity"]["partnerLeadOpportunityId"] = "=HYPERLINK(\"http://x\")".into();
    body["leadOpportunity"]["name"] = "=1+1".into();
    body["leadOpportunity"]["description"] = "@SUM(A1)".into();
    body["customerLegalEntity"]["city"] = "-Lyon".into();
    body["customerLegalEntity"]["name"] = "\tTab AG".into();
    body["customerLegalEntity"]["addressLine1"] = "\rCR street".into();
    let created = sb.post(V1, &body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["dsLeadOpportunityId"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = scratch();
    let d = dir.path();
    let p = |name: &str| d.join(name).display().to_string();
    // The input of an offline check, with formulas in its cells.
    std::fs::write(
        d.join("in.csv"),
        "leadOpportunity.name,leadOpportunity.description,customerLegalEntity.city\n=1+1,@SUM(A1),-Lyon\n\"\tx\",+49 89,\"\rcr\"\n",
    )
    .unwrap();
    let runs: Vec<Vec<String>> = vec![
        s(&["validate", &p("in.csv"), "-o", &p("results.csv")]),
        s(&["export", "--id", &id, "-o", &p("report.csv")]),
        s(&[
            "export",
            "--id",
            &id,
            "--layout",
            "import",
            "-o",
            &p("import.csv"),
        ]),
        // An id that is not found goes to the errors file, as given.
        s(&[
            "export",
            "--id",
            &id,
            "--id",
            "=cmd|' /C calc'!A0",
            "-o",
            &p("partial.csv"),
        ]),
        s(&["portfolio", "-o", &p("portfolio.csv")]),
    ];
    for args in runs {
        let base = (args[0] != "validate").then(|| sb.handle.base_url());
        let o = run(args.clone(), base, &sb.key).await;
        assert!(
            matches!(o.status.code(), Some(0 | 2)),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let written: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".csv") && n != "in.csv")
        .collect();
    for name in [
        "results.csv",
        "report.csv",
        "import.csv",
        "partial.csv",
        "partial.errors.csv",
        "portfolio.csv",
    ] {
        assert!(
            written.contains(&name.to_string()),
            "{name} not among {written:?}"
        );
    }
    for name in &written {
        assert_inert(&d.join(name));
    }
    // The formulas are there, made text: what the user typed, with Excel's text mark.
    let report = std::fs::read_to_string(d.join("report.csv")).unwrap();
    assert!(
        report.contains("'=1+1") && report.contains("'@SUM(A1)"),
        "{report}"
    );
    let errors = std::fs::read_to_string(d.join("partial.errors.csv")).unwrap();
    assert!(errors.contains("'=cmd"), "{errors}");
}
