//! One file per subcommand, each a thin `run` over the library, and the dispatch between them.
//! What several commands share is not a command: [`settings`] turns flags into settings,
//! [`session`] is the lifecycle of every online command, [`journal`] an import's journal,
//! [`offline`] the check that `validate` and `import --dry-run` run, [`report`] the summaries.
//! No command imports another.

mod export;
mod get;
mod import;
mod journal;
mod offline;
mod portfolio;
mod report;
mod sandbox;
mod session;
mod settings;
mod template;
mod validate;

use crate::cli::{Cli, Command};
use crate::{Error, Exit};

/// Runs the command the user typed.
///
/// # Errors
/// What stopped the command; [`Error::exit`] says how the process should end.
pub async fn run(cli: Cli) -> Result<Exit, Error> {
    if !matches!(cli.command, Command::Sandbox(_)) {
        session::interrupt_by_default(cli.global.quiet);
    }
    match cli.command {
        Command::Sandbox(args) => sandbox::run(&cli.global, args).await,
        Command::Validate(args) => validate::run(&cli.global, args).await,
        Command::Import(args) => import::run(&cli.global, args).await,
        Command::Get(args) => get::run(&cli.global, args).await,
        Command::Export(args) => export::run(&cli.global, args).await,
        Command::Portfolio(args) => portfolio::run(&cli.global, args).await,
        Command::Template(args) => template::run(&cli.global, args),
    }
}
