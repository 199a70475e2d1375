//! The journal's part in an import's lifecycle: where it is, refusing to start over an import
//! that did not finish, opening it (new, or the one `--resume` continues), and closing it with
//! how the run ended. Imports into the embedded sandbox keep no journal: its leads die with the
//! process, so there is nothing to resume.

use std::path::{Path, PathBuf};

use crate::cli::ImportArgs;
use crate::output::Summary;
use crate::pipeline::journal::{self, FORMAT, Header, Journal, Recorded};
use crate::pipeline::{Prepared, RunEnd, Status};
use crate::{Error, sheet};

/// The journal of the results `results`: `--journal`, else beside them with the extension
/// `.journal` (`leads.results.xlsx` → `leads.results.journal`).
pub fn path(results: &Path, journal: Option<&Path>) -> PathBuf {
    journal.map_or_else(|| results.with_extension("journal"), Path::to_path_buf)
}

/// What an import keeps: the journal it writes, and the outcomes of the run it resumes.
pub struct Kept {
    pub journal: Journal,
    pub resumed: Option<Recorded>,
}

/// Reads the journal an earlier run left, before anything is read or sent; refuses to start
/// over an unfinished one without `--resume`.
///
/// # Errors
/// [`Error::Journal`] for a journal that cannot be read, is not one, or is unfinished.
pub fn earlier(path: &Path, args: &ImportArgs, quiet: bool) -> Result<Option<Recorded>, Error> {
    if args.connection.sandbox {
        if args.resume && !quiet {
            eprintln!(
                "leadsheet import: --resume: the embedded sandbox keeps its leads only while it runs, so there is nothing to resume; importing from the beginning"
            );
        }
        return Ok(None);
    }
    let earlier = journal::read(path)?;
    if !args.resume {
        journal::check_not_unfinished(path, earlier.as_ref())?;
    }
    if args.resume && earlier.is_none() && !quiet {
        eprintln!(
            "leadsheet import: --resume: there is no journal at {}; importing from the beginning",
            path.display()
        );
    }
    Ok(earlier)
}

fn mapping_sha256(p: &Prepared) -> String {
    if p.mapping_path.is_file() {
        sheet::sha256_file(&p.mapping_path).unwrap_or_default()
    } else {
        p.mapping_path.display().to_string()
    }
}

/// Opens the journal once the input is read and the server known (`None` for the sandbox).
///
/// # Errors
/// [`Error::Journal`] when a resumed run is not the journal's (without `--force`) or the
/// journal cannot be written.
pub fn open(
    path: &Path,
    p: &Prepared,
    server: &str,
    earlier: Option<Recorded>,
    args: &ImportArgs,
    quiet: bool,
) -> Result<Option<Kept>, Error> {
    if args.connection.sandbox {
        return Ok(None);
    }
    let header = Header {
        journal: FORMAT,
        leadsheet: env!("CARGO_PKG_VERSION").into(),
        started: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        input: p.info().display.clone(),
        input_sha256: p.info().sha256.clone(),
        mapping: p.mapping_path.display().to_string(),
        mapping_sha256: mapping_sha256(p),
        mode: p.resolved.mode.as_str().into(),
        api_version: p.resolved.version.as_str().into(),
        base_url: server.to_string(),
    };
    let replacing = earlier.is_some() && !args.resume;
    let (journal, resumed) = journal::open(path, &header, earlier, args.resume, args.force)?;
    if !quiet {
        if let Some(r) = &resumed {
            eprintln!(
                "leadsheet import: resuming from {}: {} lead(s) settled are not sent again, {} sent without an outcome are searched for first",
                path.display(),
                r.settled(),
                r.uncertain()
            );
        } else if replacing {
            eprintln!(
                "leadsheet import: replacing the journal of a finished import at {}",
                path.display()
            );
        }
    }
    Ok(Some(Kept { journal, resumed }))
}

/// Closes the journal with how the run ended; adds it to the summary.
///
/// # Errors
/// [`Error::Journal`] when its last writes failed.
pub fn close(
    kept: Option<Kept>,
    end: &RunEnd,
    p: &Prepared,
    summary: &mut Summary,
) -> Result<bool, Error> {
    let Some(kept) = kept else {
        return Ok(true);
    };
    let leads = p.recorder.leads_by_status();
    let unsettled = [Status::Failed, Status::NotSubmitted, Status::Valid]
        .iter()
        .any(|s| leads.contains_key(s));
    let complete = *end == RunEnd::Completed && !unsettled;
    let path = kept.journal.path().to_path_buf();
    let resumed = kept.resumed.as_ref().map_or(0, Recorded::settled);
    kept.journal.finish(&end.describe(), complete)?;
    summary
        .add("Journal", Some("journal"), path.display().to_string())
        .add("Leads settled by an earlier run", Some("resumed"), resumed);
    Ok(complete)
}
