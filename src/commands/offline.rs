//! The offline check that `validate` runs, and `import --dry-run` runs as it: read, map and
//! check every row off the async runtime's threads, write the emitted requests and the results
//! workbook, and say how it went. Not a command of its own: two commands share it.

use std::path::{Path, PathBuf};

use crate::cli::GlobalArgs;
use crate::output::results::{write_requests, write_results, write_results_somewhere};
use crate::pipeline::{self, OfflinePlan, Prepared};
use crate::{Error, Exit};

use super::report;
use super::settings;

/// Where an offline check writes.
pub struct Outputs {
    pub results: Option<PathBuf>,
    pub emit_requests: Option<PathBuf>,
    pub json: bool,
    /// The journal an import of these results would keep (`import --dry-run --journal`).
    pub journal: Option<PathBuf>,
}

/// Runs the offline stage on a blocking thread: rayon does the work, the runtime stays free.
///
/// # Errors
/// [`Error::Pipeline`] when the input cannot be read or the mapping does not fit it.
pub async fn prepare(global: &GlobalArgs, plan: OfflinePlan) -> Result<Prepared, Error> {
    let prepared = blocking(move || pipeline::prepare(&plan).map_err(Error::from)).await?;
    if !global.quiet {
        let info = prepared.info();
        for note in &info.notes {
            crate::say!("leadsheet: note: {}: {note}", info.display);
        }
    }
    Ok(prepared)
}

/// Runs `work` on a blocking thread.
///
/// # Errors
/// What `work` returns, or [`Error::System`] when its thread is lost.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::System {
            what: "a background task stopped".into(),
            source: std::io::Error::other(e.to_string()),
        })?
}

/// The end of a run that read a sheet: the results written, the summary printed.
pub struct Finish {
    pub command: &'static str,
    pub prepared: Prepared,
    pub summary: crate::output::Summary,
    pub results: PathBuf,
    pub exit: Exit,
    /// After leads were sent: if the results file cannot be written, write it elsewhere.
    pub rescue: bool,
}

/// Writes the results and prints the summary (`--json` on stdout, a line on stderr).
///
/// # Errors
/// [`Error::Output`] when no results file could be written.
pub async fn finish(global: &GlobalArgs, json: bool, f: Finish) -> Result<Prepared, Error> {
    let Finish {
        command,
        prepared,
        mut summary,
        results,
        exit,
        rescue,
    } = f;
    report::close(&mut summary, &results, exit);
    let (prepared, mut summary, results) = blocking(move || {
        if !rescue {
            write_results(&prepared, &results, &summary)?;
            return Ok((prepared, summary, results));
        }
        let written = write_results_somewhere(&prepared, &results, &summary).map_err(|e| {
            Error::from(e).context("the leads were sent, but no results file could be written")
        })?;
        let results = match written {
            None => results,
            Some(w) => {
                crate::say!(
                    "leadsheet: warning: {}; the results were written to {} instead",
                    crate::error::chain(&w.why),
                    w.path.display()
                );
                w.path
            }
        };
        Ok((prepared, summary, results))
    })
    .await?;
    summary.set("results", results.display().to_string());
    report::print(
        json,
        global.quiet,
        &summary,
        &report::text(command, &prepared, &results),
    );
    Ok(prepared)
}

/// `validate`, and `import --dry-run`.
///
/// # Errors
/// What stops the check: a file that cannot be read, a mapping that does not fit, a results
/// file that cannot be written.
pub async fn check(global: &GlobalArgs, plan: OfflinePlan, out: Outputs) -> Result<Exit, Error> {
    let results = settings::results(&plan.input, out.results.as_deref())?;
    settings::check_paths(
        &[
            ("the input file", Some(Path::new(&plan.input))),
            ("the mapping", Some(plan.mapping_path.as_path())),
        ],
        &[
            ("-o", Some(&results)),
            ("--emit-requests", out.emit_requests.as_deref()),
        ],
    )?;
    settings::requests_format(out.emit_requests.as_deref())?;
    let beside = super::journal::path(&results, out.journal.as_deref(), &plan.input);
    crate::pipeline::journal::check_results_free(&results, &beside)?;
    let mode = plan.mode;
    let prepared = prepare(global, plan).await?;
    let emitted = match &out.emit_requests {
        Some(path) => Some(write_requests(&prepared, path)?),
        None => None,
    };
    let exit = report::exit_for(&prepared);
    let summary = report::offline("validate", &prepared, mode);
    let done = Finish {
        command: "validate",
        prepared,
        summary,
        results,
        exit,
        rescue: false,
    };
    finish(global, out.json, done).await?;
    if let (Some(n), Some(path), false) = (emitted, &out.emit_requests, global.quiet) {
        crate::say!(
            "leadsheet validate: {n} request body(ies) written to {}",
            path.display()
        );
    }
    Ok(exit)
}
