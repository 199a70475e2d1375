//! The sandbox's checks of a lead's parts: offer lines (the revenue types of the path's version,
//! v1 dates only with `YxC`/`QxC`), the customer legal entity (name, city and country unless it
//! has an id; partial in a PATCH) and the contacts.

use serde_json::{Map, Value};

use super::Rejection;
use super::values::{as_object, invalid, is_plain_date, one_of, required_text, text, type_name};
use crate::api::contract::{ApiVersion, Section, enums};

pub(super) fn offer_lines(
    v: &Value,
    version: ApiVersion,
) -> Result<Vec<Map<String, Value>>, Rejection> {
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

pub(super) fn legal_entity(v: &Value) -> Result<Map<String, Value>, Rejection> {
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
    identity(le, &out, path)?;
    Ok(out)
}

/// The three keys are required by the schema; their values may be null or empty only when
/// the entity is identified by its 3DS `id` (as in the contract's get example). Answers the
/// keys present without a value.
fn identity(
    le: &Map<String, Value>,
    out: &Map<String, Value>,
    path: &str,
) -> Result<Vec<&'static str>, Rejection> {
    let has_id = out
        .get("id")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.trim().is_empty());
    let mut empty_keys = Vec::new();
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
        if empty {
            empty_keys.push(key);
        }
    }
    Ok(empty_keys)
}

pub(super) fn contacts(
    v: &Value,
    path: &str,
    required_keys: &[&str],
    optional_keys: &[&str],
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
        // The contract declares no e-mail format (REFERENCE.md §5.5, §5.6): any non-empty
        // string is taken, as a server that declares none would.
        out.push(Value::Object(kept));
    }
    Ok(out)
}

const CUSTOMER_CONTACT_REQUIRED: &[&str] = &["email", "firstName", "lastName"];
const CUSTOMER_CONTACT_OPTIONAL: &[&str] = &["phoneNumber", "salutation", "jobTitle"];
const PARTNER_CONTACT_REQUIRED: &[&str] =
    &["salesRepEmail", "salesRepFirstName", "salesRepLastName"];

pub(super) fn customer_contacts(v: &Value) -> Result<Vec<Value>, Rejection> {
    contacts(
        v,
        "customerContacts",
        CUSTOMER_CONTACT_REQUIRED,
        CUSTOMER_CONTACT_OPTIONAL,
    )
}

pub(super) fn partner_contacts(v: &Value) -> Result<Vec<Value>, Rejection> {
    contacts(v, "partnerContacts", PARTNER_CONTACT_REQUIRED, &[])
}

/// In a PATCH the legal entity is merged key by key: the keys sent change, the others stay.
/// `name`, `city` and `country` are required keys, as on a create (REFERENCE.md §5.4), and
/// must have values unless the entity's `id` names it; a null there keeps the stored value.
/// Any other key sent as null is cleared.
pub(super) fn patch_legal_entity(v: &Value) -> Result<Map<String, Value>, Rejection> {
    let path = "customerLegalEntity";
    let le = as_object(v, path)?;
    let mut out = Map::new();
    for key in Section::LegalEntity.field_names() {
        if let Some(val) = le.get(key) {
            if !val.is_null() {
                text(val, &format!("{path}.{key}"))?;
            }
            out.insert(key.to_string(), val.clone());
        }
    }
    for key in identity(le, &out, path)? {
        out.remove(key);
    }
    Ok(out)
}
