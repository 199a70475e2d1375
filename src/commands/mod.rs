//! One file per subcommand, each a thin `run` over the library, and the dispatch between them.

mod connect;
pub mod get;
mod import;
mod sandbox;
pub mod validate;

use crate::Exit;
use crate::cli::{Cli, Command};

pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Sandbox(args) => sandbox::run(&cli.global, args).await,
        Command::Validate(args) => validate::run(&cli.global, args).await,
        Command::Import(args) => import::run(&cli.global, args).await,
        Command::Get(args) => get::run(&cli.global, args).await,
    }
}
