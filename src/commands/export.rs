//! `leadsheet export`: criteria → search windows → ids → details → workbook, CSV or JSONL.

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::connect::{Tuning, connect};
use crate::cli::{ExportArgs, GlobalArgs, Layout};
use crate::export::layout::ImportLayout;
use crate::export::write::{self, OutputKind};
use crate::export::{self, Criteria, Selection, criteria};
use crate::mapping::MappingConfig;
use crate::pipeline::progress::Progress;
use crate::{Exit, UsageError};

fn selection(args: &ExportArgs) -> anyhow::Result<(Selection, Vec<(String, String)>)> {
    let mut described = Vec::new();
    let mut ids = args.ids.clone();
    if let Some(f) = &args.ids_file {
        let from_file = export::ids_from_file(f, &["dsLeadOpportunityId", "3DS ID", "id"])
            .with_context(|| format!("reading ids from {f}"))?;
        if from_file.is_empty() {
            return Err(UsageError(format!("--ids {f}: the file holds no ids")).into());
        }
        ids.extend(from_file);
        described.push(("Ids file".to_string(), f.clone()));
    }
    if !ids.is_empty() {
        let mut seen = std::collections::HashSet::new();
        ids.retain(|i| seen.insert(i.clone()));
        described.push(("Ids".into(), format!("{} given", ids.len())));
        return Ok((Selection::Ids(ids), described));
    }
    let now = Utc::now();
    let mut c = Criteria::default();
    let range = match (&args.modified_since, &args.modified_from, &args.modified_to) {
        (Some(since), _, _) => Some((
            criteria::parse_since(since, now)
                .map_err(|m| UsageError(format!("--modified-since: {m}")))?,
            now,
        )),
        (None, Some(from), to) => {
            let from = criteria::parse_instant(from)
                .map_err(|m| UsageError(format!("--modified-from: {m}")))?;
            let to = match to {
                Some(t) => criteria::parse_instant(t)
                    .map_err(|m| UsageError(format!("--modified-to: {m}")))?,
                None => now,
            };
            if from >= to {
                return Err(
                    UsageError("--modified-from must be before --modified-to".into()).into(),
                );
            }
            Some((from, to))
        }
        _ => None,
    };
    if let Some((from, to)) = range {
        if to.min(now) - from > criteria::MAX_RANGE {
            return Err(UsageError(format!(
                "the date range from {} is longer than 20 years: check the year (a range is searched 7 days at a time)",
                from.format("%Y-%m-%d")
            ))
            .into());
        }
        c.windows = criteria::windows(from, to, now);
        if c.windows.is_empty() {
            return Err(UsageError(
                "the date range lies in the future: nothing can have been modified then".into(),
            )
            .into());
        }
        described.push((
            "Modified".into(),
            format!(
                "{} → {}",
                from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                to.min(now)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        ));
        described.push((
            "Search windows".into(),
            format!(
                "{} (of at most 7 days)\n{}",
                c.windows.len(),
                export::describe_windows(&c.windows)
            ),
        ));
    }
    c.partner_lead_ids = args.partner_lead_ids.clone();
    if let Some(f) = &args.partner_lead_ids_file {
        let from_file = export::ids_from_file(
            f,
            &[
                "partnerLeadOpportunityId",
                "leadOpportunity.partnerLeadOpportunityId",
            ],
        )
        .with_context(|| format!("reading partner lead ids from {f}"))?;
        // An empty list must not quietly widen the export to every lead of the dates.
        if from_file.is_empty() {
            return Err(
                UsageError(format!("--partner-lead-ids {f}: the file holds no ids")).into(),
            );
        }
        c.partner_lead_ids.extend(from_file);
    }
    if !c.partner_lead_ids.is_empty() {
        described.push((
            "partnerLeadOpportunityId".into(),
            format!("{} id(s)", c.partner_lead_ids.len()),
        ));
    }
    if args.unassigned {
        c.partner_lead_ids = vec![String::new()];
        described.push((
            "partnerLeadOpportunityId".into(),
            "\"\" (unassigned marketing leads)".into(),
        ));
    }
    if c.windows.is_empty() && c.partner_lead_ids.is_empty() {
        return Err(UsageError(
            "say which leads: --modified-since, --modified-from/--modified-to, --partner-lead-id(s), --unassigned, --id or --ids".into(),
        )
        .into());
    }
    Ok((Selection::Search(c), described))
}

pub async fn run(global: &GlobalArgs, args: ExportArgs) -> anyhow::Result<Exit> {
    if args.mapping.is_some() && args.layout != Layout::Import {
        return Err(UsageError("--mapping goes with --layout import".into()).into());
    }
    let mapping = match (&args.layout, &args.mapping) {
        (Layout::Import, Some(p)) => {
            Some(MappingConfig::load(p).map_err(|e| UsageError(format!("{e:#}")))?)
        }
        (Layout::Import, None) => Some(MappingConfig::default_layout()),
        _ => None,
    };
    let kind = OutputKind::for_path(&args.output).ok_or_else(|| {
        UsageError(format!(
            "-o {}: write .xlsx, .csv or .jsonl",
            args.output.display()
        ))
    })?;
    if kind == OutputKind::Jsonl && args.layout == Layout::Import {
        return Err(UsageError(
            "--layout import writes .xlsx or .csv; .jsonl holds the raw records".into(),
        )
        .into());
    }
    let (selection, mut described) = selection(&args)?;
    let cancel = CancellationToken::new();
    let tuning = Tuning {
        version: args.api_version.unwrap_or_default(),
        timeout: Duration::from_secs(args.send.timeout.max(1)),
        max_retries: args.send.max_retries,
        concurrency: usize::from(args.send.concurrency),
        rate: args.send.rate,
    };
    let mut connected = connect(&args.connection, tuning, cancel.clone(), global.quiet).await?;
    let started = Utc::now();
    let (ids, searches) = match selection {
        Selection::Ids(ids) => (ids, 0),
        Selection::Search(c) => {
            match export::search_ids(&connected.client, &c, usize::from(args.send.concurrency))
                .await
            {
                Ok(found) => found,
                Err(e) => return Err(anyhow::Error::new(e)),
            }
        }
    };
    if !global.quiet {
        eprintln!(
            "leadsheet export: {} lead(s) found by {searches} search(es) on {}; fetching details",
            ids.len(),
            connected.label
        );
    }
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        });
    }
    let mut progress = Progress::new(ids.len() as u64, global.quiet, "exporting");
    let mut fetched = export::fetch(
        &connected.client,
        ids,
        usize::from(args.send.concurrency),
        cancel.clone(),
        &mut progress,
    )
    .await?;
    progress.finish();
    fetched.searches = searches;
    let partner_id = args
        .partner_id
        .clone()
        .or(connected.partner_fallback.clone());
    let mut summary = vec![
        (
            "leadsheet version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        ("Command".into(), "export".into()),
        ("Server".into(), connected.label.clone()),
        ("API version".into(), connected.client.version.to_string()),
    ];
    summary.append(&mut described);
    summary.extend([
        ("Searches".into(), searches.to_string()),
        ("Leads found".into(), fetched.ids.to_string()),
        ("Leads exported".into(), fetched.records.len().to_string()),
        ("Errors".into(), fetched.errors.len().to_string()),
        (
            "Started".into(),
            started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        (
            "Finished".into(),
            Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        (
            "Layout".into(),
            match args.layout {
                Layout::Report => "report".into(),
                Layout::Import => "import".into(),
            },
        ),
        (
            "Run".into(),
            fetched
                .stopped
                .clone()
                .unwrap_or_else(|| "completed".into()),
        ),
    ]);
    let output = args.output.clone();
    let written = tokio::task::spawn_blocking(move || {
        let result = match &mapping {
            Some(m) => ImportLayout::new(m, fetched.max_items, partner_id)
                .map_err(|e| anyhow::Error::new(UsageError(e)))
                .and_then(|layout| {
                    write::import_layout(&output, &fetched, &layout, &summary)
                        .map_err(anyhow::Error::new)
                }),
            None => match kind {
                OutputKind::Xlsx => write::xlsx(&output, &fetched, &summary),
                OutputKind::Csv => write::csv(&output, &fetched),
                OutputKind::Jsonl => write::jsonl(&output, &fetched),
            }
            .map_err(anyhow::Error::new),
        };
        // Exports without sheets list the ids they could not fetch in a CSV beside them.
        let errors_file = (kind != OutputKind::Xlsx && !fetched.errors.is_empty())
            .then(|| write::errors_path(&output));
        let result = result.and_then(|()| match &errors_file {
            Some(p) => write::errors_csv(p, &fetched.errors).map_err(anyhow::Error::new),
            None => Ok(()),
        });
        result.map(|()| (fetched, errors_file))
    })
    .await
    .context("the writer task stopped")??;
    let (written, errors_file) = written;
    if let Some(sb) = connected.sandbox.take() {
        sb.shutdown().await;
    }
    let exit = if written
        .stopped
        .as_deref()
        .is_some_and(|s| !s.starts_with("interrupted"))
    {
        Exit::Fatal
    } else if !written.errors.is_empty() || written.stopped.is_some() {
        Exit::RowsFailed
    } else {
        Exit::Success
    };
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "command": "export",
                "searches": searches,
                "found": written.ids,
                "exported": written.records.len(),
                "errors": written.errors.len(),
                "errorsFile": errors_file.as_ref().map(|p| p.display().to_string()),
                "output": args.output.display().to_string(),
                "run": written.stopped.clone().unwrap_or_else(|| "completed".into()),
                "exitCode": exit.code(),
            })
        );
    }
    if !global.quiet {
        eprintln!(
            "leadsheet export: {} of {} lead(s) written to {}{}",
            written.records.len(),
            written.ids,
            args.output.display(),
            if written.errors.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} could not be fetched (see {})",
                    written.errors.len(),
                    errors_file
                        .as_ref()
                        .map_or("the Errors sheet".to_string(), |p| p.display().to_string())
                )
            }
        );
        if let Some(why) = &written.stopped {
            eprintln!("leadsheet: the export stopped early: {why}");
        }
    }
    Ok(exit)
}
