//! `leadsheet import` against the sandbox: statuses in the results workbook agree with what
//! the server holds, row for row; faults never create a lead twice nor lose one; a refused key,
//! a 429 storm, a server that is down and Ctrl-C each end as documented.

use std::collections::HashMap;
use std::process::Output;

use leadsheet::SandboxConfig;
use serde_json::Value;

use crate::util::*;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every CREATED row is held by exactly one record with its id; nothing else was created.
fn assert_stats_agree(rows: &[HashMap<String, String>], stats: &Value, plid_column: &str) {
    let counts = stats["partnerLeadOpportunityIds"].as_object().unwrap();
    for r in rows {
        let plid = &r[plid_column];
        match r["Status"].as_str() {
            "CREATED" | "UPDATED" => assert_eq!(
                counts.get(plid).and_then(Value::as_u64),
                Some(1),
                "{plid}: {r:?}"
            ),
            _ => assert!(counts.get(plid).is_none(), "{plid} should not exist: {r:?}"),
        }
    }
    assert_eq!(stats["duplicates"], serde_json::json!([]));
}

#[tokio::test]
async fn samples_import_and_stats_agree() {
    let sb = sandbox(SandboxConfig {
        preload: 12,
        ..Default::default()
    })
    .await;
    let dir = scratch();
    for (sample, ext, expected) in [
        ("create-one-row", "xlsx", [("CREATED", 6), ("INVALID", 4)]),
        ("update-status", "csv", [("UPDATED", 4), ("INVALID", 3)]),
        ("grouped-rows", "xlsx", [("CREATED", 5), ("INVALID", 4)]),
    ] {
        let out = dir.path().join(format!("{sample}.results.xlsx"));
        let o = run(
            vec![
                "import".into(),
                root()
                    .join(format!("samples/{sample}.{ext}"))
                    .display()
                    .to_string(),
                "--mapping".into(),
                root()
                    .join(format!("templates/{sample}.toml"))
                    .display()
                    .to_string(),
                "-o".into(),
                out.display().to_string(),
            ],
            Some(sb.handle.base_url()),
            &sb.key,
        )
        .await;
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let rows = results_rows(&out);
        for (status, n) in expected {
            assert_eq!(
                rows.iter().filter(|r| r["Status"] == status).count(),
                n,
                "{sample} {status}"
            );
        }
        for r in &rows {
            if r["Status"] == "CREATED" || r["Status"] == "UPDATED" {
                assert!(!r["dsLeadOpportunityId"].is_empty());
                assert_eq!(r["Attempts"], "1");
                let got = sb.get(&format!("{V1}/{}", r["dsLeadOpportunityId"])).await;
                assert_eq!(got.status, 200);
            }
        }
    }
    // Every source row of a grouped lead has the lead's outcome and id.
    let grouped = results_rows(&dir.path().join("grouped-rows.results.xlsx"));
    let mut ids_by_lead: HashMap<&str, std::collections::BTreeSet<&str>> = HashMap::new();
    for r in grouped.iter().filter(|r| r["Status"] == "CREATED") {
        ids_by_lead
            .entry(r["Opportunity ID"].as_str())
            .or_default()
            .insert(r["dsLeadOpportunityId"].as_str());
    }
    assert_eq!(ids_by_lead.len(), 2, "{grouped:?}");
    assert!(ids_by_lead.values().all(|ids| ids.len() == 1));
    let stats = sb.stats().await;
    assert_eq!(stats["requests"]["byOperation"]["create"]["201"], 8);
    assert_eq!(stats["requests"]["byOperation"]["update"]["200"], 4);
    let created = results_rows(&dir.path().join("create-one-row.results.xlsx"));
    assert_stats_agree(&created, &stats, "CRM ID");
    // An updated lead reads back with the sheet's values.
    let updated = results_rows(&dir.path().join("update-status.results.xlsx"));
    let first = sb
        .get(&format!("{V1}/{}", updated[0]["dsLeadOpportunityId"]))
        .await;
    assert_eq!(first.body["data"]["leadOpportunity"]["status"], "QUALIFIED");
    assert_eq!(
        first.body["data"]["leadOpportunity"]["nextMilestone"],
        "Customer Demo"
    );
}

#[tokio::test]
async fn faults_never_duplicate_or_lose_a_create() {
    let sb = sandbox(SandboxConfig {
        fail_503: 0.1,
        commit_then_fail: 0.05,
        rate_limit: 50,
        latency_ms: 20,
        seed: 4,
        ..Default::default()
    })
    .await;
    let dir = scratch();
    let n = 2000;
    let input = generated_csv(dir.path(), n, "GEN");
    let out = dir.path().join("gen.results.xlsx");
    let o = run(
        s(&[
            "import",
            input.to_str().unwrap(),
            "--concurrency",
            "8",
            "--max-retries",
            "8",
            "-o",
            out.to_str().unwrap(),
            "--json",
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows = results_rows(&out);
    assert_eq!(rows.len(), n);
    assert!(
        rows.iter().all(|r| r["Status"] == "CREATED"),
        "{:?}",
        rows.iter().find(|r| r["Status"] != "CREATED")
    );
    let stats = sb.stats().await;
    assert_eq!(stats["records"]["total"], n);
    assert_stats_agree(&rows, &stats, "leadOpportunity.partnerLeadOpportunityId");
    // Each row's id is the record that holds its partner id.
    let by_plid: HashMap<String, String> = sb
        .handle
        .records()
        .into_iter()
        .filter_map(|r| r.partner_lead_id.map(|p| (p, r.ds_id)))
        .collect();
    for r in &rows {
        assert_eq!(
            by_plid[&r["leadOpportunity.partnerLeadOpportunityId"]],
            r["dsLeadOpportunityId"]
        );
    }
    // The faults did happen, and were reconciled.
    let faults = &stats["faults"];
    assert!(faults["fail503"].as_u64().unwrap() > 0, "{faults}");
    assert!(
        faults["commitThen503"].as_u64().unwrap_or(0)
            + faults["commitThenDrop"].as_u64().unwrap_or(0)
            > 0,
        "{faults}"
    );
    assert!(faults["rateLimited"].as_u64().unwrap() > 0, "{faults}");
    assert!(
        rows.iter()
            .any(|r| r["Action"].starts_with("create (confirmed by a search")),
        "some creates were settled by search"
    );
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["rowsByStatus"]["CREATED"], n);
}

#[tokio::test]
async fn creates_that_time_out_are_settled_not_duplicated() {
    // The client gives up after 1 s; a third of the requests take 1.5 s.
    let sb = sandbox(SandboxConfig {
        slow: 0.35,
        slow_ms: 1500,
        seed: 6,
        ..Default::default()
    })
    .await;
    let dir = scratch();
    let input = generated_csv(dir.path(), 24, "SLOW");
    let out = dir.path().join("slow.results.xlsx");
    let o = run(
        s(&[
            "import",
            input.to_str().unwrap(),
            "--timeout",
            "1",
            "--max-retries",
            "10",
            "-o",
            out.to_str().unwrap(),
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows = results_rows(&out);
    assert!(rows.iter().all(|r| r["Status"] == "CREATED"), "{rows:?}");
    assert!(
        rows.iter().any(|r| r["Attempts"] != "1"),
        "some creates timed out and were retried"
    );
    let stats = sb.stats().await;
    assert!(stats["faults"]["slow"].as_u64().unwrap() > 0);
    assert_eq!(stats["records"]["total"], 24);
    assert_stats_agree(&rows, &stats, "leadOpportunity.partnerLeadOpportunityId");
}

#[tokio::test]
async fn a_429_storm_slows_down_but_completes() {
    let sb = sandbox(SandboxConfig {
        rate_limit: 5,
        ..Default::default()
    })
    .await;
    let dir = scratch();
    let input = generated_csv(dir.path(), 40, "STORM");
    let out = dir.path().join("storm.results.xlsx");
    let o = run(
        s(&[
            "import",
            input.to_str().unwrap(),
            "--concurrency",
            "16",
            "-o",
            out.to_str().unwrap(),
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows = results_rows(&out);
    assert!(rows.iter().all(|r| r["Status"] == "CREATED"));
    let stats = sb.stats().await;
    assert!(stats["faults"]["rateLimited"].as_u64().unwrap() > 0);
    assert_eq!(stats["records"]["total"], 40);
}

#[tokio::test]
async fn a_refused_key_stops_the_run() {
    // 403: a key the server does not know.
    let sb = sandbox(SandboxConfig::default()).await;
    let dir = scratch();
    let input = generated_csv(dir.path(), 30, "KEY");
    let out = dir.path().join("k.results.xlsx");
    let o = run(
        s(&[
            "import",
            input.to_str().unwrap(),
            "--concurrency",
            "2",
            "-o",
            out.to_str().unwrap(),
        ]),
        Some(sb.handle.base_url()),
        "wrong-key",
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("refused the API key"), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("wrong-key"),
        "the key must never be printed"
    );
    // Nothing was applied: every row can be sent again as it is.
    let rows = results_rows(&out);
    assert!(
        rows.iter().all(|r| r["Status"] == "NOT_SUBMITTED"),
        "{rows:?}"
    );
    let refused = rows.iter().filter(|r| r["HTTP status"] == "403").count();
    assert!((1..=2).contains(&refused), "{rows:?}");
    assert!(
        rows.iter()
            .filter(|r| r["HTTP status"].is_empty())
            .all(|r| r["Error message"].contains("not sent: the run stopped")),
        "{rows:?}"
    );
    assert_eq!(sb.stats().await["records"]["total"], 0);

    // 401: a gateway that says the key is missing.
    let app = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"message": "Missing API key in request"})),
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    // Another results file: the first run's journal holds an import that did not finish.
    let out = dir.path().join("k401.results.xlsx");
    let o = run(
        s(&[
            "import",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]),
        Some(base),
        "some-key",
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("HTTP 401"), "{}", stderr(&o));
    let rows = results_rows(&out);
    assert!(
        rows.iter().all(|r| r["Status"] == "NOT_SUBMITTED"),
        "{rows:?}"
    );
}

#[tokio::test]
async fn a_server_that_is_down_stops_the_run() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let dir = scratch();
    let input = generated_csv(dir.path(), 20, "DOWN");
    let out = dir.path().join("d.results.xlsx");
    let o = run(
        s(&[
            "import",
            input.to_str().unwrap(),
            "--max-retries",
            "2",
            "-o",
            out.to_str().unwrap(),
        ]),
        Some(base),
        "k",
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot reach"), "{}", stderr(&o));
    let rows = results_rows(&out);
    assert_eq!(rows.len(), 20);
    assert!(
        rows.iter()
            .all(|r| r["Status"] == "FAILED" || r["Status"] == "NOT_SUBMITTED"),
        "{rows:?}"
    );
}

#[tokio::test]
async fn upsert_updates_rows_with_an_id_and_existing_partner_ids() {
    let sb = sandbox(SandboxConfig::default()).await;
    let existing = sb.create_basic("UP-000001").await;
    let other = sb.create_basic("UP-000002").await;
    let dir = scratch();
    let csv = dir.path().join("up.csv");
    let head = "dsLeadOpportunityId,leadOpportunity.partnerLeadOpportunityId,leadOpportunity.name,leadOpportunity.status,leadOpportunity.closeDate,leadOpportunity.currency,customerLegalEntity.name,customerLegalEntity.city,customerLegalEntity.country,offerLines.1.offerNameId\n";
    std::fs::write(
        &csv,
        format!(
            "{head}{other},UP-000002,Renamed,QUALIFIED,,,,,,\n,UP-000001,Existing,OPPY_OPEN,2026-06-01,EUR,A,B,C,O\n,UP-000003,New,LEAD_OPEN,2026-06-01,EUR,A,B,C,O\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("up.results.xlsx");
    let o = run(
        s(&[
            "import",
            csv.to_str().unwrap(),
            "--mode",
            "upsert",
            "--partner-id",
            "200000000014442",
            "-o",
            out.to_str().unwrap(),
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows = results_rows(&out);
    assert_eq!(
        (rows[0]["Status"].as_str(), rows[0]["Action"].as_str()),
        ("UPDATED", "update")
    );
    assert_eq!(rows[1]["Status"], "UPDATED");
    assert_eq!(
        rows[1]["Action"],
        "update (existing record found after ERR801)"
    );
    assert_eq!(rows[1]["dsLeadOpportunityId"], existing);
    assert_eq!(rows[2]["Status"], "CREATED");
    let got = sb.get(&format!("{V1}/{existing}")).await;
    assert_eq!(got.body["data"]["leadOpportunity"]["status"], "OPPY_OPEN");
    // In create mode an existing partner id is not created again: the row is EXISTS, with the
    // id of the record 3DS holds and the create's ERR801.
    let o = run(
        s(&[
            "import",
            csv.to_str().unwrap(),
            "--mode",
            "create",
            "--partner-id",
            "1",
            "-o",
            out.to_str().unwrap(),
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    let rows = results_rows(&out);
    assert_eq!(
        (
            rows[1]["Status"].as_str(),
            rows[1]["Error code"].as_str(),
            rows[1]["HTTP status"].as_str()
        ),
        ("EXISTS", "ERR801", "400")
    );
    assert_eq!(rows[1]["dsLeadOpportunityId"], existing);
    assert_eq!(rows[2]["Status"], "EXISTS", "created by the upsert above");
    assert!(!rows[1]["Trace id"].is_empty());
}

/// `import INPUT -o OUT` with `extra` against `sb`, started without waiting; stderr is kept.
fn spawn_import(
    sb: &Sandbox,
    input: &std::path::Path,
    out: &std::path::Path,
    extra: &[&str],
) -> std::process::Child {
    leadsheet()
        .arg("import")
        .arg(input)
        .arg("-o")
        .arg(out)
        .args(extra)
        .args(["--base-url", &sb.handle.base_url()])
        .env("LEADSHEET_API_KEY", &sb.key)
        .env("LEADSHEET_CONFIG", "/nonexistent.toml")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends `signal` (`-INT`, `-TERM`, `-HUP`) to `child` and waits for it to end.
async fn signal_and_wait(child: std::process::Child, signal: &str) -> std::process::Output {
    std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap()
}

/// Ctrl-C while the last requests are in flight: they finish within the grace period, every
/// lead is settled, and the run is complete (nothing to `--resume`, and it does not say so).
#[cfg(unix)]
#[tokio::test]
async fn an_interrupt_once_everything_is_in_flight_leaves_nothing_to_resume() {
    let sb = sandbox(SandboxConfig {
        latency_ms: 3000,
        ..Default::default()
    })
    .await;
    let dir = scratch();
    let input = generated_csv(dir.path(), 4, "LAST");
    let out = dir.path().join("last.results.xlsx");
    let child = spawn_import(&sb, &input, &out, &[]);
    // The four creates are held by the sandbox's latency: four connections besides ours.
    let started = std::time::Instant::now();
    while sb.stats().await["connections"]["open"]
        .as_u64()
        .unwrap_or(0)
        < 5
    {
        assert!(
            started.elapsed().as_secs() < 30,
            "the creates were never sent"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let o = signal_and_wait(child, "-INT").await;
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("stopping"), "{err}");
    assert!(!err.contains("--resume"), "{err}");
    assert!(results_rows(&out).iter().all(|r| r["Status"] == "CREATED"));
}

#[tokio::test]
async fn ctrl_c_stops_sending_and_still_writes_the_results() {
    // Requests held by latency, then requests queued on the client's own rate limit: after
    // Ctrl-C (or SIGTERM, SIGHUP), what was sent ends CREATED and everything else
    // NOT_SUBMITTED, nothing between; `--resume` then sends the rest.
    for (name, latency_ms, extra, signal) in [
        ("latency", 150, ["--concurrency", "2"], "-INT"),
        ("rate", 0, ["--rate", "2"], "-TERM"),
        ("hangup", 150, ["--concurrency", "2"], "-HUP"),
    ] {
        let sb = sandbox(SandboxConfig {
            latency_ms,
            ..Default::default()
        })
        .await;
        let dir = scratch();
        let input = generated_csv(dir.path(), 200, "INT");
        let out = dir.path().join("int.results.xlsx");
        let child = spawn_import(&sb, &input, &out, &extra);
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let o = signal_and_wait(child, signal).await;
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        let rows = results_rows(&out);
        let created = rows.iter().filter(|r| r["Status"] == "CREATED").count();
        let unsent = rows
            .iter()
            .filter(|r| r["Status"] == "NOT_SUBMITTED")
            .count();
        assert!(
            created > 0 && unsent > 0,
            "{name}: created {created}, not submitted {unsent}"
        );
        assert_eq!(
            created + unsent,
            200,
            "{name}: nothing is left in between: {:?}",
            rows.iter()
                .find(|r| r["Status"] != "CREATED" && r["Status"] != "NOT_SUBMITTED")
        );
        assert!(
            rows.iter()
                .filter(|r| r["Status"] == "NOT_SUBMITTED")
                .all(|r| r["Error message"].contains("interrupted")),
            "{name}"
        );
        let stats = sb.stats().await;
        assert_eq!(stats["records"]["total"], created, "{name}");
        assert!(stderr(&o).contains("--resume"), "{name}: {}", stderr(&o));
        let again = s(&[
            "import",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--resume",
            "--concurrency",
            "16",
        ]);
        let o = run(again, Some(sb.handle.base_url()), &sb.key).await;
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let rows = results_rows(&out);
        assert!(rows.iter().all(|r| r["Status"] == "CREATED"), "{name}");
        assert_eq!(sb.stats().await["records"]["total"], 200, "{name}");
    }
}

#[tokio::test]
async fn get_shows_one_lead() {
    let sb = sandbox(SandboxConfig::default()).await;
    let id = sb.create_basic("GET-1").await;
    let o = run(s(&["get", &id]), Some(sb.handle.base_url()), &sb.key).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("partnerLeadOpportunityId") && text.contains("GET-1"),
        "{text}"
    );
    assert!(text.contains("offerLines.1.offerNameId"), "{text}");
    let o = run(
        s(&["get", &id, "--json", "--api-version", "v0"]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["dsLeadOpportunityId"], id.as_str());
    assert_eq!(v["offerLines"][0]["revenueType"], "UPFRONT");
    let o = run(
        s(&["get", "NOPE-NOPE00"]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("ERROR_048"), "{}", stderr(&o));
}

#[tokio::test]
async fn the_api_key_never_appears_in_output() {
    let key = "s3cret-KEY-do-not-print-7f3a";
    let sb = sandbox(SandboxConfig {
        api_keys: vec![key.into()],
        ..Default::default()
    })
    .await;
    let dir = scratch();
    let input = generated_csv(dir.path(), 5, "SEC");
    let out = dir.path().join("sec.results.xlsx");
    let jsonl = dir.path().join("sec.jsonl");
    let o = run(
        s(&[
            "-vv",
            "import",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--emit-requests",
            jsonl.to_str().unwrap(),
            "--json",
        ]),
        Some(sb.handle.base_url()),
        key,
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!String::from_utf8_lossy(&o.stdout).contains(key));
    assert!(!stderr(&o).contains(key));
    assert!(!std::fs::read_to_string(&jsonl).unwrap().contains(key));
    for sheet in ["Results", "Problems", "Summary"] {
        assert!(!sheet_text(&out, sheet).join("\n").contains(key));
    }
}

#[tokio::test]
async fn connection_settings_are_checked() {
    let dir = scratch();
    let input = generated_csv(dir.path(), 1, "CONN");
    let out = dir.path().join("c.xlsx");
    // No server chosen: a usage error, nothing sent.
    let o = run(
        s(&[
            "import",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]),
        None,
        "k",
    )
    .await;
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("--env"));
    // Plain http to another machine is refused.
    let o = run(
        s(&["import", input.to_str().unwrap()]),
        Some("http://example.com".into()),
        "k",
    )
    .await;
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("https"));
    // --dry-run needs no server and sends nothing.
    let o = run(
        s(&[
            "import",
            input.to_str().unwrap(),
            "--dry-run",
            "-o",
            out.to_str().unwrap(),
        ]),
        None,
        "k",
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(results_rows(&out)[0]["Status"], "VALID");
    // A profile from the config file.
    let cfg = dir.path().join("config.toml");
    let sb = sandbox(SandboxConfig::default()).await;
    std::fs::write(
        &cfg,
        format!(
            "[profiles.local]\nbase_url = \"{}\"\napi_key = \"{}\"\n",
            sb.handle.base_url(),
            sb.key
        ),
    )
    .unwrap();
    let o = tokio::task::spawn_blocking({
        let (input, out, cfg) = (input.clone(), out.clone(), cfg.clone());
        move || {
            leadsheet()
                .args([
                    "import",
                    input.to_str().unwrap(),
                    "--profile",
                    "local",
                    "--config",
                    cfg.to_str().unwrap(),
                    "-o",
                    out.to_str().unwrap(),
                ])
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(results_rows(&out)[0]["Status"], "CREATED");
}

#[tokio::test]
async fn a_results_name_of_another_format_is_refused_before_anything_is_sent() {
    let sb = sandbox(SandboxConfig::default()).await;
    let dir = scratch();
    let input = generated_csv(dir.path(), 3, "FMT");
    for command in ["validate", "import"] {
        let out = dir.path().join("results.json");
        let mut args = s(&[
            command,
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        let base = (command == "import").then(|| sb.handle.base_url());
        if base.is_none() {
            args.extend(s(&["--partner-id", "1"]));
        }
        let o = run(args, base, &sb.key).await;
        assert_eq!(o.status.code(), Some(3), "{command}: {}", stderr(&o));
        assert!(stderr(&o).contains(".xlsx or .csv"), "{}", stderr(&o));
        assert!(!out.exists());
    }
    assert_eq!(sb.stats().await["records"]["total"], 0);
}
