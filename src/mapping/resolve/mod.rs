//! Resolves a mapping file against the headers of the file being read: each field gets its
//! column index, its constant or default already converted, and its conversion settings
//! (`binding`), section by section (`sections`). Everything that can be wrong with the mapping
//! is found here, before any row is read: a missing column names the file, lists its headers
//! and suggests the closest one.

mod binding;
mod sections;

use std::path::Path;

use super::config::{MappingConfig, MappingError, Mode};
use super::convert::{Conv, Value};
use crate::api::contract::{self, ApiVersion, FieldId, Section};

/// Where a field's value comes from.
#[derive(Debug, Clone)]
pub enum Source {
    Column(usize),
    Constant(Value),
    /// An optional column that the file does not have: only the default applies.
    Absent,
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub field: FieldId,
    pub source: Source,
    pub default: Option<Value>,
    pub conv: Conv,
}

/// One item of a repeated section: a numbered column group (`n`) or the row itself.
#[derive(Debug, Clone)]
pub struct ChildGroup {
    pub n: Option<u32>,
    pub bindings: Vec<Binding>,
}

#[derive(Debug, Clone)]
pub struct ChildBindings {
    pub section: Section,
    pub groups: Vec<ChildGroup>,
}

/// The mapping, ready to apply to rows of one file.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub version: ApiVersion,
    pub mode: Mode,
    /// Top-level, leadOpportunity and customerLegalEntity fields (one value per lead).
    pub single: Vec<Binding>,
    pub children: Vec<ChildBindings>,
    pub group_by: Option<usize>,
    pub headers: Vec<String>,
}

impl Resolved {
    pub fn binding(&self, field: FieldId) -> Option<&Binding> {
        self.single.iter().find(|b| b.field == field)
    }

    pub fn is_mapped(&self, field: FieldId) -> bool {
        self.binding(field).is_some()
            || self.children.iter().any(|c| {
                c.groups
                    .iter()
                    .any(|g| g.bindings.iter().any(|b| b.field == field))
            })
    }
}

/// What resolution needs besides the mapping file.
pub struct ResolveInput<'a> {
    pub config: &'a MappingConfig,
    pub mapping_path: &'a Path,
    pub headers: &'a [String],
    /// `leads.xlsx, sheet Leads` for messages.
    pub source_label: String,
    pub header_row: u32,
    pub version: ApiVersion,
    pub mode: Mode,
    /// `--partner-id` or `LEADSHEET_PARTNER_ID`; wins over the mapping.
    pub partner_id: Option<String>,
    /// The connection profile's partner id (or the sandbox's demo partner); used only when
    /// neither the flags nor the mapping give one.
    pub fallback_partner_id: Option<String>,
}

/// Headers are compared as the sheet layer normalises them (it finds the header row by them).
pub use crate::sheet::normalize_header;

/// Resolves `input.config` against the file's headers.
///
/// # Errors
/// [`MappingError::Invalid`] for everything the mapping gets wrong: an unknown field, a value
/// the contract refuses, missing columns (all of them at once), a header in two columns.
pub fn resolve(input: &ResolveInput<'_>) -> Result<Resolved, MappingError> {
    let ctx = binding::Ctx::new(input)?;
    let single = sections::single(&ctx)?;
    let mut children = Vec::new();
    for section in Section::LISTS {
        let specs = input.config.specs(section);
        if specs.is_empty() {
            continue;
        }
        let groups = if specs.iter().any(|(_, s)| sections::uses_n(s)) {
            match sections::numbered(&ctx, section, &specs)? {
                Some(groups) if !groups.is_empty() => groups,
                _ => continue,
            }
        } else {
            vec![sections::per_row(&ctx, section, &specs)?]
        };
        children.push(ChildBindings { section, groups });
    }
    let group_by = match &input.config.settings.group_by {
        None => None,
        Some(cols) => {
            let mut found = None;
            for c in &cols.0 {
                if let Some(col) = ctx.lookup(c, "settings.group_by")? {
                    found = Some(col);
                    break;
                }
            }
            if found.is_none() {
                ctx.missing_column("settings.group_by", &cols.0);
            }
            found
        }
    };
    if let Some(e) = ctx.missing_error() {
        return Err(e);
    }
    let resolved = Resolved {
        version: input.version,
        mode: input.mode,
        single,
        children,
        group_by,
        headers: input.headers.to_vec(),
    };
    // An upsert without the 3DS id creates each row, and updates the record 3DS already holds
    // under its partnerLeadOpportunityId (ERR801): only an update needs the id.
    let ds_id = contract::field_id(Section::Top, "dsLeadOpportunityId");
    if input.mode == Mode::Update && !resolved.is_mapped(ds_id) {
        return Err(ctx.err(
            "update mode needs the 3DS id of each lead: map `dsLeadOpportunityId` to a column (or use --mode upsert, which finds leads by their partnerLeadOpportunityId)".into(),
        ));
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    fn run(toml: &str, h: &[&str], mode: Mode) -> Result<Resolved, MappingError> {
        let config = MappingConfig::parse(toml, Path::new("m.toml")).unwrap();
        let headers = headers(h);
        resolve(&ResolveInput {
            config: &config,
            mapping_path: Path::new("m.toml"),
            headers: &headers,
            source_label: "leads.csv".into(),
            header_row: 1,
            version: ApiVersion::V1,
            mode,
            partner_id: None,
            fallback_partner_id: None,
        })
    }

    #[test]
    fn headers_match_ignoring_case_spaces_and_accents() {
        assert_eq!(normalize_header(" Société  E-Mail "), "societeemail");
        let r = run(
            "[leadOpportunity]\nname = \"Opportunity Name\"\n",
            &["CRM", "opportunity_name"],
            Mode::Create,
        )
        .unwrap();
        assert!(matches!(r.single[0].source, Source::Column(1)));
    }

    #[test]
    fn missing_column_lists_headers_and_suggests() {
        let e = run(
            "[leadOpportunity]\nname = \"Opportunity Nme\"\n",
            &["CRM ID", "Opportunity Name"],
            Mode::Create,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("leadOpportunity.name"), "{e}");
        assert!(e.contains("did you mean `Opportunity Name`"), "{e}");
        assert!(e.contains("A `CRM ID`, B `Opportunity Name`"), "{e}");
        assert!(e.contains("leads.csv"), "{e}");
    }

    #[test]
    fn numbered_groups() {
        let r = run(
            "[offerLines]\nofferNameId = \"Offer {n}\"\namount = \"Offer {n} Amount\"\nrevenueType = { value = \"PxC\" }\n",
            &["Offer 1", "Offer 1 Amount", "Offer 2", "Offer 2 Amount", "Offer 3"],
            Mode::Create,
        )
        .unwrap();
        let groups = &r.children[0].groups;
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[2].bindings.len(), 2);
    }

    #[test]
    fn mapping_errors() {
        let cases = [
            ("[leadOpportunity]\nnmae = \"X\"\n", "Did you mean `name`"),
            (
                "[leadOpportunity]\nstatus = { column = \"X\", map = { \"Won\" = \"WONN\" } }\n",
                "WONN",
            ),
            ("[leadOpportunity]\nstatus = { value = \"OPEN\" }\n", "OPEN"),
            (
                "[leadOpportunity]\ncloseDate = { column = \"X\", format = [\"DD/MM/YYYY\", \"MM/DD/YYYY\"] }\n",
                "which is the day",
            ),
            (
                "[leadOpportunity]\nname = { column = \"X\", format = \"DD.MM.YYYY\" }\n",
                "date fields only",
            ),
            (
                "[leadOpportunity]\nstatus = { column = \"X\", map = { \"Prospect\" = \"LEAD_OPEN\", \" prospect\" = \"QUALIFIED\" } }\n",
                "which a cell matches alike",
            ),
            ("[settings]\ntimezone = \"Mars/Base\"\n", "Mars/Base"),
            (
                "[leadOpportunity]\nname = { column = \"X\", value = \"Y\" }\n",
                "not both",
            ),
            ("[settings]\ngroup_by = \"Nope\"\n", "settings.group_by"),
        ];
        for (toml, needle) in cases {
            let e = run(toml, &["X"], Mode::Create).unwrap_err().to_string();
            assert!(e.contains(needle), "{toml}: {e}");
        }
        let e = run("[leadOpportunity]\nname = \"X\"\n", &["X"], Mode::Update)
            .unwrap_err()
            .to_string();
        assert!(e.contains("dsLeadOpportunityId"), "{e}");
        let e = run(
            "[leadOpportunity]\nname = \"X\"\n",
            &["X", "x"],
            Mode::Create,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("several columns"), "{e}");
    }
}
