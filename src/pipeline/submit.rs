//! The online half of an import: the valid leads go to the server with bounded concurrency
//! (`buffer_unordered`), each sent by [`send`](super::send), and every outcome comes back to
//! this one loop, which writes it to the journal and hands it to the [`Recorder`]. A 401/403, an
//! unreachable server or a journal that cannot be written stops the run; Ctrl-C (or SIGTERM,
//! SIGHUP) stops taking new leads and gives those in flight a grace period. Leads never sent end
//! as NOT_SUBMITTED; leads cut off in flight as FAILED with the reason.
//!
//! A resumed run first takes the outcomes its journal already holds (those leads are not sent
//! again), and searches for the leads the journal saw sent without an outcome before it sends
//! them again.
//!
//! [`Recorder`]: super::outcome::Recorder

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::journal::{Journal, Known, Recorded};
use super::outcome::{Detail, Status};
use super::prepare::Prepared;
use super::send::{self, How};
use crate::api::client::Client;
use crate::mapping::Mode;
use crate::terminal::Progress;
use crate::validate::Action;

/// How a submission run is driven.
#[derive(Debug, Clone)]
pub struct SubmitSettings {
    pub concurrency: usize,
    pub mode: Mode,
    /// How long leads in flight may take after Ctrl-C.
    pub grace: Duration,
    /// Read each lead before an update, and skip the update when it would change nothing.
    pub skip_unchanged: bool,
}

/// Where a run sends, and what it keeps: the journal it writes, the one it resumes.
pub struct Sending<'a> {
    pub client: &'a Client,
    pub journal: Option<&'a Journal>,
    pub resumed: Option<&'a Recorded>,
}

/// How the run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEnd {
    Completed,
    /// Ctrl-C, SIGTERM or SIGHUP.
    Interrupted,
    /// A refused key, an unreachable server, a journal that cannot be written.
    Stopped(String),
}

impl RunEnd {
    /// As the Summary and the journal say it.
    pub fn describe(&self) -> String {
        match self {
            RunEnd::Completed => "completed".into(),
            RunEnd::Interrupted => "interrupted".into(),
            RunEnd::Stopped(why) => format!("stopped: {why}"),
        }
    }
}

/// Shared between the lead tasks: why the run must stop, and which leads are in flight.
#[derive(Default)]
struct Shared {
    stop: Mutex<Option<String>>,
    in_flight: Mutex<HashSet<usize>>,
}

impl Shared {
    fn stopped(&self) -> Option<String> {
        self.stop.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn stop(&self, why: String) {
        self.stop
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(why);
    }

    fn flying(&self, lead: usize, on: bool) {
        let mut f = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if on {
            f.insert(lead);
        } else {
            f.remove(&lead);
        }
    }
}

/// Takes the outcomes a resumed run's journal holds; returns the leads it saw sent without
/// one, which are searched for before they are sent again, and whether 3DS had said it held
/// each of them before (`ERR801`).
fn take_resumed(
    prepared: &mut Prepared,
    resumed: &Recorded,
    progress: &mut Progress,
) -> Result<HashMap<usize, bool>, String> {
    let mut uncertain = HashMap::new();
    let leads = prepared
        .valid_leads()
        .map_err(|e| format!("cannot read the prepared requests: {e}"))?
        .collect::<Vec<_>>();
    for lead in leads {
        match resumed.known(&lead) {
            Some(Known::Final(status, d)) => {
                progress.advance(lead.rows.len() as u64, status.is_failure());
                prepared.recorder.record(lead.lead, *status, d.clone());
            }
            Some(Known::Uncertain) => {
                uncertain.insert(lead.lead, resumed.existed_before(&lead));
            }
            None => {}
        }
    }
    Ok(uncertain)
}

/// Sends every valid lead of `prepared` and records each outcome.
pub async fn submit(
    prepared: &mut Prepared,
    sending: &Sending<'_>,
    settings: &SubmitSettings,
    cancel: CancellationToken,
    progress: &mut Progress,
) -> RunEnd {
    let uncertain = match sending.resumed {
        Some(r) => match take_resumed(prepared, r, progress) {
            Ok(u) => u,
            Err(why) => return RunEnd::Stopped(why),
        },
        None => HashMap::new(),
    };
    let sendable: Vec<bool> = (0..prepared.recorder.lead_count())
        .map(|i| prepared.recorder.status(i) == Status::Valid)
        .collect();
    let leads = match prepared.spooled_leads() {
        Ok(l) => l,
        Err(e) => return RunEnd::Stopped(format!("cannot read the prepared requests: {e}")),
    };
    let shared = Arc::new(Shared::default());
    let stop_token = cancel.child_token();
    let source = futures::stream::iter(
        leads.filter(move |l| sendable.get(l.lead).copied().unwrap_or(false)),
    )
    .take_until(stop_token.clone().cancelled_owned());
    let (client, journal) = (sending.client, sending.journal);
    let uncertain = &uncertain;
    let results = source
        .map(|lead| {
            let shared = shared.clone();
            async move {
                let how = How {
                    mode: settings.mode,
                    skip_unchanged: settings.skip_unchanged,
                    settle_first: uncertain.contains_key(&lead.lead),
                    existed_before: uncertain.get(&lead.lead).copied().unwrap_or(false),
                };
                // Written down before anything goes out: a crash leaves it uncertain, never
                // forgotten.
                if let Some(j) = journal
                    && let Err(e) = j.sent(&lead).await
                {
                    let why = format!("cannot write the journal {}: {e}", j.path().display());
                    shared.stop(why.clone());
                    let d = Detail {
                        action: Some(lead.action.as_str().to_string()),
                        message: Some(format!("not sent: {why}")),
                        ..Default::default()
                    };
                    return (lead, Status::NotSubmitted, d);
                }
                shared.flying(lead.lead, true);
                let ((status, d), stop) =
                    send::send(client, &lead, how, journal, || shared.stopped()).await;
                shared.flying(lead.lead, false);
                if let Some(why) = stop {
                    shared.stop(why);
                }
                (lead, status, d)
            }
        })
        .buffer_unordered(settings.concurrency.max(1));
    let mut results = Box::pin(results);
    let mut grace: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    loop {
        let next = tokio::select! {
            n = results.next() => n,
            () = stop_token.cancelled(), if grace.is_none() => {
                grace = Some(Box::pin(tokio::time::sleep(settings.grace)));
                continue;
            }
            () = async { if let Some(g) = grace.as_mut() { g.await } else { std::future::pending().await } } => {
                break;
            }
        };
        let Some((lead, status, d)) = next else { break };
        tracing::debug!(
            lead = lead.lead,
            status = status.as_str(),
            attempts = d.attempts,
            "outcome"
        );
        progress.advance(lead.rows.len() as u64, status.is_failure());
        if let Some(j) = journal
            && status != Status::NotSubmitted
        {
            j.done(&lead, status, &d);
        }
        prepared.recorder.record(lead.lead, status, d);
        if shared.stopped().is_some() && !cancel.is_cancelled() {
            // Everyone stops: requests waiting for a slot or a retry end at once, not after
            // the grace period.
            cancel.cancel();
        }
    }
    drop(results);
    // Leads abandoned in flight after the grace period: the journal saw them sent, without an
    // outcome, so `--resume` searches for them first.
    let abandoned: Vec<usize> = shared
        .in_flight
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain()
        .collect();
    for lead in abandoned {
        let action = prepared
            .recorder
            .action(lead)
            .map_or("create", Action::as_str);
        prepared.recorder.record(
            lead,
            Status::Failed,
            Detail {
                action: Some(action.to_string()),
                message: Some(format!(
                    "interrupted while waiting for 3DS: the {action} may or may not have been applied; `--resume` checks it before sending it again"
                )),
                ..Default::default()
            },
        );
    }
    let stopped = shared.stopped();
    prepared.recorder.finish_unsent(&match &stopped {
        Some(why) => format!("not sent: the run stopped ({why})"),
        None => "not sent: the run was interrupted".into(),
    });
    match stopped {
        Some(reason) => RunEnd::Stopped(reason),
        None if cancel.is_cancelled() => RunEnd::Interrupted,
        None => RunEnd::Completed,
    }
}
