//! Binding one field of a mapping to the file: its column found by header (ignoring case,
//! spaces, punctuation and accents; a header in two columns is refused), its constant or
//! default converted once, its conversion settings checked against its kind. Missing columns
//! are gathered, so that one message names them all, lists the file's headers and suggests the
//! closest one.

use std::collections::HashMap;

use chrono_tz::Tz;

use super::{Binding, ResolveInput, Source, normalize_header};
use crate::api::contract::{self, FieldId, FieldPath, Kind, Section, enums};
use crate::mapping::config::{FieldConfig, FieldSpec, MappingError};
use crate::mapping::convert::{self, Conv, Value};
use crate::sheet::column_letter;

pub(super) struct Ctx<'a> {
    pub input: &'a ResolveInput<'a>,
    /// Missing columns, gathered so that one message names them all.
    missing: std::cell::RefCell<Vec<(String, Vec<String>)>>,
    index: HashMap<String, Vec<usize>>,
    tz: Tz,
    date_formats: Vec<convert::DateFormat>,
    decimal_comma: bool,
    separator: String,
}

impl<'a> Ctx<'a> {
    /// The context of one resolution: the file's header index, and the mapping's settings
    /// that apply to every field.
    pub fn new(input: &'a ResolveInput<'a>) -> Result<Ctx<'a>, MappingError> {
        let s = &input.config.settings;
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, h) in input.headers.iter().enumerate() {
            if !h.is_empty() {
                index.entry(normalize_header(h)).or_default().push(i);
            }
        }
        let err = |m: String| MappingError::Invalid {
            path: input.mapping_path.to_path_buf(),
            message: m,
        };
        let tz = match &s.timezone {
            Some(t) => parse_tz(t).map_err(|m| err(format!("settings.timezone: {m}")))?,
            None => Tz::UTC,
        };
        let date_formats = match &s.date_format {
            Some(f) => {
                let fs =
                    f.0.iter()
                        .map(|p| convert::date_format(p))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|m| err(format!("settings.date_format: {m}")))?;
                convert::check_ambiguity(&fs)
                    .map_err(|m| err(format!("settings.date_format: {m}")))?;
                fs
            }
            None => Vec::new(),
        };
        Ok(Ctx {
            input,
            missing: Default::default(),
            index,
            tz,
            date_formats,
            decimal_comma: s.decimal_comma.unwrap_or(false),
            separator: s.list_separator.clone().unwrap_or_else(|| ";".into()),
        })
    }

    pub fn err(&self, message: String) -> MappingError {
        MappingError::Invalid {
            path: self.input.mapping_path.to_path_buf(),
            message,
        }
    }

    fn headers_listing(&self) -> String {
        self.input
            .headers
            .iter()
            .enumerate()
            .filter(|(_, h)| !h.is_empty())
            .map(|(i, h)| format!("{} `{h}`", column_letter(i)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn closest(&self, wanted: &str) -> Option<&str> {
        let w = normalize_header(wanted);
        self.input
            .headers
            .iter()
            .filter(|h| !h.is_empty())
            .map(|h| (h.as_str(), enums::edit_distance(&normalize_header(h), &w)))
            .filter(|(h, d)| {
                *d <= w.chars().count().max(4) / 2
                    || normalize_header(h).contains(&w)
                    || w.contains(&normalize_header(h))
            })
            .min_by_key(|(_, d)| *d)
            .map(|(h, _)| h)
    }

    /// The column of a header, if exactly one column has it.
    pub fn lookup(&self, header: &str, path: &str) -> Result<Option<usize>, MappingError> {
        match self.index.get(&normalize_header(header)).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([one]) => Ok(Some(*one)),
            Some(many) => Err(self.err(format!(
                "{path}: the header `{header}` appears in several columns ({}) of {}; rename one of them",
                many.iter().map(|c| column_letter(*c)).collect::<Vec<_>>().join(", "),
                self.input.source_label
            ))),
        }
    }

    /// Notes a missing column; [`Ctx::missing_error`] reports them all in one message.
    pub fn missing_column(&self, path: &str, wanted: &[String]) {
        self.missing
            .borrow_mut()
            .push((path.to_string(), wanted.to_vec()));
    }

    pub fn missing_error(&self) -> Option<MappingError> {
        let missing = self.missing.borrow();
        if missing.is_empty() {
            return None;
        }
        let lines: Vec<String> = missing
            .iter()
            .map(|(path, wanted)| {
                let names = wanted
                    .iter()
                    .map(|w| format!("`{w}`"))
                    .collect::<Vec<_>>()
                    .join(" or ");
                let hint = wanted
                    .iter()
                    .find_map(|w| self.closest(&w.replace("{n}", "1")))
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                format!("{path}: no column {names}{hint}")
            })
            .collect();
        let head = if lines.len() == 1 {
            "a column is missing".to_string()
        } else {
            format!("{} columns are missing", lines.len())
        };
        Some(self.err(format!(
            "{head} in {} (header row {}):\n  {}\nThe headers are: {}.\n\
             Rename the columns, change the mapping, or add `optional = true` to fields that may be missing.",
            self.input.source_label,
            self.input.header_row,
            lines.join("\n  "),
            self.headers_listing()
        )))
    }

    fn conv_for(
        &self,
        field: FieldId,
        cfg: &FieldConfig,
        path: &str,
    ) -> Result<Conv, MappingError> {
        let def = contract::field(field);
        let is_date = matches!(def.kind, Kind::Date | Kind::DateTime);
        let is_list = matches!(def.kind, Kind::TextList | Kind::EnumList(_));
        if !is_date && (cfg.format.is_some() || cfg.timezone.is_some()) {
            return Err(self.err(format!(
                "{path}: `format` and `timezone` apply to date fields only"
            )));
        }
        if def.kind != Kind::Number && cfg.decimal_comma.is_some() {
            return Err(self.err(format!("{path}: `decimal_comma` applies to amounts only")));
        }
        if !is_list && cfg.separator.is_some() {
            return Err(self.err(format!("{path}: `separator` applies to list fields only (competitors, reasonWon, reasonLost)")));
        }
        let mut conv = Conv::new(def.kind);
        conv.tz = match &cfg.timezone {
            Some(tz) => parse_tz(tz).map_err(|m| self.err(format!("{path}: {m}")))?,
            None => self.tz,
        };
        conv.formats = match &cfg.format {
            Some(f) => {
                let formats =
                    f.0.iter()
                        .map(|p| convert::date_format(p))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|m| self.err(format!("{path}: {m}")))?;
                convert::check_ambiguity(&formats).map_err(|m| self.err(format!("{path}: {m}")))?;
                formats
            }
            None => self.date_formats.clone(),
        };
        conv.decimal_comma = cfg.decimal_comma.unwrap_or(self.decimal_comma);
        conv.separator = cfg
            .separator
            .clone()
            .unwrap_or_else(|| self.separator.clone());
        if conv.separator.is_empty() {
            return Err(self.err(format!("{path}: the list separator is empty")));
        }
        conv.enum_values = match def.kind {
            Kind::Enum(t) | Kind::EnumList(t) => Some(t.values(self.input.version)),
            _ => None,
        };
        if let Some(map) = &cfg.map {
            // Keys are matched ignoring case and surrounding spaces: two that differ only so
            // would send a cell to whichever came last, silently.
            let mut seen = std::collections::HashMap::new();
            for (from, to) in map {
                let key = from.trim().to_lowercase();
                if let Some((first, to_first)) = seen.insert(key, (from, &to.0))
                    && to_first.trim() != to.0.trim()
                {
                    return Err(self.err(format!(
                        "{path}: the map has `{first}` (→ `{to_first}`) and `{from}` (→ `{}`), which a cell matches alike (case and surrounding spaces are ignored); keep one",
                        to.0
                    )));
                }
            }
            if let Some(allowed) = conv.enum_values {
                for (from, to) in map {
                    let to = to.0.trim();
                    if !allowed.iter().any(|a| a.eq_ignore_ascii_case(to)) {
                        let hint = enums::closest(allowed, to)
                            .map(|c| format!(" (did you mean `{c}`?)"))
                            .unwrap_or_default();
                        return Err(self.err(format!(
                            "{path}: the map sends `{from}` to `{to}`, which is not a {} value{hint}; allowed: {}",
                            self.input.version,
                            allowed.join(", ")
                        )));
                    }
                }
            }
            conv = conv.with_map(map.iter().map(|(k, v)| (k.clone(), v.0.clone())));
        }
        Ok(conv)
    }

    /// A constant or default, converted once; a value the contract refuses is a mapping error.
    fn constant(
        &self,
        conv: &Conv,
        raw: &str,
        path: &str,
        what: &str,
    ) -> Result<Option<Value>, MappingError> {
        let v = conv
            .text(raw)
            .map_err(|m| self.err(format!("{path}: the {what} {m}")))?;
        if let (Some(allowed), Some(v)) = (conv.enum_values, &v) {
            let items = match v {
                Value::Text(s) => vec![s.clone()],
                Value::List(l) => l.clone(),
                Value::Num(_) | Value::Clear => vec![],
            };
            for item in items {
                if !allowed.contains(&item.as_str()) {
                    return Err(self.err(format!(
                        "{path}: the {what} `{item}` is not a {} value; allowed: {}",
                        self.input.version,
                        allowed.join(", ")
                    )));
                }
            }
        }
        Ok(v)
    }

    /// Binds one field whose column name has no `{n}` (or has it replaced already).
    pub fn bind(
        &self,
        field: FieldId,
        spec: &FieldSpec,
        n: Option<u32>,
        path: &str,
    ) -> Result<Option<Binding>, MappingError> {
        let cfg = &spec.0;
        let conv = self.conv_for(field, cfg, path)?;
        let default = match &cfg.default {
            Some(d) => self.constant(&conv, &d.0, path, "default")?,
            None => None,
        };
        let source = match (&cfg.value, &cfg.column) {
            (Some(_), Some(_)) => {
                return Err(self.err(format!("{path}: give either `column` or `value`, not both")));
            }
            (Some(v), None) => match self.constant(&conv, &v.0, path, "value")? {
                Some(v) => Source::Constant(v),
                None => return Err(self.err(format!("{path}: the value is empty"))),
            },
            (None, Some(cols)) => {
                if cols.0.is_empty() {
                    return Err(self.err(format!("{path}: the list of columns is empty")));
                }
                let mut found = None;
                for c in &cols.0 {
                    let header = match n {
                        Some(n) => c.replace("{n}", &n.to_string()),
                        None => c.clone(),
                    };
                    if let Some(col) = self.lookup(&header, path)? {
                        found = Some(col);
                        break;
                    }
                }
                match found {
                    Some(col) => Source::Column(col),
                    None if n.is_some() => return Ok(None),
                    None if cfg.optional && default.is_some() => Source::Absent,
                    None if cfg.optional => return Ok(None),
                    None => {
                        self.missing_column(path, &cols.0);
                        return Ok(None);
                    }
                }
            }
            (None, None) if default.is_some() => Source::Absent,
            (None, None) => {
                return Err(self.err(format!(
                    "{path}: say which `column` feeds it, or give a `value`"
                )));
            }
        };
        Ok(Some(Binding {
            field,
            source,
            default,
            conv,
        }))
    }
}

fn parse_tz(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| {
        format!("unknown time zone `{name}` (use an IANA name such as Europe/Berlin or UTC)")
    })
}

pub(super) fn known_field(
    ctx: &Ctx<'_>,
    section: Section,
    name: &str,
) -> Result<FieldId, MappingError> {
    known_field_or_skip(ctx, section, name, false).map(|f| f.expect("not skipped"))
}

/// Like `known_field`, but an optional field of a newer version than the one in use is
/// skipped rather than refused (the default layout names the v1 offer-line dates).
pub(super) fn known_field_or_skip(
    ctx: &Ctx<'_>,
    section: Section,
    name: &str,
    optional: bool,
) -> Result<Option<FieldId>, MappingError> {
    let Some(id) = contract::find(section, name) else {
        let names = section.field_names();
        let hint = enums::closest(&names, name)
            .map(|c| format!(" Did you mean `{c}`?"))
            .unwrap_or_default();
        let place = section
            .key()
            .map(|k| format!("[{k}]"))
            .unwrap_or_else(|| "the top level".into());
        return Err(ctx.err(format!(
            "`{name}` is not a field of {place}.{hint} Known fields: {}",
            names.join(", ")
        )));
    };
    let def = contract::field(id);
    if !def.exists_in(ctx.input.version) {
        if optional {
            return Ok(None);
        }
        return Err(ctx.err(format!(
            "{} exists only in API v1; remove it or use --api-version v1",
            FieldPath::of(id)
        )));
    }
    Ok(Some(id))
}
