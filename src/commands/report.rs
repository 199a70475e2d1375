//! What a run tells its user: the one [`Summary`] of an offline check or an import (the
//! workbook's Summary sheet and `--json` are both made from it), the line on stderr, and the
//! exit code from the rows' statuses.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::Exit;
use crate::mapping::Mode;
use crate::output::{Summary, SummaryValue};
use crate::pipeline::{Prepared, RunEnd, Status};
use crate::problem::Severity;

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The summary of the offline stage, as `validate` writes it; `import` adds its lines with
/// [`sending`]. The last lines, the results file and the exit code, come from [`close`].
pub fn offline(command: &'static str, p: &Prepared, mode: Mode) -> Summary {
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
    let r = &p.recorder;
    let mut s = Summary::default();
    s.add("leadsheet version", None, env!("CARGO_PKG_VERSION"))
        .add("Command", Some("command"), command)
        .add("Input file", Some("input"), info.display.as_str())
        .add("Input SHA-256", Some("sha256"), info.sha256.as_str())
        .add("Format", None, format)
        .add(
            "Sheet",
            None,
            info.sheet.as_deref().unwrap_or("(not a workbook)"),
        )
        .json("sheet", info.sheet.clone().into())
        .add("Header row", None, u64::from(info.header_row.0))
        .add("Mapping file", None, p.mapping_path.display().to_string())
        .add("API version", None, p.resolved.version.as_str())
        .add("Mode", None, mode.as_str())
        .add("Started", Some("started"), stamp(p.started))
        .add("Finished", None, stamp(Utc::now()))
        .add("Data rows", Some("dataRows"), p.data_rows)
        .add("Blank rows skipped", Some("blankRows"), p.blank_rows)
        .add("Leads", Some("leads"), r.lead_count())
        .group(
            "Rows",
            Some("rowsByStatus"),
            r.rows_by_status()
                .into_iter()
                .map(|(s, n)| (s.as_str().to_string(), n as u64)),
        )
        .json(
            "leadsByStatus",
            r.leads_by_status()
                .into_iter()
                .map(|(s, n)| (s.as_str().to_string(), serde_json::Value::from(n)))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        )
        .add("Errors", Some("errors"), r.count_problems(Severity::Error))
        .add(
            "Warnings",
            Some("warnings"),
            r.count_problems(Severity::Warning),
        );
    s
}

/// The lines an import adds: where it sent, how, for how long, how it ended.
pub fn sending(s: &mut Summary, server: &str, concurrency: u16, took: Duration, end: &RunEnd) {
    let (sheet, json) = match end {
        RunEnd::Interrupted => (
            "interrupted (Ctrl-C, SIGTERM or SIGHUP)".into(),
            end.describe(),
        ),
        _ => (end.describe(), end.describe()),
    };
    s.add("Server", Some("server"), server)
        .add("Concurrency", Some("concurrency"), u64::from(concurrency))
        .add(
            "Sending time (s)",
            None,
            SummaryValue::Number((took.as_secs_f64() * 10.0).round() / 10.0),
        )
        .json("sendSeconds", took.as_secs_f64().into())
        .add("Run", None, sheet)
        .json("run", json.into());
}

/// What stderr says when an import did not finish, and how to continue it.
pub fn ended(end: &RunEnd, resumable: bool, journal: &Path) {
    if let RunEnd::Stopped(why) = end {
        crate::say!(
            "leadsheet: error: the run stopped: {why}. Rows not sent are NOT_SUBMITTED in the results."
        );
    }
    if resumable {
        crate::say!(
            "leadsheet: the import did not finish; run the same command with --resume to continue it (journal {})",
            journal.display()
        );
    }
}

/// The closing lines: the results file and the exit code.
pub fn close(s: &mut Summary, results: &Path, exit: Exit) {
    s.add(
        "Results file",
        Some("results"),
        results.display().to_string(),
    )
    .json("exitCode", exit.code().into());
}

/// The exit code from the rows' statuses: 2 when any row did not succeed.
pub fn exit_for(p: &Prepared) -> Exit {
    if p.recorder.rows_by_status().keys().any(|s| s.is_failure()) {
        Exit::RowsFailed
    } else {
        Exit::Success
    }
}

/// Says what an import is about to send, and returns how many rows are valid (a resumed run
/// sends only those its journal has not settled).
pub fn announce(quiet: bool, p: &Prepared, server: &str, concurrency: u16, resuming: bool) -> u64 {
    let sendable = p
        .recorder
        .rows_by_status()
        .get(&Status::Valid)
        .copied()
        .unwrap_or(0) as u64;
    if !quiet {
        let to_send = if resuming {
            format!("{sendable} valid, those the journal has not settled to send")
        } else {
            format!("{sendable} to send")
        };
        crate::say!(
            "leadsheet import: {} row(s) checked, {to_send} to {server} ({} mode, API {}, up to {concurrency} at once)",
            p.data_rows,
            p.resolved.mode.as_str(),
            p.resolved.version,
        );
    }
    sendable
}

/// The line on stderr after an offline check or an import.
pub fn text(command: &str, p: &Prepared, results: &Path) -> String {
    let r = &p.recorder;
    let by: Vec<String> = r
        .rows_by_status()
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
        r.lead_count(),
        if by.is_empty() {
            "none".into()
        } else {
            by.join(", ")
        },
        r.count_problems(Severity::Error),
        r.count_problems(Severity::Warning),
        results.display()
    )
}

/// Prints what a run prints at its end: the JSON summary on stdout with `--json`, the line on
/// stderr unless `--quiet`.
pub fn print(json: bool, quiet: bool, summary: &Summary, line: &str) {
    if json {
        crate::out!("{}", summary.to_json());
    }
    if !quiet {
        crate::say!("{line}");
    }
}

/// Says how many leads an export found, before it fetches them.
pub fn found(quiet: bool, ids: usize, searches: usize, server: &str) {
    if !quiet {
        crate::say!(
            "leadsheet export: {ids} lead(s) found by {searches} search(es) on {server}; fetching details"
        );
    }
}

/// The summary of an export, up to its run's end; [`export_done`] adds what was written.
pub fn export(
    session: &crate::commands::session::Session,
    described: &[(String, String)],
    fetched: &crate::export::Fetched,
    started: DateTime<Utc>,
    import_layout: bool,
) -> Summary {
    let mut s = Summary::default();
    s.add("leadsheet version", None, env!("CARGO_PKG_VERSION"))
        .add("Command", Some("command"), "export")
        .add("Server", None, session.label.as_str())
        .add("API version", None, session.client.version.as_str());
    for (label, value) in described {
        s.add(label, None, value.as_str());
    }
    s.add("Searches", Some("searches"), fetched.searches)
        .add("Leads found", Some("found"), fetched.ids)
        .add("Leads exported", Some("exported"), fetched.records.len())
        .add("Errors", Some("errors"), fetched.errors.len())
        .add("Started", None, stamp(started))
        .add("Finished", None, stamp(Utc::now()))
        .add(
            "Layout",
            None,
            if import_layout { "import" } else { "report" },
        )
        .add(
            "Run",
            Some("run"),
            fetched.stopped.as_deref().unwrap_or("completed"),
        );
    s
}

/// The exit code of an export: 1 when it stopped (a refused key, a server down), 2 when some
/// leads could not be fetched or Ctrl-C cut it short.
pub fn export_exit(fetched: &crate::export::Fetched) -> Exit {
    let stopped = fetched.stopped.as_deref();
    if stopped.is_some_and(|s| !s.starts_with("interrupted")) {
        Exit::Fatal
    } else if !fetched.errors.is_empty() || stopped.is_some() {
        Exit::RowsFailed
    } else {
        Exit::Success
    }
}

/// What an export wrote, for `--json`.
pub fn export_done(s: &mut Summary, output: &Path, errors_file: Option<&Path>, exit: Exit) {
    s.json(
        "errorsFile",
        errors_file.map(|p| p.display().to_string()).into(),
    )
    .json("output", output.display().to_string().into())
    .json("exitCode", exit.code().into());
}

/// The line on stderr after an export.
pub fn export_text(
    fetched: &crate::export::Fetched,
    output: &Path,
    errors_file: Option<&Path>,
) -> String {
    let mut line = format!(
        "leadsheet export: {} of {} lead(s) written to {}",
        fetched.records.len(),
        fetched.ids,
        output.display()
    );
    if !fetched.errors.is_empty() {
        line.push_str(&format!(
            "; {} could not be fetched (see {})",
            fetched.errors.len(),
            errors_file.map_or("the Errors sheet".to_string(), |p| p.display().to_string())
        ));
    }
    if let Some(why) = &fetched.stopped {
        line.push_str(&format!("\nleadsheet: the export stopped early: {why}"));
    }
    line
}
