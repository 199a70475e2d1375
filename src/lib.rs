//! leadsheet moves Dassault Systèmes partner pipeline data between the spreadsheets sales-ops
//! teams live in and the 3DS API4Partners sales API.
//!
//! The layers, bottom to top (a layer uses only the ones below it; `ARCHITECTURE.md` has a
//! paragraph on each): `sheet` reads the files users have; `api` holds the contract's
//! vocabulary (`api::contract`), the request models and the client; `problem` is what is wrong
//! with a row; `mapping` turns columns into request fields; `validate` checks them against the
//! contract; `pipeline` runs an import (prepare → submit → record) and `export` runs searches
//! and details; `output` writes every file; `commands` holds one thin `run` per subcommand over
//! a shared session; `cli` is what the user typed. `sandbox` stands apart: the embedded
//! API4Partners server, sharing only the contract's vocabulary.
//!
//! Data flows one way: a sheet row becomes a request (plus problems), a request becomes an
//! outcome, outcomes become the results workbook.
//!
//! The modules are private; what the binary, the tests and the benchmarks use is re-exported
//! here, and that is the library's whole public face.

mod api;
mod cli;
mod commands;
mod config;
mod durable;
mod error;
mod export;
mod files;
mod mapping;
mod output;
mod pipeline;
mod problem;
mod sandbox;
mod scratch;
mod sheet;
mod terminal;
mod validate;

// The command line and how a run ends.
pub use cli::Cli;
pub use error::{Error, chain as error_chain};

// The contract's vocabulary: versions, sections, operations, fields, enum values.
pub use api::contract;

// Reading sheets, mapping cells, checking rows: the offline stage, for tests and benchmarks.
pub use mapping::{Conv, MappingConfig, Mode, date_format, normalize_header, parse_number};
pub use output::results::write_results;
pub use pipeline::{OfflinePlan, Prepared, prepare};
pub use sheet::{
    Cell, Limits, OpenSheet, ReadOptions, RowNum, SheetError, SheetSelector, SourceInfo, SourceRow,
    number_text, open as open_sheet,
};

/// The readers of the API's answers, for the fuzz targets (`tests/fuzz.rs`): an answer of any
/// shape is read as what it holds, never a panic. Not an interface to build on.
#[doc(hidden)]
pub mod answers {
    pub use crate::api::envelope::{
        created_id, failure, search_ids, success_flag, trace_id, updated_id,
    };
    pub use crate::export::layout::{ImportLayout, flatten, lead_headers, lead_row, unknown_keys};
    pub use crate::export::record_id;
}

// The embedded API4Partners server.
pub use sandbox::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONNECTIONS, DEMO_API_KEY, DEMO_PARTNER_ID, RecordSummary, SandboxConfig,
    SandboxError, SandboxHandle, start as start_sandbox,
};

/// Writes a line to stderr. A terminal that went away (a closed SSH session after SIGHUP) is
/// no reason to panic: the line is lost, the run goes on to write its results.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Writes a line to stdout, as [`say!`] does to stderr.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// The process exit codes, documented in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every row succeeded (or the command had no rows).
    Success = 0,
    /// A fatal error stopped the run: unreadable file, refused key, server down.
    Fatal = 1,
    /// The run finished, but some rows were invalid, rejected, failed or not sent (EXISTS and
    /// UNCHANGED are not failures).
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
pub async fn run(cli: Cli) -> Result<Exit, Error> {
    commands::run(cli).await
}
