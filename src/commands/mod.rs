//! One file per subcommand, each a thin `run` over the library, and the dispatch between them.

mod connect;
mod export;
pub mod get;
mod import;
mod portfolio;
mod sandbox;
mod template;
pub mod validate;

use crate::Exit;
use crate::cli::{Cli, Command};

pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
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
