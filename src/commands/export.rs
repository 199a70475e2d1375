//! `leadsheet export`: criteria → search windows → ids → details → workbook, CSV or JSONL.

use super::session::Session;
use super::settings::{self, ClientSettings};
use super::{offline, report};
use crate::cli::{ExportArgs, GlobalArgs, Layout};
use crate::export::layout::ImportLayout;
use crate::export::{self, Selection};
use crate::output::{self, Format};
use crate::terminal::Progress;
use crate::{Error, Exit};

pub async fn run(global: &GlobalArgs, args: ExportArgs) -> Result<Exit, Error> {
    if args.mapping.is_some() && args.layout != Layout::Import {
        return Err(Error::usage("--mapping goes with --layout import"));
    }
    let import = args.layout == Layout::Import;
    let mapping = settings::mapping(args.mapping.as_deref())?;
    let formats = if import {
        output::export::LAYOUT_FORMATS
    } else {
        output::export::FORMATS
    };
    let format = Format::choose(&args.output, "an export", formats, None)?;
    let (selection, described) = settings::export_selection(&args)?;
    let version = args.api_version.unwrap_or_default();
    let session = Session::connect(
        &ClientSettings::new(&args.connection, &args.send, version)?,
        global.quiet,
    )
    .await?;
    let started = chrono::Utc::now();
    let concurrency = usize::from(args.send.concurrency);
    let (ids, searches) = match selection {
        Selection::Ids(ids) => (ids, 0),
        Selection::Search(c) => export::search_ids(&session.client, &c, concurrency).await?,
    };
    if !global.quiet {
        eprintln!(
            "leadsheet export: {} lead(s) found by {searches} search(es) on {}; fetching details",
            ids.len(),
            session.label
        );
    }
    session.on_interrupt("finishing the requests in flight, then writing what was fetched");
    let mut progress = Progress::new(ids.len() as u64, global.quiet, "exporting");
    let mut fetched = export::fetch(
        &session.client,
        ids,
        concurrency,
        session.cancel_token(),
        &mut progress,
    )
    .await?;
    progress.finish();
    fetched.searches = searches;
    let partner_id = args.partner_id.clone().or(session.partner_fallback.clone());
    let summary = report::export(&session, &described, &fetched, started, import);
    session.close().await;
    let output = args.output.clone();
    let (fetched, errors_file, mut summary) = offline::blocking(move || {
        let layout = match import {
            true => Some(ImportLayout::new(
                &mapping.0,
                &mapping.1,
                fetched.max_items,
                partner_id,
            )?),
            false => None,
        };
        let shape = layout.as_ref().map_or(
            output::export::Layout::Report,
            output::export::Layout::Import,
        );
        let errors_file = output::export::write(&output, format, &fetched, shape, &summary)?;
        Ok((fetched, errors_file, summary))
    })
    .await?;
    let exit = report::export_exit(&fetched);
    report::export_done(&mut summary, &args.output, errors_file.as_deref(), exit);
    let line = report::export_text(&fetched, &args.output, errors_file.as_deref());
    report::print(args.json, global.quiet, &summary, &line);
    Ok(exit)
}
