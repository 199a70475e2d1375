//! The sandbox's checks of create and update bodies, as 3DS documents them: required fields,
//! enums of the path's version, the currency pattern, ISO 8601 dates (406 `ERR805`), offer
//! lines, the customer legal entity and contacts. The first problem found is answered, as the
//! real API does; the message names the field by its JSON path.

use chrono::NaiveDate;
use serde_json::{Map, Value};

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

fn invalid(path: &str, what: impl std::fmt::Display) -> Rejection {
    Rejection {
        status: 400,
        code: INVALID_FIELD,
        message: format!("{path}: {what}"),
    }
}

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

/// How the sandbox checks a value. The fields come from the contract's table; what is checked
/// of each kind is the sandbox's own judgement, kept apart from the client's on purpose (it is
/// the oracle the client is tested against). It checks only what the contract declares: no
/// e-mail syntax for `dsOwnerEmail`, whose schema has no `format` (REFERENCE.md §5.2).
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Enum(&'static [&'static str]),
    EnumList(&'static [&'static str]),
    TextList,
    DateTime,
    Currency,
}

impl Kind {
    fn of(kind: contract::Kind, version: ApiVersion) -> Kind {
        use contract::Kind as K;
        match kind {
            K::Enum(t) => Kind::Enum(t.values(version)),
            K::EnumList(t) => Kind::EnumList(t.values(version)),
            K::TextList => Kind::TextList,
            K::DateTime => Kind::DateTime,
            K::Currency => Kind::Currency,
            K::Text | K::Id | K::Email | K::Number | K::Date => Kind::Text,
        }
    }
}

const CREATE_REQUIRED: &[&str] = &["name", "status", "closeDate", "currency"];

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn as_object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, Rejection> {
    v.as_object()
        .ok_or_else(|| invalid(path, format!("must be an object, not {}", type_name(v))))
}

fn required<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Value, Rejection> {
    obj.get(key)
        .ok_or_else(|| invalid(&format!("{path}.{key}"), "is required"))
}

fn text<'a>(v: &'a Value, path: &str) -> Result<&'a str, Rejection> {
    v.as_str()
        .ok_or_else(|| invalid(path, format!("must be a string, not {}", type_name(v))))
}

fn required_text<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a str, Rejection> {
    let s = text(required(obj, key, path)?, &format!("{path}.{key}"))?;
    if s.trim().is_empty() {
        return Err(invalid(&format!("{path}.{key}"), "must not be empty"));
    }
    Ok(s)
}

fn one_of(
    allowed: &[&str],
    value: &str,
    path: &str,
    version: Option<ApiVersion>,
) -> Result<(), Rejection> {
    if enums::is_member(allowed, value) {
        return Ok(());
    }
    let hint = enums::closest(allowed, value)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default();
    let ver = version.map(|v| format!(" in {v}")).unwrap_or_default();
    Err(invalid(
        path,
        format!(
            "`{value}` is not allowed{ver}; expected one of {}{hint}",
            allowed.join(", ")
        ),
    ))
}

/// ISO 8601 as the API means it for `closeDate`/`nextMilestoneDate`: a full date-time with an
/// offset or `Z` (RFC 3339). A bare date is refused like any other non-date-time.
pub fn is_iso_datetime(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

fn is_plain_date(s: &str) -> bool {
    s.len() == 10 && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn check_field(kind: Kind, v: &Value, path: &str) -> Result<(), Rejection> {
    match kind {
        Kind::Text => text(v, path).map(drop),
        Kind::Enum(allowed) => one_of(allowed, text(v, path)?, path, None),
        Kind::EnumList(allowed) => {
            let items = v
                .as_array()
                .ok_or_else(|| invalid(path, format!("must be an array, not {}", type_name(v))))?;
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{}]", i + 1);
                one_of(allowed, text(item, &p)?, &p, None)?;
            }
            Ok(())
        }
        Kind::TextList => {
            let items = v
                .as_array()
                .ok_or_else(|| invalid(path, format!("must be an array, not {}", type_name(v))))?;
            for (i, item) in items.iter().enumerate() {
                text(item, &format!("{path}[{}]", i + 1))?;
            }
            Ok(())
        }
        Kind::DateTime => {
            let s = text(v, path)?;
            if is_iso_datetime(s) {
                Ok(())
            } else {
                Err(Rejection {
                    status: 406,
                    code: "ERR805",
                    message: ERR805_MESSAGE.to_string(),
                })
            }
        }
        Kind::Currency => {
            let s = text(v, path)?;
            if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
                Ok(())
            } else {
                Err(invalid(
                    path,
                    format!(
                        "`{s}` must be a three-letter ISO 4217 code in capitals (pattern ^[A-Z]{{3}}$)"
                    ),
                ))
            }
        }
    }
}

/// Checks the writable leadOpportunity fields present in `lo` (other than
/// partnerLeadOpportunityId, which the caller takes) and copies them out.
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

fn offer_lines(v: &Value, version: ApiVersion) -> Result<Vec<Map<String, Value>>, Rejection> {
    let items = v.as_array().ok_or_else(|| {
        invalid(
            "offerLines",
            format!("must be an array, not {}", type_name(v)),
        )
    })?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("offerLines[{}]", i + 1);
        let line = as_object(item, &path)?;
        required_text(line, "offerNameId", &path)?;
        let mut kept = Map::new();
        kept.insert("offerNameId".into(), line["offerNameId"].clone());
        if let Some(a) = line.get("amount") {
            if !a.is_number() {
                return Err(invalid(
                    &format!("{path}.amount"),
                    format!("must be a number, not {}", type_name(a)),
                ));
            }
            kept.insert("amount".into(), a.clone());
        }
        let rt = match line.get("revenueType") {
            Some(rt) => {
                let p = format!("{path}.revenueType");
                let s = text(rt, &p)?;
                one_of(version.revenue_types(), s, &p, Some(version))?;
                Some(s.to_string())
            }
            None if version == ApiVersion::V1 => Some(enums::DEFAULT_REVENUE_TYPE_V1.to_string()),
            None => None,
        };
        if let Some(rt) = &rt {
            kept.insert("revenueType".into(), Value::String(rt.clone()));
        }
        if version == ApiVersion::V1 {
            let mut dates = [None, None];
            for (slot, key) in ["startDate", "endDate"].iter().enumerate() {
                if let Some(d) = line.get(*key) {
                    let p = format!("{path}.{key}");
                    let s = text(d, &p)?;
                    if !is_plain_date(s) {
                        return Err(invalid(&p, format!("`{s}` must be a date as YYYY-MM-DD")));
                    }
                    if !rt
                        .as_deref()
                        .is_some_and(|r| enums::REVENUE_TYPE_V1_DATED.contains(&r))
                    {
                        return Err(invalid(&p, "is only used with revenueType YxC or QxC"));
                    }
                    dates[slot] = Some(s.to_string());
                    kept.insert((*key).into(), d.clone());
                }
            }
            if let [Some(start), Some(end)] = &dates
                && start > end
            {
                return Err(invalid(
                    &format!("{path}.endDate"),
                    format!("`{end}` is before startDate `{start}`"),
                ));
            }
        }
        out.push(kept);
    }
    Ok(out)
}

fn legal_entity(v: &Value) -> Result<Map<String, Value>, Rejection> {
    let path = "customerLegalEntity";
    let le = as_object(v, path)?;
    let mut out = Map::new();
    for key in Section::LegalEntity.field_names() {
        match le.get(key) {
            None | Some(Value::Null) => {}
            Some(val) => {
                text(val, &format!("{path}.{key}"))?;
                out.insert(key.to_string(), val.clone());
            }
        }
    }
    // The three keys are required by the schema; their values may be null only when the
    // entity is identified by its 3DS `id` (as in the contract's get example).
    let has_id = out
        .get("id")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.trim().is_empty());
    for key in ["name", "city", "country"] {
        if !le.contains_key(key) {
            return Err(invalid(&format!("{path}.{key}"), "is required"));
        }
        let empty = out
            .get(key)
            .and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty());
        if empty && !has_id {
            return Err(invalid(
                &format!("{path}.{key}"),
                "must not be empty unless customerLegalEntity.id is given",
            ));
        }
    }
    Ok(out)
}

fn contacts(
    v: &Value,
    path: &str,
    required_keys: &[&str],
    optional_keys: &[&str],
    email_key: &str,
) -> Result<Vec<Value>, Rejection> {
    let items = v
        .as_array()
        .ok_or_else(|| invalid(path, format!("must be an array, not {}", type_name(v))))?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{}]", i + 1);
        let c = as_object(item, &p)?;
        let mut kept = Map::new();
        for key in required_keys {
            let s = required_text(c, key, &p)?;
            kept.insert((*key).to_string(), Value::String(s.to_string()));
        }
        for key in optional_keys {
            if let Some(val) = c.get(*key) {
                text(val, &format!("{p}.{key}"))?;
                kept.insert((*key).to_string(), val.clone());
            }
        }
        let email = kept
            .get(email_key)
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !looks_like_email(email) {
            return Err(invalid(
                &format!("{p}.{email_key}"),
                format!("`{email}` is not an e-mail address"),
            ));
        }
        out.push(Value::Object(kept));
    }
    Ok(out)
}

/// A deliberately loose e-mail test (the contract declares no format): one `@` with text on
/// both sides and a dot in the domain.
pub fn looks_like_email(s: &str) -> bool {
    let mut parts = s.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(char::is_whitespace)
        }
        _ => false,
    }
}

const CUSTOMER_CONTACT_REQUIRED: &[&str] = &["email", "firstName", "lastName"];
const CUSTOMER_CONTACT_OPTIONAL: &[&str] = &["phoneNumber", "salutation", "jobTitle"];
const PARTNER_CONTACT_REQUIRED: &[&str] =
    &["salesRepEmail", "salesRepFirstName", "salesRepLastName"];

fn customer_contacts(v: &Value) -> Result<Vec<Value>, Rejection> {
    contacts(
        v,
        "customerContacts",
        CUSTOMER_CONTACT_REQUIRED,
        CUSTOMER_CONTACT_OPTIONAL,
        "email",
    )
}

fn partner_contacts(v: &Value) -> Result<Vec<Value>, Rejection> {
    contacts(
        v,
        "partnerContacts",
        PARTNER_CONTACT_REQUIRED,
        &[],
        "salesRepEmail",
    )
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

/// Checks an update body for `version`'s path. `partnerId` is optional here: [Y] does not
/// require it and the contract's own update examples leave it out (REFERENCE.md §11 #13).
pub fn check_patch(body: &Value, version: ApiVersion) -> Result<Patch, Rejection> {
    let top = body_object(body)?;
    if let Some(p) = top.get("partnerId") {
        text(p, "partnerId")?;
    }
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

/// In a PATCH the legal entity is partial: only the keys sent are checked and merged.
fn patch_legal_entity(v: &Value) -> Result<Map<String, Value>, Rejection> {
    let le = as_object(v, "customerLegalEntity")?;
    let mut out = Map::new();
    for key in Section::LegalEntity.field_names() {
        if let Some(val) = le.get(key) {
            if !val.is_null() {
                text(val, &format!("customerLegalEntity.{key}"))?;
            }
            out.insert(key.to_string(), val.clone());
        }
    }
    Ok(out)
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
