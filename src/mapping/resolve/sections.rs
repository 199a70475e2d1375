//! The three kinds of section a mapping binds: the single ones (top level, `leadOpportunity`,
//! `customerLegalEntity`: one value per lead), the repeated ones in numbered column groups
//! (`Offer {n} Amount`: one item per group that has a filled cell), and the repeated ones read
//! from the row itself (one item per row, gathered across a lead's rows with `group_by`).

use super::binding::{Ctx, known_field, known_field_or_skip};
use super::{Binding, ChildGroup, Source};
use crate::api::contract::{self, FieldPath, Kind, Section};
use crate::mapping::config::{FieldSpec, MappingError};
use crate::mapping::convert::{Conv, Value};

/// Whether a field's column names a numbered group.
pub(super) fn uses_n(spec: &FieldSpec) -> bool {
    spec.0
        .column
        .as_ref()
        .is_some_and(|c| c.0.iter().any(|h| h.contains("{n}")))
}

fn partner_constant(field: u16, p: &str) -> Binding {
    Binding {
        field,
        source: Source::Constant(Value::Text(p.trim().to_string())),
        default: None,
        conv: Conv::new(Kind::Id),
    }
}

/// The fields of the single sections; `--partner-id` wins over the mapping, which wins over
/// the profile's partner id.
pub(super) fn single(ctx: &Ctx<'_>) -> Result<Vec<Binding>, MappingError> {
    let input = ctx.input;
    let mut single = Vec::new();
    for section in [Section::Top, Section::Lead, Section::LegalEntity] {
        for (name, spec) in input.config.specs(section) {
            let field = known_field(ctx, section, name)?;
            let path = FieldPath::of(field).to_string();
            if uses_n(spec) {
                return Err(ctx.err(format!("{path}: `{{n}}` numbers repeated groups; it only works in offerLines, customerContacts and partnerContacts")));
            }
            if let Some(b) = ctx.bind(field, spec, None, &path)? {
                single.push(b);
            }
        }
    }
    let partner = contract::field_id(Section::Top, "partnerId");
    match (&input.partner_id, &input.fallback_partner_id) {
        (Some(p), _) => {
            single.retain(|b| b.field != partner);
            single.push(partner_constant(partner, p));
        }
        (None, Some(p)) if !single.iter().any(|b| b.field == partner) => {
            single.push(partner_constant(partner, p));
        }
        _ => {}
    }
    Ok(single)
}

/// A repeated section in numbered column groups: group `n` exists when one of its `{n}`
/// columns is in the file. Fields without `{n}` (a constant, or one column for every group)
/// apply to each group. `None` when no group exists and every field is optional.
pub(super) fn numbered(
    ctx: &Ctx<'_>,
    section: Section,
    specs: &[(&str, &FieldSpec)],
) -> Result<Option<Vec<ChildGroup>>, MappingError> {
    let numbered: Vec<bool> = specs.iter().map(|(_, s)| uses_n(s)).collect();
    let mut groups = Vec::new();
    for n in 1..=200u32 {
        let mut bindings = Vec::new();
        let mut any_column = false;
        for ((name, spec), is_n) in specs.iter().zip(&numbered) {
            let Some(field) = known_field_or_skip(ctx, section, name, spec.0.optional)? else {
                continue;
            };
            let path = FieldPath::of(field).at(n).to_string();
            let b = ctx.bind(field, spec, is_n.then_some(n), &path)?;
            if let Some(b) = b {
                any_column |= *is_n && matches!(b.source, Source::Column(_));
                bindings.push(b);
            }
        }
        if any_column {
            groups.push(ChildGroup {
                n: Some(n),
                bindings,
            });
        } else if n > 1 {
            break;
        }
    }
    if groups.is_empty() && specs.iter().all(|(_, s)| s.0.optional) {
        return Ok(None);
    }
    if groups.is_empty() {
        let cols: Vec<String> = specs
            .iter()
            .filter(|(_, s)| uses_n(s))
            .flat_map(|(_, s)| s.0.column.clone().unwrap_or_default().0)
            .collect();
        ctx.missing_column(section.key().unwrap_or_default(), &cols);
    }
    Ok(Some(groups))
}

/// A repeated section read from the row itself: one group, one item per row.
pub(super) fn per_row(
    ctx: &Ctx<'_>,
    section: Section,
    specs: &[(&str, &FieldSpec)],
) -> Result<ChildGroup, MappingError> {
    let mut bindings = Vec::new();
    for (name, spec) in specs {
        let Some(field) = known_field_or_skip(ctx, section, name, spec.0.optional)? else {
            continue;
        };
        if let Some(b) = ctx.bind(field, spec, None, &FieldPath::of(field).to_string())? {
            bindings.push(b);
        }
    }
    Ok(ChildGroup { n: None, bindings })
}
