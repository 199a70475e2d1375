//! The sandbox's checks of create and update bodies, as 3DS documents them: required fields,
//! enums of the path's version, the currency pattern, ISO 8601 dates (406 `ERR805`), offer
//! lines, the customer legal entity and contacts. The first problem found is answered, as the
//! real API does; the message names the field by its JSON path.

use serde_json::{Map, Value};

mod items;
mod values;

use items::{customer_contacts, legal_entity, offer_lines, partner_contacts, patch_legal_entity};

use values::{Kind, as_object, check_field, invalid, required, required_text, type_name};

use crate::api::contract::{self, ApiVersion, Section, enums};

/// An answer other than success: HTTP status, error code and message.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

/// The code of every field-level 400 the sandbox answers (the real API documents `error: {}`).
pub const INVALID_FIELD: &str = "INVALID_FIELD";
pub const ERR805_MESSAGE: &str =
    "Incorrect Close Date/next milestone date Format. Provide date in ISO8601 format.";

/// A create body that passed every check, split the way the store keeps it.
#[derive(Debug)]
pub struct NewLead {
    pub partner_lead_id: String,
    pub lead: Map<String, Value>,
    pub offer_lines: Vec<Map<String, Value>>,
    pub legal_entity: Map<String, Value>,
    pub customer_contacts: Vec<Value>,
    pub partner_contacts: Vec<Value>,
}

/// A PATCH body that passed every check: only what was sent.
#[derive(Debug)]
pub struct Patch {
    pub partner_lead_id: String,
    pub lead: Map<String, Value>,
    pub offer_lines: Option<Vec<Map<String, Value>>>,
    pub legal_entity: Option<Map<String, Value>>,
    pub customer_contacts: Option<Vec<Value>>,
    pub partner_contacts: Option<Vec<Value>>,
}

const CREATE_REQUIRED: &[&str] = &["name", "status", "closeDate", "currency"];

/// Checks the writable leadOpportunity fields present in `lo` (other than
/// partnerLeadOpportunityId, which the caller takes) and copies them out.
///
/// Only the contract's fields are copied, here and in every section (`items.rs`): a key the
/// contract does not know is ignored, neither refused nor stored. No schema of the contract
/// sets `additionalProperties: false`, and REFERENCE.md §5.1 says a misspelt key "passes
/// validation and may be silently ignored by the server" (also §11 #23), so refusing one would
/// fail bodies 3DS accepts. leadsheet's own client never sends such a key: its mapping refuses
/// a column bound to a field the contract lacks.
fn lead_fields(
    lo: &Map<String, Value>,
    version: ApiVersion,
) -> Result<Map<String, Value>, Rejection> {
    let mut out = Map::new();
    for id in Section::Lead.fields() {
        let field = contract::field(id);
        if field.name == "partnerLeadOpportunityId" {
            continue;
        }
        if let Some(v) = lo.get(field.name) {
            check_field(
                Kind::of(field.kind, version),
                v,
                &format!("leadOpportunity.{}", field.name),
            )?;
            out.insert(field.name.to_string(), v.clone());
        }
    }
    Ok(out)
}

fn body_object(body: &Value) -> Result<&Map<String, Value>, Rejection> {
    body.as_object().ok_or_else(|| Rejection {
        status: 400,
        code: "INVALID_JSON",
        message: format!("the body must be a JSON object, not {}", type_name(body)),
    })
}

/// Checks a create body for `version`'s path.
pub fn check_create(body: &Value, version: ApiVersion) -> Result<NewLead, Rejection> {
    let top = body_object(body)?;
    required_text(top, "partnerId", "body").map_err(|r| Rejection {
        message: r.message.replace("body.", ""),
        ..r
    })?;
    let lo = as_object(
        top.get("leadOpportunity")
            .ok_or_else(|| invalid("leadOpportunity", "is required"))?,
        "leadOpportunity",
    )?;
    let partner_lead_id =
        required_text(lo, "partnerLeadOpportunityId", "leadOpportunity")?.to_string();
    for key in CREATE_REQUIRED {
        let v = required(lo, key, "leadOpportunity")?;
        if v.as_str().is_some_and(|s| s.trim().is_empty()) {
            return Err(invalid(
                &format!("leadOpportunity.{key}"),
                "must not be empty",
            ));
        }
    }
    let lead = lead_fields(lo, version)?;
    let lines = offer_lines(
        top.get("offerLines")
            .ok_or_else(|| invalid("offerLines", "is required"))?,
        version,
    )?;
    if lines.is_empty() {
        return Err(invalid("offerLines", "must hold at least one offer line"));
    }
    let legal_entity = legal_entity(
        top.get("customerLegalEntity")
            .ok_or_else(|| invalid("customerLegalEntity", "is required"))?,
    )?;
    let status = lead
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Err(allowed) = enums::forecast_category_at_creation(
        status,
        lead.get("forecastCategory").and_then(Value::as_str),
    ) {
        return Err(invalid(
            "leadOpportunity.forecastCategory",
            format!("must be one of {} for status {status}", allowed.join(", ")),
        ));
    }
    Ok(NewLead {
        partner_lead_id,
        lead,
        offer_lines: lines,
        legal_entity,
        customer_contacts: top
            .get("customerContacts")
            .map(customer_contacts)
            .transpose()?
            .unwrap_or_default(),
        partner_contacts: top
            .get("partnerContacts")
            .map(partner_contacts)
            .transpose()?
            .unwrap_or_default(),
    })
}

/// Checks an update body for `version`'s path. `partnerId` is required: [Y] does not require
/// it, but [R], the newer source, does for v0 and v1 alike (REFERENCE.md §5.1, §11 #13), and
/// the sandbox is as strict as the strictest documented reading, so that a client tested
/// against it works with either. (The contract's own update examples leave it out.)
pub fn check_patch(body: &Value, version: ApiVersion) -> Result<Patch, Rejection> {
    let top = body_object(body)?;
    required_text(top, "partnerId", "body").map_err(|r| Rejection {
        message: r.message.replace("body.", ""),
        ..r
    })?;
    let lo = as_object(
        top.get("leadOpportunity")
            .ok_or_else(|| invalid("leadOpportunity", "is required"))?,
        "leadOpportunity",
    )?;
    let partner_lead_id =
        required_text(lo, "partnerLeadOpportunityId", "leadOpportunity")?.to_string();
    Ok(Patch {
        partner_lead_id,
        lead: lead_fields(lo, version)?,
        offer_lines: top
            .get("offerLines")
            .map(|v| offer_lines(v, version))
            .transpose()?,
        legal_entity: top
            .get("customerLegalEntity")
            .map(patch_legal_entity)
            .transpose()?,
        customer_contacts: top
            .get("customerContacts")
            .map(customer_contacts)
            .transpose()?,
        partner_contacts: top
            .get("partnerContacts")
            .map(partner_contacts)
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn basic() -> Value {
        json!({"partnerId":"200000000014442",
               "leadOpportunity":{"partnerLeadOpportunityId":"P-1","name":"n","status":"OPPY_OPEN",
                                  "closeDate":"2025-06-01T18:46:51.326Z","currency":"EUR"},
               "offerLines":[{"amount":1,"offerNameId":"X","revenueType":"PxC"}],
               "customerLegalEntity":{"name":"A","city":"B","country":"C"}})
    }

    #[test]
    fn accepts_basic_and_defaults_revenue_type() {
        let mut b = basic();
        b["offerLines"][0]
            .as_object_mut()
            .unwrap()
            .remove("revenueType");
        let lead = check_create(&b, ApiVersion::V1).unwrap();
        assert_eq!(lead.offer_lines[0]["revenueType"], "PxC");
    }

    #[test]
    fn rejections_name_the_field() {
        type Case = (fn(&mut Value), u16, &'static str);
        let cases: Vec<Case> = vec![
            (
                |b| b["leadOpportunity"]["currency"] = json!("eur"),
                400,
                "leadOpportunity.currency",
            ),
            (
                |b| b["leadOpportunity"]["closeDate"] = json!("31.12.2025"),
                406,
                "ISO8601",
            ),
            (|b| b["offerLines"] = json!([]), 400, "offerLines"),
            (
                |b| b["offerLines"][0]["revenueType"] = json!("UPFRONT"),
                400,
                "offerLines[1].revenueType",
            ),
            (
                |b| {
                    b.as_object_mut().unwrap().remove("partnerId");
                },
                400,
                "partnerId",
            ),
            (
                |b| b["customerLegalEntity"]["city"] = json!(""),
                400,
                "customerLegalEntity.city",
            ),
            (
                |b| b["customerContacts"] = json!([{"email":"x@y.com","firstName":"a"}]),
                400,
                "customerContacts[1].lastName",
            ),
            (
                |b| b["leadOpportunity"]["forecastCategory"] = json!("WON"),
                400,
                "forecastCategory",
            ),
            (
                |b| b["offerLines"][0]["startDate"] = json!("2025-01-01"),
                400,
                "only used with",
            ),
        ];
        for (change, status, needle) in cases {
            let mut b = basic();
            change(&mut b);
            let r = check_create(&b, ApiVersion::V1).unwrap_err();
            assert_eq!(r.status, status, "{r:?}");
            assert!(r.message.contains(needle), "{needle} not in {r:?}");
        }
    }
}
