//! The journal's writer: one thread that gathers the events waiting, writes them and makes them
//! durable with one fsync (a group commit), and only then lets the requests they announce go.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use tokio::sync::{mpsc, oneshot};

use super::{Done, End, Event, Existed, Header, JournalError, Sent, digest, key};
use crate::pipeline::outcome::{Detail, Status};
use crate::pipeline::prepare::SpooledLead;

/// Cuts off a last line that a crash left without its newline: it is half an event, which
/// no reader can use, and kept it would read as a damaged line among whole ones.
fn cut_partial_line(file: &mut std::fs::File) -> std::io::Result<()> {
    let len = file.metadata()?.len();
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let part = &mut chunk[..(end - start) as usize];
        file.seek(std::io::SeekFrom::Start(start))?;
        file.read_exact(part)?;
        if let Some(i) = part.iter().rposition(|&b| b == b'\n') {
            let keep = start + i as u64 + 1;
            if keep < len {
                file.set_len(keep)?;
            }
            return Ok(());
        }
        end = start;
    }
    file.set_len(0)
}

enum Msg {
    Line(Vec<u8>, Option<oneshot::Sender<Result<(), String>>>),
}

/// A journal being written.
pub struct Journal {
    path: PathBuf,
    tx: Option<mpsc::UnboundedSender<Msg>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Journal {
    /// Starts writing: a new journal, or the one of the run being resumed (`append`). The
    /// header is durable when this returns.
    ///
    /// # Errors
    /// [`JournalError::Write`] when the file cannot be created or written.
    pub fn start(path: &Path, header: &Header, append: bool) -> Result<Journal, JournalError> {
        let werr = |source| JournalError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .append(append)
            .truncate(false)
            .open(path)
            .map_err(werr)?;
        // One import at a time per journal: a second (a cron job overlapping the last) would send
        // the same leads.
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(JournalError::Busy {
                    path: path.to_path_buf(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(werr(e)),
        }
        // Emptied only once it is ours: truncating before the lock would erase a running
        // import's journal.
        if !append {
            file.set_len(0).map_err(werr)?;
        }
        let mut line = Vec::new();
        if append {
            cut_partial_line(&mut file).map_err(werr)?;
        }
        let header = serde_json::to_vec(&Event::Run(header.clone())).map_err(|e| werr(e.into()))?;
        line.extend(header);
        line.push(b'\n');
        file.write_all(&line).map_err(werr)?;
        file.sync_all().map_err(werr)?;
        crate::durable::sync_dir(path);
        let (tx, rx) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("leadsheet-journal".into())
            .spawn(move || write_loop(file, rx))
            .map_err(werr)?;
        Ok(Journal {
            path: path.to_path_buf(),
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn line(event: &Event) -> Vec<u8> {
        let mut line = serde_json::to_vec(event).unwrap_or_default();
        line.push(b'\n');
        line
    }

    /// Writes that `lead` is about to be sent, and returns once that is on disk.
    ///
    /// # Errors
    /// The reason the journal could not be written: the lead must not be sent then.
    pub async fn sent(&self, lead: &SpooledLead) -> Result<(), String> {
        let event = Event::Sent(Sent {
            lead: lead.lead,
            rows: lead.rows.clone(),
            key: key(lead),
            digest: digest(lead),
        });
        self.durable(&event).await
    }

    /// Writes that 3DS already held `lead` (`ERR801`), and returns once that is on disk: an
    /// upsert's update of the record must not look like a create to a resumed run.
    ///
    /// # Errors
    /// The reason the journal could not be written: the update must not be sent then.
    pub async fn existed(&self, lead: &SpooledLead) -> Result<(), String> {
        let event = Event::Existed(Existed {
            lead: lead.lead,
            key: key(lead),
        });
        self.durable(&event).await
    }

    async fn durable(&self, event: &Event) -> Result<(), String> {
        let (ack, done) = oneshot::channel();
        let tx = self.tx.as_ref().ok_or("the journal is closed")?;
        tx.send(Msg::Line(Self::line(event), Some(ack)))
            .map_err(|_| "the journal's writer stopped".to_string())?;
        done.await
            .map_err(|_| "the journal's writer stopped".to_string())?
    }

    /// Writes `lead`'s outcome; it is made durable with the next batch.
    pub fn done(&self, lead: &SpooledLead, status: Status, d: &Detail) {
        let event = Event::Done(Done {
            lead: lead.lead,
            key: key(lead),
            digest: digest(lead),
            status,
            ds_lead_opportunity_id: d.ds_id.clone(),
            action: d.action.clone(),
            http_status: d.http_status,
            error_code: d.error_code.clone(),
            message: d.message.clone(),
            trace_id: d.trace_id.clone(),
            attempts: d.attempts,
        });
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Line(Self::line(&event), None));
        }
    }

    /// Writes the end of the run and waits until everything is on disk.
    ///
    /// # Errors
    /// [`JournalError::Write`] when the last writes failed.
    pub fn finish(mut self, run: &str, complete: bool) -> Result<(), JournalError> {
        let event = Event::End(End {
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            run: run.to_string(),
            complete,
        });
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Msg::Line(Self::line(&event), None));
        }
        let werr = |source| JournalError::Write {
            path: self.path.clone(),
            source,
        };
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(result)) => result.map_err(werr),
            Some(Err(_)) => Err(werr(std::io::Error::other("the journal's writer panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        // Closing the channel lets the writer flush what it has and stop.
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The writer: takes every event waiting, writes them, makes them durable with one fsync, and
/// only then tells the senders their requests may go.
fn write_loop(
    mut file: std::fs::File,
    mut rx: mpsc::UnboundedReceiver<Msg>,
) -> std::io::Result<()> {
    let mut failed: Option<String> = None;
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while let Ok(m) = rx.try_recv() {
            batch.push(m);
        }
        if failed.is_none() {
            let mut bytes = Vec::new();
            for Msg::Line(line, _) in &batch {
                bytes.extend_from_slice(line);
            }
            if let Err(e) = file.write_all(&bytes).and_then(|()| file.sync_data()) {
                failed = Some(e.to_string());
            }
        }
        for Msg::Line(_, ack) in batch {
            if let Some(ack) = ack {
                let _ = ack.send(failed.clone().map_or(Ok(()), Err));
            }
        }
    }
    match failed {
        Some(e) => Err(std::io::Error::other(e)),
        None => Ok(()),
    }
}
