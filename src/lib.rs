//! leadsheet moves Dassault Systèmes partner pipeline data between the spreadsheets sales-ops
//! teams live in and the 3DS API4Partners sales API.
//!
//! The pipeline runs one way: a sheet row becomes a request (plus problems), a request becomes
//! an outcome, outcomes become the results workbook. Each stage is a module:
//! [`sheet`] reads and writes files, [`mapping`] turns columns into request fields,
//! [`validate`] checks requests against the contract, [`api`] talks to the server,
//! [`pipeline`] runs an import end to end, [`export`] runs searches into sheets, and
//! [`sandbox`] is the embedded API4Partners server everything is tested against.
//! [`commands`] holds one thin `run` per subcommand, [`cli`] what the user typed.

pub mod api;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod export;
pub mod mapping;
pub mod output;
pub mod pipeline;
pub mod problem;
pub mod sandbox;
pub mod sheet;
pub mod terminal;
pub mod validate;

pub use error::Error;

/// The process exit codes, documented in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every row succeeded (or the command had no rows).
    Success = 0,
    /// A fatal error stopped the run: unreadable file, refused key, server down.
    Fatal = 1,
    /// The run finished, but some rows were invalid, rejected or failed.
    RowsFailed = 2,
    /// The configuration or the command line is wrong; nothing was done.
    Usage = 3,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Runs a parsed command line to completion and says how the process should exit.
///
/// # Errors
/// What stopped the command; [`Error::exit`] gives its exit code.
pub async fn run(cli: cli::Cli) -> Result<Exit, Error> {
    commands::run(cli).await
}
