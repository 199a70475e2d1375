//! [`FieldPath`]: the one name of a field, everywhere a user sees one (messages, the Problems
//! sheet, mapping errors, the emitted requests' notes). Items of the repeated sections count
//! from 1, as sheet rows and a mapping's `{n}` do: the first offer line is `offerLines[1]`,
//! whichever file, message or sheet names it. Three spellings, one value:
//! - [`Display`](std::fmt::Display), for messages: `leadOpportunity.closeDate`,
//!   `offerLines[2].amount`, `partnerId`;
//! - [`FieldPath::column`], the column headers exports have always shipped and the default
//!   mapping reads: `offerLines.2.amount`;
//! - [`FieldPath::pattern`], for docs and templates, where no item is meant: `offerLines[].amount`.

use std::fmt;

use super::{FieldId, Section, fields};

/// A field of a lead's body, or a whole section or item of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath {
    section: Section,
    /// The 1-based item of a repeated section; `None` for the other sections, and for a
    /// repeated section's field as a pattern.
    item: Option<u32>,
    field: Option<FieldId>,
}

impl FieldPath {
    /// A field, as a pattern when its section repeats.
    pub fn of(field: FieldId) -> FieldPath {
        FieldPath {
            section: fields::field(field).section,
            item: None,
            field: Some(field),
        }
    }

    /// The writable field `name` of `section`; for the fields the code itself names.
    pub fn named(section: Section, name: &str) -> FieldPath {
        FieldPath::of(fields::id(section, name))
    }

    /// A whole section (`offerLines`, `leadOpportunity`).
    pub fn section(section: Section) -> FieldPath {
        FieldPath {
            section,
            item: None,
            field: None,
        }
    }

    /// The same path at item `n` (1-based) of its repeated section; unchanged elsewhere.
    pub fn at(self, n: u32) -> FieldPath {
        FieldPath {
            item: self.section.is_list().then_some(n.max(1)),
            ..self
        }
    }

    pub fn in_section(&self) -> Section {
        self.section
    }

    /// The 1-based item, when the path names one.
    pub fn item(&self) -> Option<u32> {
        self.item
    }

    pub fn field(&self) -> Option<FieldId> {
        self.field
    }

    fn name(&self) -> Option<&'static str> {
        self.field.map(|f| fields::field(f).name)
    }

    /// The column header of the field in the default layout and the exports:
    /// `offerLines.2.amount` (`{n}` where no item is named), `leadOpportunity.name`.
    pub fn column(&self) -> String {
        let item = self
            .item
            .map_or_else(|| "{n}".to_string(), |n| n.to_string());
        self.spelled(|key, out| {
            out.push_str(key);
            out.push('.');
            out.push_str(&item);
        })
    }

    /// The path with no item: `offerLines[].amount`, for docs and notes that mean every item.
    pub fn pattern(&self) -> String {
        self.spelled(|key, out| {
            out.push_str(key);
            out.push_str("[]");
        })
    }

    /// Writes the section key (with `list` for a repeated section), then `.name`.
    fn spelled(&self, list: impl Fn(&str, &mut String)) -> String {
        let mut out = String::new();
        match self.section.key() {
            None => {}
            Some(key) if self.section.is_list() && self.field.is_some() => list(key, &mut out),
            Some(key) => out.push_str(key),
        }
        if let Some(name) = self.name() {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(name);
        }
        out
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.section.key();
        match (key, self.item) {
            (Some(k), Some(n)) => write!(f, "{k}[{n}]")?,
            (Some(k), None) if self.section.is_list() && self.field.is_some() => {
                write!(f, "{k}[]")?
            }
            (Some(k), None) => f.write_str(k)?,
            (None, _) => {}
        }
        if let Some(name) = self.name() {
            if key.is_some() {
                f.write_str(".")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_path_three_spellings() {
        let amount = FieldPath::named(Section::OfferLine, "amount");
        assert_eq!(amount.to_string(), "offerLines[].amount");
        assert_eq!(amount.at(2).to_string(), "offerLines[2].amount");
        assert_eq!(amount.at(2).column(), "offerLines.2.amount");
        assert_eq!(amount.column(), "offerLines.{n}.amount");
        assert_eq!(amount.at(2).pattern(), "offerLines[].amount");
        let close = FieldPath::named(Section::Lead, "closeDate");
        assert_eq!(close.to_string(), "leadOpportunity.closeDate");
        assert_eq!(close.at(3), close);
        assert_eq!(close.column(), "leadOpportunity.closeDate");
        assert_eq!(
            FieldPath::named(Section::Top, "partnerId").to_string(),
            "partnerId"
        );
        assert_eq!(
            FieldPath::section(Section::OfferLine).to_string(),
            "offerLines"
        );
        assert_eq!(
            FieldPath::section(Section::CustomerContact)
                .at(2)
                .to_string(),
            "customerContacts[2]"
        );
        assert_eq!(
            FieldPath::named(Section::CustomerContact, "email")
                .at(1)
                .to_string(),
            "customerContacts[1].email"
        );
    }
}
