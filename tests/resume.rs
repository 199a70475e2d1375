//! A killed import loses nothing: imports killed with SIGKILL at random moments and resumed
//! each time, and imports under every fault at once, end with every valid row created exactly
//! once and the results workbook's ids equal to what the server holds, row by row. Also: the
//! journal's refusals, EXISTS on a re-run, and upsert by partner id.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use leadsheet::SandboxConfig;
use serde_json::Value;

use crate::util::*;

/// Starts the binary with `args` against `base`, without waiting. Its scratch files go in
/// `tmp`: a killed run cannot remove them, and they would stay in the machine's temporary
/// directory for the next runs' sweep.
fn spawn(args: &[String], base: &str, key: &str, tmp: &Path) -> Child {
    leadsheet()
        .args(args)
        .args(["--base-url", base])
        .env("LEADSHEET_API_KEY", key)
        .env("TMPDIR", tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts")
}

/// Every row CREATED with the id the server holds for its partnerLeadOpportunityId, and the
/// server holding each exactly once.
async fn assert_exactly_once(sb: &Sandbox, results: &Path, rows_expected: usize) {
    let stats = sb.stats().await;
    assert_eq!(
        stats["records"]["total"].as_u64(),
        Some(rows_expected as u64),
        "{}",
        stats["records"]
    );
    assert_eq!(
        stats["duplicates"],
        Value::Array(vec![]),
        "{}",
        stats["duplicates"]
    );
    let held: HashMap<String, String> = sb
        .handle
        .records()
        .into_iter()
        .filter_map(|r| r.partner_lead_id.map(|p| (p, r.ds_id)))
        .collect();
    assert_eq!(held.len(), rows_expected);
    let rows = results_rows(results);
    assert_eq!(rows.len(), rows_expected);
    for r in &rows {
        let plid = &r["leadOpportunity.partnerLeadOpportunityId"];
        assert_eq!(r["Status"], "CREATED", "{r:?}");
        assert_eq!(
            Some(&r["dsLeadOpportunityId"]),
            held.get(plid),
            "row {} ({plid}): {r:?}",
            r["Source row"]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_five_times_resumes_to_exactly_once() {
    let sb = sandbox(SandboxConfig {
        latency_ms: 12,
        jitter_ms: 8,
        commit_then_fail: 0.05,
        seed: 11,
        ..Default::default()
    })
    .await;
    let dir = scratch();
    let rows = 3000;
    let input = generated_csv(dir.path(), rows, "KILL");
    let out = dir.path().join("kill.results.xlsx");
    let base = sb.handle.base_url();
    let mut rng = fastrand::Rng::with_seed(2026);
    let args = |resume: bool| {
        let mut a = s(&[
            "import",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--concurrency",
            "8",
        ]);
        if resume {
            a.push("--resume".into());
        }
        a
    };
    let mut created_before_each_kill = Vec::new();
    for round in 0..5 {
        let mut child = spawn(&args(round > 0), &base, &sb.key, dir.path());
        tokio::time::sleep(Duration::from_millis(rng.u64(300..1000))).await;
        // SIGKILL: no handler runs, nothing is flushed but what the journal already made durable.
        let _ = child.kill();
        let _ = child.wait();
        created_before_each_kill.push(sb.stats().await["records"]["total"].as_u64().unwrap());
    }
    let o = run(args(true), Some(base.clone()), &sb.key).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The kills came while leads were being created, not only before or after.
    assert!(
        created_before_each_kill.windows(2).all(|w| w[0] <= w[1])
            && created_before_each_kill
                .iter()
                .any(|n| *n > 0 && *n < rows as u64),
        "{created_before_each_kill:?}"
    );
    assert_exactly_once(&sb, &out, rows).await;
    let stats = sb.stats().await;
    assert!(
        stats["faults"]["commitThen503"].as_u64().unwrap_or(0)
            + stats["faults"]["commitThenDrop"].as_u64().unwrap_or(0)
            > 0,
        "{}",
        stats["faults"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_rows_under_every_fault_at_once() {
    let sb = sandbox(SandboxConfig {
        latency_ms: 1,
        jitter_ms: 2,
        fail_503: 0.03,
        commit_then_fail: 0.03,
        drop: 0.02,
        rate_limit: 400,
        slow: 0.002,
        slow_ms: 1500,
        seed: 5,
        ..Default::default()
    })
    .await;
    let dir = scratch();
    let rows = 10_000;
    let input = generated_csv(dir.path(), rows, "SOAK");
    let out = dir.path().join("soak.results.xlsx");
    let started = Instant::now();
    let o = run(
        s(&[
            "import",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--concurrency",
            "32",
            "--timeout",
            "1",
            "--max-retries",
            "10",
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    let took = started.elapsed();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_exactly_once(&sb, &out, rows).await;
    let attempts: u64 = results_rows(&out)
        .iter()
        .map(|r| r["Attempts"].parse::<u64>().unwrap_or(0))
        .sum();
    let stats = sb.stats().await;
    for fault in [
        "fail503",
        "commitThen503",
        "commitThenDrop",
        "drop",
        "rateLimited",
        "slow",
    ] {
        assert!(
            stats["faults"][fault].as_u64().unwrap_or(0) > 0,
            "{fault}: {stats}"
        );
    }
    println!(
        "soak: {rows} rows in {:.1} s ({:.0} rows/s), {} requests ({} beyond one per row), faults {}",
        took.as_secs_f64(),
        rows as f64 / took.as_secs_f64(),
        attempts,
        attempts.saturating_sub(rows as u64),
        stats["faults"]
    );
}

#[tokio::test]
async fn an_unfinished_journal_is_never_overwritten_and_a_changed_input_is_named() {
    let sb = sandbox(SandboxConfig::default()).await;
    let dir = scratch();
    let input = generated_csv(dir.path(), 20, "JRN");
    let out = dir.path().join("j.results.xlsx");
    let journal = dir.path().join("j.results.journal");
    let args = |extra: &[&str]| {
        let mut a = s(&[
            "import",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        a.extend(s(extra));
        a
    };
    // A run the server stops (a refused key) leaves rows to resume.
    let o = run(args(&[]), Some(sb.handle.base_url()), "wrong-key").await;
    assert_eq!(o.status.code(), Some(1));
    assert!(journal.is_file());
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(!text.contains("wrong-key"), "the key is never journaled");
    // Without --resume it is refused, with the way out.
    let o = run(args(&[]), Some(sb.handle.base_url()), &sb.key).await;
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("did not finish") && err.contains("--resume"),
        "{err}"
    );
    // A check does not write over the results of the unfinished import, nor does a dry run
    // pretend to resume.
    let results_before = std::fs::read(&out).ok();
    let validate = s(&[
        "validate",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let o = run(validate, None, &sb.key).await;
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("holds the results of an import that did not finish"),
        "{err}"
    );
    assert_eq!(std::fs::read(&out).ok(), results_before);
    let o = run(
        args(&["--resume", "--dry-run"]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(std::fs::read(&out).ok(), results_before);
    // Another partner id for every lead is another import.
    let o = run(
        args(&["--resume", "--partner-id", "999"]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the partner id"));
    // A changed input is named, and refused unless --force.
    let mut changed = std::fs::read_to_string(&input).unwrap();
    changed.push_str(
        "200000000014442,JRN-000999,Late lead,LEAD_OPEN,2026-06-01,EUR,C,Paris,France,O,1\n",
    );
    std::fs::write(&input, changed).unwrap();
    let o = run(args(&["--resume"]), Some(sb.handle.base_url()), &sb.key).await;
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("input's SHA-256") && err.contains("--force"),
        "{err}"
    );
    let o = run(
        args(&["--resume", "--force"]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(results_rows(&out).len(), 21);
    // The summary tells when the import first started, not only this run's start.
    let first = std::fs::read_to_string(&journal).unwrap();
    let first: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    let summary = sheet_text(&out, "Summary").join("\n");
    let started = first["started"].as_str().unwrap();
    assert!(
        summary.contains(&format!("Import first started\t{started}"))
            && summary.contains("Runs of this import\t2"),
        "{first}\n{summary}"
    );
    // A finished journal is replaced by the next import, with a note.
    let o = run(args(&[]), Some(sb.handle.base_url()), &sb.key).await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("replacing the journal"), "{err}");
    // The re-run creates nothing: every row EXISTS, with its id, and the run succeeds.
    assert_eq!(o.status.code(), Some(0), "{err}");
    let rows = results_rows(&out);
    assert!(
        rows.iter()
            .all(|r| r["Status"] == "EXISTS" && !r["dsLeadOpportunityId"].is_empty()),
        "{rows:?}"
    );
    assert_eq!(sb.stats().await["records"]["total"], 21);
    // A journal must be a file: a directory or a device (`/dev/zero` would be read forever) is
    // refused before anything is sent.
    let requests = sb.stats().await["requests"]["total"].clone();
    for (not_a_file, says) in [
        (dir.path().to_str().unwrap(), "is a directory"),
        ("/dev/zero", "is not a regular file"),
    ] {
        let o = run(
            args(&["--journal", not_a_file]),
            Some(sb.handle.base_url()),
            &sb.key,
        )
        .await;
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{err}");
        assert!(err.contains(says), "{err}");
    }
    assert_eq!(sb.stats().await["requests"]["total"], requests);
}

/// `import INPUT --mode upsert -o OUT` with `extra` against `sb`, which must succeed; the
/// results rows.
async fn upsert(
    sb: &Sandbox,
    input: &Path,
    out: &Path,
    extra: &[&str],
) -> Vec<HashMap<String, String>> {
    let mut args = s(&[
        "import",
        input.to_str().unwrap(),
        "--mode",
        "upsert",
        "-o",
        out.to_str().unwrap(),
    ]);
    args.extend(s(extra));
    let o = run(args, Some(sb.handle.base_url()), &sb.key).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    results_rows(out)
}

#[tokio::test]
async fn upsert_by_partner_id_updates_only_what_differs() {
    let sb = sandbox(SandboxConfig::default()).await;
    let dir = scratch();
    let input = generated_csv(dir.path(), 3, "UPS");
    let out = dir.path().join("u.results.xlsx");
    let o = run(
        s(&[
            "import",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(0));
    // The same rows, one renamed; no dsLeadOpportunityId column.
    let text = std::fs::read_to_string(&input)
        .unwrap()
        .replace("Lead 2,", "Lead two,");
    std::fs::write(&input, text).unwrap();
    let rows = upsert(&sb, &input, &out, &[]).await;
    let statuses: Vec<&str> = rows.iter().map(|r| r["Status"].as_str()).collect();
    assert_eq!(statuses, ["UNCHANGED", "UPDATED", "UNCHANGED"]);
    assert_eq!(sb.stats().await["records"]["total"], 3);
    let id = &rows[1]["dsLeadOpportunityId"];
    let got = sb.get(&format!("{V1}/{id}")).await;
    assert_eq!(got.body["data"]["leadOpportunity"]["name"], "Lead two");
    assert_eq!(
        got.body["data"]["leadOpportunity"]["customerLegalEntity"]["city"],
        "Paris"
    );
    // Killed after the update was applied, before its outcome was journaled: the journal
    // knows 3DS held the lead before (ERR801), so the resumed run does not call the record
    // it finds one it created.
    let journal = dir.path().join("u.results.journal");
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(text.contains(r#""event":"existed""#), "{text}");
    let cut: String = text
        .lines()
        .filter(|l| !l.contains(r#""event":"end""#))
        .filter(|l| !(l.contains(r#""event":"done""#) && l.contains("UPS-000002")))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&journal, cut).unwrap();
    let resumed = upsert(&sb, &input, &out, &["--resume"]).await;
    let statuses: Vec<&str> = resumed.iter().map(|r| r["Status"].as_str()).collect();
    assert_eq!(statuses, ["UNCHANGED", "UNCHANGED", "UNCHANGED"]);
    assert_eq!(&resumed[1]["dsLeadOpportunityId"], id);
    assert_eq!(sb.stats().await["records"]["total"], 3);
}

#[tokio::test]
async fn an_upsert_under_faults_updates_every_existing_record() {
    // 503s make creates' outcomes unknown: a record found by the search that settles them was
    // there before the upsert, so it is updated, not taken for the upsert's own create.
    let sb = sandbox(SandboxConfig {
        fail_503: 0.3,
        seed: 3,
        ..Default::default()
    })
    .await;
    let dir = scratch();
    let input = generated_csv(dir.path(), 40, "UPF");
    let out = dir.path().join("upf.results.xlsx");
    // What is tested is what the upsert makes of records found, not the retry budget: with
    // the default 5 retries, a 503 rate of 30 % on creates and their settling searches now
    // and then leaves a row FAILED (a CI run of 1fa9bc2 met one), and honestly so.
    let import = |extra: &[&str]| {
        let mut a = s(&[
            "import",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--max-retries",
            "10",
        ]);
        a.extend(s(extra));
        a
    };
    let o = run(import(&[]), Some(sb.handle.base_url()), &sb.key).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&input)
        .unwrap()
        .replace(",Lead ", ",Renamed lead ");
    std::fs::write(&input, text).unwrap();
    let o = run(
        import(&["--mode", "upsert"]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rows = results_rows(&out);
    assert!(
        rows.iter().all(|r| r["Status"] == "UPDATED"),
        "{:?}",
        rows.iter()
            .map(|r| (&r["Status"], &r["Action"]))
            .collect::<Vec<_>>()
    );
    for r in &rows {
        // The sandbox answers this read with 503 too, at the same rate: ask until it answers.
        let mut got = sb.get(&format!("{V1}/{}", r["dsLeadOpportunityId"])).await;
        for _ in 0..50 {
            if got.status != 503 {
                break;
            }
            got = sb.get(&format!("{V1}/{}", r["dsLeadOpportunityId"])).await;
        }
        assert_eq!(got.status, 200, "{}", got.body);
        assert!(
            got.body["data"]["leadOpportunity"]["name"]
                .as_str()
                .unwrap()
                .starts_with("Renamed lead "),
            "{r:?}"
        );
    }
    assert_eq!(sb.stats().await["records"]["total"], 40);
}

#[tokio::test]
async fn a_nightly_upsert_of_a_category_the_status_overrides_changes_nothing() {
    // 3DS keeps EMPTY for an accepted lead whatever category the row says: the second run of
    // the same sheet finds nothing to change.
    let sb = sandbox(SandboxConfig::default()).await;
    let dir = scratch();
    let input = generated_csv(dir.path(), 2, "CAT");
    let text = std::fs::read_to_string(&input).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[0].push_str(",leadOpportunity.forecastCategory");
    for l in &mut lines[1..] {
        *l = l.replace("LEAD_OPEN", "ACCEPTED") + ",COMMIT";
    }
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("cat.results.xlsx");
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let rows = upsert(&sb, &input, &out, &[]).await;
        statuses.push(rows.iter().map(|r| r["Status"].clone()).collect::<Vec<_>>());
    }
    assert_eq!(
        statuses,
        [["CREATED", "CREATED"], ["UNCHANGED", "UNCHANGED"]]
    );
}
