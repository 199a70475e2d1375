//! The contract's rules, applied to every lead before anything is sent: required fields for a
//! create and for an update, the enums of the chosen version, the currency pattern, dates,
//! e-mail syntax, amounts, offer lines, the legal entity and contacts, and the rules the
//! schemas do not encode (REFERENCE.md §11 #23). Rules read the request body exactly as it
//! would be sent, and each problem is pointed back at its cell through the draft's origins.
//!
//! Checks are pure functions of one lead, so [`check_all`] runs them on rayon's pool; the one
//! rule that spans leads (a partnerLeadOpportunityId used twice in a file) is [`Duplicates`].

mod duplicates;

pub use duplicates::Duplicates;

use chrono::NaiveDate;
use rayon::prelude::*;

use crate::api::contract::{self, ApiVersion, FieldPath, Section, enums, looks_like_email};
use crate::api::model::{LeadRequest, OfferLine};
use crate::mapping::{LeadDraft, Mode, Origins};
pub use crate::problem::{Problem, Severity, Subject};
use crate::sheet::{CellRef, RowNum};

fn top(name: &str) -> FieldPath {
    FieldPath::named(Section::Top, name)
}

fn lead(name: &str) -> FieldPath {
    FieldPath::named(Section::Lead, name)
}

fn entity(name: &str) -> FieldPath {
    FieldPath::named(Section::LegalEntity, name)
}

/// Field `name` of the `i`th (0-based, as enumerated) item of a repeated section.
fn item(section: Section, name: &str, i: usize) -> FieldPath {
    FieldPath::named(section, name).at(i as u32 + 1)
}

/// What a lead will do when sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
        }
    }
}

/// A lead after checking: what it would send, and what is wrong with it.
#[derive(Debug, Clone)]
pub struct Checked {
    pub rows: Vec<(usize, RowNum)>,
    pub action: Action,
    pub ds_id: Option<String>,
    pub request: LeadRequest,
    pub problems: Vec<Problem>,
    /// The cell of the key that must be unique in the file (partnerLeadOpportunityId for a
    /// create, dsLeadOpportunityId for an update).
    pub key_cell: Option<CellRef>,
}

impl Checked {
    pub fn is_valid(&self) -> bool {
        !self.problems.iter().any(Problem::is_error)
    }
}

fn is_iso_datetime(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

fn is_plain_date(s: &str) -> bool {
    s.len() == 10 && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// Collects problems for one lead, pointing each at its cell.
struct Report<'a> {
    origins: Origins<'a>,
    first_row: Option<RowNum>,
    problems: Vec<Problem>,
    version: ApiVersion,
}

impl Report<'_> {
    fn push(&mut self, severity: Severity, path: FieldPath, message: String) {
        let cell = self.origins.cell(path);
        let row = cell.map(|c| c.row).or(self.first_row);
        self.problems.push(Problem {
            severity,
            row,
            cell,
            field: path.into(),
            message: message.into(),
        });
    }

    fn error(&mut self, path: FieldPath, message: impl Into<String>) {
        self.push(Severity::Error, path, message.into());
    }

    fn warning(&mut self, path: FieldPath, message: impl Into<String>) {
        self.push(Severity::Warning, path, message.into());
    }

    /// A required value that is absent: say whether the cell is empty or nothing is mapped.
    fn missing(&mut self, path: FieldPath, what: &str) {
        // A cell that could not be read already has its problem; "required" would only repeat it.
        let cell = self.origins.cell(path);
        if self.problems.iter().any(|p| {
            p.is_error() && (p.field == Subject::Field(path) || (cell.is_some() && p.cell == cell))
        }) {
            return;
        }
        let is_id = path
            .field()
            .is_some_and(|f| contract::field(f).name.ends_with("LeadOpportunityId"));
        let msg = if cell.is_some() && is_id {
            // An id is one lead's own: a default would give every lead the same.
            format!("is required {what}, but the cell is empty; fill it in")
        } else if cell.is_some() {
            format!(
                "is required {what}, but the cell is empty; fill it in or give the field a `default` in the mapping"
            )
        } else {
            format!(
                "is required {what}, but the mapping gives it no column or value; add it to the mapping"
            )
        };
        self.error(path, msg);
    }

    fn require<T>(&mut self, v: &Option<T>, path: FieldPath, what: &str) -> bool {
        if v.is_none() {
            self.missing(path, what);
            false
        } else {
            true
        }
    }

    fn one_of(&mut self, allowed: &[&str], value: &str, path: FieldPath) {
        if enums::is_member(allowed, value) {
            return;
        }
        let hint = enums::closest(allowed, value)
            .map(|c| format!(" Did you mean `{c}`?"))
            .unwrap_or_default();
        let listing = if allowed.len() <= 12 {
            format!("Allowed: {}.", allowed.join(", "))
        } else {
            format!(
                "It must be one of the {} values listed in the README (Enum values).",
                allowed.len()
            )
        };
        self.error(
            path,
            format!(
                "`{value}` is not a {} value.{hint} {listing} Map your own words with `map = {{ \"{value}\" = \"…\" }}` in the mapping",
                self.version,
                value = shown(value)
            ),
        );
    }

    fn email(&mut self, value: &str, path: FieldPath) {
        if !looks_like_email(value) {
            self.error(path, format!("`{}` is not an e-mail address", shown(value)));
        }
    }
}

/// A cell's value as messages quote it: at most 80 characters.
fn shown(value: &str) -> std::borrow::Cow<'_, str> {
    match value.char_indices().nth(80) {
        Some((end, _)) => format!("{}…", &value[..end]).into(),
        None => value.into(),
    }
}

/// Settings shared by every lead of a run.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub version: ApiVersion,
    pub mode: Mode,
}

/// Decides the action, builds the body and checks it.
pub fn check(draft: &LeadDraft, rules: Rules) -> Checked {
    let ds_field = contract::field_id(Section::Top, "dsLeadOpportunityId");
    let ds_id = draft
        .value(ds_field)
        .map(|v| v.value.display())
        .filter(|s| !s.is_empty());
    let action = match (rules.mode, &ds_id) {
        (Mode::Create, _) => Action::Create,
        (Mode::Update, _) => Action::Update,
        (Mode::Upsert, Some(_)) => Action::Update,
        (Mode::Upsert, None) => Action::Create,
    };
    let mut request = draft.to_request();
    let origins = draft.origins();
    let mut r = Report {
        origins,
        first_row: draft.first_row(),
        problems: draft.problems.clone(),
        version: rules.version,
    };
    match action {
        Action::Create => check_create(&request, &mut r),
        Action::Update => {
            if ds_id.is_none() {
                r.missing(
                    top("dsLeadOpportunityId"),
                    "to update a lead (it is the 3DS id, e.g. 9YEL-Y3W56Q)",
                );
            }
            check_update(&request, &mut r);
        }
    }
    if action == Action::Create && rules.mode == Mode::Create && ds_id.is_some() {
        r.warning(
            top("dsLeadOpportunityId"),
            "is ignored in create mode; use --mode update or upsert to change existing leads"
                .to_string(),
        );
    }
    if action == Action::Update {
        // An update sends only what the sheet fills in; an empty list would erase lines.
        if request.offer_lines.as_ref().is_some_and(Vec::is_empty) {
            request.offer_lines = None;
        }
    }
    let key_cell = match action {
        Action::Create => origins.cell(lead("partnerLeadOpportunityId")),
        Action::Update => origins.cell(top("dsLeadOpportunityId")),
    };
    Checked {
        rows: draft.rows.clone(),
        action,
        ds_id,
        request,
        problems: r.problems,
        key_cell,
    }
}

fn check_lead_fields(req: &LeadRequest, r: &mut Report<'_>) {
    let lo = &req.lead_opportunity;
    if let Some(s) = &lo.status {
        r.one_of(enums::STATUS, s, lead("status"));
    }
    if let Some(fc) = &lo.forecast_category {
        r.one_of(enums::FORECAST_CATEGORY, fc, lead("forecastCategory"));
    }
    if let Some(c) = &lo.currency
        && !(c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
    {
        r.error(
            lead("currency"),
            format!("`{c}` is not a three-letter ISO 4217 code such as EUR or USD"),
        );
    }
    for (v, path) in [
        (&lo.close_date, lead("closeDate")),
        (&lo.next_milestone_date, lead("nextMilestoneDate")),
    ] {
        if let Some(d) = v
            && !is_iso_datetime(d)
        {
            r.error(path, format!("`{d}` is not an ISO 8601 date-time"));
        }
    }
    for (list, allowed, path) in [
        (&lo.reason_won, enums::REASON_WON, lead("reasonWon")),
        (&lo.reason_lost, enums::REASON_LOST, lead("reasonLost")),
    ] {
        for item in list.iter().flatten() {
            r.one_of(allowed, item, path);
        }
    }
    if let Some(e) = &lo.ds_owner_email {
        r.email(e, lead("dsOwnerEmail"));
    }
    for (v, path) in [
        (
            &lo.partner_lead_opportunity_id,
            lead("partnerLeadOpportunityId"),
        ),
        (&lo.name, lead("name")),
    ] {
        if v.as_ref().is_some_and(|s| s.len() > 255) {
            r.warning(
                path,
                "is longer than 255 characters; 3DS may cut it".to_string(),
            );
        }
    }
}

/// The forecast-category rules of REFERENCE.md §7.
fn check_forecast(req: &LeadRequest, r: &mut Report<'_>, creating: bool) {
    let lo = &req.lead_opportunity;
    let (Some(status), Some(fc)) = (lo.status.as_deref(), lo.forecast_category.as_deref()) else {
        return;
    };
    if !enums::is_member(enums::STATUS, status) || !enums::is_member(enums::FORECAST_CATEGORY, fc) {
        return;
    }
    let path = lead("forecastCategory");
    if enums::LEAD_STATUSES.contains(&status) {
        if creating && fc != "EMPTY" {
            r.warning(path, format!("`{fc}` will be ignored: 3DS discards the forecast category of a lead at status {status}"));
        }
    } else if status == "WON" || status == "LOST" {
        if fc == status {
            return;
        }
        r.warning(
            path,
            format!("`{fc}` will be replaced by {status}: the system sets it for status {status}"),
        );
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

fn check_offer_line(line: &OfferLine, i: usize, r: &mut Report<'_>) {
    let p = |f: &str| item(Section::OfferLine, f, i);
    if line.offer_name_id.trim().is_empty() {
        r.missing(p("offerNameId"), "for every offer line");
    }
    if let Some(a) = line.amount
        && !a.is_finite()
    {
        r.error(p("amount"), "is too large to be an amount");
    } else if let Some(a) = line.amount
        && a < 0.0
    {
        r.error(
            p("amount"),
            format!("{} must be zero or more", crate::sheet::number_text(a)),
        );
    }
    if let Some(rt) = &line.revenue_type {
        r.one_of(r.version.revenue_types(), rt, p("revenueType"));
    }
    if r.version == ApiVersion::V1 {
        let dated = line
            .revenue_type
            .as_deref()
            .is_some_and(|rt| enums::REVENUE_TYPE_V1_DATED.contains(&rt));
        for (v, f) in [(&line.start_date, "startDate"), (&line.end_date, "endDate")] {
            if let Some(d) = v {
                if !is_plain_date(d) {
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
            && is_plain_date(s)
            && is_plain_date(e)
            && s > e
        {
            r.error(p("endDate"), format!("{e} is before the start date {s}"));
        }
    }
}

fn check_children(req: &LeadRequest, r: &mut Report<'_>) {
    for (i, line) in req.offer_lines.iter().flatten().enumerate() {
        check_offer_line(line, i, r);
    }
    if let Some(le) = &req.customer_legal_entity {
        let has_id = le.id.as_deref().is_some_and(|s| !s.trim().is_empty());
        if !has_id {
            for (v, f) in [
                (&le.name, "name"),
                (&le.city, "city"),
                (&le.country, "country"),
            ] {
                r.require(
                    v,
                    entity(f),
                    "to identify the customer (or give customerLegalEntity.id)",
                );
            }
        }
    }
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

const PARTNER_ID_HELP: &str = "(the reseller's 3DS legal-entity id, e.g. 200000000014442): set --partner-id, LEADSHEET_PARTNER_ID, or partnerId in the mapping";

fn check_create(req: &LeadRequest, r: &mut Report<'_>) {
    let what = "for a create";
    if req.partner_id.is_none() {
        r.error(
            top("partnerId"),
            format!("is required {what} {PARTNER_ID_HELP}"),
        );
    }
    let lo = &req.lead_opportunity;
    r.require(
        &lo.partner_lead_opportunity_id,
        lead("partnerLeadOpportunityId"),
        what,
    );
    r.require(&lo.name, lead("name"), what);
    r.require(&lo.status, lead("status"), what);
    r.require(&lo.close_date, lead("closeDate"), what);
    r.require(&lo.currency, lead("currency"), what);
    check_lead_fields(req, r);
    check_forecast(req, r, true);
    if req.offer_lines.as_ref().is_none_or(Vec::is_empty) {
        r.error(
            FieldPath::section(Section::OfferLine),
            "a create needs at least one offer line (offerNameId, and usually amount and revenueType); none of this lead's offer-line cells is filled in",
        );
    }
    if req.customer_legal_entity.is_none() {
        for f in ["name", "city", "country"] {
            r.missing(
                entity(f),
                "to identify the customer (or give customerLegalEntity.id)",
            );
        }
    }
    check_children(req, r);
}

fn check_update(req: &LeadRequest, r: &mut Report<'_>) {
    let what = "for an update";
    if req.partner_id.is_none() && r.version == ApiVersion::V1 {
        r.error(
            top("partnerId"),
            format!("is required {what} in API v1 {PARTNER_ID_HELP}"),
        );
    }
    r.require(
        &req.lead_opportunity.partner_lead_opportunity_id,
        lead("partnerLeadOpportunityId"),
        what,
    );
    check_lead_fields(req, r);
    check_forecast(req, r, false);
    check_children(req, r);
    let lo = &req.lead_opportunity;
    let changes_something = lo.name.is_some()
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
        || req.partner_contacts.is_some();
    if !changes_something {
        r.warning(
            FieldPath::section(Section::Lead),
            "the row changes nothing: every mapped field is empty".to_string(),
        );
    }
}

/// Checks leads in parallel, keeping their order.
pub fn check_all(drafts: &[LeadDraft], rules: Rules) -> Vec<Checked> {
    drafts.par_iter().map(|d| check(d, rules)).collect()
}
