//! The request bodies leadsheet sends, exactly as the contract names and nests them
//! (REFERENCE.md §5): `partnerId`, `leadOpportunity`, `offerLines`, `customerLegalEntity`,
//! `customerContacts`, `partnerContacts`. One type serves create and update; which fields are
//! required for each is a validation rule (`crate::validate`), not a type, because a spreadsheet
//! row can be half-filled and we still want to report every missing field at once.
//!
//! Enumerated values are kept as the strings the contract spells (`PRTNR_SKILL_&_EXPRT`, `PxC`)
//! and checked against `api::enums`, so a bad cell is reported with its own spelling instead of
//! failing to deserialize. Optional fields are omitted, never sent empty; amounts are JSON
//! numbers; every id is a string.

use serde::{Deserialize, Serialize};

/// The body of a create (POST) or update (PATCH).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    #[serde(default)]
    pub lead_opportunity: LeadOpportunityWrite,
    /// Always sent on create (the contract requires at least one); omitted from an update
    /// when the sheet maps none, so the stored lines stay as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_lines: Option<Vec<OfferLine>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_legal_entity: Option<LegalEntity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_contacts: Option<Vec<CustomerContact>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_contacts: Option<Vec<PartnerContact>>,
}

/// `leadOpportunity` on the write side (create and update share the properties).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadOpportunityWrite {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_lead_opportunity_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ds_owner_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast_category: Option<String>,
    /// RFC 3339 UTC with milliseconds, `2025-06-01T18:46:51.326Z`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comet_campaign_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_won: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_lost: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub competitors: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_won_lost_comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtm_tactic_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_milestone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_milestone_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// An offer line of either version: v0 leaves the dates out and uses the v0 revenue types.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferLine {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "amount_json"
    )]
    pub amount: Option<f64>,
    #[serde(default)]
    pub offer_name_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue_type: Option<String>,
    /// v1 only, `YYYY-MM-DD`, only with `YxC`/`QxC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
}

/// Amounts are JSON numbers; whole ones are written without a fraction (`13800`, as in the
/// contract's examples) so that a value read back compares equal to the one sent.
fn amount_json<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => s.serialize_i64(*x as i64),
        Some(x) => s.serialize_f64(*x),
        None => s.serialize_none(),
    }
}

/// `customerLegalEntity`. `name`, `city` and `country` are required *keys* whose values may be
/// null, so they are always serialized (REFERENCE.md §5.4); the others only when present.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegalEntity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duns_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_prefecture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
}

/// An item of `customerContacts` (requests; the read model calls the list `customerContact`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerContact {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salutation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
}

/// An item of `partnerContacts`: the partner's sales representative.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerContact {
    #[serde(default)]
    pub sales_rep_email: String,
    #[serde(default)]
    pub sales_rep_first_name: String,
    #[serde(default)]
    pub sales_rep_last_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields_are_omitted_and_entity_keys_kept() {
        let req = LeadRequest {
            partner_id: Some("200000000014442".into()),
            lead_opportunity: LeadOpportunityWrite {
                partner_lead_opportunity_id: Some("P-1".into()),
                ..Default::default()
            },
            customer_legal_entity: Some(LegalEntity {
                id: Some("1".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let json = serde_json::to_value(&req).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"partnerId": "200000000014442",
                "leadOpportunity": {"partnerLeadOpportunityId": "P-1"},
                "customerLegalEntity": {"id": "1", "name": null, "city": null, "country": null}})
        );
    }
}
