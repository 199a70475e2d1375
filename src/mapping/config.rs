//! The mapping file: a TOML document that says, for each field of the request body, which
//! column feeds it (or which constant), and how to read the cells. Its sections mirror the
//! body (`[leadOpportunity]`, `[offerLines]`, …) so that a user who has seen the API's JSON
//! recognises the file; `[settings]` holds how to read the sheet. See `templates/` and the
//! README for the full format.
//!
//! A field is one of:
//! ```toml
//! name = "Opportunity"                       # a column, by header
//! name = ["Opportunity", "Deal name"]        # the first of these headers that exists
//! currency = { value = "EUR" }               # a constant
//! status = { column = "Stage", default = "LEAD_OPEN", map = { "Closed Won" = "WON" } }
//! closeDate = { column = "Close", format = "DD.MM.YYYY", timezone = "Europe/Paris" }
//! amount = { column = "Offer {n} Amount", decimal_comma = true }   # numbered column groups
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::api::contract::{ApiVersion, FieldPath, Section};
use crate::files::Small;

/// What an import does with each lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Create,
    Update,
    /// Update rows that carry a dsLeadOpportunityId, create the others.
    Upsert,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Create => "create",
            Mode::Update => "update",
            Mode::Upsert => "upsert",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "create" => Ok(Mode::Create),
            "update" => Ok(Mode::Update),
            "upsert" => Ok(Mode::Upsert),
            other => Err(format!(
                "unknown mode `{other}` (expected create, update or upsert)"
            )),
        }
    }
}

/// A constant in the mapping: TOML strings, integers (a partnerId typed without quotes keeps
/// every digit), floats and booleans are all accepted and used as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(crate::sheet::number_text(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// One string or a list of strings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// The long form of a field.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FieldConfig {
    /// Header(s) of the column; the first that exists is used. `{n}` numbers column groups.
    pub column: Option<OneOrMany>,
    /// A constant for every lead.
    pub value: Option<Scalar>,
    /// Used when the cell is empty (or the column is absent and `optional`).
    pub default: Option<Scalar>,
    /// The partner's words → the API's values, matched ignoring case and surrounding spaces.
    pub map: Option<BTreeMap<String, Scalar>>,
    /// Date formats for text cells (`DD.MM.YYYY`, `MM/DD/YYYY HH:mm`, or strftime with `%`).
    pub format: Option<OneOrMany>,
    /// Time zone of date-times without an offset (IANA name, e.g. `Europe/Berlin`).
    pub timezone: Option<String>,
    /// Numbers are written `13.800,50`.
    pub decimal_comma: Option<bool>,
    /// Separator of list fields (competitors, reasonWon, reasonLost).
    pub separator: Option<String>,
    /// The column may be missing from the file (the default, if any, applies).
    #[serde(default)]
    pub optional: bool,
}

/// A field as written in the mapping file: a header, a list of headers, or the long form.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec(pub FieldConfig);

impl<'de> Deserialize<'de> for FieldSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FieldSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a column header, a list of headers, or a table such as { column = \"…\" } or { value = \"…\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldSpec, E> {
                Ok(FieldSpec(FieldConfig {
                    column: Some(OneOrMany(vec![v.to_string()])),
                    ..Default::default()
                }))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<FieldSpec, A::Error> {
                let cols = OneOrMany::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(FieldSpec(FieldConfig {
                    column: Some(cols),
                    ..Default::default()
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FieldSpec, A::Error> {
                FieldConfig::deserialize(de::value::MapAccessDeserializer::new(map)).map(FieldSpec)
            }
        }
        d.deserialize_any(V)
    }
}

/// `[settings]`: how to read the sheet, and defaults for every field.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SettingsConfig {
    pub mode: Option<Mode>,
    pub api_version: Option<ApiVersion>,
    /// Sheet name, or 1-based number.
    pub sheet: Option<Scalar>,
    pub header_row: Option<u32>,
    /// CSV delimiter: `,` `;` `\t` `|` (detected when absent).
    pub delimiter: Option<String>,
    /// CSV encoding label, e.g. `windows-1252` (detected when absent).
    pub encoding: Option<String>,
    pub timezone: Option<String>,
    pub date_format: Option<OneOrMany>,
    pub decimal_comma: Option<bool>,
    pub list_separator: Option<String>,
    /// Rows sharing this column's value form one lead.
    pub group_by: Option<OneOrMany>,
    /// TOML puts every key after `[settings]` into it, so a `partnerId` written below the
    /// settings lands here; it is moved to the top level on load rather than refused.
    #[serde(rename = "partnerId")]
    pub partner_id: Option<FieldSpec>,
    #[serde(rename = "dsLeadOpportunityId")]
    pub ds_lead_opportunity_id: Option<FieldSpec>,
}

/// The whole mapping file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    #[serde(default)]
    pub settings: SettingsConfig,
    #[serde(rename = "partnerId")]
    pub partner_id: Option<FieldSpec>,
    #[serde(rename = "dsLeadOpportunityId")]
    pub ds_lead_opportunity_id: Option<FieldSpec>,
    #[serde(rename = "leadOpportunity", default)]
    pub lead_opportunity: BTreeMap<String, FieldSpec>,
    #[serde(rename = "customerLegalEntity", default)]
    pub customer_legal_entity: BTreeMap<String, FieldSpec>,
    #[serde(rename = "offerLines", default)]
    pub offer_lines: BTreeMap<String, FieldSpec>,
    #[serde(rename = "customerContacts", default)]
    pub customer_contacts: BTreeMap<String, FieldSpec>,
    #[serde(rename = "partnerContacts", default)]
    pub partner_contacts: BTreeMap<String, FieldSpec>,
}

/// The largest mapping file read (4 MiB).
pub const MAX_MAPPING_BYTES: u64 = 4 << 20;

/// A parser's message with each line cut to `width` characters: it quotes the line it
/// stopped at, which in a hostile file is a line of a megabyte.
fn clip_lines(message: &str, width: usize) -> String {
    message
        .lines()
        .map(|l| {
            if l.chars().count() > width {
                let mut s: String = l.chars().take(width).collect();
                s.push('…');
                s
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why a mapping file cannot be used. Always a configuration error (exit 3).
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("cannot read the mapping {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the mapping {path} is not valid: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("mapping {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl MappingError {
    pub fn exit(&self) -> crate::Exit {
        crate::Exit::Usage
    }
}

impl MappingConfig {
    /// The mapping used without `--mapping`: every writable field from a column named by its
    /// API path ([`FieldPath::column`]: `leadOpportunity.name`, `customerLegalEntity.city`,
    /// `offerLines.1.amount`, …), all optional. It is also the layout of
    /// `export --layout import`, so exports re-import as is.
    pub fn default_layout() -> MappingConfig {
        let mut m = MappingConfig::default();
        for section in Section::ALL {
            for id in section.fields() {
                let spec = FieldSpec(FieldConfig {
                    column: Some(OneOrMany(vec![FieldPath::of(id).column()])),
                    optional: true,
                    ..Default::default()
                });
                m.insert(section, crate::api::contract::field(id).name, spec);
            }
        }
        m
    }

    /// The fields the mapping gives for `section`, by name, in the file's (sorted) order.
    pub fn specs(&self, section: Section) -> Vec<(&str, &FieldSpec)> {
        let map = match section {
            Section::Top => {
                return [
                    ("partnerId", &self.partner_id),
                    ("dsLeadOpportunityId", &self.ds_lead_opportunity_id),
                ]
                .into_iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
                .collect();
            }
            Section::Lead => &self.lead_opportunity,
            Section::LegalEntity => &self.customer_legal_entity,
            Section::OfferLine => &self.offer_lines,
            Section::CustomerContact => &self.customer_contacts,
            Section::PartnerContact => &self.partner_contacts,
        };
        map.iter().map(|(k, v)| (k.as_str(), v)).collect()
    }

    /// Every column header the mapping names, as written (`Offer {n} Amount`): how the header
    /// row of a sheet is recognised.
    pub fn column_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Section::ALL
            .iter()
            .flat_map(|s| self.specs(*s))
            .filter_map(|(_, spec)| spec.0.column.as_ref())
            .flat_map(|c| c.0.iter().cloned())
            .collect();
        if let Some(g) = &self.settings.group_by {
            out.extend(g.0.iter().cloned());
        }
        out.sort();
        out.dedup();
        out
    }

    /// Sets the field `name` of `section`.
    pub fn insert(&mut self, section: Section, name: &str, spec: FieldSpec) {
        let map = match section {
            Section::Top if name == "partnerId" => return self.partner_id = Some(spec),
            Section::Top => return self.ds_lead_opportunity_id = Some(spec),
            Section::Lead => &mut self.lead_opportunity,
            Section::LegalEntity => &mut self.customer_legal_entity,
            Section::OfferLine => &mut self.offer_lines,
            Section::CustomerContact => &mut self.customer_contacts,
            Section::PartnerContact => &mut self.partner_contacts,
        };
        map.insert(name.to_string(), spec);
    }

    /// Reads and parses the mapping file at `path`.
    ///
    /// # Errors
    /// [`MappingError::Read`] when the file cannot be read, [`MappingError::Syntax`] for TOML
    /// that is not a mapping (with its line), [`MappingError::Invalid`] for a field given twice.
    pub fn load(path: &Path) -> Result<MappingConfig, MappingError> {
        let read = |source| MappingError::Read {
            path: path.to_path_buf(),
            source,
        };
        // A mapping is a few kilobytes (a value map of thousands of entries, a few hundred):
        // a bigger file is not one, and is not read into memory to find that out.
        match crate::files::read_small(path, MAX_MAPPING_BYTES).map_err(read)? {
            Small::Text(text) => Self::parse(&text, path),
            Small::TooLarge => Err(MappingError::Invalid {
                path: path.to_path_buf(),
                message: format!(
                    "the file is larger than {} MiB; a mapping is a few kilobytes: is this the mapping you meant?",
                    MAX_MAPPING_BYTES >> 20
                ),
            }),
        }
    }

    /// Parses a mapping; `path` names it in messages.
    ///
    /// # Errors
    /// As [`MappingConfig::load`], but for reading.
    pub fn parse(text: &str, path: &Path) -> Result<MappingConfig, MappingError> {
        let mut m: MappingConfig = toml::from_str(text).map_err(|e| MappingError::Syntax {
            path: path.to_path_buf(),
            message: clip_lines(&e.to_string(), 160),
        })?;
        for (name, moved, top) in [
            ("partnerId", m.settings.partner_id.take(), &mut m.partner_id),
            (
                "dsLeadOpportunityId",
                m.settings.ds_lead_opportunity_id.take(),
                &mut m.ds_lead_opportunity_id,
            ),
        ] {
            if let Some(spec) = moved {
                if top.is_some() {
                    return Err(MappingError::Invalid {
                        path: path.to_path_buf(),
                        message: format!(
                            "{name} is given twice (at the top and under [settings]); keep one"
                        ),
                    });
                }
                *top = Some(spec);
            }
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_forms() {
        let m = MappingConfig::parse(
            r#"
partnerId = { value = 200000000014442 }
[leadOpportunity]
name = "Opportunity"
description = ["Notes", "Comment"]
status = { column = "Stage", map = { "Closed Won" = "WON" }, default = "LEAD_OPEN" }
"#,
            Path::new("m.toml"),
        )
        .unwrap();
        assert_eq!(
            m.partner_id.unwrap().0.value,
            Some(Scalar("200000000014442".into()))
        );
        assert_eq!(
            m.lead_opportunity["name"].0.column,
            Some(OneOrMany(vec!["Opportunity".into()]))
        );
        assert_eq!(
            m.lead_opportunity["description"]
                .0
                .column
                .as_ref()
                .unwrap()
                .0
                .len(),
            2
        );
        assert_eq!(
            m.lead_opportunity["status"].0.map.as_ref().unwrap()["Closed Won"],
            Scalar("WON".into())
        );
    }

    #[test]
    fn typos_are_reported_with_their_line() {
        let e = MappingConfig::parse(
            "[leadOpportunity]\nname = { colum = \"X\" }\n",
            Path::new("m.toml"),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("colum") && msg.contains("line 2"), "{msg}");
        let e = MappingConfig::parse("[lead]\nname = \"X\"\n", Path::new("m.toml")).unwrap_err();
        assert!(e.to_string().contains("lead"), "{e}");
    }
}
