//! The client's rules, one check per rule of the contract, each with its source: a section of
//! `contract/REFERENCE.md` ([Y] the OpenAPI file, [R] the rendered v1 documentation). Errors
//! are what the contract requires or 3DS refuses; warnings are what it is silent about but a
//! user would want to know before sending. `tests/conformance.rs` runs a good and a bad example
//! of every rule through these checks and through the sandbox, and fails where they disagree.

use chrono::Utc;

use super::{Report, entity, item, lead, top};
use crate::api::contract::formats::{closest_currencies, is_currency, is_date, is_date_time};
use crate::api::contract::{ApiVersion, FieldPath, Section, enums};
use crate::api::model::{LeadRequest, OfferLine};

const PARTNER_ID_HELP: &str = "(the reseller's 3DS legal-entity id, e.g. 200000000014442): set --partner-id, LEADSHEET_PARTNER_ID, or partnerId in the mapping";

/// A create (REFERENCE.md §4.1, §5.1).
pub(super) fn create(req: &LeadRequest, r: &mut Report<'_>) {
    let what = "for a create";
    // §5.1: partnerId is required on a create in every source.
    if req.partner_id.is_none() {
        r.error(
            top("partnerId"),
            format!("is required {what} {PARTNER_ID_HELP}"),
        );
    }
    let lo = &req.lead_opportunity;
    // §5.2: the create's required lead fields.
    r.require(
        &lo.partner_lead_opportunity_id,
        lead("partnerLeadOpportunityId"),
        what,
    );
    r.require(&lo.name, lead("name"), what);
    r.require(&lo.status, lead("status"), what);
    r.require(&lo.close_date, lead("closeDate"), what);
    r.require(&lo.currency, lead("currency"), what);
    lead_fields(req, r);
    forecast(req, r, true);
    // §5.1: offerLines, minItems 1.
    if req.offer_lines.as_ref().is_none_or(Vec::is_empty) {
        r.error(
            FieldPath::section(Section::OfferLine),
            "a create needs at least one offer line (offerNameId, and usually amount and revenueType); none of this lead's offer-line cells is filled in",
        );
    }
    // §5.1: customerLegalEntity is required on a create.
    if req.customer_legal_entity.is_none() {
        for f in ["name", "city", "country"] {
            r.missing(
                entity(f),
                "to identify the customer (or give customerLegalEntity.id)",
            );
        }
    }
    children(req, r, true);
}

/// An update (REFERENCE.md §4.2, §5.1): only what the row fills is sent, and what it clears.
pub(super) fn update(req: &LeadRequest, clears: bool, r: &mut Report<'_>) {
    let what = "for an update";
    // §11 #13: [Y] makes partnerId optional on an update, [R] requires it for v0 and v1
    // alike; the newest source wins, and sending it satisfies both.
    if req.partner_id.is_none() {
        r.error(
            top("partnerId"),
            format!("is required {what} {PARTNER_ID_HELP}"),
        );
    }
    // §5.2: the update's one required lead field.
    r.require(
        &req.lead_opportunity.partner_lead_opportunity_id,
        lead("partnerLeadOpportunityId"),
        what,
    );
    lead_fields(req, r);
    forecast(req, r, false);
    children(req, r, false);
    // Only when the row is otherwise right: a cell that could not be read already says so.
    if !r.problems.iter().any(|p| p.is_error()) && !clears && !changes_something(req) {
        r.warning(
            FieldPath::section(Section::Lead),
            "the row changes nothing: every mapped field is empty".to_string(),
        );
    }
}

fn changes_something(req: &LeadRequest) -> bool {
    let lo = &req.lead_opportunity;
    lo.name.is_some()
        || lo.status.is_some()
        || lo.forecast_category.is_some()
        || lo.close_date.is_some()
        || lo.currency.is_some()
        || lo.ds_owner_email.is_some()
        || lo.comet_campaign_code.is_some()
        || lo.reason_won.is_some()
        || lo.reason_lost.is_some()
        || lo.competitors.is_some()
        || lo.reason_won_lost_comment.is_some()
        || lo.gtm_tactic_id.is_some()
        || lo.description.is_some()
        || lo.next_milestone.is_some()
        || lo.next_milestone_date.is_some()
        || req.offer_lines.as_ref().is_some_and(|l| !l.is_empty())
        || req.customer_legal_entity.is_some()
        || req.customer_contacts.is_some()
        || req.partner_contacts.is_some()
}

/// The lead's fields, wherever a body has them (REFERENCE.md §5.2, §6).
fn lead_fields(req: &LeadRequest, r: &mut Report<'_>) {
    let lo = &req.lead_opportunity;
    // §6.1, §6.2: the enums.
    if let Some(s) = &lo.status {
        r.one_of(enums::STATUS, s, lead("status"));
    }
    if let Some(fc) = &lo.forecast_category {
        r.one_of(enums::FORECAST_CATEGORY, fc, lead("forecastCategory"));
    }
    // §5.2: the schema's pattern ^[A-Z]{3}$ is required; that it is an ISO 4217 code is the
    // description's word, which 3DS does not check that we know: a warning.
    if let Some(c) = &lo.currency {
        if !(c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())) {
            r.error(
                lead("currency"),
                format!("`{c}` is not a three-letter ISO 4217 code such as EUR or USD"),
            );
        } else if !is_currency(c) {
            let near = closest_currencies(c);
            let hint = if near.is_empty() {
                String::new()
            } else {
                format!(" (did you mean {}?)", near.join(", "))
            };
            r.warning(
                lead("currency"),
                format!("`{c}` is not an ISO 4217 currency code{hint}; it is sent as written"),
            );
        }
    }
    // §5.2, §4.1: date-times, else 406 ERR805.
    for (v, path) in [
        (&lo.close_date, lead("closeDate")),
        (&lo.next_milestone_date, lead("nextMilestoneDate")),
    ] {
        if let Some(d) = v
            && !is_date_time(d)
        {
            r.error(path, format!("`{d}` is not an ISO 8601 date-time"));
        }
    }
    // §6.3, §6.4: every reason is a value of its enum.
    for (list, allowed, path) in [
        (&lo.reason_won, enums::REASON_WON, lead("reasonWon")),
        (&lo.reason_lost, enums::REASON_LOST, lead("reasonLost")),
    ] {
        for item in list.iter().flatten() {
            r.one_of(allowed, item, path);
        }
    }
    // §5.2: dsOwnerEmail declares no format.
    if let Some(e) = &lo.ds_owner_email {
        r.email(e, lead("dsOwnerEmail"));
    }
    // The schemas set no length; 3DS's own fields are 255 characters in practice.
    for (v, path) in [
        (
            &lo.partner_lead_opportunity_id,
            lead("partnerLeadOpportunityId"),
        ),
        (&lo.name, lead("name")),
    ] {
        if v.as_ref().is_some_and(|s| s.len() > 255) {
            r.warning(path, "is longer than 255 characters; 3DS may cut it");
        }
    }
    // The contract is silent on past close dates; an open lead closing in the past is
    // usually a date not brought up to date.
    let open = lo
        .status
        .as_deref()
        .is_some_and(|s| s != "WON" && s != "LOST");
    if let Some(d) = &lo.close_date
        && open
        && let Ok(t) = chrono::DateTime::parse_from_rfc3339(d)
        && t.with_timezone(&Utc).date_naive() < r.today
    {
        r.warning(
            lead("closeDate"),
            format!("`{d}` is in the past for an open lead; it is sent as written"),
        );
    }
}

/// The forecast-category rules of REFERENCE.md §7.
fn forecast(req: &LeadRequest, r: &mut Report<'_>, creating: bool) {
    let lo = &req.lead_opportunity;
    let Some(fc) = lo.forecast_category.as_deref() else {
        return;
    };
    if !enums::is_member(enums::FORECAST_CATEGORY, fc) {
        return;
    }
    let path = lead("forecastCategory");
    let Some(status) = lo.status.as_deref() else {
        // An update without a status: the stored one decides. WON, LOST and EMPTY follow a
        // status (the system sets them), and 3DS refuses them for an open opportunity.
        if !creating && matches!(fc, "WON" | "LOST" | "EMPTY") {
            r.error(
                path,
                format!(
                    "`{fc}` follows the status and cannot be set on its own: give the status too (WON, LOST, or a lead status), or one of {}",
                    enums::FORECAST_CATEGORY_OPEN_OPPY.join(", ")
                ),
            );
        }
        return;
    };
    if !enums::is_member(enums::STATUS, status) {
        return;
    }
    if enums::LEAD_STATUSES.contains(&status) {
        if fc != "EMPTY" {
            let what = if creating {
                "will be ignored: 3DS discards the forecast category of a lead"
            } else {
                "will be stored as EMPTY: 3DS keeps no forecast category for a lead"
            };
            r.warning(path, format!("`{fc}` {what} at status {status}"));
        }
    } else if status == "WON" || status == "LOST" {
        if fc != status {
            r.warning(
                path,
                format!(
                    "`{fc}` will be replaced by {status}: the system sets it for status {status}"
                ),
            );
        }
    } else if !enums::FORECAST_CATEGORY_OPEN_OPPY.contains(&fc) {
        r.error(
            path,
            format!(
                "`{fc}` is not allowed for status {status}; use one of {}",
                enums::FORECAST_CATEGORY_OPEN_OPPY.join(", ")
            ),
        );
    }
}

/// An offer line (REFERENCE.md §5.3).
fn offer_line(line: &OfferLine, i: usize, r: &mut Report<'_>) {
    let p = |f: &str| item(Section::OfferLine, f, i);
    // §5.3: offerNameId is the one required field of a line.
    if line.offer_name_id.trim().is_empty() {
        r.missing(p("offerNameId"), "for every offer line");
    }
    // §5.3: a number, with no minimum: a negative amount (a credit) is the user's call.
    if let Some(a) = line.amount {
        if !a.is_finite() {
            r.error(p("amount"), "is too large to be an amount");
        } else if a < 0.0 {
            r.warning(
                p("amount"),
                format!(
                    "{} is negative; the contract sets no minimum, so it is sent as written",
                    crate::sheet::number_text(a)
                ),
            );
        }
    }
    // §6.5, §6.6: the revenue types of the path's version.
    if let Some(rt) = &line.revenue_type {
        r.one_of(r.version.revenue_types(), rt, p("revenueType"));
    }
    if r.version == ApiVersion::V1 {
        // §5.3 [R]: dates are plain dates, used only with YxC or QxC.
        let dated = line
            .revenue_type
            .as_deref()
            .is_some_and(|rt| enums::REVENUE_TYPE_V1_DATED.contains(&rt));
        for (v, f) in [(&line.start_date, "startDate"), (&line.end_date, "endDate")] {
            if let Some(d) = v {
                if !is_date(d) {
                    r.error(p(f), format!("`{d}` is not a date (YYYY-MM-DD)"));
                } else if !dated {
                    r.error(
                        p(f),
                        format!(
                            "is only used with revenueType YxC or QxC, not {}; clear it or change the revenue type",
                            line.revenue_type.as_deref().unwrap_or("PxC (the default)")
                        ),
                    );
                }
            }
        }
        if let (Some(s), Some(e)) = (&line.start_date, &line.end_date)
            && is_date(s)
            && is_date(e)
            && s > e
        {
            r.error(p("endDate"), format!("{e} is before the start date {s}"));
        }
    }
}

/// Offer lines, the legal entity and the contacts.
fn children(req: &LeadRequest, r: &mut Report<'_>, creating: bool) {
    for (i, line) in req.offer_lines.iter().flatten().enumerate() {
        offer_line(line, i, r);
    }
    if let Some(le) = &req.customer_legal_entity {
        let has_id = le.id.as_deref().is_some_and(|s| !s.trim().is_empty());
        // §5.4: name, city and country are required keys. A create may leave their values
        // null when the entity's 3DS id names it; an update sends only what the row fills,
        // never a null that could erase a stored value (§12), so it needs all three.
        let why = if creating {
            "to identify the customer (or give customerLegalEntity.id)"
        } else {
            "when an update changes the customer: 3DS takes name, city and country together (fill the three, or leave every customer column empty)"
        };
        if !creating || !has_id {
            for (v, f) in [
                (&le.name, "name"),
                (&le.city, "city"),
                (&le.country, "country"),
            ] {
                r.require(v, entity(f), why);
            }
        }
    }
    // §5.5: a customer contact's email, first and last name are required; no e-mail format.
    for (i, c) in req.customer_contacts.iter().flatten().enumerate() {
        let p = |f: &str| item(Section::CustomerContact, f, i);
        for (v, f) in [
            (&c.email, "email"),
            (&c.first_name, "firstName"),
            (&c.last_name, "lastName"),
        ] {
            if v.trim().is_empty() {
                r.missing(p(f), "for every customer contact");
            }
        }
        if !c.email.trim().is_empty() {
            r.email(&c.email, p("email"));
        }
    }
    // §5.6: a partner contact's three fields are required; no e-mail format.
    for (i, c) in req.partner_contacts.iter().flatten().enumerate() {
        let p = |f: &str| item(Section::PartnerContact, f, i);
        for (v, f) in [
            (&c.sales_rep_email, "salesRepEmail"),
            (&c.sales_rep_first_name, "salesRepFirstName"),
            (&c.sales_rep_last_name, "salesRepLastName"),
        ] {
            if v.trim().is_empty() {
                r.missing(p(f), "for every partner contact");
            }
        }
        if !c.sales_rep_email.trim().is_empty() {
            r.email(&c.sales_rep_email, p("salesRepEmail"));
        }
    }
}
