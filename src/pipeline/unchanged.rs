//! What an update would change in the record 3DS holds. `import --skip-unchanged` skips the
//! PATCH when the answer is nothing (UNCHANGED): a round trip of a few thousand exported leads
//! where a dozen were edited then touches a dozen, and the others keep their modifiedDate. An
//! upsert that meets an existing record (ERR801) sends only what differs.
//!
//! The comparison is between the write model (the PATCH body) and the read model of a GET,
//! which nests differently (REFERENCE.md §5.7): offerLines and customerLegalEntity sit inside
//! `leadOpportunity`, and the contact lists are read as `customerContact`/`partnerContact`
//! (both spellings accepted). It errs one way only: anything it cannot show equal counts as a
//! change and is sent.
//!
//! "Equal" is as the import's API version shows the record, the same view an export through
//! that version wrote: v0 shows no offer-line dates and v0 revenue types, v1 shows older v0
//! types as `PxC`. A row left as exported is then UNCHANGED, which keeps what that version
//! cannot show; a PATCH would replace the offer lines with what it can.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use crate::api::contract::{Section, enums};

/// Whether sending the forecast category `sent` would leave the `stored` one: 3DS stores the
/// category a status dictates (`EMPTY` for a lead status, `WON`, `LOST`; REFERENCE.md §7)
/// whatever is sent, so a row that says `Commit` for an accepted lead changes nothing, and an
/// upsert run every night would otherwise update it every night.
fn same_forecast_category(
    sent: &Value,
    fields: &serde_json::Map<String, Value>,
    record: &Value,
    stored: &Value,
) -> bool {
    let status = fields
        .get("status")
        .or_else(|| record.get("status"))
        .and_then(Value::as_str);
    match (status, sent.as_str()) {
        (Some(status), Some(v)) => match enums::forecast_category_at_creation(status, Some(v)) {
            Ok(kept) => stored.as_str() == Some(kept),
            // Not allowed for that status: sent, so that 3DS says why.
            Err(_) => false,
        },
        _ => same_value("forecastCategory", sent, stored),
    }
}

/// The part of the update `body` that would change the record, or `None` when every value it
/// sets is already the record's. `record` is the read model's `leadOpportunity`. What is kept:
/// `partnerId` and `leadOpportunity.partnerLeadOpportunityId` (an update names its lead), the
/// lead fields that differ, the whole legal entity when any of its fields differs (the update
/// schema wants its name, city and country together), and every list that differs, whole (a
/// PATCH replaces lists).
pub fn changes(body: &Value, record: &Value) -> Option<Value> {
    let Some(body) = body.as_object() else {
        return Some(body.clone());
    };
    let mut out = serde_json::Map::new();
    let mut changed = false;
    for (key, sent) in body {
        let differs = match key.as_str() {
            // Who sends it, not a value of the lead.
            "partnerId" => {
                out.insert(key.clone(), sent.clone());
                continue;
            }
            "leadOpportunity" => {
                let Some(fields) = sent.as_object() else {
                    out.insert(key.clone(), sent.clone());
                    changed = true;
                    continue;
                };
                let mut lo = serde_json::Map::new();
                for (k, v) in fields {
                    let stored = record.get(k).unwrap_or(&Value::Null);
                    let differs = if k == "forecastCategory" {
                        !same_forecast_category(v, fields, record, stored)
                    } else {
                        !same_value(k, v, stored)
                    };
                    changed |= differs;
                    if differs || k == "partnerLeadOpportunityId" {
                        lo.insert(k.clone(), v.clone());
                    }
                }
                out.insert(key.clone(), Value::Object(lo));
                continue;
            }
            "customerLegalEntity" => !fields_equal(sent, record.get("customerLegalEntity")),
            // Lists are replaced whole by a PATCH (REFERENCE.md §6): a stored item's field that
            // the row leaves out would be lost, so it counts too.
            "offerLines" => !lists_equal(sent, record, Section::OfferLine),
            "customerContacts" => !lists_equal(sent, record, Section::CustomerContact),
            "partnerContacts" => !lists_equal(sent, record, Section::PartnerContact),
            _ => true,
        };
        if differs {
            out.insert(key.clone(), sent.clone());
            changed = true;
        }
    }
    changed.then_some(Value::Object(out))
}

/// Every field of the object `sent` equals the same field of `stored`.
fn fields_equal(sent: &Value, stored: Option<&Value>) -> bool {
    let (Some(sent), Some(stored)) = (sent.as_object(), stored) else {
        return false;
    };
    sent.iter()
        .all(|(k, v)| same_value(k, v, stored.get(k).unwrap_or(&Value::Null)))
}

/// The same length, and item by item every writable field equal, whether the row sends it
/// or not.
fn lists_equal(sent: &Value, record: &Value, section: Section) -> bool {
    let Some(sent) = sent.as_array() else {
        return false;
    };
    // A list the record does not hold (absent, null) differs from any list sent.
    let Some(stored) = [section.read_key(), section.key()]
        .into_iter()
        .flatten()
        .find_map(|k| record.get(k).and_then(Value::as_array))
    else {
        return false;
    };
    sent.len() == stored.len()
        && sent.iter().zip(stored).all(|(s, t)| {
            let (Some(s), Some(t)) = (s.as_object(), t.as_object()) else {
                return false;
            };
            let writable = |k: &String| section.field(k).is_some();
            s.keys().chain(t.keys().filter(|k| writable(k))).all(|k| {
                let sent = s.get(k).unwrap_or(&Value::Null);
                let stored = t.get(k).unwrap_or(&Value::Null);
                // v1 gives a line without a revenue type the default `PxC` (REFERENCE.md
                // §5.3): sending none again keeps it. (v0 shows v0 types, never `PxC`.)
                let defaulted = section == Section::OfferLine
                    && k == "revenueType"
                    && blank(sent)
                    && stored.as_str() == Some(enums::DEFAULT_REVENUE_TYPE_V1);
                defaulted || same_value(k, sent, stored)
            })
        })
}

fn blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn same_value(key: &str, sent: &Value, stored: &Value) -> bool {
    match (sent, stored) {
        _ if blank(sent) && blank(stored) => true,
        // Dates are compared as instants (`2026-06-01` is `2026-06-01T00:00:00.000Z`), and
        // only dates: a description that looks like one is text.
        (Value::String(a), Value::String(b)) if key.ends_with("Date") => {
            a == b || matches!((instant(a), instant(b)), (Some(x), Some(y)) if x == y)
        }
        // Exactly: amounts are sent as written (`13800` and `13800.0` are the same number).
        (Value::Number(a), Value::Number(b)) => {
            matches!((a.as_f64(), b.as_f64()), (Some(x), Some(y)) if x == y)
        }
        // Lists of values (reasonWon, competitors) in the same order: a PATCH would reorder.
        (a, b) => a == b,
    }
}

/// A date or date-time as an instant (a date is midnight UTC, as leadsheet sends it).
fn instant(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Value {
        json!({
            "dsLeadOpportunityId": "9YEL-Y3W56Q",
            "partnerLeadOpportunityId": "CRM-1",
            "status": "OPPY_OPEN",
            "closeDate": "2026-06-01T00:00:00.000Z",
            "reasonWon": ["SOLUTION_FUNCT", "IT_DRVN_ACT"],
            "modifiedDate": "2026-01-01T00:00:00.000Z",
            "customerLegalEntity": {"name": "ACME", "city": "Paris", "country": "France"},
            "offerLines": [{"offerNameId": "O1", "amount": 13800, "startDate": "2026-07-01", "lineId": "read-only"}],
            "customerContact": [{"email": "a@b.com", "firstName": "A", "lastName": "B", "phoneNumber": ""}],
            "description": "2026-06-01"
        })
    }

    #[test]
    fn a_category_the_status_overrides_changes_nothing() {
        // 3DS keeps EMPTY for a lead status whatever category is sent.
        let mut lead = record();
        lead["status"] = json!("ACCEPTED");
        lead["forecastCategory"] = json!("EMPTY");
        let body = |category: &str| json!({"leadOpportunity": {"partnerLeadOpportunityId": "CRM-1", "status": "ACCEPTED", "forecastCategory": category}});
        assert!(changes(&body("COMMIT"), &lead).is_none());
        // For an open opportunity, the category sent is the one kept.
        let mut oppy = record();
        oppy["forecastCategory"] = json!("UPSIDE");
        let to_commit = json!({"leadOpportunity": {"partnerLeadOpportunityId": "CRM-1", "forecastCategory": "COMMIT"}});
        assert!(changes(&to_commit, &oppy).is_some());
        let same = json!({"leadOpportunity": {"partnerLeadOpportunityId": "CRM-1", "forecastCategory": "UPSIDE"}});
        assert!(changes(&same, &oppy).is_none());
    }

    #[test]
    fn the_same_values_change_nothing() {
        let body = json!({
            "partnerId": "200000000014442",
            "leadOpportunity": {
                "partnerLeadOpportunityId": "CRM-1",
                "status": "OPPY_OPEN",
                "closeDate": "2026-06-01T00:00:00Z",
                "reasonWon": ["SOLUTION_FUNCT", "IT_DRVN_ACT"]
            },
            "customerLegalEntity": {"city": "Paris"},
            "offerLines": [{"offerNameId": "O1", "amount": 13800.0, "startDate": "2026-07-01"}],
            "customerContacts": [{"email": "a@b.com", "firstName": "A", "lastName": "B"}]
        });
        assert!(changes(&body, &record()).is_none());
        // A line sent without a revenue type keeps v1's default.
        let mut stored = record();
        stored["offerLines"][0]["revenueType"] = json!("PxC");
        assert!(changes(&body, &stored).is_none());
    }

    #[test]
    fn only_what_differs_is_sent() {
        let body = json!({
            "partnerId": "200000000014442",
            "leadOpportunity": {"partnerLeadOpportunityId": "CRM-1", "status": "WON", "closeDate": "2026-06-01"},
            "customerLegalEntity": {"name": "ACME", "city": "Lyon", "country": "France"},
            "offerLines": [{"offerNameId": "O1", "amount": 13800, "startDate": "2026-07-01"}],
        });
        assert_eq!(
            changes(&body, &record()).unwrap(),
            json!({
                "partnerId": "200000000014442",
                "leadOpportunity": {"partnerLeadOpportunityId": "CRM-1", "status": "WON"},
                "customerLegalEntity": {"name": "ACME", "city": "Lyon", "country": "France"},
            })
        );
    }

    #[test]
    fn any_difference_is_a_change() {
        for body in [
            json!({"leadOpportunity": {"status": "WON"}}),
            json!({"leadOpportunity": {"closeDate": "2026-06-02"}}),
            json!({"leadOpportunity": {"description": "2026-06-01T00:00:00Z"}}),
            json!({"leadOpportunity": {"description": "new"}}),
            json!({"leadOpportunity": {"reasonWon": ["SOLUTION_FUNCT"]}}),
            json!({"leadOpportunity": {"reasonWon": ["IT_DRVN_ACT", "SOLUTION_FUNCT"]}}),
            // A stored item's field the row leaves out would be lost by the PATCH.
            json!({"leadOpportunity": {}, "offerLines": [{"offerNameId": "O1", "amount": 13800}]}),
            json!({"leadOpportunity": {}, "customerContacts": [{"email": "a@b.com", "firstName": "A"}]}),
            json!({"leadOpportunity": {}, "offerLines": [{"offerNameId": "O1", "amount": 13801}]}),
            json!({"leadOpportunity": {}, "offerLines": [{"offerNameId": "O1", "amount": 13800, "startDate": "2026-07-01", "revenueType": "YxC"}]}),
            json!({"leadOpportunity": {}, "offerLines": [{"offerNameId": "O1", "amount": 13800.000001}]}),
            json!({"leadOpportunity": {}, "offerLines": [{"offerNameId": "O1"}, {"offerNameId": "O2"}]}),
            json!({"leadOpportunity": {}, "partnerContacts": [{"salesRepEmail": "r@x.com"}]}),
            json!({"leadOpportunity": {}, "somethingNew": 1}),
        ] {
            assert!(changes(&body, &record()).is_some(), "{body}");
        }
    }
}
