//! The lead operations: create (checked, stored with the server's defaults, `ERR801` for a
//! taken partnerLeadOpportunityId), update (a partial change, with the forecast-category rules
//! of REFERENCE.md §7) and get (the read model in the path's version).

use axum::response::Response;
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::faults::AfterCommit;
use super::reply::{Answer, already_exists, json_response, not_in_scope, rejected, unavailable};
use super::rules::{self, Rejection};
use super::state::AppState;
use super::store::{Record, UpdateError, timestamp};
use crate::api::contract::{ApiVersion, Operation, enums};

/// A change is stored; the fault dice say whether it is answered, answered 503, or dropped.
fn after_commit(state: &AppState, op: Operation, ok: Response) -> Answer {
    match state.faults.after_commit() {
        AfterCommit::Answer => Answer::Now(ok),
        AfterCommit::Fail503 => {
            state.count_fault("commitThen503");
            Answer::Now(unavailable(state, op))
        }
        AfterCommit::Drop => {
            state.count_fault("commitThenDrop");
            Answer::DropConnection
        }
    }
}

pub fn create(state: &AppState, version: ApiVersion, body: &Value) -> Answer {
    let new = match rules::check_create(body, version) {
        Ok(n) => n,
        Err(r) => return Answer::Now(rejected(state, Operation::Create, &r)),
    };
    let now = Utc::now();
    let mut lead = new.lead;
    let status = lead
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let forecast = enums::forecast_category_at_creation(
        &status,
        lead.get("forecastCategory").and_then(Value::as_str),
    )
    .unwrap_or("UPSIDE");
    lead.insert("forecastCategory".into(), json!(forecast));
    lead.entry("dsOwnerEmail")
        .or_insert_with(|| json!("psm.primary@3ds.com"));
    lead.entry("reasonWon")
        .or_insert_with(|| json!([enums::DEFAULT_REASON_WON]));
    lead.entry("reasonLost")
        .or_insert_with(|| json!([enums::DEFAULT_REASON_LOST]));
    let mut read_only = Map::new();
    for key in [
        "sboIndicator",
        "growthType",
        "leadPriority",
        "levelOfInterest",
        "partnerImportMode",
    ] {
        read_only.insert(key.into(), json!("EMPTY"));
    }
    let ds_id = state.new_ds_id();
    let record = Record {
        ds_id: ds_id.clone(),
        partner_lead_id: Some(new.partner_lead_id.clone()),
        lead,
        offer_lines: new.offer_lines,
        legal_entity: new.legal_entity,
        customer_contacts: new.customer_contacts,
        partner_contacts: new.partner_contacts,
        read_only,
        created: now,
        modified: now,
    };
    if state.store.insert(record).is_err() {
        return Answer::Now(already_exists(state, Operation::Create));
    }
    let ok = json_response(
        201,
        json!({
            "dsLeadOpportunityId": ds_id,
            "partnerLeadOpportunityId": new.partner_lead_id,
            "action": "create",
            "info": {"success": true, "statusCode": 201, "timestamp": timestamp(now), "traceId": state.trace_id()},
            "error": null
        }),
    );
    after_commit(state, Operation::Create, ok)
}

/// The forecast category after an update: lead stages store EMPTY, WON and LOST are set by
/// the system, open opportunities keep or take an allowed value.
fn forecast_after_update(
    status: &str,
    sent: Option<&str>,
    stored: Option<&str>,
) -> Result<&'static str, Rejection> {
    match enums::forecast_category_at_creation(status, sent) {
        Ok(v) if sent.is_some() || !enums::FORECAST_CATEGORY_OPEN_OPPY.contains(&v) => Ok(v),
        Ok(default) => Ok(stored
            .and_then(|s| {
                enums::FORECAST_CATEGORY_OPEN_OPPY
                    .iter()
                    .find(|a| **a == s)
                    .copied()
            })
            .unwrap_or(default)),
        Err(allowed) => Err(Rejection {
            status: 400,
            code: rules::INVALID_FIELD,
            message: format!(
                "leadOpportunity.forecastCategory: must be one of {} for status {status}",
                allowed.join(", ")
            ),
        }),
    }
}

pub fn update(state: &AppState, version: ApiVersion, id: &str, body: &Value) -> Answer {
    let patch = match rules::check_patch(body, version) {
        Ok(p) => p,
        Err(r) => return Answer::Now(rejected(state, Operation::Update, &r)),
    };
    let now = Utc::now();
    let result = state.store.update(id, |rec: &mut Record| -> Result<(), Rejection> {
        match &rec.partner_lead_id {
            Some(stored) if *stored != patch.partner_lead_id => {
                return Err(Rejection {
                    status: 400,
                    code: "PARTNER_ID_MISMATCH",
                    message: format!(
                        "leadOpportunity.partnerLeadOpportunityId: `{}` does not match the record's `{stored}`",
                        patch.partner_lead_id
                    ),
                });
            }
            Some(_) => {}
            None => rec.partner_lead_id = Some(patch.partner_lead_id.clone()),
        }
        let status = patch
            .lead
            .get("status")
            .or_else(|| rec.lead.get("status"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let forecast = forecast_after_update(
            &status,
            patch.lead.get("forecastCategory").and_then(Value::as_str),
            rec.lead.get("forecastCategory").and_then(Value::as_str),
        )?;
        for (k, v) in &patch.lead {
            rec.lead.insert(k.clone(), v.clone());
        }
        rec.lead.insert("forecastCategory".into(), json!(forecast));
        if let Some(lines) = &patch.offer_lines {
            rec.offer_lines = lines.clone();
        }
        if let Some(le) = &patch.legal_entity {
            for (k, v) in le {
                if v.is_null() {
                    rec.legal_entity.remove(k);
                } else {
                    rec.legal_entity.insert(k.clone(), v.clone());
                }
            }
        }
        if let Some(c) = &patch.customer_contacts {
            rec.customer_contacts = c.clone();
        }
        if let Some(c) = &patch.partner_contacts {
            rec.partner_contacts = c.clone();
        }
        // Strictly later than before, so a search window can always see the change.
        rec.modified = now.max(rec.modified + chrono::Duration::milliseconds(1));
        Ok(())
    });
    match result {
        Err(UpdateError::NotFound) => Answer::Now(not_in_scope(state, Operation::Update)),
        Err(UpdateError::Duplicate) => Answer::Now(already_exists(state, Operation::Update)),
        Err(UpdateError::Refused(r)) => Answer::Now(rejected(state, Operation::Update, &r)),
        Ok(()) => {
            let ok = json_response(
                200,
                json!({
                    "info": {"success": true, "statusCode": 200, "timeStamp": timestamp(now), "traceId": null},
                    "error": null,
                    "data": {"partnerLeadOpportunityId": patch.partner_lead_id, "dsLeadOpportunityId": id, "action": "update"}
                }),
            );
            after_commit(state, Operation::Update, ok)
        }
    }
}

pub fn get(state: &AppState, version: ApiVersion, id: &str) -> Response {
    match state.store.get(id) {
        None => not_in_scope(state, Operation::Get),
        Some(rec) => json_response(
            200,
            json!({
                "error": null,
                "info": {"success": true, "statusCode": 200, "timeStamp": timestamp(Utc::now()), "traceId": null},
                "data": {"leadOpportunity": rec.read_model(version)}
            }),
        ),
    }
}
