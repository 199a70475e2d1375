//! Rows → leads. Each row is mapped on its own (in parallel) into [`RowParts`]: the values of
//! the lead-level fields and the items of the repeated sections, each remembering the cell it
//! came from. Parts then become a [`LeadDraft`]: one row per lead, or several rows grouped by a
//! key column (rows need not be adjacent). The draft turns into the request body plus a map
//! from each field path to its cell, so that a problem found in the body points at the cell.

use std::collections::{BTreeMap, HashMap};

use super::convert::Value;
use super::fields::{self, FieldId, Section};
use super::resolve::{Binding, Resolved, Source};
use crate::api::model::LeadRequest;
use crate::sheet::{CellRef, RowNum, SourceRow};
use crate::validate::Problem;

/// A value and the cell it was read from (`None` for constants).
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced {
    pub value: Value,
    pub cell: Option<CellRef>,
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

/// Reads `binding`'s value from `src` into `item`; a conversion failure becomes a problem.
fn take(binding: &Binding, src: &SourceRow, item: &mut Item, problems: &mut Vec<Problem>) -> bool {
    let def = fields::def(binding.field);
    match &binding.source {
        Source::Constant(v) => {
            item.values.push((
                binding.field,
                Sourced {
                    value: v.clone(),
                    cell: None,
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
                        def.path(),
                        message,
                    ));
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
        problems.push(Problem::error(Some(src.row), None, "row", d.clone()));
    }
    let mut single = Item::default();
    for b in &resolved.single {
        take(b, src, &mut single, &mut problems);
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
            for b in &g.bindings {
                filled |= take(b, src, &mut item, &mut problems);
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
            "settings.group_by",
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
        self.problems.extend(parts.problems);
        for (field, v) in parts.single.values {
            match self.single.get(field) {
                None => self.single.values.push((field, v)),
                Some(existing) if existing.value == v.value => {}
                Some(existing) => {
                    let at = |c: &Option<CellRef>| c.map(|c| format!(" ({c})")).unwrap_or_default();
                    self.problems.push(Problem::error(
                        Some(parts.row),
                        v.cell,
                        fields::def(field).path(),
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
        for (section, items) in parts.children {
            let list = self.children.entry(section).or_default();
            for item in items {
                let repeated_contact = section != Section::OfferLine
                    && list.iter().any(|i| values_of(i) == values_of(&item));
                if !repeated_contact {
                    list.push(item);
                }
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

    /// The request body and, for each field path, the cell it came from.
    pub fn to_request(&self) -> (LeadRequest, Origins) {
        let mut origins = Origins::default();
        let mut body = serde_json::Map::new();
        let put = |section: Section,
                   name: &str,
                   value: serde_json::Value,
                   target: &mut serde_json::Map<String, serde_json::Value>| {
            match section.key() {
                None => {
                    target.insert(name.to_string(), value);
                }
                Some(k) => {
                    let obj = target
                        .entry(k)
                        .or_insert_with(|| serde_json::Value::Object(Default::default()));
                    if let Some(o) = obj.as_object_mut() {
                        o.insert(name.to_string(), value);
                    }
                }
            }
        };
        let ds_id = fields::id(Section::Top, "dsLeadOpportunityId");
        for (field, v) in &self.single.values {
            let def = fields::def(*field);
            if *field == ds_id {
                continue;
            }
            origins.note(def.path(), v.cell);
            put(def.section, def.name, v.value.to_json(), &mut body);
        }
        for (field, cell) in &self.single.empties {
            origins.note(fields::def(*field).path(), Some(*cell));
        }
        for (section, items) in &self.children {
            let key = section.key().expect("list sections have a key");
            let mut list = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let mut obj = serde_json::Map::new();
                for (field, v) in &item.values {
                    let def = fields::def(*field);
                    origins.note(format!("{key}[{i}].{}", def.name), v.cell);
                    obj.insert(def.name.to_string(), v.value.to_json());
                }
                for (field, cell) in &item.empties {
                    origins.note(
                        format!("{key}[{i}].{}", fields::def(*field).name),
                        Some(*cell),
                    );
                }
                list.push(serde_json::Value::Object(obj));
            }
            if !list.is_empty() {
                body.insert(key.to_string(), serde_json::Value::Array(list));
            }
        }
        // Values have the JSON types of the model's fields (text, number, list of text), so
        // this cannot fail; a default body keeps the lead reportable if it ever did.
        let request = serde_json::from_value(serde_json::Value::Object(body)).unwrap_or_default();
        (request, origins)
    }
}

fn values_of(item: &Item) -> Vec<(FieldId, &Value)> {
    let mut v: Vec<(FieldId, &Value)> = item.values.iter().map(|(f, s)| (*f, &s.value)).collect();
    v.sort_by_key(|(f, _)| *f);
    v
}

/// Field path → the cell it was read from (or the empty cell it should have been read from).
#[derive(Debug, Clone, Default)]
pub struct Origins(HashMap<String, CellRef>);

impl Origins {
    fn note(&mut self, path: String, cell: Option<CellRef>) {
        if let Some(c) = cell {
            self.0.entry(path).or_insert(c);
        }
    }

    pub fn cell(&self, path: &str) -> Option<CellRef> {
        self.0.get(path).copied()
    }
}
