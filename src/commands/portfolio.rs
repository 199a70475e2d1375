//! `leadsheet portfolio`: every item of the sales portfolio, paged with skip/top until
//! estimatedSearchCount is reached (or a page comes back empty). A page that fails after retries stops the run and no file is left behind:
//! a catalogue with a silent gap would be worse than none.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::connect::{Tuning, connect};
use crate::api::client::Report;
use crate::api::contract::ApiVersion;
use crate::cli::{GlobalArgs, PortfolioArgs};
use crate::pipeline::progress::Progress;
use crate::sheet::results::{fit_cell, inert};
use crate::{Exit, UsageError};

/// The item fields in the contract's order (REFERENCE.md §4.5), id first.
const FIELDS: &[&str] = &[
    "salesPortfolioId",
    "salesPortfolioType",
    "salesPortfolioInfrastructure",
    "salesPortfolioisOrderable",
    "salesPortfolioLevel1",
    "salesPortfolioLevel2",
    "salesPortfolioLevel3",
];

fn cell_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => if *b { "TRUE" } else { "FALSE" }.into(),
        Some(other) => other.to_string(),
    }
}

pub async fn run(global: &GlobalArgs, args: PortfolioArgs) -> anyhow::Result<Exit> {
    let ext = args
        .output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !matches!(ext.as_str(), "xlsx" | "csv") {
        return Err(UsageError(format!(
            "-o {}: the portfolio is written as .xlsx or .csv",
            args.output.display()
        ))
        .into());
    }
    let tuning = Tuning {
        version: ApiVersion::V0,
        timeout: Duration::from_secs(args.timeout.max(1)),
        max_retries: args.max_retries,
        concurrency: 1,
        rate: None,
    };
    let mut connected = connect(
        &args.connection,
        tuning,
        CancellationToken::new(),
        global.quiet,
    )
    .await?;
    let top = args.page_size as usize;
    let mut items: Vec<Value> = Vec::new();
    let mut seen = HashSet::new();
    let mut extra: Vec<String> = Vec::new();
    let mut skip = 0usize;
    let mut pages = 0;
    let mut progress: Option<Progress> = None;
    let mut estimate = None;
    loop {
        let mut report = Report::default();
        let (page, count) = connected.client.portfolio(skip, top, &mut report).await.map_err(|e| {
            anyhow::anyhow!(
                "the portfolio page at skip={skip} failed: {}{}; no file was written, to avoid a catalogue with a gap",
                e.message(),
                report.trace_id.map(|t| format!(" (trace id {t})")).unwrap_or_default()
            )
        })?;
        pages += 1;
        if estimate.is_none() {
            estimate = count;
            progress = Some(Progress::new(count.unwrap_or(0), global.quiet, "portfolio"));
        }
        let n = page.len();
        let mut new = 0;
        for item in page {
            let id = cell_text(item.get("salesPortfolioId"));
            if !id.is_empty() && !seen.insert(id) {
                continue;
            }
            if let Some(o) = item.as_object() {
                for k in o.keys() {
                    if !FIELDS.contains(&k.as_str()) && !extra.contains(k) {
                        extra.push(k.clone());
                    }
                }
            }
            items.push(item);
            new += 1;
        }
        if let Some(p) = progress.as_mut() {
            p.advance(new as u64, false);
        }
        skip += n;
        // Paging ends once estimatedSearchCount is reached, at an empty page, or at a page of
        // nothing new (the paging went round). A short page before the count does not end it:
        // a gateway may serve fewer items than `top` asks for. Without a count, paging goes on
        // to a short page.
        let reached = match estimate {
            Some(e) => skip as u64 >= e,
            None => n < top,
        };
        if n == 0 || new == 0 || reached {
            break;
        }
    }
    if let Some(e) = estimate
        && e != items.len() as u64
        && !global.quiet
    {
        eprintln!(
            "leadsheet portfolio: note: the server estimated {e} items and returned {} distinct ones",
            items.len()
        );
    }
    if let Some(p) = &progress {
        p.finish();
    }
    if let Some(sb) = connected.sandbox.take() {
        sb.shutdown().await;
    }
    let mut headers: Vec<String> = FIELDS.iter().map(|s| s.to_string()).collect();
    headers.extend(extra);
    let out = args.output.clone();
    let tmp = out.with_extension(format!("{ext}.partial"));
    let n = items.len();
    tokio::task::spawn_blocking({
        let tmp = tmp.clone();
        move || write(&tmp, &ext, &headers, &items)
    })
    .await
    .context("the writer task stopped")?
    .with_context(|| format!("writing {}", out.display()))?;
    std::fs::rename(&tmp, &out).with_context(|| format!("writing {}", out.display()))?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({"command": "portfolio", "items": n, "pages": pages, "estimatedSearchCount": estimate, "output": out.display().to_string()})
        );
    }
    if !global.quiet {
        eprintln!(
            "leadsheet portfolio: {n} item(s) in {pages} page(s) from {}{} → {}",
            connected.label,
            estimate
                .map(|e| format!(" (estimatedSearchCount {e})"))
                .unwrap_or_default(),
            out.display()
        );
    }
    Ok(Exit::Success)
}

fn write(
    path: &std::path::Path,
    ext: &str,
    headers: &[String],
    items: &[Value],
) -> anyhow::Result<()> {
    if ext == "csv" {
        let mut w = csv::Writer::from_path(path)?;
        w.write_record(headers)?;
        for item in items {
            w.write_record(
                headers
                    .iter()
                    .map(|h| inert(&cell_text(item.get(h))).into_owned()),
            )?;
        }
        w.flush()?;
        return Ok(());
    }
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let ws = book.add_worksheet_with_constant_memory()?;
    ws.set_name("Portfolio")?;
    for (c, h) in headers.iter().enumerate() {
        ws.set_column_width(c as u16, (h.len() as f64 + 4.0).max(16.0))?;
        ws.write_string_with_format(0, c as u16, h, &bold)?;
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, items.len() as u32, (headers.len().max(1) - 1) as u16)?;
    for (r, item) in items.iter().enumerate() {
        for (c, h) in headers.iter().enumerate() {
            match item.get(h) {
                Some(Value::Bool(b)) => ws.write_boolean((r + 1) as u32, c as u16, *b)?,
                Some(Value::Number(n)) => {
                    ws.write_number((r + 1) as u32, c as u16, n.as_f64().unwrap_or_default())?
                }
                v => ws.write_string((r + 1) as u32, c as u16, fit_cell(&cell_text(v)))?,
            };
        }
    }
    book.save(path)?;
    Ok(())
}
