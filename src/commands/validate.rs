//! `leadsheet validate`: the offline half of an import. Reads the sheet, maps and checks every
//! row, sends nothing, and writes the results workbook (the same format `import` writes).

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Utc;

use crate::cli::{GlobalArgs, InputArgs, ValidateArgs};
use crate::mapping::{MappingConfig, Mode};
use crate::pipeline::{self, OfflinePlan, PipelineError, Prepared};
use crate::sheet::ReadOptions;
use crate::{Exit, UsageError};

/// Turns the shared input flags into the offline plan (also used by `import`).
pub fn offline_plan(args: &InputArgs, spool_requests: bool) -> anyhow::Result<OfflinePlan> {
    let (mapping, mapping_path) = match &args.mapping {
        Some(p) => (
            MappingConfig::load(p).map_err(|e| UsageError(format!("{e:#}")))?,
            p.clone(),
        ),
        None => (
            MappingConfig::default_layout(),
            PathBuf::from("(default layout)"),
        ),
    };
    let encoding = match &args.encoding {
        Some(label) => Some(
            encoding_rs::Encoding::for_label(label.as_bytes()).ok_or_else(|| {
                UsageError(format!(
                    "--encoding: unknown encoding `{label}` (try utf-8, windows-1252, utf-16le)"
                ))
            })?,
        ),
        None => None,
    };
    let delimiter = match args.delimiter.as_deref() {
        None => None,
        Some("\\t" | "tab" | "\t") => Some(b'\t'),
        Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
        Some(d) => {
            return Err(UsageError(format!(
                "--delimiter `{d}` must be one character (or `tab`)"
            ))
            .into());
        }
    };
    let mode = args.mode.or(mapping.settings.mode).unwrap_or(Mode::Create);
    let version = args
        .api_version
        .or(mapping.settings.api_version)
        .unwrap_or_default();
    Ok(OfflinePlan {
        input: args.input.clone(),
        read: ReadOptions {
            sheet: args.sheet.clone(),
            header_row: args.header_row,
            delimiter,
            encoding,
        },
        mapping,
        mapping_path,
        mode,
        version,
        partner_id: args.partner_id.clone().filter(|p| !p.trim().is_empty()),
        fallback_partner_id: None,
        spool_requests,
    })
}

/// Refuses an output path that is the input file: the results would overwrite the data.
pub fn check_outputs(input: &str, outputs: &[Option<&Path>]) -> anyhow::Result<()> {
    if input == "-" {
        return Ok(());
    }
    let Ok(input_path) = std::fs::canonicalize(input) else {
        return Ok(());
    };
    for out in outputs.iter().flatten() {
        if std::fs::canonicalize(out).is_ok_and(|o| o == input_path) {
            return Err(UsageError(format!(
                "{} is the input file: writing there would overwrite the data; choose another -o / --emit-requests path",
                out.display()
            ))
            .into());
        }
    }
    Ok(())
}

/// The partner id used when neither the mapping, --partner-id nor LEADSHEET_PARTNER_ID gives
/// one: the config profile's, as `import` uses it (a config file that cannot be read is only
/// a warning here, since nothing is sent).
pub fn profile_partner_id() -> Option<String> {
    let path = crate::config::config_path(None);
    let profile = std::env::var("LEADSHEET_PROFILE").ok();
    match crate::config::load_profile(&path, profile.as_deref()) {
        Ok(p) => p.partner_id,
        Err(e) => {
            tracing::warn!("{e}");
            None
        }
    }
}

/// `leads.xlsx` → `leads.results.xlsx` beside it; stdin → `stdin.results.xlsx`.
pub fn default_results_path(input: &str) -> PathBuf {
    if input == "-" {
        return PathBuf::from("stdin.results.xlsx");
    }
    let p = Path::new(input);
    let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("input");
    p.with_file_name(format!("{stem}.results.xlsx"))
}

/// Runs the offline stage off the async runtime's threads, mapping its errors to exit codes.
pub async fn prepare(plan: OfflinePlan) -> anyhow::Result<Prepared> {
    let result = tokio::task::spawn_blocking(move || pipeline::prepare(&plan))
        .await
        .context("the validation task stopped")?;
    result.map_err(classify)
}

pub fn classify(e: PipelineError) -> anyhow::Error {
    if e.is_usage() {
        UsageError(format!("{e:#}")).into()
    } else {
        anyhow::Error::new(e)
    }
}

/// The Summary sheet's lines common to validate and import.
pub fn summary_lines(
    command: &str,
    p: &Prepared,
    mode: Mode,
    results: &Path,
) -> Vec<(String, String)> {
    let info = p.info();
    let mut format = info.format.name().to_string();
    if let Some(d) = info.delimiter {
        let d = match d {
            b'\t' => "tab".to_string(),
            other => format!("`{}`", other as char),
        };
        format.push_str(&format!(
            ", delimiter {d}, encoding {}",
            info.encoding.unwrap_or("?")
        ));
    }
    let mut lines = vec![
        (
            "leadsheet version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        ("Command".into(), command.to_string()),
        ("Input file".into(), info.display.clone()),
        ("Input SHA-256".into(), info.sha256.clone()),
        ("Format".into(), format),
        (
            "Sheet".into(),
            info.sheet
                .clone()
                .unwrap_or_else(|| "(not a workbook)".into()),
        ),
        ("Header row".into(), info.header_row.to_string()),
        ("Mapping file".into(), p.mapping_path.display().to_string()),
        ("API version".into(), p.resolved.version.to_string()),
        ("Mode".into(), mode.as_str().to_string()),
        (
            "Started".into(),
            p.started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        (
            "Finished".into(),
            Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        ("Data rows".into(), p.data_rows.to_string()),
        ("Blank rows skipped".into(), p.blank_rows.to_string()),
        ("Leads".into(), p.recorder.lead_count().to_string()),
    ];
    for (status, n) in p.recorder.rows_by_status() {
        lines.push((format!("Rows {}", status.as_str()), n.to_string()));
    }
    lines.push((
        "Errors".into(),
        p.recorder
            .count_problems(crate::validate::Severity::Error)
            .to_string(),
    ));
    lines.push((
        "Warnings".into(),
        p.recorder
            .count_problems(crate::validate::Severity::Warning)
            .to_string(),
    ));
    lines.push(("Results file".into(), results.display().to_string()));
    lines
}

/// The `--json` summary and the stderr line share these numbers.
pub fn summary_json(command: &str, p: &Prepared, results: &Path, exit: Exit) -> serde_json::Value {
    let rows: serde_json::Map<String, serde_json::Value> = p
        .recorder
        .rows_by_status()
        .into_iter()
        .map(|(s, n)| (s.as_str().to_string(), n.into()))
        .collect();
    let leads: serde_json::Map<String, serde_json::Value> = p
        .recorder
        .leads_by_status()
        .into_iter()
        .map(|(s, n)| (s.as_str().to_string(), n.into()))
        .collect();
    serde_json::json!({
        "command": command,
        "input": p.info().display,
        "sha256": p.info().sha256,
        "sheet": p.info().sheet,
        "dataRows": p.data_rows,
        "blankRows": p.blank_rows,
        "leads": p.recorder.lead_count(),
        "rowsByStatus": rows,
        "leadsByStatus": leads,
        "errors": p.recorder.count_problems(crate::validate::Severity::Error),
        "warnings": p.recorder.count_problems(crate::validate::Severity::Warning),
        "results": results.display().to_string(),
        "exitCode": exit.code(),
    })
}

pub fn summary_text(command: &str, p: &Prepared, results: &Path) -> String {
    let rows = p.recorder.rows_by_status();
    let by: Vec<String> = rows
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    format!(
        "leadsheet {command}: {}: {} row(s){} → {} lead(s); rows: {}; {} error(s), {} warning(s). Results: {}",
        p.info().label(),
        p.data_rows,
        if p.blank_rows > 0 {
            format!(" ({} blank skipped)", p.blank_rows)
        } else {
            String::new()
        },
        p.recorder.lead_count(),
        if by.is_empty() {
            "none".into()
        } else {
            by.join(", ")
        },
        p.recorder.count_problems(crate::validate::Severity::Error),
        p.recorder
            .count_problems(crate::validate::Severity::Warning),
        results.display()
    )
}

/// Exit code from row statuses.
pub fn exit_for(p: &Prepared) -> Exit {
    if p.recorder.rows_by_status().keys().any(|s| s.is_failure()) {
        Exit::RowsFailed
    } else {
        Exit::Success
    }
}

pub async fn run(global: &GlobalArgs, args: ValidateArgs) -> anyhow::Result<Exit> {
    let plan = offline_plan(&args.input, args.emit_requests.is_some())?;
    run_plan(global, args, plan).await
}

/// `validate`, and `import --dry-run`, once the plan (with its partner id fallback) is made.
pub async fn run_plan(
    global: &GlobalArgs,
    args: ValidateArgs,
    mut plan: OfflinePlan,
) -> anyhow::Result<Exit> {
    if plan.fallback_partner_id.is_none() {
        plan.fallback_partner_id = profile_partner_id();
    }
    let mode = plan.mode;
    let results = args
        .output
        .clone()
        .unwrap_or_else(|| default_results_path(&args.input.input));
    check_outputs(
        &args.input.input,
        &[Some(&results), args.emit_requests.as_deref()],
    )?;
    let prepared = prepare(plan).await?;
    let emitted = match &args.emit_requests {
        Some(path) => Some(pipeline::write_requests(&prepared, path).map_err(classify)?),
        None => None,
    };
    let summary = summary_lines("validate", &prepared, mode, &results);
    let prepared = tokio::task::spawn_blocking(move || {
        pipeline::write_results(&prepared, &results, &summary).map(|()| (prepared, results))
    })
    .await
    .context("the results task stopped")?;
    let (prepared, results) = prepared.map_err(classify)?;
    let exit = exit_for(&prepared);
    if args.json {
        println!("{}", summary_json("validate", &prepared, &results, exit));
    }
    if !global.quiet {
        eprintln!("{}", summary_text("validate", &prepared, &results));
        if let (Some(n), Some(path)) = (emitted, &args.emit_requests) {
            eprintln!(
                "leadsheet validate: {n} request body(ies) written to {}",
                path.display()
            );
        }
    }
    Ok(exit)
}
