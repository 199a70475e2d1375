//! `leadsheet export`: criteria → search windows → ids → details → workbook, CSV or JSONL.

use super::session::Session;
use super::settings::{self, ClientSettings};
use super::{offline, report};
use crate::cli::{ExportArgs, GlobalArgs};
use crate::export::{self, layout::ImportLayout};
use crate::output;
use crate::terminal::Progress;
use crate::{Error, Exit};

pub async fn run(global: &GlobalArgs, args: ExportArgs) -> Result<Exit, Error> {
    let (format, mapping) = settings::export_output(&args)?;
    let (selection, described) = settings::export_selection(&args)?;
    let version = args.api_version.unwrap_or_default();
    let client = ClientSettings::new(&args.connection, &args.send, version)?;
    let session = Session::connect(&client, global.quiet).await?;
    let started = chrono::Utc::now();
    let concurrency = usize::from(args.send.concurrency);
    let (ids, searches) = export::find(&session.client, selection, concurrency).await?;
    report::found(global.quiet, ids.len(), searches, &session.label);
    session.on_interrupt("finishing the requests in flight, then writing what was fetched");
    let mut progress = Progress::new(ids.len() as u64, global.quiet, "exporting");
    let cancel = session.cancel_token();
    let mut fetched =
        export::fetch(&session.client, ids, concurrency, cancel, &mut progress).await?;
    progress.finish();
    fetched.searches = searches;
    let partner_id = args.partner_id.clone().or(session.partner_fallback.clone());
    let layout = match mapping {
        Some((m, path)) => Some(ImportLayout::new(&m, &path, fetched.max_items, partner_id)?),
        None => None,
    };
    let summary = report::export(&session, &described, &fetched, started, layout.is_some());
    session.close().await;
    let path = args.output.clone();
    let (fetched, errors_file, mut summary) = offline::blocking(move || {
        let errors_file =
            output::export::write(&path, format, &fetched, layout.as_ref(), &summary)?;
        Ok((fetched, errors_file, summary))
    })
    .await?;
    let exit = report::export_exit(&fetched);
    report::export_done(&mut summary, &args.output, errors_file.as_deref(), exit);
    let line = report::export_text(&fetched, &args.output, errors_file.as_deref());
    report::print(args.json, global.quiet, &summary, &line);
    Ok(exit)
}
