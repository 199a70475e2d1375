//! The columns of an export. The reporting layout has every field of the read model, API names
//! as headers (nested ones dotted: `customerLegalEntity.name`), dates as dates and amounts as
//! numbers. The import layout has the columns of a mapping (by default the API-path layout that
//! `validate` and `import` read without `--mapping`), with values as the mapping would read
//! them back, so an exported file can be edited and re-imported as updates.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use crate::api::contract::{self, ApiVersion, FIELDS, FieldId, FieldPath, Kind, Section};
use crate::mapping::config::{FieldSpec, MappingConfig, MappingError};
use crate::mapping::convert::date_format;
use crate::sheet::Cell;

/// A cell of an export as CSV text: dates in ISO 8601 (date-times in UTC with milliseconds, as
/// the API writes them), numbers as plain decimals, with a decimal comma when the mapping reads
/// them so.
pub fn csv_text(cell: &Cell, decimal_comma: bool) -> String {
    match cell {
        Cell::Float(n) => {
            let t = crate::sheet::number_text(*n);
            if decimal_comma {
                t.replace('.', ",")
            } else {
                t
            }
        }
        Cell::DateTime {
            value,
            date_only: true,
        } => value.date().to_string(),
        Cell::DateTime { value, .. } => {
            value.and_utc().to_rfc3339_opts(SecondsFormat::Millis, true)
        }
        other => other.to_text(),
    }
}

fn date(value: NaiveDateTime, date_only: bool) -> Cell {
    Cell::DateTime { value, date_only }
}

/// The fields of a read-model object of `section`, in the contract's order (REFERENCE.md §5.7);
/// a lead's start with its `dsLeadOpportunityId`.
pub fn read_names(section: Section) -> Vec<&'static str> {
    let top = (section == Section::Lead).then_some(Section::Top);
    top.into_iter()
        .chain([section])
        .flat_map(Section::read_fields)
        .map(|id| contract::field(id).name)
        .collect()
}

/// Whether the read model's `name` holds a date or date-time.
fn is_date(name: &str) -> bool {
    FIELDS.iter().any(|f| f.name == name && f.kind.is_date())
}

/// A read-model value as a cell: lists joined, dates as dates, numbers as numbers.
pub fn out(v: Option<&Value>, name: &str) -> Cell {
    match v {
        None | Some(Value::Null) => Cell::Empty,
        Some(Value::String(s)) if s.is_empty() => Cell::Empty,
        Some(Value::String(s)) if is_date(name) => {
            parse_date(s).unwrap_or_else(|| Cell::Text(s.clone()))
        }
        Some(Value::String(s)) => Cell::Text(s.clone()),
        Some(Value::Number(n)) => n.as_f64().map_or(Cell::Empty, Cell::Float),
        Some(Value::Bool(b)) => Cell::Text(if *b { "TRUE" } else { "FALSE" }.into()),
        Some(Value::Array(items)) => {
            let texts: Vec<String> = items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect();
            if texts.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(texts.join("; "))
            }
        }
        Some(other) => Cell::Text(other.to_string()),
    }
}

/// Lenient date reading (REFERENCE.md §4.3): RFC 3339, a plain date, or nothing.
pub fn parse_date(s: &str) -> Option<Cell> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        let n = t.with_timezone(&Utc).naive_utc();
        let date_only = n.time() == chrono::NaiveTime::MIN;
        return Some(date(n, date_only));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(|d| date(d.and_time(chrono::NaiveTime::MIN), true))
}

/// The Leads sheet's headers: every lead field, the legal entity's dotted, a total of the
/// offer-line amounts, and any field the server sent that the contract does not list.
pub fn lead_headers(extra: &[String]) -> Vec<String> {
    let mut h: Vec<String> = read_names(Section::Lead)
        .iter()
        .map(|s| s.to_string())
        .collect();
    h.extend(
        read_names(Section::LegalEntity)
            .iter()
            .map(|f| format!("customerLegalEntity.{f}")),
    );
    h.push("offerLines.amount (total)".into());
    h.extend(extra.iter().cloned());
    h
}

pub fn lead_row(record: &Value, extra: &[String]) -> Vec<Cell> {
    let mut row: Vec<Cell> = read_names(Section::Lead)
        .iter()
        .map(|f| out(record.get(*f), f))
        .collect();
    let le = record.get("customerLegalEntity");
    row.extend(
        read_names(Section::LegalEntity)
            .iter()
            .map(|f| out(le.and_then(|l| l.get(*f)), f)),
    );
    let lines = record.get("offerLines").and_then(Value::as_array);
    let total: Option<f64> = lines.map(|l| {
        l.iter()
            .filter_map(|x| x.get("amount").and_then(Value::as_f64))
            .sum()
    });
    row.push(total.map_or(Cell::Empty, Cell::Float));
    row.extend(extra.iter().map(|k| out(record.get(k), k)));
    row
}

/// Read-model keys this layout does not know, for extra columns.
pub fn unknown_keys(record: &Value) -> Vec<String> {
    let known = read_names(Section::Lead);
    let nested = |k: &str| {
        Section::ALL
            .iter()
            .any(|s| s.read_key() == Some(k) || (s.is_list() && s.key() == Some(k)))
    };
    record
        .as_object()
        .map(|o| {
            o.keys()
                .filter(|k| !known.contains(&k.as_str()) && !nested(k))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The read model's list of a repeated section.
pub fn children(record: &Value, section: Section) -> &[Value] {
    section.read_items(record)
}

/// `key: value` lines of a read-model object, for `leadsheet get`: nested keys dotted, lists of
/// objects numbered from 1 (`offerLines.1.amount`, the export's column spelling), lists of
/// values joined with `; `.
pub fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::Array(items) if items.iter().any(|i| i.is_object()) => {
            for (i, item) in items.iter().enumerate() {
                flatten(&format!("{prefix}.{}", i + 1), item, out);
            }
        }
        Value::Array(items) => {
            let texts: Vec<String> = items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect();
            out.push((prefix.to_string(), texts.join("; ")));
        }
        Value::Null => out.push((prefix.to_string(), String::new())),
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// How an import-layout column renders its field, mirroring how the mapping reads it.
#[derive(Debug, Clone)]
struct Render {
    /// API value → the partner's word (the first that maps to it).
    reverse: HashMap<String, String>,
    /// chrono format of the mapping's first date format, and whether it has a time.
    date_format: Option<(String, bool)>,
    tz: Tz,
    separator: String,
}

#[derive(Debug, Clone)]
pub struct ImportColumn {
    pub header: String,
    field: FieldId,
    /// For numbered groups: the 0-based item. `None` with a list section: the row's item.
    item: Option<usize>,
    render: Render,
}

/// The import layout for a mapping, sized for the most items any exported lead has.
#[derive(Debug, Clone)]
pub struct ImportLayout {
    pub columns: Vec<ImportColumn>,
    /// One row per item of the plain (not numbered) list sections (grouped-rows mappings).
    row_per_item: bool,
    pub decimal_comma: bool,
    partner_id: Option<String>,
}

impl ImportLayout {
    /// `max_items`: the largest number of offer lines, customer and partner contacts of a lead.
    ///
    /// # Errors
    /// [`MappingError::Invalid`] for a time zone or date format the mapping cannot use.
    pub fn new(
        mapping: &MappingConfig,
        mapping_path: &Path,
        max_items: [usize; 3],
        partner_id: Option<String>,
    ) -> Result<ImportLayout, MappingError> {
        let invalid = |message: String| MappingError::Invalid {
            path: mapping_path.to_path_buf(),
            message,
        };
        let s = &mapping.settings;
        let tz: Tz = match &s.timezone {
            Some(t) => t
                .parse()
                .map_err(|_| invalid(format!("settings.timezone: unknown time zone `{t}`")))?,
            None => Tz::UTC,
        };
        let default_format = s.date_format.as_ref().and_then(|f| f.0.first().cloned());
        let mut columns = Vec::new();
        let mut row_per_item = false;
        for section in Section::ALL {
            let specs = mapping.specs(section);
            // Fields in the table's order, whatever the mapping's.
            let mut specs: Vec<(FieldId, &FieldSpec)> = specs
                .iter()
                .filter_map(|(name, spec)| contract::find(section, name).map(|f| (f, *spec)))
                .collect();
            specs.sort_by_key(|(f, _)| *f);
            let max = match section {
                Section::OfferLine => max_items[0],
                Section::CustomerContact => max_items[1],
                Section::PartnerContact => max_items[2],
                _ => 1,
            };
            for n in 1..=max.max(1) {
                for (field, spec) in &specs {
                    let cfg = &spec.0;
                    let Some(header) = cfg.column.as_ref().and_then(|c| c.0.first()) else {
                        continue;
                    };
                    let numbered = header.contains("{n}");
                    if !numbered && n > 1 {
                        continue;
                    }
                    let kind = contract::field(*field).kind;
                    let fmt = cfg
                        .format
                        .as_ref()
                        .and_then(|f| f.0.first().cloned())
                        .or_else(|| default_format.clone());
                    let date_format = match (kind, fmt) {
                        (Kind::DateTime | Kind::Date, Some(p)) => {
                            let f = date_format(&p)
                                .map_err(|e| invalid(format!("{}: {e}", FieldPath::of(*field))))?;
                            Some((f.chrono_pattern().to_string(), f.has_time()))
                        }
                        _ => None,
                    };
                    let mut reverse = HashMap::new();
                    for (word, api) in cfg.map.iter().flatten().collect::<BTreeMap<_, _>>() {
                        reverse
                            .entry(api.0.to_ascii_uppercase())
                            .or_insert_with(|| word.clone());
                    }
                    let render = Render {
                        reverse,
                        date_format,
                        tz: match &cfg.timezone {
                            Some(t) => t.parse().map_err(|_| {
                                invalid(format!(
                                    "{}: unknown time zone `{t}`",
                                    FieldPath::of(*field)
                                ))
                            })?,
                            None => tz,
                        },
                        separator: cfg
                            .separator
                            .clone()
                            .or_else(|| s.list_separator.clone())
                            .unwrap_or_else(|| ";".into()),
                    };
                    let item = if section.is_list() {
                        if numbered {
                            Some(n - 1)
                        } else {
                            row_per_item |= s.group_by.is_some();
                            if s.group_by.is_some() { None } else { Some(0) }
                        }
                    } else {
                        None
                    };
                    columns.push(ImportColumn {
                        header: header.replace("{n}", &n.to_string()),
                        field: *field,
                        item,
                        render,
                    });
                }
            }
        }
        Ok(ImportLayout {
            columns,
            row_per_item,
            decimal_comma: s.decimal_comma.unwrap_or(false),
            partner_id,
        })
    }

    pub fn headers(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.header.clone()).collect()
    }

    /// Each column's field, and the words a user may type for an enum field: the mapping's
    /// own word for each API value where its value map has one, else the API value.
    pub fn column_choices(&self, version: ApiVersion) -> Vec<(FieldId, Option<Vec<String>>)> {
        self.columns
            .iter()
            .map(|c| {
                let def = contract::field(c.field);
                let choices = def.allowed(version).map(|allowed| {
                    allowed
                        .iter()
                        .map(|v| {
                            c.render
                                .reverse
                                .get(&v.to_ascii_uppercase())
                                .cloned()
                                .unwrap_or_else(|| v.to_string())
                        })
                        .collect()
                });
                (c.field, choices)
            })
            .collect()
    }

    /// The rows of one record: one, or one per item for grouped-rows mappings.
    pub fn rows(&self, record: &Value) -> Vec<Vec<Cell>> {
        let n = if self.row_per_item {
            Section::LISTS
                .iter()
                .map(|s| children(record, *s).len())
                .max()
                .unwrap_or(0)
                .max(1)
        } else {
            1
        };
        (0..n)
            .map(|r| {
                self.columns
                    .iter()
                    .map(|c| self.cell(record, c, r))
                    .collect()
            })
            .collect()
    }

    fn cell(&self, record: &Value, c: &ImportColumn, row: usize) -> Cell {
        let def = contract::field(c.field);
        let raw = match def.section {
            Section::Top if def.name == "partnerId" => {
                return self.partner_id.clone().map_or(Cell::Empty, Cell::Text);
            }
            Section::Top => record.get("dsLeadOpportunityId"),
            Section::Lead => record.get(def.name),
            Section::LegalEntity => record
                .get("customerLegalEntity")
                .and_then(|l| l.get(def.name)),
            list => children(record, list)
                .get(c.item.unwrap_or(row))
                .and_then(|i| i.get(def.name)),
        };
        render(raw, def.kind, &c.render)
    }
}

/// A value as the mapping would read it back.
fn render(v: Option<&Value>, kind: Kind, r: &Render) -> Cell {
    let word = |s: &str| {
        r.reverse
            .get(&s.to_ascii_uppercase())
            .cloned()
            .unwrap_or_else(|| s.to_string())
    };
    match v {
        None | Some(Value::Null) => Cell::Empty,
        Some(Value::String(s)) if s.is_empty() => Cell::Empty,
        Some(Value::Array(items)) => {
            let texts: Vec<String> = items.iter().filter_map(Value::as_str).map(word).collect();
            if texts.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(texts.join(&r.separator))
            }
        }
        Some(Value::Number(n)) => n.as_f64().map_or(Cell::Empty, Cell::Float),
        Some(Value::String(s)) => match (kind, &r.date_format) {
            (Kind::DateTime | Kind::Date, Some((pattern, has_time))) => match parse_date(s) {
                Some(Cell::DateTime { value: d, .. }) => {
                    let local = if *has_time {
                        d.and_utc().with_timezone(&r.tz).naive_local()
                    } else {
                        d
                    };
                    Cell::Text(local.format(pattern).to_string())
                }
                _ => Cell::Text(s.clone()),
            },
            _ => Cell::Text(word(s)),
        },
        Some(other) => Cell::Text(other.to_string()),
    }
}
