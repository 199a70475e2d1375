//! The import's journal: what makes a killed import lose nothing. Every lead about to be sent
//! is written down and made durable (fsynced) *before* its request goes out, and every outcome
//! after it comes back; a crash (`kill -9`, a closed laptop, the OOM killer) then leaves at most
//! the requests in flight uncertain, and `--resume` settles those by a search before anything
//! is sent again.
//!
//! The file is JSON lines, beside the results (`leads.results.journal`) or where `--journal`
//! says: a header for every run (what was imported, with which mapping, mode, API version and
//! server; never the key), then `sent` and `done` events keyed by the lead's own id
//! (partnerLeadOpportunityId for a create, dsLeadOpportunityId for an update) and a digest of
//! the body it sends, then an `end` event. Writes go through one thread that gathers the events
//! waiting and makes them durable together (a group commit: one fsync for all the requests that
//! started meanwhile), so the cost is an fsync per batch, not per lead.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::outcome::Status;
use super::prepare::SpooledLead;
use crate::validate::Action;

/// The journal's format; a file of another version is refused rather than misread.
pub const FORMAT: u32 = 1;

/// What a run imports; a resumed run must import the same (unless `--force`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    pub journal: u32,
    pub leadsheet: String,
    pub started: String,
    pub input: String,
    pub input_sha256: String,
    pub mapping: String,
    pub mapping_sha256: String,
    pub mode: String,
    pub api_version: String,
    pub base_url: String,
    /// The partner id every lead gets from `--partner-id`, the environment or the profile
    /// (not the mapping's, which the mapping's digest covers).
    #[serde(default)]
    pub partner_id: Option<String>,
}

impl Header {
    /// What differs between the journal's run and this one, for the message that refuses it.
    pub fn changes(&self, now: &Header) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |what: &str, was: &str, is: &str| {
            if was != is {
                out.push(format!("{what} was `{was}`, is `{is}`"));
            }
        };
        check("the input's SHA-256", &self.input_sha256, &now.input_sha256);
        check(
            "the mapping's SHA-256",
            &self.mapping_sha256,
            &now.mapping_sha256,
        );
        check("the mode", &self.mode, &now.mode);
        check("the API version", &self.api_version, &now.api_version);
        check("the server", &self.base_url, &now.base_url);
        check(
            "the partner id",
            self.partner_id.as_deref().unwrap_or("(none)"),
            now.partner_id.as_deref().unwrap_or("(none)"),
        );
        out
    }
}

/// One line of the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "camelCase")]
enum Event {
    Run(Header),
    Sent(Sent),
    /// 3DS answered that it already holds the lead's partnerLeadOpportunityId (`ERR801`): the
    /// record found for it existed before this import, whatever a resumed run finds there.
    Existed(Existed),
    Done(Done),
    End(End),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Existed {
    lead: usize,
    key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sent {
    lead: usize,
    rows: Vec<u32>,
    key: String,
    digest: String,
}

/// A lead's outcome as the journal keeps it: enough to write its results row again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Done {
    lead: usize,
    key: String,
    digest: String,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    ds_lead_opportunity_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    trace_id: Option<String>,
    attempts: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct End {
    at: String,
    run: String,
    /// Every lead sent has a final outcome: nothing is left for `--resume`.
    complete: bool,
}

/// The key a lead is journaled by: its own id, with what it does.
pub fn key(lead: &SpooledLead) -> String {
    match lead.action {
        Action::Create => format!(
            "create:{}",
            lead.body
                .lead_opportunity
                .partner_lead_opportunity_id
                .as_deref()
                .unwrap_or_default()
        ),
        Action::Update => format!("update:{}", lead.ds_id.as_deref().unwrap_or_default()),
    }
}

/// A digest of the body a lead sends: an outcome applies again only to the same body.
pub fn digest(lead: &SpooledLead) -> String {
    use sha2::Digest;
    let bytes = serde_json::to_vec(&lead.body_json()).unwrap_or_default();
    crate::sheet::hex(&sha2::Sha256::digest(&bytes)[..12])
}

/// Whether an outcome is final: the lead is not sent again on `--resume`. A failure or a
/// lead not sent is tried again.
pub fn is_final(status: Status) -> bool {
    matches!(
        status,
        Status::Created | Status::Updated | Status::Unchanged | Status::Rejected | Status::Exists
    )
}

/// Why a journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot read the journal {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the journal {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a leadsheet journal (or one of another version); delete it or choose another --journal", path.display())]
    NotAJournal { path: PathBuf },
    #[error("the journal {} is not a regular file (a directory, a device or a pipe cannot hold it); choose a file with --journal", path.display())]
    NotAFile { path: PathBuf },
    #[error(
        "{} holds an import that did not finish (started {started}: {settled} lead(s) settled, {uncertain} sent without an outcome); run the same command with --resume to continue it, or delete the journal to start over",
        path.display()
    )]
    Unfinished {
        path: PathBuf,
        started: String,
        settled: usize,
        uncertain: usize,
    },
    #[error(
        "{} is in use by another leadsheet import; wait for it to end (two imports of one journal would send the same leads)",
        path.display()
    )]
    Busy { path: PathBuf },
    #[error(
        "--resume: this is not the import the journal {} holds: {}; resume with what it imported, or add --force to continue anyway (leads whose body changed are sent again)",
        path.display(),
        changes.join("; ")
    )]
    Changed { path: PathBuf, changes: Vec<String> },
    #[error(
        "{} holds the results of an import that did not finish (its journal {} has leads to resume); a check written there would replace them: write it elsewhere with -o, or continue the import with `import … --resume`",
        results.display(),
        journal.display()
    )]
    ResultsOfUnfinished { results: PathBuf, journal: PathBuf },
}

impl JournalError {
    pub fn exit(&self) -> crate::Exit {
        match self {
            JournalError::Read { .. } | JournalError::Write { .. } | JournalError::Busy { .. } => {
                crate::Exit::Fatal
            }
            _ => crate::Exit::Usage,
        }
    }
}

/// Refuses to start over an import that did not finish: its journal is what `--resume` reads.
///
/// # Errors
/// [`JournalError::Unfinished`] for a journal whose last run left leads to resume.
pub fn check_not_unfinished(path: &Path, earlier: Option<&Recorded>) -> Result<(), JournalError> {
    match earlier {
        Some(r) if !r.complete => Err(JournalError::Unfinished {
            path: path.to_path_buf(),
            started: r
                .header
                .as_ref()
                .map_or_else(String::new, |h| h.started.clone()),
            settled: r.settled(),
            uncertain: r.uncertain(),
        }),
        _ => Ok(()),
    }
}

/// Refuses to write a check's results (`validate`, `import --dry-run`) over those of an import
/// that did not finish or is running: the journal beside them would still rebuild them, but the
/// file a user was looking at would be gone without a word.
///
/// # Errors
/// [`JournalError::ResultsOfUnfinished`] when the journal beside `results` is unfinished or in
/// use. A file there that is no journal is none of a check's business.
pub fn check_results_free(results: &Path, journal: &Path) -> Result<(), JournalError> {
    if !results.exists() {
        return Ok(());
    }
    let unfinished = match read(journal) {
        Ok(Some(r)) => !r.complete,
        Err(JournalError::Busy { .. }) => true,
        _ => false,
    };
    if unfinished {
        return Err(JournalError::ResultsOfUnfinished {
            results: results.to_path_buf(),
            journal: journal.to_path_buf(),
        });
    }
    Ok(())
}

/// Opens the journal of a run: a new one (replacing the journal of a run that finished), or,
/// with `resume`, the earlier one, whose outcomes are returned. A resumed run must import what
/// the journal's run imported, unless `force`.
///
/// # Errors
/// [`JournalError::Unfinished`] without `resume` over an unfinished journal,
/// [`JournalError::Changed`] when the input, mapping, mode, API version or server changed,
/// [`JournalError::Write`] when the journal cannot be written.
pub fn open(
    path: &Path,
    header: &Header,
    earlier: Option<Recorded>,
    resume: bool,
    force: bool,
) -> Result<(Journal, Option<Recorded>), JournalError> {
    match earlier {
        Some(r) if resume => {
            let changes = r
                .header
                .as_ref()
                .map(|h| h.changes(header))
                .unwrap_or_default();
            if !changes.is_empty() && !force {
                return Err(JournalError::Changed {
                    path: path.to_path_buf(),
                    changes,
                });
            }
            Ok((Journal::start(path, header, true)?, Some(r)))
        }
        earlier => {
            check_not_unfinished(path, earlier.as_ref())?;
            Ok((Journal::start(path, header, false)?, None))
        }
    }
}

mod read;
mod writer;

pub use read::{Known, Recorded, read};
pub use writer::Journal;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::{LeadOpportunityWrite, LeadRequest};
    use crate::pipeline::outcome::Detail;
    use std::io::Write;

    fn lead(i: usize, plid: &str) -> SpooledLead {
        SpooledLead {
            lead: i,
            rows: vec![i as u32 + 2],
            action: Action::Create,
            ds_id: None,
            body: LeadRequest {
                lead_opportunity: LeadOpportunityWrite {
                    partner_lead_opportunity_id: Some(plid.into()),
                    ..Default::default()
                },
                ..Default::default()
            },
            clears: vec![],
        }
    }

    fn header() -> Header {
        Header {
            journal: FORMAT,
            leadsheet: "test".into(),
            started: "now".into(),
            input: "leads.csv".into(),
            input_sha256: "aa".into(),
            mapping: "m.toml".into(),
            mapping_sha256: "bb".into(),
            mode: "create".into(),
            api_version: "v1".into(),
            base_url: "https://x".into(),
            partner_id: None,
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn what_was_sent_and_done_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.journal");
        assert!(read(&path).unwrap().is_none());
        let j = Journal::start(&path, &header(), false).unwrap();
        let (a, b, c) = (lead(0, "A"), lead(1, "B"), lead(2, "C"));
        for l in [&a, &b, &c] {
            j.sent(l).await.unwrap();
        }
        let created = Detail {
            ds_id: Some("9YEL-1".into()),
            attempts: 1,
            ..Default::default()
        };
        j.done(&a, Status::Created, &created);
        j.done(&b, Status::Failed, &Detail::default());
        j.finish("interrupted", false).unwrap();
        let r = read(&path).unwrap().unwrap();
        assert_eq!(r.header, Some(header()));
        assert!(!r.complete);
        assert!(
            matches!(r.known(&a), Some(Known::Final(Status::Created, d)) if d.ds_id.as_deref() == Some("9YEL-1"))
        );
        assert!(matches!(r.known(&b), Some(Known::Uncertain)));
        assert!(matches!(r.known(&c), Some(Known::Uncertain)));
        assert!(r.known(&lead(3, "D")).is_none());
        // Another body under the same key is not the lead that was settled.
        let mut changed = a.clone();
        changed.body.lead_opportunity.name = Some("renamed".into());
        assert!(r.known(&changed).is_none());
        assert_eq!((r.settled(), r.uncertain()), (1, 2));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_journal_in_use_is_refused_and_left_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.journal");
        let j = Journal::start(&path, &header(), false).unwrap();
        j.sent(&lead(0, "A")).await.unwrap();
        let before = std::fs::read(&path).unwrap();
        assert!(matches!(read(&path), Err(JournalError::Busy { .. })));
        for append in [false, true] {
            assert!(matches!(
                Journal::start(&path, &header(), append),
                Err(JournalError::Busy { .. })
            ));
        }
        assert_eq!(std::fs::read(&path).unwrap(), before);
        j.finish("done", true).unwrap();
        assert!(read(&path).unwrap().is_some());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_line_cut_short_by_a_crash_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.journal");
        let j = Journal::start(&path, &header(), false).unwrap();
        j.sent(&lead(0, "A")).await.unwrap();
        drop(j);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"event\":\"done\",\"lea").unwrap();
        let r = read(&path).unwrap().unwrap();
        assert_eq!(r.unreadable, 0, "a line cut short is no damage");
        assert!(matches!(r.known(&lead(0, "A")), Some(Known::Uncertain)));
        // A resumed run cuts the half line off and starts on a line of its own.
        let j = Journal::start(&path, &header(), true).unwrap();
        j.done(&lead(0, "A"), Status::Created, &Detail::default());
        j.finish("completed", true).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("\"lea\n") && !text.contains("\"lea{"),
            "{text}"
        );
        let r = read(&path).unwrap().unwrap();
        assert_eq!(r.unreadable, 0);
        assert!(r.complete);
        assert!(matches!(
            r.known(&lead(0, "A")),
            Some(Known::Final(Status::Created, _))
        ));
        // A whole line that is not an event is damage, and counted.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"garbage{{{\n").unwrap();
        assert_eq!(read(&path).unwrap().unwrap().unreadable, 1);
        std::fs::write(&path, "not a journal\n").unwrap();
        assert!(matches!(read(&path), Err(JournalError::NotAJournal { .. })));
        // Killed while writing the first header: nothing to resume.
        std::fs::write(&path, "").unwrap();
        assert!(read(&path).unwrap().is_none());
        std::fs::write(&path, "{\"event\":\"run\",\"jour").unwrap();
        assert!(read(&path).unwrap().is_none());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn damage_of_any_size_or_encoding_is_skipped_and_a_device_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.journal");
        let j = Journal::start(&path, &header(), false).unwrap();
        j.sent(&lead(0, "A")).await.unwrap();
        j.finish("interrupted", false).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"\xff\xfe not text\n").unwrap();
        f.write_all(&[b'x'; 5000]).unwrap();
        f.write_all(b"\n").unwrap();
        drop(f);
        // A resumed run's header, read after the damage: the import's second run.
        let later = Header {
            started: "later".into(),
            ..header()
        };
        let j = Journal::start(&path, &later, true).unwrap();
        j.done(&lead(0, "A"), Status::Created, &Detail::default());
        j.finish("completed", true).unwrap();
        // Lines of at most 4 KiB here, to test the bound without 64 MiB of them.
        let r = read::read_within(&path, 4096).unwrap().unwrap();
        assert_eq!(r.unreadable, 2);
        assert!(matches!(
            r.known(&lead(0, "A")),
            Some(Known::Final(Status::Created, _))
        ));
        assert_eq!((r.first_started.as_str(), r.runs), ("now", 2));
        assert_eq!(r.header.unwrap().started, "later");
        // A file without line ends is not read whole to find its first line.
        std::fs::write(&path, [b'{'; 5000]).unwrap();
        assert!(matches!(
            read::read_within(&path, 4096),
            Err(JournalError::NotAJournal { .. })
        ));
        // Nor is a directory or a device read at all.
        assert!(matches!(
            read(dir.path()),
            Err(JournalError::NotAFile { .. })
        ));
        #[cfg(unix)]
        assert!(matches!(
            read(Path::new("/dev/zero")),
            Err(JournalError::NotAFile { .. })
        ));
    }

    #[test]
    fn changes_are_named() {
        let mut now = header();
        now.input_sha256 = "cc".into();
        now.mode = "upsert".into();
        let c = header().changes(&now);
        assert_eq!(c.len(), 2);
        assert!(c[0].contains("input") && c[1].contains("mode"), "{c:?}");
    }
}
