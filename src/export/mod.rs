//! Export: search windows → ids → details → sheets. The searches run first (a failed search
//! stops the export: a window silently missing would be a silent gap); the ids are de-duplicated
//! across windows; details are fetched with the import's client, so the same bounded
//! concurrency, rate limit and retry policy apply. Records go to a spool on disk as they
//! arrive, and the outputs are written from it in id order. An id whose details cannot be had
//! is listed with its code, message and trace id, never dropped.

pub mod criteria;
pub mod layout;
pub mod portfolio;
pub mod spool;

use std::collections::HashSet;

use futures::StreamExt;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::api::client::{CallError, Client, Report};
use crate::api::contract::Section;
use crate::terminal::Progress;
pub use criteria::{Criteria, Window};

/// Which leads to export.
#[derive(Debug, Clone)]
pub enum Selection {
    Search(Criteria),
    Ids(Vec<String>),
}

/// An id that could not be exported: a line of the Errors sheet, not an error of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Unfetched {
    pub id: String,
    pub http_status: Option<u16>,
    pub code: Option<String>,
    pub message: String,
    pub trace_id: Option<String>,
    pub attempts: u32,
}

/// What the fetch stage gathered.
pub struct Fetched {
    pub records: spool::Records,
    pub errors: Vec<Unfetched>,
    /// Ids found (after de-duplication).
    pub ids: usize,
    pub searches: usize,
    /// The most offer lines, customer contacts and partner contacts of one lead.
    pub max_items: [usize; 3],
    /// Read-model fields the layout does not know, in the order first seen.
    pub extra_keys: Vec<String>,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
}

/// What stops an export (or the portfolio) before anything is written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("search {n} of {of} failed: {message}; nothing was written, to avoid a silent gap")]
    Search {
        n: usize,
        of: usize,
        message: String,
    },
    #[error(
        "the portfolio page at skip={skip} failed: {message}{}; no file was written, to avoid a catalogue with a gap",
        trace_id.as_ref().map(|t| format!(" (trace id {t})")).unwrap_or_default()
    )]
    Portfolio {
        skip: usize,
        message: String,
        trace_id: Option<String>,
    },
    #[error(
        "3DS refused the API key (HTTP {status}: {message}); check LEADSHEET_API_KEY or the profile's api_key"
    )]
    Key { status: u16, message: String },
    #[error("cannot spool the records")]
    Spool(#[from] std::io::Error),
}

impl ExportError {
    pub fn exit(&self) -> crate::Exit {
        crate::Exit::Fatal
    }
}

/// Runs the searches of `criteria` (`concurrency` at a time, answers taken in order); the ids
/// in first-seen order, without duplicates.
pub async fn search_ids(
    client: &Client,
    criteria: &Criteria,
    concurrency: usize,
) -> Result<(Vec<String>, usize), ExportError> {
    let bodies = criteria.bodies();
    let total = bodies.len();
    let mut answers = Box::pin(
        futures::stream::iter(bodies.into_iter().enumerate())
            .map(|(i, body)| {
                let client = client.clone();
                async move {
                    let mut report = Report::default();
                    (i, client.search(&body, &mut report).await)
                }
            })
            .buffered(concurrency.max(1)),
    );
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    while let Some((i, answer)) = answers.next().await {
        match answer {
            Ok(found) => {
                for id in found {
                    if seen.insert(id.clone()) {
                        ids.push(id);
                    }
                }
            }
            Err(CallError::StopRun(f)) => {
                return Err(ExportError::Key {
                    status: f.status,
                    message: f.message,
                });
            }
            Err(e) => {
                let code = e
                    .failure()
                    .and_then(|f| f.code.clone())
                    .map(|c| format!("{c}: "))
                    .unwrap_or_default();
                return Err(ExportError::Search {
                    n: i + 1,
                    of: total,
                    message: format!("{code}{}", e.message()),
                });
            }
        }
    }
    Ok((ids, total))
}

/// The ids a selection names: given, or found by its searches; and how many searches ran.
///
/// # Errors
/// As [`search_ids`].
pub async fn find(
    client: &Client,
    selection: Selection,
    concurrency: usize,
) -> Result<(Vec<String>, usize), ExportError> {
    match selection {
        Selection::Ids(ids) => Ok((ids, 0)),
        Selection::Search(c) => search_ids(client, &c, concurrency).await,
    }
}

/// Fetches the details of `ids` with `concurrency` requests in flight.
pub async fn fetch(
    client: &Client,
    ids: Vec<String>,
    concurrency: usize,
    cancel: CancellationToken,
    progress: &mut Progress,
) -> Result<Fetched, ExportError> {
    let mut spool = spool::Spool::new()?;
    let mut errors = Vec::new();
    let mut max_items = [0usize; 3];
    let mut extra_keys: Vec<String> = Vec::new();
    let mut stopped: Option<String> = None;
    let total = ids.len();
    let mut done = vec![false; total];
    let unfetched_ids = ids.clone();
    let stop = cancel.child_token();
    let mut stream = Box::pin(
        futures::stream::iter(ids.into_iter().enumerate())
            .take_until(stop.clone().cancelled_owned())
            .map(|(order, id)| {
                let client = client.clone();
                async move {
                    let mut report = Report::default();
                    let result = client.get(&id, &mut report).await;
                    (order, id, result, report)
                }
            })
            .buffer_unordered(concurrency.max(1)),
    );
    while let Some((order, id, result, report)) = stream.next().await {
        done[order] = true;
        match result {
            Ok(record) if record.is_object() => {
                for (i, section) in Section::LISTS.iter().enumerate() {
                    max_items[i] = max_items[i].max(layout::children(&record, *section).len());
                }
                for k in layout::unknown_keys(&record) {
                    if !extra_keys.contains(&k) {
                        extra_keys.push(k);
                    }
                }
                spool.push(order, &record)?;
                progress.advance(1, false);
            }
            Ok(_) => {
                errors.push(Unfetched {
                    id,
                    http_status: report.http_status,
                    code: None,
                    message: "the answer holds no data.leadOpportunity".into(),
                    trace_id: report.trace_id,
                    attempts: report.attempts,
                });
                progress.advance(1, true);
            }
            Err(e) => {
                if let CallError::StopRun(f) = &e {
                    stopped.get_or_insert_with(|| {
                        format!("3DS refused the API key (HTTP {}: {})", f.status, f.message)
                    });
                    stop.cancel();
                }
                if let CallError::Unreachable(m) | CallError::Halted(m) = &e {
                    stopped.get_or_insert_with(|| m.clone());
                    stop.cancel();
                }
                errors.push(Unfetched {
                    id,
                    http_status: report.http_status.or(e.failure().map(|f| f.status)),
                    code: e.failure().and_then(|f| f.code.clone()),
                    message: e.message(),
                    trace_id: e
                        .failure()
                        .and_then(|f| f.trace_id.clone())
                        .or(report.trace_id),
                    attempts: report.attempts,
                });
                progress.advance(1, true);
            }
        }
    }
    drop(stream);
    if cancel.is_cancelled() && stopped.is_none() {
        stopped = Some("interrupted (Ctrl-C)".into());
    }
    // Ids never fetched because the run stopped are listed too: none is dropped silently.
    if let Some(why) = &stopped {
        for (id, _) in unfetched_ids
            .into_iter()
            .zip(done)
            .filter(|(_, done)| !done)
        {
            errors.push(Unfetched {
                id,
                http_status: None,
                code: None,
                message: format!("not fetched: the export stopped ({why})"),
                trace_id: None,
                attempts: 0,
            });
        }
    }
    Ok(Fetched {
        records: spool.finish()?,
        errors,
        ids: total,
        searches: 0,
        max_items,
        extra_keys,
        stopped,
    })
}

/// Reads a column of ids from a sheet or CSV: the column whose header is one of `headers`
/// (ignoring case and punctuation), else the first column. The first row is a header when it
/// names one of `headers` or looks like a title ([`looks_like_a_title`]): a plain list of ids
/// loses none of them.
pub fn ids_from_file(
    path: &str,
    headers: &[&str],
) -> Result<Vec<String>, crate::sheet::SheetError> {
    let mut sheet = crate::sheet::open(path, &crate::sheet::ReadOptions::default())?;
    let wanted: Vec<String> = headers
        .iter()
        .map(|h| crate::mapping::resolve::normalize_header(h))
        .collect();
    let named = sheet
        .headers
        .iter()
        .position(|h| wanted.contains(&crate::mapping::resolve::normalize_header(h)));
    let col = named.unwrap_or(0);
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    if named.is_none()
        && let Some(first) = sheet.headers.get(col).map(|h| h.trim())
    {
        if looks_like_a_title(first) {
            tracing::warn!(
                "{path}: the first row, `{first}`, is taken as the column's title, not an id"
            );
        } else {
            seen.insert(first.to_string());
            out.push(first.to_string());
        }
    }
    while let Some(batch) = sheet.next_batch() {
        for row in batch? {
            let id = row
                .cells
                .get(col)
                .map(|c| c.to_text().trim().to_string())
                .unwrap_or_default();
            if !id.is_empty() && seen.insert(id.clone()) {
                out.push(id);
            }
        }
    }
    Ok(out)
}

/// Whether the first cell of an id file (naming none of the known columns) is a title rather
/// than an id: it has a space (`Lead IDs`), or no letter or digit at all. Any other word is
/// read as an id: a title taken for an id shows up as not found, while an id taken for a title
/// would vanish (`LIDL-ROLLOUT`, `ORCHID-7`).
fn looks_like_a_title(first: &str) -> bool {
    first.contains(char::is_whitespace) || !first.contains(char::is_alphanumeric)
}

/// A value for the Summary sheet listing the windows.
pub fn describe_windows(windows: &[Window]) -> String {
    windows
        .iter()
        .map(|w| {
            format!(
                "{} → {}",
                w.from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                w.to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The record's `dsLeadOpportunityId`.
pub fn record_id(record: &Value) -> String {
    record
        .get("dsLeadOpportunityId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_ids() {
        for title in ["CRM ID", "Lead IDs", "#", "3DS ID"] {
            assert!(looks_like_a_title(title), "{title}");
        }
        for id in [
            "9YEL-Y3W56Q",
            "SBX-000001",
            "ACME",
            "LEAD-ABC",
            "LIDL-ROLLOUT",
            "ORCHID",
            "OPP-FR-101",
        ] {
            assert!(!looks_like_a_title(id), "{id}");
        }
    }
}
