//! `leadsheet import`: the offline check of `validate`, then the valid leads sent to the
//! server, then the results workbook with every row's outcome. Ctrl-C stops sending, lets
//! the requests in flight finish for a few seconds, and still writes the results.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::connect::{Tuning, connect};
use super::validate::{
    self as offline, classify, default_results_path, exit_for, offline_plan, summary_json,
    summary_lines, summary_text,
};
use crate::Exit;
use crate::cli::{GlobalArgs, ImportArgs, ValidateArgs};
use crate::pipeline::progress::Progress;
use crate::pipeline::{self, RunEnd, SubmitSettings};

/// How long requests in flight may take after Ctrl-C.
const GRACE: Duration = Duration::from_secs(5);

/// First Ctrl-C: cancel (stop sending, keep the results). Second: quit at once.
fn watch_ctrl_c(cancel: CancellationToken, quiet: bool) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        if !quiet {
            eprintln!(
                "\nleadsheet: stopping — finishing the requests in flight, then writing the results (Ctrl-C again quits at once)"
            );
        }
        cancel.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("leadsheet: quit without writing the results");
            std::process::exit(130);
        }
    });
}

/// Writes the results; if the file cannot be written (open in Excel, a full disk), writes them
/// beside it or in the temporary directory instead: after leads were sent, losing their
/// outcomes would be the worst failure of all.
fn write_somewhere(
    prepared: pipeline::Prepared,
    results: PathBuf,
    summary: &[(String, String)],
) -> anyhow::Result<(pipeline::Prepared, PathBuf)> {
    let first = match pipeline::write_results(&prepared, &results, summary) {
        Ok(()) => return Ok((prepared, results)),
        Err(e) => e,
    };
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let name = results
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("results");
    let ext = results
        .extension()
        .and_then(|s| s.to_str())
        .unwrap_or("xlsx");
    let beside = results.with_file_name(format!("{name}.{stamp}.{ext}"));
    let in_temp = std::env::temp_dir().join(format!("{name}.{stamp}.{ext}"));
    for alt in [beside, in_temp] {
        if pipeline::write_results(&prepared, &alt, summary).is_ok() {
            eprintln!(
                "leadsheet: warning: {first:#}; the results were written to {} instead",
                alt.display()
            );
            return Ok((prepared, alt));
        }
    }
    Err(classify(first)).context("the leads were sent, but no results file could be written")
}

pub async fn run(global: &GlobalArgs, args: ImportArgs) -> anyhow::Result<Exit> {
    if args.dry_run {
        let mut plan = offline_plan(&args.input, args.emit_requests.is_some())?;
        plan.fallback_partner_id = super::connect::offline_partner_fallback(&args.connection)?;
        let v = ValidateArgs {
            input: args.input,
            output: args.output,
            emit_requests: args.emit_requests,
            json: args.json,
        };
        return offline::run_plan(global, v, plan).await;
    }
    let mut plan = offline_plan(&args.input, true)?;
    offline::check_outputs(
        &args.input.input,
        &[args.output.as_deref(), args.emit_requests.as_deref()],
    )?;
    let cancel = CancellationToken::new();
    let tuning = Tuning {
        version: plan.version,
        timeout: Duration::from_secs(args.send.timeout.max(1)),
        max_retries: args.send.max_retries,
        concurrency: usize::from(args.send.concurrency),
        rate: args.send.rate,
    };
    let mut connected = connect(&args.connection, tuning, cancel.clone(), global.quiet).await?;
    plan.fallback_partner_id = connected.partner_fallback.clone();
    let mode = plan.mode;
    let results = args
        .output
        .clone()
        .unwrap_or_else(|| default_results_path(&args.input.input));
    let mut prepared = offline::prepare(plan).await?;
    if let Some(path) = &args.emit_requests {
        pipeline::write_requests(&prepared, path).map_err(classify)?;
    }
    let sendable_rows: u64 = prepared
        .recorder
        .rows_by_status()
        .get(&pipeline::Status::Valid)
        .copied()
        .unwrap_or(0) as u64;
    if !global.quiet {
        eprintln!(
            "leadsheet import: {} row(s) checked, {} to send to {} ({} mode, API {}, up to {} at once)",
            prepared.data_rows,
            sendable_rows,
            connected.label,
            mode.as_str(),
            prepared.resolved.version,
            args.send.concurrency
        );
    }
    watch_ctrl_c(cancel.clone(), global.quiet);
    let started = std::time::Instant::now();
    let mut progress = Progress::new(sendable_rows, global.quiet, "importing");
    let settings = SubmitSettings {
        concurrency: usize::from(args.send.concurrency),
        mode,
        grace: GRACE,
        skip_unchanged: args.skip_unchanged,
    };
    let end = pipeline::submit(
        &mut prepared,
        &connected.client,
        &settings,
        cancel.clone(),
        &mut progress,
    )
    .await;
    progress.finish();
    let took = started.elapsed();

    let mut summary = summary_lines("import", &prepared, mode, &results);
    let at = summary.len().saturating_sub(1);
    summary.insert(at, ("Server".into(), connected.label.clone()));
    summary.insert(
        at + 1,
        ("Concurrency".into(), args.send.concurrency.to_string()),
    );
    summary.insert(
        at + 2,
        (
            "Sending time (s)".into(),
            format!("{:.1}", took.as_secs_f64()),
        ),
    );
    let ended = match &end {
        RunEnd::Completed => "completed".to_string(),
        RunEnd::Interrupted => "interrupted (Ctrl-C)".to_string(),
        RunEnd::Stopped(why) => format!("stopped: {why}"),
    };
    summary.insert(at + 3, ("Run".into(), ended));
    let (prepared, results) =
        tokio::task::spawn_blocking(move || write_somewhere(prepared, results, &summary))
            .await
            .context("the results task stopped")??;
    if let Some(sb) = connected.sandbox.take() {
        sb.shutdown().await;
    }
    let exit = match &end {
        RunEnd::Stopped(_) => Exit::Fatal,
        _ => exit_for(&prepared),
    };
    if args.json {
        let mut json = summary_json("import", &prepared, &results, exit);
        if let Some(o) = json.as_object_mut() {
            o.insert("server".into(), connected.label.clone().into());
            o.insert("sendSeconds".into(), took.as_secs_f64().into());
            o.insert("concurrency".into(), args.send.concurrency.into());
            o.insert(
                "run".into(),
                match &end {
                    RunEnd::Completed => "completed".into(),
                    RunEnd::Interrupted => "interrupted".into(),
                    RunEnd::Stopped(why) => format!("stopped: {why}").into(),
                },
            );
        }
        println!("{json}");
    }
    if !global.quiet {
        eprintln!("{}", summary_text("import", &prepared, &results));
    }
    if let RunEnd::Stopped(why) = &end {
        eprintln!(
            "leadsheet: error: the run stopped: {why}. Rows not sent are NOT_SUBMITTED in the results."
        );
    }
    Ok(exit)
}
