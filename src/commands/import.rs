//! `leadsheet import`: the offline check of `validate`, then the valid leads sent to the
//! server under a journal, then the results workbook with every row's outcome. Ctrl-C (or
//! SIGTERM, SIGHUP) stops sending, lets the requests in flight finish for a few seconds, and
//! still writes the results; `--resume` continues a run that was interrupted or killed.

use std::path::{Path, PathBuf};

use super::offline::{self, Finish, Outputs};
use super::session::{GRACE, Session};
use super::settings::{self, ClientSettings};
use super::{journal, report};
use crate::cli::{GlobalArgs, ImportArgs};
use crate::output::Summary;
use crate::output::results::write_requests;
use crate::pipeline::{Prepared, RunEnd};
use crate::{Error, Exit};

pub async fn run(global: &GlobalArgs, args: ImportArgs) -> Result<Exit, Error> {
    if args.dry_run {
        return dry_run(global, args).await;
    }
    let (results, journal_path) = paths(&args)?;
    let earlier = journal::earlier(&journal_path, &args, global.quiet)?;
    let mut plan = settings::offline_plan(&args.input, true, None)?;
    let client = ClientSettings::new(&args.connection, &args.send, plan.version)?;
    let session = Session::connect(&client, global.quiet).await?;
    plan.fallback_partner_id = session.partner_fallback.clone();
    let partner_id = plan.partner_id.clone().or(plan.fallback_partner_id.clone());
    let mode = plan.mode;
    let mut prepared = offline::prepare(global, plan).await?;
    if let Some(path) = &args.emit_requests {
        write_requests(&prepared, path)?;
    }
    let kept = journal::open(
        &journal_path,
        &prepared,
        &session.label,
        partner_id,
        earlier,
        &args,
        global.quiet,
    )?;
    let concurrency = args.send.concurrency;
    let resuming = kept.as_ref().is_some_and(|k| k.resumed.is_some());
    let sendable = report::announce(
        global.quiet,
        &prepared,
        &session.label,
        concurrency,
        resuming,
    );
    let submit = settings::submit(&args, mode, GRACE);
    let (end, took) = session
        .submit(&mut prepared, kept.as_ref(), &submit, sendable)
        .await;
    let mut summary = report::offline("import", &prepared, mode);
    report::sending(&mut summary, &session.label, concurrency, took, &end);
    journal::describe(kept.as_ref(), &mut summary);
    session.close().await;
    let ended = Ended {
        end,
        kept,
        journal: journal_path,
    };
    finish(global, args.json, prepared, summary, results, ended).await
}

/// The results workbook and the journal, refused where one would overwrite the input, the
/// mapping or each other.
fn paths(args: &ImportArgs) -> Result<(PathBuf, PathBuf), Error> {
    let results = settings::results(&args.input.input, args.output.as_deref())?;
    let journal_path = journal::path(&results, args.journal.as_deref(), &args.input.input);
    settings::check_paths(
        &[
            ("the input file", Some(Path::new(&args.input.input))),
            ("the mapping", args.input.mapping.as_deref()),
        ],
        &[
            ("-o", Some(&results)),
            ("--emit-requests", args.emit_requests.as_deref()),
            ("the journal", Some(&journal_path)),
        ],
    )?;
    settings::requests_format(args.emit_requests.as_deref())?;
    Ok((results, journal_path))
}

/// How the sending ended, and the journal that recorded it.
struct Ended {
    end: RunEnd,
    kept: Option<journal::Kept>,
    journal: PathBuf,
}

/// The results first, the journal's end after: whatever fails, the other is still done.
async fn finish(
    global: &GlobalArgs,
    json: bool,
    prepared: Prepared,
    summary: Summary,
    results: PathBuf,
    ended: Ended,
) -> Result<Exit, Error> {
    let exit = match &ended.end {
        RunEnd::Stopped(_) => Exit::Fatal,
        _ => report::exit_for(&prepared),
    };
    let complete = journal::complete(&prepared);
    let journaled = ended.kept.is_some();
    let done = Finish {
        command: "import",
        prepared,
        summary,
        results,
        exit,
        rescue: true,
    };
    let written = offline::finish(global, json, done).await;
    let closed = journal::close(ended.kept, &ended.end, complete && written.is_ok());
    written?;
    closed?;
    report::ended(&ended.end, journaled && !complete, &ended.journal);
    Ok(exit)
}

/// `--dry-run`: `validate`, with the partner id the import would fall back on.
async fn dry_run(global: &GlobalArgs, args: ImportArgs) -> Result<Exit, Error> {
    let fallback =
        settings::offline_partner_fallback(&args.connection)?.or_else(settings::profile_partner_id);
    let plan = settings::offline_plan(&args.input, args.emit_requests.is_some(), fallback)?;
    let out = Outputs {
        results: args.output,
        emit_requests: args.emit_requests,
        json: args.json,
        journal: args.journal,
    };
    offline::check(global, plan, out).await
}
