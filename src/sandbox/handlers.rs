//! Request handling: routing, the gateway (key, rate limit, faults), the five operations and
//! the stats endpoint. One dispatch function owns the whole sequence so that every answer,
//! including the gateway's 401/403/429 and injected faults, is counted in one place.

// Early answers travel as `Err(Response)`; they are built once per request, off any hot loop.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::SandboxConfig;
use super::faults::{AfterCommit, Faults};
use super::rules::{self, Rejection};
use super::server::ConnectionKiller;
use super::store::{Record, Store, UpdateError, timestamp};
use super::{catalogue, preload};
use crate::api::enums::{self, ApiVersion};

/// The operations, as named in stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Update,
    Get,
    Search,
    Portfolio,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Get => "get",
            Op::Search => "search",
            Op::Portfolio => "portfolio",
        }
    }
}

enum Route {
    Api(Op, ApiVersion, Option<String>),
    Stats,
}

#[derive(Default)]
struct Stats {
    by_op: BTreeMap<&'static str, BTreeMap<String, u64>>,
    faults: BTreeMap<&'static str, u64>,
    total: u64,
}

pub struct AppState {
    pub config: SandboxConfig,
    pub store: Store,
    faults: Faults,
    ids: Mutex<fastrand::Rng>,
    stats: Mutex<Stats>,
}

impl AppState {
    pub fn new(config: SandboxConfig) -> Self {
        let store = Store::default();
        let mut ids = fastrand::Rng::with_seed(config.seed);
        let now = Utc::now();
        let mut preload_rng = fastrand::Rng::with_seed(config.seed.wrapping_add(0x5EED));
        for i in 0..config.preload {
            let id = preload::new_ds_id(&mut ids, |id| store.contains_id(id));
            let record = preload::lead(&mut preload_rng, i, now, id);
            // Preloaded partner ids are numbered, so they cannot collide.
            let _ = store.insert(record);
        }
        AppState {
            faults: Faults::new(&config),
            config,
            store,
            ids: Mutex::new(ids),
            stats: Mutex::new(Stats::default()),
        }
    }

    fn count(&self, op: Op, outcome: &str) {
        let mut s = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        s.total += 1;
        *s.by_op
            .entry(op.name())
            .or_default()
            .entry(outcome.to_string())
            .or_default() += 1;
    }

    fn count_fault(&self, fault: &'static str) {
        let mut s = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        *s.faults.entry(fault).or_default() += 1;
    }

    fn trace_id(&self) -> String {
        let mut rng = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        format!("{:016x}{:016x}", rng.u64(..), rng.u64(..))
    }

    fn new_ds_id(&self) -> String {
        let mut rng = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        preload::new_ds_id(&mut rng, |id| self.store.contains_id(id))
    }
}

fn json_response(status: u16, body: Value) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, axum::Json(body)).into_response()
}

fn gateway(status: u16, message: &str) -> Response {
    json_response(status, json!({ "message": message }))
}

fn null_ids() -> Value {
    json!({"partnerLeadOpportunityId": null, "dsLeadOpportunityId": null, "action": null})
}

/// An error answer in the envelope shape the contract documents for `op` and `status`.
fn envelope_error(state: &AppState, op: Op, status: u16, code: &str, message: &str) -> Response {
    let now = timestamp(Utc::now());
    let trace = state.trace_id();
    let error = json!({"code": code, "message": message});
    let body = match (op, status) {
        // 503 bodies spell the timestamp in lowercase (REFERENCE.md §11 #5).
        (_, 503) => json!({
            "info": {"success": false, "statusCode": 503, "timestamp": now, "traceId": trace},
            "error": error, "data": null_ids()}),
        (Op::Portfolio, _) => json!({
            "info": {"success": false, "statusCode": status, "timeStamp": now,
                     "estimatedSearchCount": catalogue::CATALOGUE_SIZE},
            "error": error}),
        // The update 400 body names its error `errors` and requires an object `data`.
        (Op::Update, 400) => json!({
            "info": {"success": false, "statusCode": 400, "timeStamp": now, "traceId": trace},
            "errors": error, "data": {}}),
        (Op::Get | Op::Update, 500) | (Op::Search, _) => json!({
            "info": {"success": false, "statusCode": status, "timeStamp": now, "traceId": trace},
            "error": error, "data": null}),
        _ => json!({
            "info": {"success": false, "statusCode": status, "timeStamp": now, "traceId": trace},
            "error": error, "data": null_ids()}),
    };
    json_response(status, body)
}

fn rejected(state: &AppState, op: Op, r: &Rejection) -> Response {
    envelope_error(state, op, r.status, r.code, &r.message)
}

fn not_in_scope(state: &AppState, op: Op) -> Response {
    envelope_error(
        state,
        op,
        500,
        "ERROR_048",
        "Leverage Id not in scope of requestor",
    )
}

fn route(method: &Method, path: &str) -> Result<Route, Response> {
    let path = path.strip_suffix('/').unwrap_or(path);
    if path == "/_sandbox/stats" {
        return if method == Method::GET {
            Ok(Route::Stats)
        } else {
            Err(gateway(405, "Method not allowed"))
        };
    }
    let not_found = || gateway(404, &format!("No operation at {path}"));
    let rest = path
        .strip_prefix("/sales/api4partners/")
        .ok_or_else(not_found)?;
    let mut parts = rest.split('/');
    let version: ApiVersion = parts
        .next()
        .unwrap_or_default()
        .parse()
        .map_err(|_| not_found())?;
    let resource = parts.next().ok_or_else(not_found)?;
    let tail = parts.next();
    if parts.next().is_some() {
        return Err(not_found());
    }
    let wrong_method = || gateway(405, &format!("Method {method} not allowed on {path}"));
    match (resource, tail) {
        ("leads-opportunities", None) => match *method {
            Method::POST => Ok(Route::Api(Op::Create, version, None)),
            _ => Err(wrong_method()),
        },
        ("leads-opportunities", Some("search")) if *method == Method::POST => {
            if version == ApiVersion::V0 {
                Ok(Route::Api(Op::Search, version, None))
            } else {
                Err(not_found())
            }
        }
        ("leads-opportunities", Some(id)) if !id.is_empty() => match *method {
            Method::GET => Ok(Route::Api(Op::Get, version, Some(id.to_string()))),
            Method::PATCH => Ok(Route::Api(Op::Update, version, Some(id.to_string()))),
            _ => Err(wrong_method()),
        },
        ("portfolio-items", Some("search")) if version == ApiVersion::V0 => match *method {
            Method::GET => Ok(Route::Api(Op::Portfolio, version, None)),
            _ => Err(wrong_method()),
        },
        _ => Err(not_found()),
    }
}

/// The single entry point of the sandbox's router.
pub async fn dispatch(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    req: Request,
) -> Response {
    let (op, version, id) = match route(req.method(), req.uri().path()) {
        Err(resp) => return resp,
        Ok(Route::Stats) => {
            return match check_key(&state, &req) {
                Err(resp) => resp,
                Ok(_) => json_response(200, stats(&state)),
            };
        }
        Ok(Route::Api(op, version, id)) => (op, version, id),
    };
    let (delay, slow) = state.faults.delay();
    if slow {
        state.count_fault("slow");
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let resp = match gate(&state, op, &req) {
        Err(resp) => resp,
        Ok(()) => {
            let killer = req.extensions().get::<ConnectionKiller>().cloned();
            match operation(&state, op, version, id, req).await {
                Answer::Now(resp) => resp,
                Answer::DropConnection => {
                    state.count(op, "dropped");
                    if let Some(k) = killer {
                        k.kill();
                    }
                    // The connection task drops this future once it sees the kill.
                    std::future::pending::<()>().await;
                    unreachable!("a pending future never completes")
                }
            }
        }
    };
    state.count(op, resp.status().as_str());
    resp
}

fn check_key(state: &AppState, req: &Request) -> Result<String, Response> {
    let Some(key) = req.headers().get("x-api-key") else {
        return Err(gateway(401, "Missing API key in request"));
    };
    match key.to_str() {
        Ok(k) if state.config.api_keys.iter().any(|a| a == k) => Ok(k.to_string()),
        _ => Err(gateway(403, "API Consumer Not allowed")),
    }
}

/// The gateway in front of the operations: key, rate limit, then the 503 fault.
fn gate(state: &AppState, op: Op, req: &Request) -> Result<(), Response> {
    let key = check_key(state, req)?;
    if let Err(wait) = state.faults.take_token(&key) {
        state.count_fault("rateLimited");
        let mut resp = gateway(429, "Too many requests, please try again later");
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return Err(resp);
    }
    if state.faults.fail_503() {
        state.count_fault("fail503");
        return Err(unavailable(state, op));
    }
    Ok(())
}

fn unavailable(state: &AppState, op: Op) -> Response {
    envelope_error(
        state,
        op,
        503,
        "ERR899",
        "Service currently unavailable, please try again later.",
    )
}

enum Answer {
    Now(Response),
    DropConnection,
}

async fn operation(
    state: &AppState,
    op: Op,
    version: ApiVersion,
    id: Option<String>,
    req: Request,
) -> Answer {
    let id = id.unwrap_or_default();
    match op {
        Op::Get => Answer::Now(get(state, version, &id)),
        Op::Portfolio => Answer::Now(portfolio(state, req.uri().query().unwrap_or_default())),
        Op::Create | Op::Update | Op::Search => {
            let body = match read_json(state, op, req).await {
                Ok(v) => v,
                Err(resp) => return Answer::Now(resp),
            };
            match op {
                Op::Create => create(state, version, &body),
                Op::Update => update(state, version, &id, &body),
                _ => Answer::Now(search(state, &body)),
            }
        }
    }
}

async fn read_json(state: &AppState, op: Op, req: Request) -> Result<Value, Response> {
    let bad = |code: &str, message: String| envelope_error(state, op, 400, code, &message);
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or_default().trim();
    if essence != "application/json" {
        return Err(bad(
            "UNSUPPORTED_MEDIA_TYPE",
            format!(
                "Content-Type must be application/json, not `{}`",
                if ct.is_empty() { "(none)" } else { &ct }
            ),
        ));
    }
    let limit = state.config.max_body_bytes;
    let bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|e| {
            bad(
                "BODY_TOO_LARGE",
                format!(
                    "the request body could not be read within the limit of {limit} bytes: {e}"
                ),
            )
        })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        bad(
            "INVALID_JSON",
            format!(
                "the body is not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        )
    })
}

fn after_commit(state: &AppState, op: Op, ok: Response) -> Answer {
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

fn create(state: &AppState, version: ApiVersion, body: &Value) -> Answer {
    let new = match rules::check_create(body, version) {
        Ok(n) => n,
        Err(r) => return Answer::Now(rejected(state, Op::Create, &r)),
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
        return Answer::Now(envelope_error(
            state,
            Op::Create,
            400,
            "ERR801",
            "Leverage with this Partner External ID DSLeadOpportunityID already exists.",
        ));
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
    after_commit(state, Op::Create, ok)
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

fn update(state: &AppState, version: ApiVersion, id: &str, body: &Value) -> Answer {
    let patch = match rules::check_patch(body, version) {
        Ok(p) => p,
        Err(r) => return Answer::Now(rejected(state, Op::Update, &r)),
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
        Err(UpdateError::NotFound) => Answer::Now(not_in_scope(state, Op::Update)),
        Err(UpdateError::Duplicate) => Answer::Now(envelope_error(
            state,
            Op::Update,
            400,
            "ERR801",
            "Leverage with this Partner External ID DSLeadOpportunityID already exists.",
        )),
        Err(UpdateError::Refused(r)) => Answer::Now(rejected(state, Op::Update, &r)),
        Ok(()) => {
            let ok = json_response(
                200,
                json!({
                    "info": {"success": true, "statusCode": 200, "timeStamp": timestamp(now), "traceId": null},
                    "error": null,
                    "data": {"partnerLeadOpportunityId": patch.partner_lead_id, "dsLeadOpportunityId": id, "action": "update"}
                }),
            );
            after_commit(state, Op::Update, ok)
        }
    }
}

fn get(state: &AppState, version: ApiVersion, id: &str) -> Response {
    match state.store.get(id) {
        None => not_in_scope(state, Op::Get),
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

const ERROR_043_MESSAGE: &str = "Both startDateTime and endDateTime must be passed as parameters";

struct Window {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

enum Criterion {
    Window(Window),
    PartnerIds(Vec<String>),
}

fn search_criteria(body: &Value) -> Result<Vec<Criterion>, Rejection> {
    let bad = |message: String| Rejection {
        status: 400,
        code: rules::INVALID_FIELD,
        message,
    };
    let e043 = |detail: &str| Rejection {
        status: 400,
        code: "ERROR_043",
        message: if detail.is_empty() {
            ERROR_043_MESSAGE.to_string()
        } else {
            format!("{ERROR_043_MESSAGE}: {detail}")
        },
    };
    let data = body
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("data: is required and must be an array of criteria".into()))?;
    if data.is_empty() {
        return Err(bad("data: must hold at least one criterion".into()));
    }
    let mut out = Vec::new();
    for (i, item) in data.iter().enumerate() {
        let obj = item
            .as_object()
            .ok_or_else(|| bad(format!("data[{i}]: must be an object")))?;
        let mut found = false;
        if let Some(md) = obj.get("modifiedDate") {
            found = true;
            let bound = |key: &str| -> Result<DateTime<Utc>, Rejection> {
                let s = md
                    .get(key)
                    .and_then(Value::as_str)
                    .ok_or_else(|| e043(""))?;
                let t = chrono::DateTime::parse_from_rfc3339(s)
                    .map_err(|_| e043(&format!("{key} `{s}` is not an ISO 8601 date-time")))?;
                if t.offset().local_minus_utc() != 0 {
                    return Err(e043(&format!("{key} `{s}` must be in UTC")));
                }
                Ok(t.with_timezone(&Utc))
            };
            let (from, to) = (bound("fromDate")?, bound("toDate")?);
            if from >= to {
                return Err(e043("fromDate must be before toDate"));
            }
            if to - from > chrono::Duration::days(7) {
                return Err(e043(
                    "the window from fromDate to toDate must not exceed 7 days",
                ));
            }
            out.push(Criterion::Window(Window { from, to }));
        }
        if let Some(p) = obj.get("partnerLeadOpportunityId") {
            found = true;
            let ids = match p {
                Value::String(s) => vec![s.clone()],
                Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        bad(format!(
                            "data[{i}].partnerLeadOpportunityId: every item must be a string"
                        ))
                    })?,
                _ => {
                    return Err(bad(format!(
                        "data[{i}].partnerLeadOpportunityId: must be a string or an array of strings"
                    )));
                }
            };
            out.push(Criterion::PartnerIds(ids));
        }
        if !found {
            return Err(bad(format!(
                "data[{i}]: must carry modifiedDate or partnerLeadOpportunityId"
            )));
        }
    }
    Ok(out)
}

fn search(state: &AppState, body: &Value) -> Response {
    let criteria = match search_criteria(body) {
        Ok(c) => c,
        Err(r) => return rejected(state, Op::Search, &r),
    };
    let ids = state.store.search(|rec| {
        criteria.iter().all(|c| match c {
            Criterion::Window(w) => rec.modified >= w.from && rec.modified <= w.to,
            Criterion::PartnerIds(ids) => {
                let mine = rec.partner_lead_id.as_deref().unwrap_or("");
                ids.iter().any(|id| id == mine)
            }
        })
    });
    json_response(
        200,
        json!({
            "info": {"success": true, "statusCode": 200, "timeStamp": timestamp(Utc::now()), "traceId": state.trace_id()},
            "error": null,
            "data": [{"dsLeadOpportunityId": ids}]
        }),
    )
}

fn portfolio(state: &AppState, query: &str) -> Response {
    let mut skip: i64 = 0;
    let mut top: i64 = 9999;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let parsed = v.trim().parse::<i64>();
        match k {
            "top" => match parsed {
                Ok(n) if n > 0 => top = n,
                _ => {
                    return envelope_error(
                        state,
                        Op::Portfolio,
                        400,
                        "ERROR_004",
                        "#top should be a positive, non zero integer",
                    );
                }
            },
            "skip" => match parsed {
                Ok(n) if n >= 0 => skip = n,
                _ => {
                    return envelope_error(
                        state,
                        Op::Portfolio,
                        400,
                        "ERROR_004",
                        "#skip should be a non-negative integer",
                    );
                }
            },
            _ => {}
        }
    }
    let items = catalogue::page(
        usize::try_from(skip).unwrap_or(usize::MAX),
        usize::try_from(top).unwrap_or(usize::MAX),
    );
    json_response(
        200,
        json!({
            "info": {"success": true, "statusCode": 200, "estimatedSearchCount": catalogue::CATALOGUE_SIZE,
                     "timeStamp": timestamp(Utc::now())},
            "data": items
        }),
    )
}

fn stats(state: &AppState) -> Value {
    let s = state.stats.lock().unwrap_or_else(|e| e.into_inner());
    let counts = state.store.partner_lead_id_counts();
    let duplicates: Vec<&String> = counts
        .iter()
        .filter(|(_, n)| *n > 1)
        .map(|(k, _)| k)
        .collect();
    json!({
        "requests": {"total": s.total, "byOperation": s.by_op},
        "faults": s.faults,
        "records": {"total": state.store.len(), "unassigned": state.store.unassigned()},
        "partnerLeadOpportunityIds": counts.iter().map(|(k, n)| (k.clone(), json!(n))).collect::<Map<String, Value>>(),
        "duplicates": duplicates,
    })
}
