//! What the user typed, resolved once into the settings the library takes: the input flags
//! into an [`OfflinePlan`], the connection and sending flags into [`ClientSettings`], the export
//! flags into a [`Selection`]. Every usage error of the command line is found here, before
//! anything is read or sent, and named by its flag.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;

use crate::Error;
use crate::api::contract::ApiVersion;
use crate::cli::{ConnectionArgs, ExportArgs, ImportArgs, InputArgs, Layout, SendArgs};
use crate::config;
use crate::export::{self, Criteria, Selection, criteria};
use crate::mapping::{MappingConfig, Mode};
use crate::output::{self, Format};
use crate::pipeline::{OfflinePlan, SubmitSettings};
use crate::sandbox::DEMO_PARTNER_ID;
use crate::sheet::{Limits, ReadOptions, parse_delimiter};

/// The mapping of `--mapping`, or the default layout; and the path messages name it by.
///
/// # Errors
/// [`Error::Mapping`] when the file cannot be read or parsed.
pub fn mapping(path: Option<&Path>) -> Result<(MappingConfig, PathBuf), Error> {
    Ok(match path {
        Some(p) => (MappingConfig::load(p)?, p.to_path_buf()),
        None => (
            MappingConfig::default_layout(),
            PathBuf::from("(default layout)"),
        ),
    })
}

/// The offline stage's plan from the input flags. `fallback_partner_id` is the profile's (or
/// the sandbox's) partner id, used when neither the flags nor the mapping give one.
///
/// # Errors
/// [`Error::Usage`] for a flag that cannot work, [`Error::Mapping`] for a mapping that
/// cannot be read.
pub fn offline_plan(
    args: &InputArgs,
    spool_requests: bool,
    fallback_partner_id: Option<String>,
) -> Result<OfflinePlan, Error> {
    let (mapping, mapping_path) = mapping(args.mapping.as_deref())?;
    let encoding = match &args.encoding {
        Some(label) => Some(
            encoding_rs::Encoding::for_label(label.as_bytes()).ok_or_else(|| {
                Error::usage(format!(
                    "--encoding: unknown encoding `{label}` (try utf-8, windows-1252, utf-16le)"
                ))
            })?,
        ),
        None => None,
    };
    let delimiter = match args.delimiter.as_deref() {
        None => None,
        Some(d) => Some(parse_delimiter(d).ok_or_else(|| {
            Error::usage(format!(
                "--delimiter `{d}` must be one character (or `tab`)"
            ))
        })?),
    };
    let mode = args.mode.or(mapping.settings.mode).unwrap_or(Mode::Create);
    let version = args
        .api_version
        .or(mapping.settings.api_version)
        .unwrap_or_default();
    Ok(OfflinePlan {
        input: args.input.clone(),
        read: ReadOptions {
            sheet: args.sheet.clone(),
            header_row: args.header_row,
            delimiter,
            encoding,
            expected_headers: Vec::new(),
            limits: Limits {
                max_unzipped: args.max_unzipped,
                max_row_bytes: args.max_row_size,
            },
        },
        mapping,
        mapping_path,
        mode,
        version,
        partner_id: args.partner_id.clone().filter(|p| !p.trim().is_empty()),
        fallback_partner_id,
        spool_requests,
        today: today()?,
    })
}

/// The day rows are judged on: `LEADSHEET_TODAY` (`YYYY-MM-DD`), else today in UTC. Checking
/// a file as of another day gives the same verdicts every time (tests, reproducible reports).
///
/// # Errors
/// [`Error::Usage`] for a `LEADSHEET_TODAY` that is not a date.
fn today() -> Result<chrono::NaiveDate, Error> {
    match std::env::var("LEADSHEET_TODAY") {
        Ok(d) if !d.trim().is_empty() => chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            .map_err(|_| Error::usage(format!("LEADSHEET_TODAY `{d}` is not a date (YYYY-MM-DD)"))),
        _ => Ok(Utc::now().date_naive()),
    }
}

/// The partner id of the config profile (`LEADSHEET_PROFILE`, else `default`), as `import`
/// would use it. A config file that cannot be read is only a warning here: nothing is sent.
pub fn profile_partner_id() -> Option<String> {
    let path = config::config_path(None);
    let profile = std::env::var("LEADSHEET_PROFILE").ok();
    match config::load_profile(&path, profile.as_deref()) {
        Ok(p) => p.partner_id,
        Err(e) => {
            tracing::warn!("{e}");
            None
        }
    }
}

/// The partner id `import --dry-run` falls back on without connecting: the profile's, or the
/// sandbox's demo partner.
///
/// # Errors
/// [`Error::Config`] when the named profile or its file cannot be read.
pub fn offline_partner_fallback(args: &ConnectionArgs) -> Result<Option<String>, Error> {
    let path = config::config_path(args.config.as_deref());
    let profile = config::load_profile(&path, args.profile.as_deref())?;
    Ok(match (profile.partner_id, args.sandbox) {
        (Some(p), _) => Some(p),
        (None, true) => Some(DEMO_PARTNER_ID.to_string()),
        (None, false) => None,
    })
}

/// Where the results go, refused before anything is read or sent when its name asks for a
/// format the results do not have (after an import, losing them would be the worst failure).
///
/// # Errors
/// [`Error::Output`] for a name such as `results.json`.
pub fn results(input: &str, output: Option<&Path>) -> Result<PathBuf, Error> {
    let path = results_path(input, output);
    output::Format::choose(
        &path,
        "the results",
        output::results::FORMATS,
        Some(Format::Xlsx),
    )?;
    Ok(path)
}

/// `-o`, or `leads.xlsx` → `leads.results.xlsx` beside the input; stdin → `stdin.results.xlsx`.
/// A stream has no beside: its results go in the current directory, named after a named pipe
/// (`leads` → `leads.results.xlsx`), else `stdin.results.xlsx` (`<(…)` is `/dev/fd/63`, whose
/// number says nothing).
pub fn results_path(input: &str, output: Option<&Path>) -> PathBuf {
    if let Some(o) = output {
        return o.to_path_buf();
    }
    let p = Path::new(input);
    if input == "-" || crate::files::is_stream(p) {
        return PathBuf::from(format!("{}.results.xlsx", crate::files::stream_stem(p)));
    }
    let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("input");
    p.with_file_name(format!("{stem}.results.xlsx"))
}

/// How an import sends: `--concurrency`, the grace period after Ctrl-C, `--skip-unchanged`.
pub fn submit(args: &ImportArgs, mode: Mode, grace: Duration) -> SubmitSettings {
    SubmitSettings {
        concurrency: usize::from(args.send.concurrency),
        mode,
        grace,
        skip_unchanged: args.skip_unchanged,
    }
}

/// Refuses, before any work, outputs that would destroy something or cannot be written: an
/// output that is one of the `inputs` (the input, the mapping, an ids file), two outputs on one
/// path (the results over the journal, whose loss would break `--resume`), an output that is a
/// directory, in a directory that does not exist, or a read-only file (its owner protected
/// it). Each comes with the words that name it (`-o`, "the mapping"). Streams (`-`,
/// `/dev/stdout`) are written as they are and not compared.
///
/// # Errors
/// [`Error::Usage`] naming the paths.
pub fn check_paths(
    inputs: &[(&str, Option<&Path>)],
    outputs: &[(&str, Option<&Path>)],
) -> Result<(), Error> {
    let files = |list: &[(&str, Option<&Path>)]| -> Vec<(String, Option<PathBuf>, PathBuf)> {
        list.iter()
            .filter_map(|&(what, p)| {
                let p = p?;
                if p.as_os_str() == "-" || crate::files::is_stream(p) {
                    return None;
                }
                Some((what.to_string(), identity(p), p.to_path_buf()))
            })
            .collect()
    };
    // An input file that does not exist is its reader's to report, with its own words and
    // exit code (the first of `inputs` is the file read).
    if let Some((_, Some(p))) = inputs.first()
        && p.as_os_str() != "-"
        && !p.exists()
    {
        return Ok(());
    }
    let (ins, outs) = (files(inputs), files(outputs));
    for (i, (what, id, path)) in outs.iter().enumerate() {
        writable(what, path)?;
        if id.is_none() {
            continue;
        }
        if let Some((input, _, _)) = ins.iter().find(|(_, i, _)| i == id) {
            return Err(Error::usage(format!(
                "{what} {} is {input}: writing there would overwrite it; choose another path",
                path.display()
            )));
        }
        if let Some((other, _, _)) = outs[..i].iter().find(|(_, o, _)| o == id) {
            return Err(Error::usage(format!(
                "{other} and {what} are the same file, {}: one would overwrite the other; choose another path for one",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Refuses an `--emit-requests` name of another kind than JSON lines (`.jsonl`, `.ndjson`,
/// `.json`, no extension, or a stream).
///
/// # Errors
/// [`Error::Output`] naming the path.
pub fn requests_format(path: Option<&Path>) -> Result<(), Error> {
    if let Some(p) = path {
        Format::choose(p, "--emit-requests", &[Format::Jsonl], Some(Format::Jsonl))?;
    }
    Ok(())
}

/// Where `path` is, whether it exists or not: the canonical path, or that of its directory and
/// its name.
fn identity(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(path) {
        return Some(p);
    }
    let dir = dir_of(path);
    Some(std::fs::canonicalize(dir).ok()?.join(path.file_name()?))
}

/// The directory `path` names a file in (`.` for a bare name).
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Refuses an output that cannot be written, before the work that would be lost with it.
fn writable(what: &str, path: &Path) -> Result<(), Error> {
    let refuse = |why: String| Err(Error::usage(format!("{what} {}: {why}", path.display())));
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.is_dir() {
            return refuse("is a directory; name a file in it".into());
        }
        if meta.permissions().readonly() {
            return refuse(
                "is read-only, and leadsheet does not replace a file its owner protected; choose another path, or make it writable".into(),
            );
        }
        return Ok(());
    }
    let dir = dir_of(path);
    if !dir.is_dir() {
        return refuse(format!("the directory {} does not exist", dir.display()));
    }
    Ok(())
}

/// Everything the client of an online command is built from.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub connection: ConnectionArgs,
    pub version: ApiVersion,
    pub timeout: Duration,
    pub max_retries: u32,
    pub concurrency: usize,
    pub rate: Option<f64>,
}

impl ClientSettings {
    /// The settings of `--concurrency`, `--rate`, `--max-retries` and `--timeout`.
    ///
    /// # Errors
    /// [`Error::Usage`] for a `--rate` below one request an hour.
    pub fn new(
        connection: &ConnectionArgs,
        send: &SendArgs,
        version: ApiVersion,
    ) -> Result<ClientSettings, Error> {
        // Below one request an hour is surely a typo (and 1/rate must fit a Duration).
        if matches!(send.rate, Some(r) if !(r.is_finite() && r >= 1.0 / 3600.0)) {
            return Err(Error::usage(
                "--rate must be a number of requests per second of at least 0.0003 (one an hour)",
            ));
        }
        Ok(ClientSettings {
            connection: connection.clone(),
            version,
            timeout: Duration::from_secs(send.timeout.max(1)),
            max_retries: send.max_retries,
            concurrency: usize::from(send.concurrency),
            rate: send.rate,
        })
    }

    /// One request at a time, no rate (get, portfolio).
    pub fn single(
        connection: &ConnectionArgs,
        version: ApiVersion,
        timeout: u64,
        max_retries: u32,
    ) -> ClientSettings {
        ClientSettings {
            connection: connection.clone(),
            version,
            timeout: Duration::from_secs(timeout.max(1)),
            max_retries,
            concurrency: 1,
            rate: None,
        }
    }
}

/// The format of an export's `-o`, and with `--layout import` the mapping whose columns it
/// writes (the default layout without `--mapping`).
///
/// # Errors
/// [`Error::Usage`] for `--mapping` without `--layout import`, [`Error::Output`] for a file
/// name of another format, [`Error::Mapping`] for a mapping that cannot be read.
pub fn export_output(
    args: &ExportArgs,
) -> Result<(Format, Option<(MappingConfig, PathBuf)>), Error> {
    let import = args.layout == Layout::Import;
    if args.mapping.is_some() && !import {
        return Err(Error::usage("--mapping goes with --layout import"));
    }
    let (what, formats) = if import {
        ("an import-layout export", output::export::LAYOUT_FORMATS)
    } else {
        ("an export", output::export::FORMATS)
    };
    let format = Format::choose(&args.output, what, formats, None)?;
    let errors = (format != Format::Xlsx).then(|| output::export::errors_path(&args.output));
    check_paths(
        &[
            ("the --ids file", args.ids_file.as_deref().map(Path::new)),
            (
                "the --partner-lead-ids file",
                args.partner_lead_ids_file.as_deref().map(Path::new),
            ),
            ("the mapping", args.mapping.as_deref()),
        ],
        &[
            ("-o", Some(&args.output)),
            ("the errors file", errors.as_deref()),
        ],
    )?;
    let mapping = match import {
        true => Some(mapping(args.mapping.as_deref())?),
        false => None,
    };
    Ok((format, mapping))
}

/// Which leads an export reads, and the Summary lines that describe the choice.
///
/// # Errors
/// [`Error::Usage`] for dates that cannot be read or do not make a range, and for an id file
/// that holds no id; [`Error::Sheet`] for an id file that cannot be read.
pub fn export_selection(args: &ExportArgs) -> Result<(Selection, Vec<(String, String)>), Error> {
    let mut described = Vec::new();
    let mut ids = args.ids.clone();
    if let Some(f) = &args.ids_file {
        let from_file = export::ids_from_file(f, &["dsLeadOpportunityId", "3DS ID", "id"])
            .map_err(|e| Error::from(e).context(format!("reading ids from {f}")))?;
        if from_file.is_empty() {
            return Err(Error::usage(format!("--ids {f}: the file holds no ids")));
        }
        ids.extend(from_file);
        described.push(("Ids file".to_string(), f.clone()));
    }
    if !ids.is_empty() {
        let mut seen = std::collections::HashSet::new();
        ids.retain(|i| seen.insert(i.clone()));
        described.push(("Ids".into(), format!("{} given", ids.len())));
        return Ok((Selection::Ids(ids), described));
    }
    let now = Utc::now();
    let mut c = Criteria::default();
    let flag = |name: &'static str| move |m: String| Error::usage(format!("{name}: {m}"));
    let range = match (&args.modified_since, &args.modified_from, &args.modified_to) {
        (Some(since), _, _) => Some((
            criteria::parse_since(since, now).map_err(flag("--modified-since"))?,
            now,
        )),
        (None, Some(from), to) => {
            let from = criteria::parse_instant(from).map_err(flag("--modified-from"))?;
            let to = match to {
                Some(t) => criteria::parse_instant(t).map_err(flag("--modified-to"))?,
                None => now,
            };
            if from >= to {
                return Err(Error::usage("--modified-from must be before --modified-to"));
            }
            Some((from, to))
        }
        _ => None,
    };
    if let Some((from, to)) = range {
        if to.min(now) - from > criteria::MAX_RANGE {
            return Err(Error::usage(format!(
                "the date range from {} is longer than 20 years: check the year (a range is searched 7 days at a time)",
                from.format("%Y-%m-%d")
            )));
        }
        c.windows = criteria::windows(from, to, now);
        if c.windows.is_empty() {
            return Err(Error::usage(
                "the date range lies in the future: nothing can have been modified then",
            ));
        }
        let secs = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        described.push((
            "Modified".into(),
            format!("{} → {}", secs(from), secs(to.min(now))),
        ));
        described.push((
            "Search windows".into(),
            format!(
                "{} (of at most 7 days)\n{}",
                c.windows.len(),
                export::describe_windows(&c.windows)
            ),
        ));
    }
    c.partner_lead_ids = args.partner_lead_ids.clone();
    if let Some(f) = &args.partner_lead_ids_file {
        let from_file = export::ids_from_file(
            f,
            &[
                "partnerLeadOpportunityId",
                "leadOpportunity.partnerLeadOpportunityId",
            ],
        )
        .map_err(|e| Error::from(e).context(format!("reading partner lead ids from {f}")))?;
        // An empty list must not quietly widen the export to every lead of the dates.
        if from_file.is_empty() {
            return Err(Error::usage(format!(
                "--partner-lead-ids {f}: the file holds no ids"
            )));
        }
        c.partner_lead_ids.extend(from_file);
    }
    if !c.partner_lead_ids.is_empty() {
        described.push((
            "partnerLeadOpportunityId".into(),
            format!("{} id(s)", c.partner_lead_ids.len()),
        ));
    }
    if args.unassigned {
        c.partner_lead_ids = vec![String::new()];
        described.push((
            "partnerLeadOpportunityId".into(),
            "\"\" (unassigned marketing leads)".into(),
        ));
    }
    if c.windows.is_empty() && c.partner_lead_ids.is_empty() {
        return Err(Error::usage(
            "say which leads: --modified-since, --modified-from/--modified-to, --partner-lead-id(s), --unassigned, --id or --ids",
        ));
    }
    Ok((Selection::Search(c), described))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_beside_the_input() {
        assert_eq!(
            results_path("dir/leads.xlsx", None),
            PathBuf::from("dir/leads.results.xlsx")
        );
        assert_eq!(results_path("-", None), PathBuf::from("stdin.results.xlsx"));
        #[cfg(unix)]
        for (stream, results) in [
            ("/dev/fd/63", "stdin.results.xlsx"),
            ("/dev/stdin", "stdin.results.xlsx"),
            ("/proc/self/fd/0", "stdin.results.xlsx"),
        ] {
            assert_eq!(
                results_path(stream, None),
                PathBuf::from(results),
                "{stream}"
            );
        }
        assert_eq!(
            results_path("leads.csv", Some(Path::new("out.csv"))),
            PathBuf::from("out.csv")
        );
    }
}
