//! Reading a journal back: what it knows of each lead (a final outcome, or sent without one),
//! and whether 3DS had said it held the lead before. A line a crash cut short is not read; a
//! damaged whole line is counted and skipped.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Read};
use std::path::Path;

use super::{Event, FORMAT, Header, JournalError, digest, is_final, key};
use crate::pipeline::outcome::{Detail, Status};
use crate::pipeline::prepare::SpooledLead;

/// What a journal says of a lead.
#[derive(Debug, Clone)]
pub enum Known {
    /// Its final outcome.
    Final(Status, Detail),
    /// Sent without a final outcome: it may or may not have been applied.
    Uncertain,
}

/// A journal as read back.
#[derive(Debug, Default)]
pub struct Recorded {
    /// The last run's header.
    pub header: Option<Header>,
    /// When the import's first run started (its first header), and how many runs it had: a
    /// resumed run's summary tells both, not only its own start.
    pub first_started: String,
    pub runs: u32,
    /// By key: the body's digest and what is known.
    leads: HashMap<String, (String, Known)>,
    /// The last run ended, and left nothing to resume.
    pub complete: bool,
    /// Whole lines that could not be read: damage, not the line a crash cut short at the end
    /// (which is expected, and not counted).
    pub unreadable: usize,
    /// Keys 3DS held before this import created anything (`ERR801`).
    existed: HashSet<String>,
}

impl Recorded {
    /// What the journal knows of `lead`. A final outcome applies only to the same body (a row
    /// changed under `--force` is sent again); a lead sent without an outcome is uncertain
    /// whatever its body now, since the search that settles it goes by its id.
    pub fn known(&self, lead: &SpooledLead) -> Option<&Known> {
        let (d, known) = self.leads.get(&key(lead))?;
        match known {
            Known::Final(..) if *d != digest(lead) => None,
            k => Some(k),
        }
    }

    /// Whether 3DS said it held `lead`'s partnerLeadOpportunityId before the import sent it:
    /// the record a search finds then is not one the interrupted run created.
    pub fn existed_before(&self, lead: &SpooledLead) -> bool {
        self.existed.contains(&key(lead))
    }

    /// Leads with a final outcome.
    pub fn settled(&self) -> usize {
        self.leads
            .values()
            .filter(|(_, k)| matches!(k, Known::Final(..)))
            .count()
    }

    pub fn uncertain(&self) -> usize {
        self.leads.len() - self.settled()
    }
}

/// The longest line read: over twice the 32 MiB body limit of an answer, whose message a
/// journal line may quote, so every line leadsheet writes fits, and a file that is not a
/// journal (one without line ends) costs bounded memory.
const MAX_LINE: u64 = 64 << 20;

/// A journal must be a regular file, which is read to its end and written durably: a device
/// would be read forever (`/dev/zero`), refuse every write (`/dev/full`) or every fsync
/// (`/dev/null`), and a pipe would block the reading.
///
/// # Errors
/// [`JournalError::NotAFile`] for anything that exists and is not a regular file.
fn check_kind(path: &Path) -> Result<(), JournalError> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {}
        _ => return Ok(()),
    }
    Err(JournalError::NotAFile {
        path: path.to_path_buf(),
    })
}

/// Reads a journal; `Ok(None)` when there is none.
///
/// # Errors
/// [`JournalError::Read`] when it cannot be read, [`JournalError::NotAJournal`] when its first
/// line is not a journal header.
pub fn read(path: &Path) -> Result<Option<Recorded>, JournalError> {
    read_within(path, MAX_LINE)
}

/// [`read`], with lines of at most `max_line` bytes.
pub(super) fn read_within(path: &Path, max_line: u64) -> Result<Option<Recorded>, JournalError> {
    check_kind(path)?;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(JournalError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    // A journal another import is writing is its business: say so before reading it, rather
    // than call it unfinished.
    if let Err(std::fs::TryLockError::WouldBlock) = file.try_lock_shared() {
        return Err(JournalError::Busy {
            path: path.to_path_buf(),
        });
    }
    let mut out = Recorded::default();
    let mut reader = std::io::BufReader::new(file);
    let mut i = 0usize;
    let rerr = |source| JournalError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader)
            .take(max_line + 1)
            .read_until(b'\n', &mut line)
            .map_err(rerr)?;
        if n == 0 {
            break;
        }
        let whole = line.ends_with(b"\n");
        i += 1;
        // Longer than any line leadsheet writes: not a journal's first line, damage elsewhere
        // (skipped to its end without holding it).
        if !whole && n as u64 > max_line {
            if i == 1 {
                return Err(JournalError::NotAJournal {
                    path: path.to_path_buf(),
                });
            }
            reader.skip_until(b'\n').map_err(rerr)?;
            out.unreadable += 1;
            continue;
        }
        // A crash while the first run was writing its header leaves an empty journal, or a
        // header cut short: nothing was sent yet, so there is nothing to resume.
        if i == 1 && !whole {
            return Ok(None);
        }
        // A last line without its newline was never made durable: the writer writes a line
        // and its newline at once and lets a request go only after the fsync, so no request
        // depends on it (a resumed run cuts it off).
        if !whole {
            break;
        }
        let event = match serde_json::from_slice::<Event>(line.trim_ascii_end()) {
            Ok(e) => e,
            Err(_) if i == 1 => {
                return Err(JournalError::NotAJournal {
                    path: path.to_path_buf(),
                });
            }
            Err(_) => {
                out.unreadable += 1;
                continue;
            }
        };
        match event {
            Event::Run(h) if h.journal != FORMAT => {
                return Err(JournalError::NotAJournal {
                    path: path.to_path_buf(),
                });
            }
            Event::Run(h) => {
                if out.runs == 0 {
                    out.first_started.clone_from(&h.started);
                }
                out.runs += 1;
                out.header = Some(h);
                out.complete = false;
            }
            Event::Sent(s) => {
                let known = out.leads.get(&s.key);
                // A lead settled under the same body stays settled (a resumed run does not
                // send it again, but be lenient with a journal that says so twice).
                if !matches!(known, Some((d, Known::Final(..))) if *d == s.digest) {
                    out.leads.insert(s.key, (s.digest, Known::Uncertain));
                }
            }
            Event::Done(d) => {
                let known = if is_final(d.status) {
                    Known::Final(
                        d.status,
                        Detail {
                            ds_id: d.ds_lead_opportunity_id,
                            action: d.action,
                            http_status: d.http_status,
                            error_code: d.error_code,
                            message: d.message,
                            trace_id: d.trace_id,
                            attempts: d.attempts,
                        },
                    )
                } else {
                    Known::Uncertain
                };
                out.leads.insert(d.key, (d.digest, known));
            }
            Event::Existed(e) => {
                out.existed.insert(e.key);
            }
            Event::End(e) => out.complete = e.complete,
        }
    }
    if i == 0 {
        return Ok(None);
    }
    if out.header.is_none() {
        return Err(JournalError::NotAJournal {
            path: path.to_path_buf(),
        });
    }
    Ok(Some(out))
}
