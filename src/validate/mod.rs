//! The contract's rules, applied to every lead before anything is sent (`rules`): required
//! fields for a create and for an update, the enums of the chosen version, the formats, offer
//! lines, the legal entity and contacts, and the rules the schemas do not encode (REFERENCE.md
//! §11 #23). Where the contract is strict the rule is an error; where it is silent (e-mail
//! syntax, negative amounts, past close dates, an unknown ISO 4217 code) a warning, and the
//! user decides. The sandbox judges the same rules its own way (`sandbox::rules`), and the
//! conformance test holds the two to the same verdicts. Rules read the request body exactly as
//! it would be sent, and each problem is pointed back at its cell through the draft's origins.
//!
//! Checks are pure functions of one lead, so [`check_all`] runs them on rayon's pool; the one
//! rule that spans leads (a partnerLeadOpportunityId used twice in a file) is [`Duplicates`].

mod duplicates;
mod rules;

pub use duplicates::Duplicates;

use rayon::prelude::*;

use crate::api::contract::{
    self, ApiVersion, FieldId, FieldPath, Kind, Section, enums, looks_like_email,
};
use crate::api::model::LeadRequest;
use crate::mapping::{CLEAR, LeadDraft, Mode, Origins, Value};
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
    /// The fields an update empties on purpose (`#CLEAR`), beyond what `request` sets.
    pub clears: Vec<FieldId>,
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

/// Collects problems for one lead, pointing each at its cell.
struct Report<'a> {
    origins: Origins<'a>,
    first_row: Option<RowNum>,
    problems: Vec<Problem>,
    version: ApiVersion,
    today: chrono::NaiveDate,
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

    /// The contract declares no e-mail format (REFERENCE.md §5.2, §5.5): one that does not
    /// look like an address is the user's to judge, so it is a warning.
    fn email(&mut self, value: &str, path: FieldPath) {
        if !looks_like_email(value) {
            self.warning(
                path,
                format!(
                    "`{}` does not look like an e-mail address; 3DS declares no format and will take it as written",
                    shown(value)
                ),
            );
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
    /// The day the rows are judged on.
    pub today: chrono::NaiveDate,
}

/// Decides the action, builds the body and checks it.
pub fn check(draft: &LeadDraft, rules: Rules) -> Checked {
    let ds_field = contract::field_id(Section::Top, "dsLeadOpportunityId");
    let ds_id = draft
        .value(ds_field)
        .filter(|v| v.value != Value::Clear)
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
        today: rules.today,
    };
    let clears = clears(draft, action, &mut request, &mut r);
    match action {
        Action::Create => rules::create(&request, &mut r),
        Action::Update => {
            if ds_id.is_none() {
                r.missing(
                    top("dsLeadOpportunityId"),
                    "to update a lead (it is the 3DS id, e.g. 9YEL-Y3W56Q)",
                );
            }
            rules::update(&request, !clears.is_empty(), &mut r);
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
        clears,
        problems: r.problems,
        key_cell,
    }
}

/// The fields a row clears with `#CLEAR`: emptied in an update where the contract has an
/// empty value for them (text `""`, a list `[]`, a legal-entity field null: REFERENCE.md §5.2
/// makes no lead field nullable, §5.4 makes every entity field so). What cannot be emptied, or
/// identifies the lead or its customer, is refused.
fn clears(
    draft: &LeadDraft,
    action: Action,
    request: &mut LeadRequest,
    r: &mut Report<'_>,
) -> Vec<FieldId> {
    let mut out = Vec::new();
    for (path, _) in draft.clears() {
        let Some(id) = path.field() else { continue };
        let field = contract::field(id);
        let section = path.in_section();
        if action == Action::Create {
            r.warning(
                path,
                format!("{CLEAR} in a create has nothing to clear; the field is left out"),
            );
        } else if section.is_list() {
            r.warning(
                path,
                format!("{CLEAR} is not needed in a list: the list sent replaces the stored one, so a field left empty is gone"),
            );
        } else if is_clearable(section, field.name, field.kind) {
            out.push(id);
            // An entity field is cleared inside the entity, which an update sends whole.
            if section == Section::LegalEntity && request.customer_legal_entity.is_none() {
                request.customer_legal_entity = Some(Default::default());
            }
        } else {
            r.error(
                path,
                format!("cannot be cleared ({CLEAR}): it identifies the lead or its customer, or 3DS has no empty value for it; give a value or leave the cell empty"),
            );
        }
    }
    out
}

fn is_clearable(section: Section, name: &str, kind: Kind) -> bool {
    match section {
        Section::Lead => {
            !matches!(name, "partnerLeadOpportunityId" | "name")
                && matches!(
                    kind,
                    Kind::Text | Kind::Id | Kind::Email | Kind::TextList | Kind::EnumList(_)
                )
        }
        Section::LegalEntity => !matches!(name, "id" | "name" | "city" | "country"),
        _ => false,
    }
}

/// Checks leads in parallel, keeping their order.
pub fn check_all(drafts: &[LeadDraft], rules: Rules) -> Vec<Checked> {
    drafts.par_iter().map(|d| check(d, rules)).collect()
}
