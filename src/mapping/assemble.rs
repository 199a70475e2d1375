//! Rows → leads. Each row is mapped on its own (in parallel) into [`RowParts`]: the values of
//! the lead-level fields and the items of the repeated sections, each remembering the cell it
//! came from. Parts then become a [`LeadDraft`]: one row per lead, or several rows grouped by a
//! key column (rows need not be adjacent). The draft turns into the request body plus a map
//! from each field path to its cell, so that a problem found in the body points at the cell.

use std::collections::BTreeMap;

use super::convert::Value;
use super::resolve::{Binding, Resolved, Source};
use crate::api::contract::{self, FieldId, FieldPath, Section};
use crate::api::model::{
    CustomerContact, LeadOpportunityWrite, LeadRequest, LegalEntity, OfferLine, PartnerContact,
};
use crate::problem::{Problem, Subject};
use crate::sheet::{CellRef, RowNum, SourceRow};

/// A value and the cell it was read from (`None` for constants).
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced {
    pub value: Value,
    pub cell: Option<CellRef>,
    /// The mapping's `default` for an empty cell: another row of the lead may still give the
    /// value itself.
    pub defaulted: bool,
}

/// The values of one object (the lead-level fields, or one offer line / contact).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Item {
    pub values: Vec<(FieldId, Sourced)>,
    /// Mapped fields whose cell was empty: a "required" problem can point at the cell.
    pub empties: Vec<(FieldId, CellRef)>,
}

impl Item {
    fn get(&self, field: FieldId) -> Option<&Sourced> {
        self.values
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v)
    }
}

/// What one row contributes.
#[derive(Debug, Clone)]
pub struct RowParts {
    /// 0-based position among the data rows of the file.
    pub index: usize,
    pub row: RowNum,
    pub key: Option<String>,
    pub single: Item,
    pub children: Vec<(Section, Vec<Item>)>,
    pub problems: Vec<Problem>,
}

/// Reads `binding`'s value from `src` into `item`, the `n`th (1-based) of its section when the
/// section repeats; a conversion failure becomes a problem.
fn take(
    binding: &Binding,
    src: &SourceRow,
    n: u32,
    item: &mut Item,
    problems: &mut Vec<Problem>,
) -> bool {
    match &binding.source {
        Source::Constant(v) => {
            item.values.push((
                binding.field,
                Sourced {
                    value: v.clone(),
                    cell: None,
                    defaulted: false,
                },
            ));
            false
        }
        Source::Absent => {
            if let Some(d) = &binding.default {
                item.values.push((
                    binding.field,
                    Sourced {
                        value: d.clone(),
                        cell: None,
                        defaulted: true,
                    },
                ));
            }
            false
        }
        Source::Column(col) => {
            let cell = CellRef {
                row: src.row,
                col: *col as u32,
            };
            match binding.conv.cell(&src.cells[*col]) {
                Ok(Some(value)) => {
                    item.values.push((
                        binding.field,
                        Sourced {
                            value,
                            cell: Some(cell),
                            defaulted: false,
                        },
                    ));
                    true
                }
                Ok(None) => {
                    match &binding.default {
                        Some(d) => item.values.push((
                            binding.field,
                            Sourced {
                                value: d.clone(),
                                cell: Some(cell),
                                defaulted: true,
                            },
                        )),
                        None => item.empties.push((binding.field, cell)),
                    }
                    false
                }
                Err(message) => {
                    problems.push(Problem::error(
                        Some(src.row),
                        Some(cell),
                        FieldPath::of(binding.field).at(n),
                        message,
                    ));
                    // Kept as empty, so that "required" finds the cell (and stays quiet).
                    item.empties.push((binding.field, cell));
                    // The cell was filled in, even if wrongly: the item exists.
                    true
                }
            }
        }
    }
}

/// Maps one source row.
pub fn map_row(resolved: &Resolved, index: usize, src: &SourceRow) -> RowParts {
    let mut problems = Vec::new();
    if let Some(d) = &src.defect {
        problems.push(Problem::error(Some(src.row), None, Subject::Row, d.clone()));
    }
    if let Some(w) = &src.warning {
        problems.push(Problem::warning(
            Some(src.row),
            None,
            Subject::Row,
            w.clone(),
        ));
    }
    let mut single = Item::default();
    for b in &resolved.single {
        take(b, src, 1, &mut single, &mut problems);
    }
    let mut children = Vec::new();
    for c in &resolved.children {
        let mut items = Vec::new();
        for g in &c.groups {
            let mut item = Item::default();
            let mut filled = false;
            let has_column = g
                .bindings
                .iter()
                .any(|b| matches!(b.source, Source::Column(_)));
            let n = items.len() as u32 + 1;
            for b in &g.bindings {
                filled |= take(b, src, n, &mut item, &mut problems);
            }
            // An item exists when one of its cells is filled in (constants alone do not make
            // an offer line), or when the mapping gives it no column at all.
            if filled || !has_column {
                items.push(item);
            }
        }
        children.push((c.section, items));
    }
    let key = resolved
        .group_by
        .map(|col| src.cells[col].to_text().trim().to_string());
    if let (Some(col), Some(k)) = (resolved.group_by, &key)
        && k.is_empty()
    {
        problems.push(Problem::error(
            Some(src.row),
            Some(CellRef {
                row: src.row,
                col: col as u32,
            }),
            Subject::Setting("settings.group_by"),
            format!(
                "the grouping column `{}` is empty; every row of a lead needs the lead's key",
                resolved
                    .headers
                    .get(col)
                    .map(String::as_str)
                    .unwrap_or_default()
            ),
        ));
    }
    RowParts {
        index,
        row: src.row,
        key,
        single,
        children,
        problems,
    }
}

/// A warning for a lead that has no item of a list section whose mapping gives constants
/// (`pricingModel = { value = "Perpetual" }` beside `Offer {n}` columns): constants apply to
/// each item the rows fill, so with none filled they are not sent, and the user who wrote
/// them should hear why.
pub fn unsent_constants(resolved: &Resolved, draft: &LeadDraft) -> Vec<Problem> {
    let mut out = Vec::new();
    for c in &resolved.children {
        if draft
            .children
            .get(&c.section)
            .is_some_and(|items| !items.is_empty())
        {
            continue;
        }
        let mut constants: Vec<String> = Vec::new();
        for g in &c.groups {
            if !g
                .bindings
                .iter()
                .any(|b| matches!(b.source, Source::Column(_)))
            {
                continue;
            }
            for b in &g.bindings {
                if let Source::Constant(v) = &b.source {
                    let text = format!(
                        "{} = `{}`",
                        crate::api::contract::field(b.field).name,
                        v.display()
                    );
                    if !constants.contains(&text) {
                        constants.push(text);
                    }
                }
            }
        }
        if constants.is_empty() {
            continue;
        }
        let key = c.section.key().unwrap_or_default();
        out.push(Problem::warning(
            draft.rows.first().map(|(_, r)| *r),
            None,
            Subject::Row,
            format!(
                "{key}: none of this lead's {key} columns is filled, so the mapping's {} {} not sent (a constant applies to each item the row fills)",
                constants.join(", "),
                if constants.len() == 1 { "is" } else { "are" }
            ),
        ));
    }
    out
}

/// One lead, gathered from its rows.
#[derive(Debug, Clone, Default)]
pub struct LeadDraft {
    /// (data row index, sheet row) of every source row, in file order.
    pub rows: Vec<(usize, RowNum)>,
    pub key: Option<String>,
    pub single: Item,
    pub children: BTreeMap<Section, Vec<Item>>,
    pub problems: Vec<Problem>,
}

impl LeadDraft {
    pub fn from_row(parts: RowParts) -> LeadDraft {
        let mut d = LeadDraft {
            rows: vec![(parts.index, parts.row)],
            key: parts.key,
            single: parts.single,
            problems: parts.problems,
            ..Default::default()
        };
        for (section, items) in parts.children {
            d.children.entry(section).or_default().extend(items);
        }
        d
    }

    /// Adds a further row of the same lead. Lead-level values must agree between rows;
    /// offer lines accumulate; a contact repeated on every row is kept once.
    pub fn merge(&mut self, parts: RowParts) {
        self.rows.push((parts.index, parts.row));
        // This row's items take their places in the lead's lists (a repeated contact the place
        // of its first copy); its problems are renumbered to match.
        let mut placed: Vec<(Section, Vec<u32>)> = Vec::new();
        for (section, items) in parts.children {
            let list = self.children.entry(section).or_default();
            let mut places = Vec::with_capacity(items.len());
            for item in items {
                let repeated = (section != Section::OfferLine)
                    .then(|| list.iter().position(|i| values_of(i) == values_of(&item)))
                    .flatten();
                match repeated {
                    Some(at) => places.push(at as u32 + 1),
                    None => {
                        list.push(item);
                        places.push(list.len() as u32);
                    }
                }
            }
            placed.push((section, places));
        }
        for mut p in parts.problems {
            if let Subject::Field(path) = p.field
                && let Some(n) = path.item()
                && let Some((_, places)) = placed.iter().find(|(s, _)| *s == path.in_section())
                && let Some(to) = places.get(n as usize - 1)
            {
                p.field = Subject::Field(path.at(*to));
            }
            self.problems.push(p);
        }
        for (field, v) in parts.single.values {
            match self.single.get(field) {
                None => self.single.values.push((field, v)),
                Some(existing) if existing.value == v.value => {}
                // This row left the cell empty: the default does not speak against the others.
                Some(_) if v.defaulted => {}
                // An earlier row had only the default: a value given by this row wins.
                Some(existing) if existing.defaulted => {
                    if let Some(slot) = self.single.values.iter_mut().find(|(f, _)| *f == field) {
                        slot.1 = v;
                    }
                }
                Some(existing) => {
                    let at = |c: &Option<CellRef>| c.map(|c| format!(" ({c})")).unwrap_or_default();
                    self.problems.push(Problem::error(
                        Some(parts.row),
                        v.cell,
                        FieldPath::of(field),
                        format!(
                            "rows of lead `{}` disagree: `{}`{} here, `{}`{} before; give every row of a lead the same value",
                            self.key.as_deref().unwrap_or_default(),
                            v.value.display(),
                            at(&v.cell),
                            existing.value.display(),
                            at(&existing.cell)
                        ),
                    ));
                }
            }
        }
        for (field, cell) in parts.single.empties {
            if self.single.get(field).is_none()
                && !self.single.empties.iter().any(|(f, _)| *f == field)
            {
                self.single.empties.push((field, cell));
            }
        }
    }

    pub fn value(&self, field: FieldId) -> Option<&Sourced> {
        self.single.get(field)
    }

    /// The first sheet row of the lead.
    pub fn first_row(&self) -> Option<RowNum> {
        self.rows.first().map(|(_, r)| *r)
    }

    /// The request body this lead sends.
    pub fn to_request(&self) -> LeadRequest {
        let mut req = LeadRequest::default();
        let mut entity: Option<LegalEntity> = None;
        for (field, v) in &self.single.values {
            let def = contract::field(*field);
            let v = &v.value;
            // A clear is not a value of the body: `clears` says what it empties.
            if *v == Value::Clear {
                continue;
            }
            match def.section {
                Section::Top if def.name == "partnerId" => req.partner_id = Some(text(v)),
                Section::Top => {}
                Section::Lead => set_lead(&mut req.lead_opportunity, def.name, v),
                Section::LegalEntity => {
                    set_entity(entity.get_or_insert_with(LegalEntity::default), def.name, v)
                }
                _ => {}
            }
        }
        req.customer_legal_entity = entity;
        for (section, items) in &self.children {
            if items.is_empty() {
                continue;
            }
            match section {
                Section::OfferLine => {
                    req.offer_lines = Some(items.iter().map(offer_line).collect())
                }
                Section::CustomerContact => {
                    req.customer_contacts = Some(items.iter().map(customer_contact).collect())
                }
                Section::PartnerContact => {
                    req.partner_contacts = Some(items.iter().map(partner_contact).collect())
                }
                _ => {}
            }
        }
        req
    }

    /// The fields the lead's rows clear with `#CLEAR`, in its single sections and in its list
    /// items, with the cell that says so.
    pub fn clears(&self) -> Vec<(FieldPath, Option<CellRef>)> {
        let mut out: Vec<(FieldPath, Option<CellRef>)> = self
            .single
            .values
            .iter()
            .filter(|(_, v)| v.value == Value::Clear)
            .map(|(f, v)| (FieldPath::of(*f), v.cell))
            .collect();
        for items in self.children.values() {
            for (i, item) in items.iter().enumerate() {
                for (f, v) in &item.values {
                    if v.value == Value::Clear {
                        out.push((FieldPath::of(*f).at(i as u32 + 1), v.cell));
                    }
                }
            }
        }
        out
    }

    /// Where each field of [`LeadDraft::to_request`]'s body came from, looked up on demand
    /// (problems are rare; building a map for every lead would cost more than it saves).
    pub fn origins(&self) -> Origins<'_> {
        Origins(self)
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Num(n) => crate::sheet::number_text(*n),
        Value::List(items) => items.join(";"),
        Value::Clear => String::new(),
    }
}

fn list(v: &Value) -> Vec<String> {
    match v {
        Value::List(items) => items.clone(),
        other => vec![text(other)],
    }
}

fn set_lead(lo: &mut LeadOpportunityWrite, name: &str, v: &Value) {
    let slot = match name {
        "reasonWon" => return lo.reason_won = Some(list(v)),
        "reasonLost" => return lo.reason_lost = Some(list(v)),
        "competitors" => return lo.competitors = Some(list(v)),
        "partnerLeadOpportunityId" => &mut lo.partner_lead_opportunity_id,
        "name" => &mut lo.name,
        "dsOwnerEmail" => &mut lo.ds_owner_email,
        "status" => &mut lo.status,
        "forecastCategory" => &mut lo.forecast_category,
        "closeDate" => &mut lo.close_date,
        "cometCampaignCode" => &mut lo.comet_campaign_code,
        "reasonWonLostComment" => &mut lo.reason_won_lost_comment,
        "gtmTacticId" => &mut lo.gtm_tactic_id,
        "description" => &mut lo.description,
        "nextMilestone" => &mut lo.next_milestone,
        "nextMilestoneDate" => &mut lo.next_milestone_date,
        "currency" => &mut lo.currency,
        _ => return,
    };
    *slot = Some(text(v));
}

fn set_entity(le: &mut LegalEntity, name: &str, v: &Value) {
    let slot = match name {
        "id" => &mut le.id,
        "dunsNumber" => &mut le.duns_number,
        "vatNumber" => &mut le.vat_number,
        "registrationId" => &mut le.registration_id,
        "name" => &mut le.name,
        "city" => &mut le.city,
        "country" => &mut le.country,
        "addressLine1" => &mut le.address_line1,
        "addressLine2" => &mut le.address_line2,
        "statePrefecture" => &mut le.state_prefecture,
        "zipCode" => &mut le.zip_code,
        "websiteUrl" => &mut le.website_url,
        _ => return,
    };
    *slot = Some(text(v));
}

fn offer_line(item: &Item) -> OfferLine {
    let mut l = OfferLine::default();
    for (field, v) in &item.values {
        let v = &v.value;
        // In a list a field left out is already gone: the list sent replaces the stored one.
        if *v == Value::Clear {
            continue;
        }
        match contract::field(*field).name {
            "offerNameId" => l.offer_name_id = text(v),
            "amount" => {
                l.amount = match v {
                    Value::Num(n) => Some(*n),
                    other => text(other).parse().ok(),
                }
            }
            "revenueType" => l.revenue_type = Some(text(v)),
            "startDate" => l.start_date = Some(text(v)),
            "endDate" => l.end_date = Some(text(v)),
            _ => {}
        }
    }
    l
}

fn customer_contact(item: &Item) -> CustomerContact {
    let mut c = CustomerContact::default();
    for (field, v) in &item.values {
        let v = &v.value;
        // In a list a field left out is already gone: the list sent replaces the stored one.
        if *v == Value::Clear {
            continue;
        }
        match contract::field(*field).name {
            "email" => c.email = text(v),
            "firstName" => c.first_name = text(v),
            "lastName" => c.last_name = text(v),
            "phoneNumber" => c.phone_number = Some(text(v)),
            "salutation" => c.salutation = Some(text(v)),
            "jobTitle" => c.job_title = Some(text(v)),
            _ => {}
        }
    }
    c
}

fn partner_contact(item: &Item) -> PartnerContact {
    let mut c = PartnerContact::default();
    for (field, v) in &item.values {
        let v = &v.value;
        // In a list a field left out is already gone: the list sent replaces the stored one.
        if *v == Value::Clear {
            continue;
        }
        match contract::field(*field).name {
            "salesRepEmail" => c.sales_rep_email = text(v),
            "salesRepFirstName" => c.sales_rep_first_name = text(v),
            "salesRepLastName" => c.sales_rep_last_name = text(v),
            _ => {}
        }
    }
    c
}

fn values_of(item: &Item) -> Vec<(FieldId, &Value)> {
    let mut v: Vec<(FieldId, &Value)> = item.values.iter().map(|(f, s)| (*f, &s.value)).collect();
    v.sort_by_key(|(f, _)| *f);
    v
}

/// A field (`leadOpportunity.name`, `offerLines[1].amount`) → the cell it was read from, or
/// the empty cell it should have been read from, looked up by section, item and field.
#[derive(Debug, Clone, Copy)]
pub struct Origins<'a>(&'a LeadDraft);

impl Origins<'_> {
    pub fn cell(&self, path: FieldPath) -> Option<CellRef> {
        let field = path.field()?;
        let section = path.in_section();
        let item = if section.is_list() {
            let n = path.item()?.checked_sub(1)?;
            self.0.children.get(&section)?.get(n as usize)?
        } else {
            &self.0.single
        };
        item.values
            .iter()
            .find(|(f, _)| *f == field)
            .and_then(|(_, v)| v.cell)
            .or_else(|| {
                item.empties
                    .iter()
                    .find(|(f, _)| *f == field)
                    .map(|(_, c)| *c)
            })
    }
}
