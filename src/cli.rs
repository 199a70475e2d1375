//! The command line as the user typed it: clap derive types and nothing more. Commands resolve
//! these into their real settings once every flag is known.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::api::contract::ApiVersion;
use crate::mapping::Mode;
use crate::sheet::SheetSelector;

const EXIT_CODES: &str = "\
Exit codes:
  0  every row succeeded
  1  a fatal error stopped the run (unreadable file, refused API key, server down)
  2  the run finished but some rows were invalid, rejected, failed or not sent
     (EXISTS and UNCHANGED are not failures)
  3  configuration or usage error; nothing was done
  130  a second Ctrl-C quit at once, without writing results";

#[derive(Debug, Parser)]
#[command(name = "leadsheet", version, about = "Move 3DS API4Partners pipeline data between spreadsheets and the sales API", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Print nothing but errors on stderr
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// More logging on stderr (-v: info, -vv: debug)
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a spreadsheet against a mapping and the API contract; send nothing
    Validate(ValidateArgs),
    /// Create or update leads from a spreadsheet and write the results workbook
    Import(ImportArgs),
    /// Show one lead-opportunity by its dsLeadOpportunityId
    Get(GetArgs),
    /// Export leads (by modified date, partner ids, unassigned, or ids) to XLSX, CSV or JSONL
    Export(ExportArgs),
    /// Export the sales portfolio-items catalogue
    Portfolio(PortfolioArgs),
    /// Write a blank import workbook for a mapping, with a dropdown for every enum column
    Template(TemplateArgs),
    /// Serve the embedded API4Partners sandbox (no credentials, no network)
    Sandbox(SandboxArgs),
}

/// Where rows come from and how they become requests (shared by validate and import).
#[derive(Debug, Args, Clone)]
pub struct InputArgs {
    /// The spreadsheet: CSV, TSV, TXT, XLSX, XLSM, XLSB, XLS or ODS; `-` reads stdin
    pub input: String,
    /// The mapping file (TOML); default: columns named by API path (leadOpportunity.name, …)
    #[arg(long, short = 'm', value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Sheet name or 1-based number (default: the mapping's, else the first sheet)
    #[arg(long, value_name = "NAME|N")]
    pub sheet: Option<SheetSelector>,
    /// 1-based row of the headers (default: found among the first rows, by the mapping's columns)
    #[arg(long, value_name = "N")]
    pub header_row: Option<u32>,
    /// CSV delimiter: , ; | or tab (default: detected)
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// CSV encoding, e.g. utf-8, windows-1252, utf-16le (default: detected)
    #[arg(long, value_name = "LABEL")]
    pub encoding: Option<String>,
    /// create, update (by dsLeadOpportunityId) or upsert (update rows with an id, create the rest)
    #[arg(long, value_name = "MODE")]
    pub mode: Option<Mode>,
    /// API version of create/update/get (default v1; v0 is deprecated)
    #[arg(long, value_name = "v1|v0")]
    pub api_version: Option<ApiVersion>,
    /// The reseller's 3DS legal-entity id sent as partnerId (wins over the mapping)
    #[arg(long, env = "LEADSHEET_PARTNER_ID", value_name = "ID")]
    pub partner_id: Option<String>,
    /// Most a workbook (XLSX, XLSB, ODS) may inflate to when unzipped, e.g. 4GiB
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = crate::sheet::limits::parse_size)]
    pub max_unzipped: u64,
    /// Most bytes one CSV row may have, e.g. 64MiB
    #[arg(long, value_name = "SIZE", default_value = "16MiB", value_parser = crate::sheet::limits::parse_size)]
    pub max_row_size: u64,
}

#[derive(Debug, Args, Clone)]
#[command(after_help = EXIT_CODES)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Results file: .xlsx (Results, Problems, Summary sheets) or .csv (default: INPUT.results.xlsx)
    #[arg(long, short = 'o', value_name = "RESULTS")]
    pub output: Option<PathBuf>,
    /// Also write the JSON body each valid lead would send, one per line
    #[arg(long, value_name = "FILE.jsonl")]
    pub emit_requests: Option<PathBuf>,
    /// Print the summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// Which server, which profile. The API key is never a flag: it comes from
/// LEADSHEET_API_KEY or the profile's `api_key`.
#[derive(Debug, Args, Clone, Default)]
pub struct ConnectionArgs {
    /// A 3DS environment: prd (production) or ppt, qal, ptd, ppd
    #[arg(long, value_enum, value_name = "ENV")]
    pub env: Option<crate::config::Env>,
    /// Another server, e.g. https://apigw-ppt.3ds.com (plain http only to this machine)
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Start the embedded sandbox in-process and use it (demo key, no network)
    #[arg(long)]
    pub sandbox: bool,
    /// With --sandbox: preload N leads (as `leadsheet sandbox --preload N --seed 1`)
    #[arg(long, value_name = "N", default_value_t = 0, requires = "sandbox", value_parser = parse_preload)]
    pub sandbox_preload: usize,
    /// Profile of the config file (default: `default`)
    #[arg(long, env = "LEADSHEET_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// Config file (default: ~/.config/leadsheet/config.toml)
    #[arg(long, env = "LEADSHEET_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// How requests are sent.
#[derive(Debug, Args, Clone)]
pub struct SendArgs {
    /// Requests in flight at most
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=512))]
    pub concurrency: u16,
    /// Client-side limit in requests per second (default: none; 429s still slow everyone down)
    #[arg(long, value_name = "PER_SEC")]
    pub rate: Option<f64>,
    /// Further attempts after a 503, a timeout or a network error (429s have their own budget)
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub max_retries: u32,
    /// Seconds before a request is given up (a create then is reconciled by a search)
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

#[derive(Debug, Args, Clone)]
#[command(after_help = EXIT_CODES)]
pub struct ImportArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub send: SendArgs,
    /// Results file: .xlsx (Results, Problems, Summary sheets) or .csv (default: INPUT.results.xlsx)
    #[arg(long, short = 'o', value_name = "RESULTS")]
    pub output: Option<PathBuf>,
    /// Check and write the results, but send nothing (same as `validate`)
    #[arg(long, conflicts_with = "resume")]
    pub dry_run: bool,
    /// Read each lead before updating it, and skip it (UNCHANGED) when the row would change
    /// nothing: for round trips of exported files (one more GET per update)
    #[arg(long)]
    pub skip_unchanged: bool,
    /// Continue an import that was interrupted or killed, from its journal: settled rows are
    /// not sent again, rows sent without an answer are searched for first
    #[arg(long)]
    pub resume: bool,
    /// With --resume: continue although the input, mapping, mode or server changed
    #[arg(long, requires = "resume")]
    pub force: bool,
    /// The journal of the import (default: the results file with the extension .journal)
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Also write the JSON body of each valid lead, one per line
    #[arg(long, value_name = "FILE.jsonl")]
    pub emit_requests: Option<PathBuf>,
    /// Print the summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
#[command(after_help = EXIT_CODES)]
pub struct GetArgs {
    /// The 3DS id, e.g. 9YEL-Y3W56Q
    pub id: String,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// API version of the get (default v1)
    #[arg(long, value_name = "v1|v0")]
    pub api_version: Option<ApiVersion>,
    /// Seconds before the request is given up
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Print the lead as JSON (the API's read model)
    #[arg(long)]
    pub json: bool,
}

/// The two layouts of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Layout {
    /// Every field of the read model, children on their own sheets (reporting)
    #[default]
    Report,
    /// The columns of a mapping (default: the API-path layout), to edit and re-import
    Import,
}

#[derive(Debug, Args, Clone)]
#[command(after_help = EXIT_CODES)]
pub struct ExportArgs {
    /// Leads modified from this date-time (UTC or with an offset, e.g. 2025-08-04T08:00:00Z or 2025-08-04)
    #[arg(long, value_name = "DATETIME", conflicts_with = "modified_since")]
    pub modified_from: Option<String>,
    /// …until this date-time (default: now)
    #[arg(long, value_name = "DATETIME", requires = "modified_from")]
    pub modified_to: Option<String>,
    /// Leads modified in the last 90m, 36h, 30d, 2w, or since a date
    #[arg(long, value_name = "DURATION|DATE")]
    pub modified_since: Option<String>,
    /// Leads with this partnerLeadOpportunityId (repeatable)
    #[arg(long = "partner-lead-id", value_name = "ID")]
    pub partner_lead_ids: Vec<String>,
    /// Leads whose partnerLeadOpportunityIds are in a column of this sheet or CSV
    #[arg(long = "partner-lead-ids", value_name = "FILE")]
    pub partner_lead_ids_file: Option<String>,
    /// Leads without a partnerLeadOpportunityId: marketing leads waiting to be picked up
    #[arg(long, conflicts_with_all = ["partner_lead_ids", "partner_lead_ids_file"])]
    pub unassigned: bool,
    /// A known dsLeadOpportunityId, no search (repeatable)
    #[arg(long = "id", value_name = "ID", conflicts_with_all = ["modified_from", "modified_since", "partner_lead_ids", "partner_lead_ids_file", "unassigned"])]
    pub ids: Vec<String>,
    /// Known dsLeadOpportunityIds from a column of this sheet or CSV, no search
    #[arg(long = "ids", value_name = "FILE", conflicts_with_all = ["modified_from", "modified_since", "partner_lead_ids", "partner_lead_ids_file", "unassigned"])]
    pub ids_file: Option<String>,
    /// Output: .xlsx (Leads, OfferLines, CustomerContacts, PartnerContacts, Errors, Summary), .csv or .jsonl
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// report (every field) or import (a mapping's columns, to edit and re-import)
    #[arg(long, value_enum, default_value_t = Layout::Report)]
    pub layout: Layout,
    /// With --layout import: the mapping whose columns to write
    #[arg(long, short = 'm', value_name = "FILE", requires = "layout")]
    pub mapping: Option<PathBuf>,
    /// The partnerId written in the import layout (also LEADSHEET_PARTNER_ID)
    #[arg(long, env = "LEADSHEET_PARTNER_ID", value_name = "ID")]
    pub partner_id: Option<String>,
    /// API version of the details (default v1)
    #[arg(long, value_name = "v1|v0")]
    pub api_version: Option<ApiVersion>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub send: SendArgs,
    /// Print the summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
#[command(after_help = EXIT_CODES)]
pub struct PortfolioArgs {
    /// Output: .xlsx or .csv
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// Items per page (the API's default is 9999)
    #[arg(long, default_value_t = 500, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=9999))]
    pub page_size: u32,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Further attempts after a 503, a timeout or a network error (429s have their own budget)
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub max_retries: u32,
    /// Seconds before a request is given up
    #[arg(long, default_value_t = 60, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Print the summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
#[command(after_help = EXIT_CODES)]
pub struct TemplateArgs {
    /// The mapping whose columns the workbook has (default: the API-path layout)
    #[arg(long, short = 'm', value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// API version whose enum values the dropdowns offer (default: the mapping's, else v1)
    #[arg(long, value_name = "v1|v0")]
    pub api_version: Option<ApiVersion>,
    /// Numbered column groups (`Offer {n} Amount`) get this many items
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=50))]
    pub items: u16,
    /// Output: .xlsx
    #[arg(long, short = 'o', value_name = "FILE.xlsx")]
    pub output: PathBuf,
}

#[derive(Debug, Args, Clone)]
#[command(after_help = EXIT_CODES)]
pub struct SandboxArgs {
    /// Address to listen on; port 0 picks a free port. The first line on stdout is the base URL.
    /// Loopback by default; any other address is reachable from the network (a warning says so).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub addr: SocketAddr,
    /// An API key to accept (repeatable; default: the documented demo key `sandbox-demo-key`)
    #[arg(
        long = "api-key",
        value_name = "KEY",
        env = "LEADSHEET_SANDBOX_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,
    /// Create N realistic leads over the last 90 days, some unassigned marketing leads
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = parse_preload)]
    pub preload: usize,
    /// Seed for ids, preloaded data and every fault decision
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Delay every request by this many milliseconds
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,
    /// Add a random 0..=MS milliseconds to every request
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub jitter_ms: u64,
    /// Requests per second per API key before answering 429 with Retry-After (0: no limit)
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub rate_limit: u32,
    /// Fraction (0..1) of requests answered 503 ERR899 without doing anything
    #[arg(long = "fail-503", default_value_t = 0.0, value_name = "P")]
    pub fail_503: f64,
    /// Fraction (0..1) of creates/updates that are stored and then answered 503 or dropped
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub commit_then_fail: f64,
    /// Fraction (0..1) of requests whose connection is closed before anything is done
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub drop: f64,
    /// Fraction (0..1) of requests delayed by --slow-ms more
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub slow: f64,
    /// Extra delay of the slow requests
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub slow_ms: u64,
    /// Largest accepted request body in bytes; larger bodies get 413 and the connection closes
    #[arg(long, default_value_t = crate::sandbox::DEFAULT_MAX_BODY_BYTES, value_name = "BYTES")]
    pub max_body_bytes: usize,
}

/// The most leads the sandbox preloads: its store is in memory, and a demo needs thousands, not
/// billions (`--preload 4294967295` ran the process out of memory).
const MAX_PRELOAD: usize = 100_000;

fn parse_preload(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("{e}"))?;
    if n > MAX_PRELOAD {
        return Err(format!(
            "at most {MAX_PRELOAD} leads are preloaded (the sandbox keeps them in memory)"
        ));
    }
    Ok(n)
}
