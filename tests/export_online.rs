//! `leadsheet export` and `leadsheet portfolio` against a preloaded sandbox: exactly the leads
//! the criteria select (checked against the sandbox's store), every portfolio item once, and
//! the round trip export → edit → import --mode update.

use std::collections::{BTreeSet, HashMap};

use chrono::{Duration, SecondsFormat, Utc};
use leadsheet::SandboxConfig;
use serde_json::Value;

use crate::util::*;

fn jsonl_ids(path: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["dsLeadOpportunityId"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn a_60_day_export_returns_exactly_the_leads_modified_then() {
    let sb = sandbox(SandboxConfig {
        preload: 400,
        seed: 9,
        ..Default::default()
    })
    .await;
    let dir = scratch();
    let now = Utc::now();
    let from = now - Duration::days(60);
    let to = now - Duration::hours(1);
    let fmt = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let expected: BTreeSet<String> = sb
        .handle
        .records()
        .into_iter()
        .filter(|r| r.modified >= from && r.modified <= to)
        .map(|r| r.ds_id)
        .collect();
    assert!(expected.len() > 100);
    let out = dir.path().join("e.jsonl");
    let o = run(
        s(&[
            "export",
            "--modified-from",
            &fmt(from),
            "--modified-to",
            &fmt(to),
            "-o",
            out.to_str().unwrap(),
            "--json",
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(jsonl_ids(&out), expected);
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["searches"], 9, "60 days in windows of at most 7");
    // Every search the sandbox saw had a window of at most 7 days (it refuses longer ones).
    assert!(
        sb.stats().await["requests"]["byOperation"]["search"]
            .get("400")
            .is_none()
    );

    // The workbook: a row per lead, children on their own sheets, dates as dates.
    let xlsx = dir.path().join("e.xlsx");
    let o = run(
        s(&[
            "export",
            "--modified-from",
            &fmt(from),
            "--modified-to",
            &fmt(to),
            "-o",
            xlsx.to_str().unwrap(),
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let leads = sheet_text(&xlsx, "Leads");
    assert_eq!(leads.len(), expected.len() + 1);
    for h in [
        "dsLeadOpportunityId",
        "customerLegalEntity.name",
        "approvalStatus",
        "createdDate",
        "modifiedDate",
    ] {
        assert!(leads[0].split('\t').any(|c| c == h), "{h}");
    }
    let mut book = calamine::open_workbook_auto(&xlsx).unwrap();
    use calamine::Reader;
    let r = book.worksheet_range("Leads").unwrap();
    let header: Vec<String> = r
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let modified = header.iter().position(|h| h == "modifiedDate").unwrap();
    assert!(matches!(
        r.rows().nth(1).unwrap()[modified],
        calamine::Data::DateTime(_)
    ));
    let lines = sheet_text(&xlsx, "OfferLines");
    assert!(
        lines.len() > leads.len(),
        "every preloaded lead has one to three lines"
    );
    assert!(lines[0].starts_with(
        "dsLeadOpportunityId\tpartnerLeadOpportunityId\tline\tofferNameId\tamount\tcurrency"
    ));
    for sheet in ["CustomerContacts", "PartnerContacts", "Errors", "Summary"] {
        assert!(!sheet_text(&xlsx, sheet).is_empty(), "{sheet}");
    }
}

#[tokio::test]
async fn unassigned_partner_ids_and_known_ids() {
    let sb = sandbox(SandboxConfig {
        preload: 120,
        ..Default::default()
    })
    .await;
    let dir = scratch();
    let records = sb.handle.records();
    let out = dir.path().join("u.jsonl");
    let o = run(
        s(&["export", "--unassigned", "-o", out.to_str().unwrap()]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let expected: BTreeSet<String> = records
        .iter()
        .filter(|r| r.partner_lead_id.is_none())
        .map(|r| r.ds_id.clone())
        .collect();
    assert_eq!(jsonl_ids(&out), expected);
    assert_eq!(expected.len(), 20);

    // Partner ids from flags and from a file, AND-combined with a window.
    let ids_file = dir.path().join("plids.csv");
    std::fs::write(
        &ids_file,
        "partnerLeadOpportunityId\nSBX-000003\nSBX-000004\n",
    )
    .unwrap();
    let o = run(
        s(&[
            "export",
            "--partner-lead-id",
            "SBX-000001",
            "--partner-lead-ids",
            ids_file.to_str().unwrap(),
            "--modified-since",
            "91d",
            "-o",
            out.to_str().unwrap(),
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let expected: BTreeSet<String> = records
        .iter()
        .filter(|r| {
            matches!(
                r.partner_lead_id.as_deref(),
                Some("SBX-000001" | "SBX-000003" | "SBX-000004")
            )
        })
        .map(|r| r.ds_id.clone())
        .collect();
    assert_eq!(jsonl_ids(&out), expected);

    // Known ids, one of them unknown: listed in Errors with its code; exit 2.
    let xlsx = dir.path().join("ids.xlsx");
    let first = records[0].ds_id.clone();
    let o = run(
        s(&[
            "export",
            "--id",
            &first,
            "--id",
            "NOPE-NOPE00",
            "-o",
            xlsx.to_str().unwrap(),
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(sheet_text(&xlsx, "Leads").len(), 2);
    let errors = sheet_text(&xlsx, "Errors");
    assert!(
        errors[1].starts_with("NOPE-NOPE00\t500\tERROR_048"),
        "{errors:?}"
    );
    // A plain list of ids without a header loses none; a CSV export lists the failures in
    // a CSV beside it.
    let list = dir.path().join("ids.txt");
    std::fs::write(
        &list,
        format!("{first}\nNOPE-NOPE00\n{}\n", records[1].ds_id),
    )
    .unwrap();
    let csv_out = dir.path().join("ids.csv");
    let o = run(
        s(&[
            "export",
            "--ids",
            list.to_str().unwrap(),
            "-o",
            csv_out.to_str().unwrap(),
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&csv_out).unwrap().lines().count(),
        3
    );
    let errors_csv = dir.path().join("ids.errors.csv");
    assert!(stderr(&o).contains("ids.errors.csv"), "{}", stderr(&o));
    let errors = std::fs::read_to_string(&errors_csv).unwrap();
    assert!(
        errors
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("NOPE-NOPE00,500,ERROR_048"),
        "{errors}"
    );
    // An ids file without ids must not widen the export to the whole date range.
    let empty = dir.path().join("none.csv");
    std::fs::write(&empty, "partnerLeadOpportunityId\n").unwrap();
    let empty_ids = dir.path().join("no-ids.csv");
    std::fs::write(&empty_ids, "dsLeadOpportunityId\n").unwrap();
    for args in [
        vec![
            "export",
            "--partner-lead-ids",
            empty.to_str().unwrap(),
            "--modified-since",
            "30d",
        ],
        vec!["export", "--ids", empty_ids.to_str().unwrap()],
        // Neither an unknown output type nor a layout JSONL cannot hold.
        vec!["export", "--unassigned", "-o", "leads.pdf"],
        vec![
            "export",
            "--unassigned",
            "--layout",
            "import",
            "-o",
            "leads.jsonl",
        ],
        // A typo'd year would mean a thousand years of searches.
        vec!["export", "--modified-from", "0025-01-01"],
        vec!["export", "--modified-since", "999999999999999d"],
    ] {
        let mut a: Vec<String> = args.iter().map(|x| x.to_string()).collect();
        if !a.iter().any(|x| x == "-o") {
            a.extend(["-o".into(), xlsx.to_str().unwrap().into()]);
        }
        let o = run(a.clone(), Some(sb.handle.base_url()), &sb.key).await;
        assert_eq!(o.status.code(), Some(3), "{a:?}: {}", stderr(&o));
    }
    // No criteria at all: a usage error.
    let o = run(
        s(&["export", "-o", xlsx.to_str().unwrap()]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(3));
}

#[tokio::test]
async fn the_csv_export_flattens_children_and_is_formula_safe() {
    let sb = sandbox(SandboxConfig {
        preload: 24,
        ..Default::default()
    })
    .await;
    let dir = scratch();
    let out = dir.path().join("e.csv");
    let o = run(
        s(&[
            "export",
            "--modified-since",
            "91d",
            "-o",
            out.to_str().unwrap(),
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    assert!(headers.contains(&"offerLines.1.offerNameId".to_string()));
    assert!(headers.contains(&"customerContact.1.email".to_string()));
    assert_eq!(rdr.records().count(), 24);
    // Phone numbers start with `+`: written inert.
    assert!(text.contains(",'+49 89"), "phone numbers are made inert");
}

#[tokio::test]
async fn portfolio_returns_every_item_exactly_once() {
    let sb = sandbox(SandboxConfig {
        fail_503: 0.2,
        seed: 2,
        ..Default::default()
    })
    .await;
    let dir = scratch();
    let out = dir.path().join("p.csv");
    let o = run(
        s(&[
            "portfolio",
            "--page-size",
            "250",
            "-o",
            out.to_str().unwrap(),
            "--json",
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(rdr.headers().unwrap().get(0), Some("salesPortfolioId"));
    let ids: Vec<String> = rdr.records().map(|r| r.unwrap()[0].to_string()).collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), 3049);
    assert_eq!(unique.len(), ids.len());
    let xlsx = dir.path().join("p.xlsx");
    let o = run(
        s(&["portfolio", "-o", xlsx.to_str().unwrap()]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(sheet_text(&xlsx, "Portfolio").len(), 3050);
    // A page that keeps failing stops the run and leaves no file.
    let broken = sandbox(SandboxConfig {
        fail_503: 1.0,
        ..Default::default()
    })
    .await;
    let gone = dir.path().join("gone.csv");
    let o = run(
        s(&[
            "portfolio",
            "--max-retries",
            "1",
            "-o",
            gone.to_str().unwrap(),
        ]),
        Some(broken.handle.base_url()),
        &broken.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("skip=0"), "{}", stderr(&o));
    assert!(!gone.exists());
}

#[tokio::test]
async fn portfolio_pages_past_a_gateway_that_serves_fewer_items_than_asked() {
    // 25 items, but never more than 10 a page whatever `top` says.
    let app = axum::Router::new().fallback(
        |q: axum::extract::Query<HashMap<String, String>>| async move {
            let skip: usize = q.get("skip").and_then(|v| v.parse().ok()).unwrap_or(0);
            let items: Vec<Value> = (skip..25.min(skip + 10))
                .map(|i| serde_json::json!({"salesPortfolioId": format!("SP{i:03}")}))
                .collect();
            axum::Json(serde_json::json!({
                "info": {"success": true, "estimatedSearchCount": 25},
                "data": items
            }))
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = scratch();
    let out = dir.path().join("capped.csv");
    let o = run(
        s(&[
            "portfolio",
            "--page-size",
            "100",
            "-o",
            out.to_str().unwrap(),
        ]),
        Some(base),
        "some-key",
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 26, "{text}");
    assert!(text.contains("SP024"));
}

/// Sets the status and forecast category of data row `row` of an exported CSV to LOST, as a
/// user would in Excel.
fn mark_lost(path: &std::path::Path, row: usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (status, forecast) = (
        col("leadOpportunity.status"),
        col("leadOpportunity.forecastCategory"),
    );
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(&headers).unwrap();
    for (i, rec) in rdr.records().enumerate() {
        let mut rec: Vec<String> = rec.unwrap().iter().map(str::to_string).collect();
        if i == row {
            rec[status] = "LOST".into();
            rec[forecast] = "LOST".into();
        }
        w.write_record(&rec).unwrap();
    }
    w.flush().unwrap();
}

#[tokio::test]
async fn round_trip_export_edit_and_import_as_updates() {
    let sb = sandbox(SandboxConfig {
        preload: 18,
        ..Default::default()
    })
    .await;
    let dir = scratch();
    let assigned: Vec<String> = sb
        .handle
        .records()
        .into_iter()
        .filter(|r| r.partner_lead_id.is_some())
        .map(|r| r.ds_id)
        .take(5)
        .collect();
    let before: HashMap<String, Value> = {
        let mut m = HashMap::new();
        for id in &assigned {
            m.insert(
                id.clone(),
                sb.get(&format!("{V1}/{id}")).await.body["data"]["leadOpportunity"].clone(),
            );
        }
        m
    };
    let mut args = vec!["export".to_string(), "--layout".into(), "import".into()];
    for id in &assigned {
        args.extend(["--id".to_string(), id.clone()]);
    }
    let exported = dir.path().join("edit.csv");
    args.extend(["-o".to_string(), exported.display().to_string()]);
    let o = run(args, Some(sb.handle.base_url()), &sb.key).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // Change the status of the first lead, as a user would in Excel.
    mark_lost(&exported, 0);

    let results = dir.path().join("edit.results.xlsx");
    let o = run(
        s(&[
            "import",
            exported.to_str().unwrap(),
            "--mode",
            "update",
            "--partner-id",
            "200000000014442",
            "-o",
            results.to_str().unwrap(),
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows = results_rows(&results);
    assert!(rows.iter().all(|r| r["Status"] == "UPDATED"), "{rows:?}");
    for id in &assigned {
        let after = sb.get(&format!("{V1}/{id}")).await.body["data"]["leadOpportunity"].clone();
        let mut b = before[id].clone();
        let mut a = after.clone();
        for v in [&mut a, &mut b] {
            v.as_object_mut().unwrap().remove("modifiedDate");
            v.as_object_mut().unwrap().remove("status");
            v.as_object_mut().unwrap().remove("forecastCategory");
        }
        assert_eq!(
            a, b,
            "{id}: fields left as exported are written back unchanged"
        );
        if id == &assigned[0] {
            assert_eq!(after["status"], "LOST");
        } else {
            assert_eq!(after["status"], before[id]["status"]);
            assert_eq!(after["forecastCategory"], before[id]["forecastCategory"]);
        }
    }
    // `get` shows the change.
    let o = run(
        s(&["get", &assigned[0], "--json"]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["status"], "LOST");

    // --skip-unchanged: a second lead edited; the others are read, found equal and skipped,
    // and keep their modifiedDate.
    let modified: HashMap<String, Value> = {
        let mut m = HashMap::new();
        for id in &assigned {
            m.insert(
                id.clone(),
                sb.get(&format!("{V1}/{id}")).await.body["data"]["leadOpportunity"]["modifiedDate"]
                    .clone(),
            );
        }
        m
    };
    mark_lost(&exported, 1);
    let updates_before = sb.stats().await["requests"]["byOperation"]["update"]["200"].clone();
    let o = run(
        s(&[
            "import",
            exported.to_str().unwrap(),
            "--mode",
            "update",
            "--skip-unchanged",
            "--partner-id",
            "200000000014442",
            "-o",
            results.to_str().unwrap(),
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows = results_rows(&results);
    let statuses: Vec<&str> = rows.iter().map(|r| r["Status"].as_str()).collect();
    assert_eq!(
        statuses,
        [
            "UNCHANGED",
            "UPDATED",
            "UNCHANGED",
            "UNCHANGED",
            "UNCHANGED"
        ],
        "{rows:?}"
    );
    assert_eq!(
        sb.stats().await["requests"]["byOperation"]["update"]["200"],
        updates_before.as_u64().unwrap() + 1
    );
    for (i, id) in assigned.iter().enumerate() {
        let now =
            sb.get(&format!("{V1}/{id}")).await.body["data"]["leadOpportunity"]["modifiedDate"]
                .clone();
        assert_eq!(now == modified[id], i != 1, "{id}");
    }
}

#[tokio::test]
async fn the_import_layout_follows_a_mapping() {
    let sb = sandbox(SandboxConfig {
        preload: 12,
        ..Default::default()
    })
    .await;
    let dir = scratch();
    let out = dir.path().join("status.xlsx");
    let mapping = root().join("templates/update-status.toml");
    let o = run(
        s(&[
            "export",
            "--partner-lead-id",
            "SBX-000001",
            "--layout",
            "import",
            "--mapping",
            mapping.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let leads = sheet_text(&out, "Leads");
    let headers: Vec<&str> = leads[0].split('\t').collect();
    assert_eq!(&headers[..3], &["3DS ID", "CRM ID", "New Stage"]);
    assert!(leads[1].contains("SBX-000001"));
    // The exported file re-imports through the same mapping.
    let results = dir.path().join("status.results.xlsx");
    let o = run(
        s(&[
            "import",
            out.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
            "-o",
            results.to_str().unwrap(),
        ]),
        Some(sb.handle.base_url()),
        &sb.key,
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(results_rows(&results)[0]["Status"], "UPDATED");
}
