//! One lead, sent: what it asks of the client, and what became of it. A create goes out once
//! and is settled by a search whenever its fate is unknown; a create 3DS already holds
//! (`ERR801`) shows the existing record's id (EXISTS), or in upsert mode updates that record
//! with what differs; an update may first read the lead and skip itself (`--skip-unchanged`).
//! A lead a resumed run found sent without an outcome is searched for before it is sent again.

use serde_json::Value;

use super::journal::Journal;
use super::outcome::{Detail, Status};
use super::prepare::SpooledLead;
use super::unchanged;
use crate::api::client::{CallError, Client, Report};
use crate::mapping::Mode;
use crate::validate::Action;

/// How a lead is sent.
#[derive(Debug, Clone, Copy)]
pub struct How {
    pub mode: Mode,
    pub skip_unchanged: bool,
    /// A resumed run saw it sent without an outcome: search before sending.
    pub settle_first: bool,
    /// The journal saw 3DS answer that it already held the lead (`ERR801`): what a search
    /// finds was not created by this import.
    pub existed_before: bool,
}

/// What a lead's sending says beyond its outcome: why the whole run must stop, if it must.
pub type Stop = Option<String>;

fn detail(report: &Report, action: &str) -> Detail {
    Detail {
        action: Some(action.to_string()),
        http_status: report.http_status,
        trace_id: report.trace_id.clone(),
        attempts: report.attempts,
        ..Default::default()
    }
}

fn partner_lead_id(lead: &SpooledLead) -> String {
    lead.body
        .lead_opportunity
        .partner_lead_opportunity_id
        .clone()
        .unwrap_or_default()
}

/// Why a failed call stops the whole run: a refused key, a server that is down, an answer
/// that halts it (a redirect, a wait longer than leadsheet waits, a failed TLS handshake).
pub fn stop_reason(err: &CallError) -> Stop {
    match err {
        CallError::StopRun(f) => Some(format!(
            "3DS refused the API key (HTTP {}: {}); check LEADSHEET_API_KEY or the profile's api_key",
            f.status, f.message
        )),
        CallError::Unreachable(m) | CallError::Halted(m) => Some(m.clone()),
        _ => None,
    }
}

/// Turns a failed call into the row's status and detail. `stopped`: why the run stopped
/// early, if it did (a refused key, a server that is down).
pub fn failed(
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
        CallError::StopRun(_) | CallError::Unreachable(_) | CallError::Halted(_)
            if !report.maybe_applied =>
        {
            Status::NotSubmitted
        }
        // Interrupted before anything could have been applied (only refused connections or
        // 429s, if anything was sent at all).
        CallError::Interrupted if !report.maybe_applied => {
            d.message = Some(match stopped {
                Some(why) => format!("not sent: the run stopped ({why})"),
                None => "not sent: the run was interrupted".into(),
            });
            return (Status::NotSubmitted, d);
        }
        CallError::Interrupted
        | CallError::StopRun(_)
        | CallError::Unreachable(_)
        | CallError::Halted(_) => {
            let why = match &err {
                CallError::Interrupted => "interrupted while waiting for 3DS".to_string(),
                other => format!("the run stopped ({})", other.message()),
            };
            d.message = Some(if creating {
                format!(
                    "{why}: the create may or may not be stored; `--resume` searches for partnerLeadOpportunityId `{}` before sending it again",
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

/// Sends one lead: its outcome, and why the run must stop if it must.
pub async fn send(
    client: &Client,
    lead: &SpooledLead,
    how: How,
    journal: Option<&Journal>,
    stopped: impl Fn() -> Option<String>,
) -> ((Status, Detail), Stop) {
    let mut report = Report::default();
    let body = lead.body_json();
    let result = match lead.action {
        Action::Create => create(client, lead, &body, how, journal, &mut report).await,
        Action::Update => update(client, lead, &body, how, &mut report).await,
    };
    match result {
        Ok(outcome) => (outcome, None),
        Err((err, action)) => {
            let stop = stop_reason(&err);
            let why = stop.clone().or_else(&stopped);
            let (status, mut d) = failed(err, &report, action, lead, why.as_deref());
            if lead.action == Action::Update {
                d.ds_id = lead.ds_id.clone();
            }
            ((status, d), stop)
        }
    }
}

type Sent = Result<(Status, Detail), (CallError, &'static str)>;

async fn create(
    client: &Client,
    lead: &SpooledLead,
    body: &Value,
    how: How,
    journal: Option<&Journal>,
    report: &mut Report,
) -> Sent {
    let plid = partner_lead_id(lead);
    if how.settle_first
        && let Some(id) = find_one(client, &plid, report).await?
    {
        if how.existed_before {
            // 3DS held it before the interrupted run: an upsert updates it with what still
            // differs (UNCHANGED when the interrupted update was applied), a create shows it.
            if how.mode == Mode::Upsert {
                let record = client.get(&id, report).await.map_err(|e| (e, UPSERT))?;
                return update_found(client, &id, body, &record, report).await;
            }
            return Ok(exists(report, id, None, &plid));
        }
        let action = "create (found by a search: the interrupted run had sent it)";
        return confirm(client, &id, body, how, action, report).await;
    }
    match client.create(body, &plid, report).await {
        Ok(created) => match &created.confirmed_after {
            None => {
                let mut d = detail(report, "create");
                d.ds_id = Some(created.id);
                Ok((Status::Created, d))
            }
            Some(why) => {
                let action = format!("create (confirmed by a search after: {why})");
                confirm(client, &created.id, body, how, &action, report).await
            }
        },
        Err(CallError::Rejected(f)) if f.code.as_deref() == Some("ERR801") => {
            // Durable before anything else is sent for it: a run killed from here on must not
            // take the record a search finds for one it created.
            if let Some(j) = journal
                && let Err(e) = j.existed(lead).await
            {
                let why = format!("cannot write the journal {}: {e}", j.path().display());
                return Err((CallError::Halted(why), "create"));
            }
            let Some(id) = find_one(client, &plid, report).await? else {
                let mut f = f;
                f.message = format!(
                    "{} (3DS holds partnerLeadOpportunityId `{plid}`, but a search does not find it: it may belong to another partner)",
                    f.message
                );
                return Err((CallError::Rejected(f), "create"));
            };
            if how.mode == Mode::Upsert {
                let record = client.get(&id, report).await.map_err(|e| (e, UPSERT))?;
                return update_found(client, &id, body, &record, report).await;
            }
            Ok(exists(report, id, Some(f), &plid))
        }
        Err(e) => Err((e, "create")),
    }
}

/// A create of a partnerLeadOpportunityId 3DS already holds: EXISTS, with the record's id and
/// the create's answer when there was one (the row says why it is not CREATED).
fn exists(
    report: &Report,
    id: String,
    answer: Option<crate::api::envelope::Failure>,
    plid: &str,
) -> (Status, Detail) {
    let mut d = detail(report, "create: 3DS already holds it (ERR801)");
    d.ds_id = Some(id);
    if let Some(f) = answer {
        d.http_status = Some(f.status);
        d.error_code = f.code;
    }
    d.message = Some(format!(
        "3DS already holds partnerLeadOpportunityId `{plid}`; this is its id. Nothing was changed: use --mode upsert to update it"
    ));
    (Status::Exists, d)
}

const UPSERT: &str = "update (existing record found after ERR801)";

/// The one record holding `plid`; several are a failure, since which one is the row's cannot
/// be told.
async fn find_one(
    client: &Client,
    plid: &str,
    report: &mut Report,
) -> Result<Option<String>, (CallError, &'static str)> {
    let ids = client
        .search_partner_ids(&[plid.to_string()], report)
        .await
        .map_err(|e| (e, "create"))?;
    if ids.len() > 1 {
        let why = format!(
            "3DS holds {} records with partnerLeadOpportunityId `{plid}` ({}): which one is this row's cannot be told, so nothing was sent",
            ids.len(),
            ids.join(", ")
        );
        return Err((CallError::Unknown(why), "create"));
    }
    Ok(ids.into_iter().next())
}

/// A record found by its partnerLeadOpportunityId after an unknown outcome: this row's create
/// if it holds what the row sends (CREATED); else a record that was there before, which an
/// upsert updates and a create reports as EXISTS. The forecast category is left out of the
/// comparison: 3DS sets it from the status (REFERENCE.md §7).
async fn confirm(
    client: &Client,
    id: &str,
    body: &Value,
    how: How,
    action: &str,
    report: &mut Report,
) -> Sent {
    let record = client.get(id, report).await.map_err(|e| (e, "create"))?;
    let mut compared = body.clone();
    if let Some(lo) = compared
        .get_mut("leadOpportunity")
        .and_then(Value::as_object_mut)
    {
        lo.remove("forecastCategory");
    }
    if unchanged::changes(&compared, &record).is_none() {
        let mut d = detail(report, action);
        d.ds_id = Some(id.to_string());
        return Ok((Status::Created, d));
    }
    if how.mode == Mode::Upsert {
        return update_found(client, id, body, &record, report).await;
    }
    let plid = body["leadOpportunity"]["partnerLeadOpportunityId"]
        .as_str()
        .unwrap_or_default();
    let mut d = detail(
        report,
        "create: 3DS already holds another record with its partnerLeadOpportunityId",
    );
    d.ds_id = Some(id.to_string());
    d.message = Some(format!(
        "3DS already holds partnerLeadOpportunityId `{plid}` with other values; this is its id. Nothing was changed: use --mode upsert to update it"
    ));
    Ok((Status::Exists, d))
}

/// Upsert: the record `id` (read as `record`) exists; it is updated with what differs.
async fn update_found(
    client: &Client,
    id: &str,
    body: &Value,
    record: &Value,
    report: &mut Report,
) -> Sent {
    let Some(changes) = unchanged::changes(body, record) else {
        let mut d = detail(report, "update skipped: 3DS already holds these values");
        d.ds_id = Some(id.to_string());
        return Ok((Status::Unchanged, d));
    };
    let id = client
        .update(id, &changes, report)
        .await
        .map_err(|e| (e, UPSERT))?;
    let mut d = detail(report, UPSERT);
    d.ds_id = Some(id);
    Ok((Status::Updated, d))
}

async fn update(
    client: &Client,
    lead: &SpooledLead,
    body: &Value,
    how: How,
    report: &mut Report,
) -> Sent {
    let ds_id = lead.ds_id.clone().unwrap_or_default();
    if how.skip_unchanged {
        match client.get(&ds_id, report).await {
            Ok(record) if unchanged::changes(body, &record).is_none() => {
                let mut d = detail(report, "update skipped: 3DS already holds these values");
                d.ds_id = Some(ds_id);
                return Ok((Status::Unchanged, d));
            }
            Err(e @ (CallError::StopRun(_) | CallError::Halted(_) | CallError::Interrupted)) => {
                return Err((e, "update"));
            }
            // A change, or a read that failed: the update itself says what happens.
            _ => {}
        }
    }
    let id = client
        .update(&ds_id, body, report)
        .await
        .map_err(|e| (e, "update"))?;
    let mut d = detail(report, "update");
    d.ds_id = Some(id);
    Ok((Status::Updated, d))
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
            clears: vec![],
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
        assert!(d.message.unwrap().contains("interrupted"));
    }
}
