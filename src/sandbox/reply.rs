//! The sandbox's answers, in the shapes the contract documents for each operation and status
//! (REFERENCE.md §9, §10): the application envelope `{info, error|errors, data}` with its
//! per-operation quirks, and the gateway's bare `{message}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use super::catalogue;
use super::rules::Rejection;
use super::state::AppState;
use super::store::timestamp;
use crate::api::contract::Operation;

/// What a handler decided: an answer, or to close the connection without one.
pub enum Answer {
    Now(Response),
    DropConnection,
}

pub fn json_response(status: u16, body: Value) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, axum::Json(body)).into_response()
}

/// The gateway's own answers (401, 403, 404, 405, 429): `{message}` only.
pub fn gateway(status: u16, message: &str) -> Response {
    json_response(status, json!({ "message": message }))
}

fn null_ids() -> Value {
    json!({"partnerLeadOpportunityId": null, "dsLeadOpportunityId": null, "action": null})
}

/// An error answer in the envelope shape the contract documents for `op` and `status`.
pub fn envelope_error(
    state: &AppState,
    op: Operation,
    status: u16,
    code: &str,
    message: &str,
) -> Response {
    let now = timestamp(Utc::now());
    let trace = state.trace_id();
    let error = json!({"code": code, "message": message});
    let body = match (op, status) {
        // 503 bodies spell the timestamp in lowercase (REFERENCE.md §11 #5).
        (_, 503) => json!({
            "info": {"success": false, "statusCode": 503, "timestamp": now, "traceId": trace},
            "error": error, "data": null_ids()}),
        (Operation::Portfolio, _) => json!({
            "info": {"success": false, "statusCode": status, "timeStamp": now,
                     "estimatedSearchCount": catalogue::CATALOGUE_SIZE},
            "error": error}),
        // The update 400 body names its error `errors` and requires an object `data`.
        (Operation::Update, 400) => json!({
            "info": {"success": false, "statusCode": 400, "timeStamp": now, "traceId": trace},
            "errors": error, "data": {}}),
        (Operation::Get | Operation::Update, 500) | (Operation::Search, _) => json!({
            "info": {"success": false, "statusCode": status, "timeStamp": now, "traceId": trace},
            "error": error, "data": null}),
        _ => json!({
            "info": {"success": false, "statusCode": status, "timeStamp": now, "traceId": trace},
            "error": error, "data": null_ids()}),
    };
    json_response(status, body)
}

pub fn rejected(state: &AppState, op: Operation, r: &Rejection) -> Response {
    envelope_error(state, op, r.status, r.code, &r.message)
}

/// 500 `ERROR_048`, the contract's only "not in scope" error, for an id the store lacks.
pub fn not_in_scope(state: &AppState, op: Operation) -> Response {
    envelope_error(
        state,
        op,
        500,
        "ERROR_048",
        "Leverage Id not in scope of requestor",
    )
}

/// 503 `ERR899`: documented as "not processed".
pub fn unavailable(state: &AppState, op: Operation) -> Response {
    envelope_error(
        state,
        op,
        503,
        "ERR899",
        "Service currently unavailable, please try again later.",
    )
}

/// 400 `ERR801`: the partnerLeadOpportunityId is taken.
pub fn already_exists(state: &AppState, op: Operation) -> Response {
    envelope_error(
        state,
        op,
        400,
        "ERR801",
        "Leverage with this Partner External ID DSLeadOpportunityID already exists.",
    )
}
