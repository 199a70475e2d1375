//! `leadsheet portfolio`: every item of the sales portfolio, as a workbook or a CSV. A page
//! that fails after retries stops the run and no file is left behind: a catalogue with a silent
//! gap would be worse than none.

use super::session::Session;
use super::settings::ClientSettings;
use crate::api::contract::ApiVersion;
use crate::cli::{GlobalArgs, PortfolioArgs};
use crate::export::portfolio;
use crate::output::{self, Format, Summary};
use crate::terminal::Progress;
use crate::{Error, Exit};

pub async fn run(global: &GlobalArgs, args: PortfolioArgs) -> Result<Exit, Error> {
    let format = Format::choose(
        &args.output,
        "the portfolio",
        output::portfolio::FORMATS,
        None,
    )?;
    let client = ClientSettings::single(
        &args.connection,
        ApiVersion::V0,
        args.timeout,
        args.max_retries,
    );
    let session = Session::connect(&client, global.quiet).await?;
    let quiet = global.quiet;
    let page_size = args.page_size as usize;
    let fetched = portfolio::fetch(&session.client, page_size, |n| {
        Progress::new(n, quiet, "portfolio")
    })
    .await;
    let server = session.label.clone();
    session.close().await;
    let catalogue = fetched?;
    let n = catalogue.items.len();
    if let Some(e) = catalogue.estimate.filter(|e| *e != n as u64 && !quiet) {
        crate::say!(
            "leadsheet portfolio: note: the server estimated {e} items and returned {n} distinct ones"
        );
    }
    output::portfolio::write(&args.output, format, &catalogue)?;
    let mut summary = Summary::default();
    summary
        .add("Command", Some("command"), "portfolio")
        .add("Items", Some("items"), n)
        .add("Pages", Some("pages"), catalogue.pages)
        .json("estimatedSearchCount", catalogue.estimate.into())
        .add("Output", Some("output"), args.output.display().to_string());
    let line = format!(
        "leadsheet portfolio: {n} item(s) in {} page(s) from {}{} → {}",
        catalogue.pages,
        server,
        catalogue
            .estimate
            .map(|e| format!(" (estimatedSearchCount {e})"))
            .unwrap_or_default(),
        args.output.display()
    );
    super::report::print(args.json, quiet, &summary, &line);
    Ok(Exit::Success)
}
