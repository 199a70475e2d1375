//! The journal's part in an import's lifecycle: where it is, refusing to start over an import
//! that did not finish, opening it (new, or the one `--resume` continues), and closing it with
//! how the run ended. Imports into the embedded sandbox keep no journal: its leads die with the
//! process, so there is nothing to resume.

use std::path::{Path, PathBuf};

use crate::cli::ImportArgs;
use crate::output::Summary;
use crate::pipeline::journal::{self, FORMAT, Header, Journal, Known, Recorded};
use crate::pipeline::{Prepared, RunEnd, Status};
use crate::{Error, sheet};

/// The journal of the results `results`: `--journal`, else beside them with the extension
/// `.journal` (`leads.results.xlsx` → `leads.results.journal`). Results written to a device or a
/// pipe (`-o /dev/stdout`) have no beside: their journal is in the current directory, named
/// after the input.
pub fn path(results: &Path, journal: Option<&Path>, input: &str) -> PathBuf {
    if let Some(j) = journal {
        return j.to_path_buf();
    }
    if crate::files::is_stream(results) {
        let stem = crate::files::stream_stem(Path::new(input));
        return PathBuf::from(format!("{stem}.results.journal"));
    }
    results.with_extension("journal")
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
            crate::say!(
                "leadsheet import: --resume: the embedded sandbox keeps its leads only while it runs, so there is nothing to resume; importing from the beginning"
            );
        }
        return Ok(None);
    }
    let earlier = journal::read(path)?;
    if let Some(r) = &earlier
        && r.unreadable > 0
        && args.resume
        && !quiet
    {
        crate::say!(
            "leadsheet import: --resume: {} line(s) of the journal {} are damaged and were skipped; the leads they were about are searched for before anything is sent for them again, or sent again when nothing says they were",
            r.unreadable,
            path.display()
        );
    }
    if !args.resume {
        journal::check_not_unfinished(path, earlier.as_ref())?;
    }
    if args.resume && earlier.is_none() && !quiet {
        crate::say!(
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
    partner_id: Option<String>,
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
        partner_id,
    };
    let replacing = earlier.is_some() && !args.resume;
    let (journal, resumed) = journal::open(path, &header, earlier, args.resume, args.force)?;
    if !quiet {
        if let Some(r) = &resumed {
            // Counted against this input's leads, not everything the journal ever saw.
            let (mut settled, mut uncertain) = (0, 0);
            for lead in p.valid_leads()? {
                match r.known(&lead) {
                    Some(Known::Final(..)) => settled += 1,
                    Some(Known::Uncertain) => uncertain += 1,
                    None => {}
                }
            }
            crate::say!(
                "leadsheet import: resuming from {}: {settled} lead(s) settled are not sent again, {uncertain} sent without an outcome are searched for first",
                path.display(),
            );
        } else if replacing {
            crate::say!(
                "leadsheet import: replacing the journal of a finished import at {}",
                path.display()
            );
        }
    }
    Ok(Some(Kept { journal, resumed }))
}

/// Whether the run left nothing for `--resume`: every lead is settled (sent, with a final
/// outcome, or invalid). A run interrupted or stopped once the last lead was settled is as
/// complete as one that ended by itself: there is nothing to continue.
pub fn complete(p: &Prepared) -> bool {
    let leads = p.recorder.leads_by_status();
    ![Status::Failed, Status::NotSubmitted, Status::Valid]
        .iter()
        .any(|s| leads.contains_key(s))
}

/// Adds the journal to the summary.
pub fn describe(kept: Option<&Kept>, summary: &mut Summary) {
    if let Some(k) = kept {
        summary.add(
            "Journal",
            Some("journal"),
            k.journal.path().display().to_string(),
        );
        if let Some(r) = &k.resumed {
            summary
                .add(
                    "Import first started",
                    Some("importStarted"),
                    r.first_started.as_str(),
                )
                .add("Runs of this import", Some("runs"), u64::from(r.runs) + 1);
        }
    }
}

/// Closes the journal with how the run ended, once the results are written: a journal that
/// says "complete" is one the next import may replace, so it must not say so before the
/// results exist.
///
/// # Errors
/// [`Error::Journal`] when its last writes failed.
pub fn close(kept: Option<Kept>, end: &RunEnd, complete: bool) -> Result<(), Error> {
    match kept {
        Some(k) => Ok(k.journal.finish(&end.describe(), complete)?),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_sits_beside_the_results_or_here() {
        assert_eq!(
            path(Path::new("out/leads.results.xlsx"), None, "leads.xlsx"),
            PathBuf::from("out/leads.results.journal")
        );
        assert_eq!(
            path(Path::new("r.csv"), Some(Path::new("j")), "x.csv"),
            PathBuf::from("j")
        );
        // A device has no beside.
        assert_eq!(
            path(Path::new("/dev/null"), None, "in/leads.xlsx"),
            PathBuf::from("leads.results.journal")
        );
        assert_eq!(
            path(Path::new("/dev/null"), None, "-"),
            PathBuf::from("stdin.results.journal")
        );
    }
}
