//! The two searches: lead-opportunities by modified-date windows and partnerLeadOpportunityIds
//! (`ERROR_043` for a bad window, REFERENCE.md §4.4), and the portfolio's skip/top paging
//! (`ERROR_004`, §4.5).

use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::catalogue;
use super::reply::{envelope_error, json_response, rejected};
use super::rules::{self, Rejection};
use super::state::AppState;
use super::store::timestamp;
use crate::api::contract::Operation;

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
            .ok_or_else(|| bad(format!("data[{}]: must be an object", i + 1)))?;
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
                            "data[{}].partnerLeadOpportunityId: every item must be a string",
                            i + 1
                        ))
                    })?,
                _ => {
                    return Err(bad(format!(
                        "data[{}].partnerLeadOpportunityId: must be a string or an array of strings",
                        i + 1
                    )));
                }
            };
            out.push(Criterion::PartnerIds(ids));
        }
        if !found {
            return Err(bad(format!(
                "data[{}]: must carry modifiedDate or partnerLeadOpportunityId",
                i + 1
            )));
        }
    }
    Ok(out)
}

pub fn search(state: &AppState, body: &Value) -> Response {
    let criteria = match search_criteria(body) {
        Ok(c) => c,
        Err(r) => return rejected(state, Operation::Search, &r),
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

pub fn portfolio(state: &AppState, query: &str) -> Response {
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
                        Operation::Portfolio,
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
                        Operation::Portfolio,
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
