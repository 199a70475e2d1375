//! Resolves a mapping file against the headers of the file being read: each field gets its
//! column index (headers matched ignoring case, spaces, punctuation and accents), its constant
//! or default already converted, and its conversion settings. Everything that can be wrong
//! with the mapping is found here, before any row is read: a missing column names the file,
//! lists its headers and suggests the closest one.

use std::collections::HashMap;
use std::path::Path;

use chrono_tz::Tz;
use unicode_normalization::UnicodeNormalization;

use super::config::{FieldConfig, FieldSpec, MappingConfig, MappingError, Mode};
use super::convert::{self, Conv, Value};
use crate::api::contract::{self, ApiVersion, FieldId, FieldPath, Kind, Section, enums};
use crate::sheet::column_letter;

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

/// A header as compared: accents stripped, lowercase, letters and digits only.
pub fn normalize_header(h: &str) -> String {
    h.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

struct Ctx<'a> {
    input: &'a ResolveInput<'a>,
    /// Missing columns, gathered so that one message names them all.
    missing: std::cell::RefCell<Vec<(String, Vec<String>)>>,
    index: HashMap<String, Vec<usize>>,
    tz: Tz,
    date_formats: Vec<convert::DateFormat>,
    decimal_comma: bool,
    separator: String,
}

impl Ctx<'_> {
    fn err(&self, message: String) -> MappingError {
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
    fn lookup(&self, header: &str, path: &str) -> Result<Option<usize>, MappingError> {
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
    fn missing_column(&self, path: &str, wanted: &[String]) {
        self.missing
            .borrow_mut()
            .push((path.to_string(), wanted.to_vec()));
    }

    fn missing_error(&self) -> Option<MappingError> {
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
                Value::Num(_) => vec![],
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
    fn bind(
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

fn uses_n(spec: &FieldSpec) -> bool {
    spec.0
        .column
        .as_ref()
        .is_some_and(|c| c.0.iter().any(|h| h.contains("{n}")))
}

/// Resolves `input.config` against the file's headers.
pub fn resolve(input: &ResolveInput<'_>) -> Result<Resolved, MappingError> {
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
            convert::check_ambiguity(&fs).map_err(|m| err(format!("settings.date_format: {m}")))?;
            fs
        }
        None => Vec::new(),
    };
    let ctx = Ctx {
        input,
        missing: Default::default(),
        index,
        tz,
        date_formats,
        decimal_comma: s.decimal_comma.unwrap_or(false),
        separator: s.list_separator.clone().unwrap_or_else(|| ";".into()),
    };

    let mut single = Vec::new();
    for section in [Section::Top, Section::Lead, Section::LegalEntity] {
        for (name, spec) in input.config.specs(section) {
            let field = known_field(&ctx, section, name)?;
            let path = FieldPath::of(field).to_string();
            if uses_n(spec) {
                return Err(ctx.err(format!("{path}: `{{n}}` numbers repeated groups; it only works in offerLines, customerContacts and partnerContacts")));
            }
            if let Some(b) = ctx.bind(field, spec, None, &path)? {
                single.push(b);
            }
        }
    }
    let partner_field = contract::field_id(Section::Top, "partnerId");
    if input.partner_id.is_none()
        && !single.iter().any(|b| b.field == partner_field)
        && let Some(p) = &input.fallback_partner_id
    {
        single.push(Binding {
            field: partner_field,
            source: Source::Constant(Value::Text(p.trim().to_string())),
            default: None,
            conv: Conv::new(Kind::Id),
        });
    }
    if let Some(p) = &input.partner_id {
        let field = contract::field_id(Section::Top, "partnerId");
        single.retain(|b| b.field != field);
        single.push(Binding {
            field,
            source: Source::Constant(Value::Text(p.trim().to_string())),
            default: None,
            conv: Conv::new(Kind::Id),
        });
    }

    let mut children = Vec::new();
    for section in Section::LISTS {
        let specs = input.config.specs(section);
        if specs.is_empty() {
            continue;
        }
        let numbered: Vec<bool> = specs.iter().map(|(_, s)| uses_n(s)).collect();
        let key = section.key().unwrap_or_default();
        let mut groups = Vec::new();
        if numbered.iter().any(|n| *n) {
            // Fields without `{n}` (a constant, or one column for every group) apply to each group.
            for n in 1..=200u32 {
                let mut bindings = Vec::new();
                let mut any_column = false;
                for ((name, spec), is_n) in specs.iter().zip(&numbered) {
                    let Some(field) = known_field_or_skip(&ctx, section, name, spec.0.optional)?
                    else {
                        continue;
                    };
                    let path = FieldPath::of(field).at(n).to_string();
                    let b = if *is_n {
                        ctx.bind(field, spec, Some(n), &path)?
                    } else {
                        ctx.bind(field, spec, None, &path)?
                    };
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
                continue;
            }
            if groups.is_empty() {
                let cols: Vec<String> = specs
                    .iter()
                    .filter(|(_, s)| uses_n(s))
                    .flat_map(|(_, s)| s.0.column.clone().unwrap_or_default().0)
                    .collect();
                ctx.missing_column(key, &cols);
                continue;
            }
        } else {
            let mut bindings = Vec::new();
            for (name, spec) in &specs {
                let Some(field) = known_field_or_skip(&ctx, section, name, spec.0.optional)? else {
                    continue;
                };
                if let Some(b) = ctx.bind(field, spec, None, &FieldPath::of(field).to_string())? {
                    bindings.push(b);
                }
            }
            groups.push(ChildGroup { n: None, bindings });
        }
        children.push(ChildBindings { section, groups });
    }

    let group_by = match &s.group_by {
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
    let ds_id = contract::field_id(Section::Top, "dsLeadOpportunityId");
    if input.mode != Mode::Create && !resolved.is_mapped(ds_id) {
        return Err(ctx.err(format!(
            "{} mode needs the 3DS id of each lead: map `dsLeadOpportunityId` to a column",
            input.mode.as_str()
        )));
    }
    Ok(resolved)
}

fn known_field(ctx: &Ctx<'_>, section: Section, name: &str) -> Result<FieldId, MappingError> {
    known_field_or_skip(ctx, section, name, false).map(|f| f.expect("not skipped"))
}

/// Like `known_field`, but an optional field of a newer version than the one in use is
/// skipped rather than refused (the default layout names the v1 offer-line dates).
fn known_field_or_skip(
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
