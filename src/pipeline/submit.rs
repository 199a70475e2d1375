//! The online half of an import: the valid leads go to the server with bounded concurrency
//! (`buffer_unordered`), each through the client's retry policy, and every outcome comes back
//! to this one loop, which hands it to the [`Recorder`]. A 401/403 or an unreachable server
//! stops the run; Ctrl-C stops taking new leads and gives those in flight a grace period.
//! Leads never sent end as NOT_SUBMITTED; leads cut off in flight as FAILED with the reason.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::outcome::{Detail, Status};
use super::prepare::{Prepared, SpooledLead};
use crate::api::client::{CallError, Client, Report};
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

/// How the run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEnd {
    Completed,
    /// Ctrl-C.
    Interrupted,
    /// A refused key or an unreachable server: the message says which.
    Stopped(String),
}

/// Shared between the lead tasks: why the run must stop, and which leads are in flight.
#[derive(Default)]
struct Shared {
    stop: Mutex<Option<String>>,
    in_flight: Mutex<HashSet<usize>>,
}

fn detail(report: &Report, action: &str) -> Detail {
    Detail {
        action: Some(action.to_string()),
        http_status: report.http_status,
        trace_id: report.trace_id.clone(),
        attempts: report.attempts,
        ..Default::default()
    }
}

/// Turns a failed call into the row's status and detail. `stopped`: why the run stopped
/// early, if it did (a refused key, a server that is down).
fn failed(
    err: CallError,
    report: &Report,
    action: &str,
    lead: &SpooledLead,
    stopped: Option<&str>,
) -> (Status, Detail) {
    let mut d = detail(report, action);
    d.error_code = err.failure().and_then(|f| f.code.clone());
    if let Some(t) = err.failure().and_then(|f| f.trace_id.clone()) {
        d.trace_id = Some(t);
    }
    let creating = action.starts_with("create");
    let status = match &err {
        CallError::Rejected(_) => Status::Rejected,
        // Refused or unreachable before anything could have been applied: the row can be sent
        // again as it is.
        CallError::StopRun(_) | CallError::Unreachable(_) if !report.maybe_applied => {
            Status::NotSubmitted
        }
        // Interrupted before anything could have been applied (only refused connections or
        // 429s, if anything was sent at all).
        CallError::Interrupted if !report.maybe_applied => {
            d.message = Some(match stopped {
                Some(why) => format!("not sent: the run stopped ({why})"),
                None => "not sent: the run was interrupted (Ctrl-C)".into(),
            });
            return (Status::NotSubmitted, d);
        }
        CallError::Interrupted | CallError::StopRun(_) | CallError::Unreachable(_) => {
            let why = match &err {
                CallError::Interrupted => "interrupted while waiting for 3DS".to_string(),
                other => format!("the run stopped ({})", other.message()),
            };
            d.message = Some(if creating {
                format!(
                    "{why}: the create may or may not be stored; search for partnerLeadOpportunityId `{}` before importing it again",
                    partner_lead_id(lead)
                )
            } else {
                format!("{why}: the update may or may not be applied; importing it again is safe")
            });
            return (Status::Failed, d);
        }
        _ => Status::Failed,
    };
    d.message = Some(err.message());
    (status, d)
}

fn partner_lead_id(lead: &SpooledLead) -> String {
    lead.body
        .lead_opportunity
        .partner_lead_opportunity_id
        .clone()
        .unwrap_or_default()
}

/// Sends one lead and says what became of it.
async fn submit_one(
    client: &Client,
    lead: &SpooledLead,
    settings: &SubmitSettings,
    shared: &Shared,
) -> (Status, Detail) {
    let (mode, skip_unchanged) = (settings.mode, settings.skip_unchanged);
    let mut report = Report::default();
    let body = match serde_json::to_value(&lead.body) {
        Ok(b) => b,
        Err(e) => {
            return (
                Status::Failed,
                Detail {
                    message: Some(format!("cannot encode the body: {e}")),
                    ..Default::default()
                },
            );
        }
    };
    let stopped = || {
        shared
            .stop
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    };
    let stop = |err: &CallError| {
        let reason = match err {
            CallError::StopRun(f) => Some(format!(
                "3DS refused the API key (HTTP {}: {}); check LEADSHEET_API_KEY or the profile's api_key",
                f.status, f.message
            )),
            CallError::Unreachable(m) => Some(m.clone()),
            _ => None,
        };
        if let Some(r) = reason {
            shared
                .stop
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert(r);
        }
    };
    match lead.action {
        Action::Create => {
            let plid = partner_lead_id(lead);
            match client.create(&body, &plid, &mut report).await {
                Ok(created) => {
                    let action = match &created.confirmed_after {
                        None => "create".to_string(),
                        Some(why) => format!("create (confirmed by a search after: {why})"),
                    };
                    let mut d = detail(&report, &action);
                    d.ds_id = Some(created.id);
                    (Status::Created, d)
                }
                Err(CallError::Rejected(f))
                    if mode == Mode::Upsert && f.code.as_deref() == Some("ERR801") =>
                {
                    upsert_existing(client, &plid, &body, &mut report)
                        .await
                        .unwrap_or_else(|e| {
                            stop(&e);
                            failed(
                                e,
                                &report,
                                "update (after ERR801)",
                                lead,
                                stopped().as_deref(),
                            )
                        })
                }
                Err(e) => {
                    stop(&e);
                    failed(e, &report, "create", lead, stopped().as_deref())
                }
            }
        }
        Action::Update => {
            let ds_id = lead.ds_id.clone().unwrap_or_default();
            if skip_unchanged {
                match client.get(&ds_id, &mut report).await {
                    Ok(record) if super::unchanged::unchanged(&body, &record) => {
                        let mut d =
                            detail(&report, "update skipped: 3DS already holds these values");
                        d.ds_id = Some(ds_id);
                        return (Status::Unchanged, d);
                    }
                    Err(e @ (CallError::StopRun(_) | CallError::Interrupted)) => {
                        stop(&e);
                        let (s, mut d) = failed(e, &report, "update", lead, stopped().as_deref());
                        d.ds_id = Some(ds_id);
                        return (s, d);
                    }
                    // A change, or a read that failed: the update itself says what happens.
                    _ => {}
                }
            }
            match client.update(&ds_id, &body, &mut report).await {
                Ok(id) => {
                    let mut d = detail(&report, "update");
                    d.ds_id = Some(id);
                    (Status::Updated, d)
                }
                Err(e) => {
                    stop(&e);
                    let (s, mut d) = failed(e, &report, "update", lead, stopped().as_deref());
                    d.ds_id = Some(ds_id);
                    (s, d)
                }
            }
        }
    }
}

/// Upsert: the create met an existing record (ERR801), so that record is updated instead.
async fn upsert_existing(
    client: &Client,
    plid: &str,
    body: &Value,
    report: &mut Report,
) -> Result<(Status, Detail), CallError> {
    let ids = client
        .search_partner_ids(&[plid.to_string()], report)
        .await?;
    let Some(id) = ids.into_iter().next() else {
        return Err(CallError::Unknown(format!(
            "3DS says `{plid}` exists (ERR801) but a search does not find it; it may belong to another partner"
        )));
    };
    let id = client.update(&id, body, report).await?;
    let mut d = detail(report, "update (existing record found after ERR801)");
    d.ds_id = Some(id);
    Ok((Status::Updated, d))
}

/// Sends every valid lead of `prepared` and records each outcome.
pub async fn submit(
    prepared: &mut Prepared,
    client: &Client,
    settings: &SubmitSettings,
    cancel: CancellationToken,
    progress: &mut Progress,
) -> RunEnd {
    let sendable: Vec<bool> = (0..prepared.recorder.lead_count())
        .map(|i| prepared.recorder.status(i) == Status::Valid)
        .collect();
    let leads = match prepared.spooled_leads() {
        Ok(l) => l,
        Err(e) => return RunEnd::Stopped(format!("cannot read the prepared requests: {e:#}")),
    };
    let shared = Arc::new(Shared::default());
    let stop_token = cancel.child_token();
    let source = futures::stream::iter(
        leads.filter(move |l| sendable.get(l.lead).copied().unwrap_or(false)),
    )
    .take_until(stop_token.clone().cancelled_owned());
    let results = source
        .map(|lead| {
            let shared = shared.clone();
            let client = client.clone();
            async move {
                shared
                    .in_flight
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(lead.lead);
                let (status, d) = submit_one(&client, &lead, settings, &shared).await;
                shared
                    .in_flight
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&lead.lead);
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
        let rows = lead.rows.len() as u64;
        progress.advance(rows, status.is_failure());
        prepared.recorder.record(lead.lead, status, d);
        let stop = shared
            .stop
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if stop.is_some() && !cancel.is_cancelled() {
            // Everyone stops: requests waiting for a slot or a retry end at once, not after
            // the grace period.
            cancel.cancel();
        }
    }
    drop(results);
    // Leads abandoned in flight after the grace period.
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
                    "interrupted while waiting for 3DS: the {action} may or may not have been applied; check the lead in 3DS before importing this row again"
                )),
                ..Default::default()
            },
        );
    }
    let stopped = shared
        .stop
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    prepared.recorder.finish_unsent(&match &stopped {
        Some(why) => format!("not sent: the run stopped ({why})"),
        None => "not sent: the run was interrupted (Ctrl-C)".into(),
    });
    match stopped {
        Some(reason) => RunEnd::Stopped(reason),
        None if cancel.is_cancelled() => RunEnd::Interrupted,
        None => RunEnd::Completed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::envelope::Failure;

    fn lead(action: Action) -> SpooledLead {
        SpooledLead {
            lead: 0,
            rows: vec![2],
            action,
            ds_id: None,
            body: Default::default(),
        }
    }

    #[test]
    fn a_stop_is_not_submitted_only_when_nothing_may_be_applied() {
        let refused = CallError::StopRun(Failure {
            status: 401,
            message: "key expired".into(),
            ..Default::default()
        });
        let clean = Report {
            attempts: 1,
            ..Default::default()
        };
        let (s, _) = failed(
            refused.clone(),
            &clean,
            "create",
            &lead(Action::Create),
            None,
        );
        assert_eq!(s, Status::NotSubmitted);
        // The create timed out, then the search that would settle it was refused.
        let unsure = Report {
            attempts: 2,
            maybe_applied: true,
            ..Default::default()
        };
        let (s, d) = failed(refused, &unsure, "create", &lead(Action::Create), None);
        assert_eq!(s, Status::Failed);
        assert!(d.message.unwrap().contains("may or may not be stored"));
        // An update cut off after an upsert's ERR801 speaks of the update.
        let (s, d) = failed(
            CallError::Interrupted,
            &unsure,
            "update (after ERR801)",
            &lead(Action::Create),
            None,
        );
        assert_eq!(s, Status::Failed);
        assert!(d.message.unwrap().contains("the update may or may not"));
        let (s, d) = failed(
            CallError::Interrupted,
            &clean,
            "update",
            &lead(Action::Update),
            None,
        );
        assert_eq!(s, Status::NotSubmitted);
        assert!(d.message.unwrap().contains("Ctrl-C"));
    }
}
