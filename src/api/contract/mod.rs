//! The API4Partners contract's vocabulary, in one place: the API versions, the sections of a
//! lead's body, the five operations with their methods and paths, the table of every field
//! (which section, readable or writable, which versions, what kind of value), the enum values,
//! and [`FieldPath`], the one way a field is named to users. Everything that speaks of the
//! contract (mapping, validation, export, portfolio, the client, the sandbox's store) reads it
//! from here instead of copying names. Judgements (what is required, what is refused) are not
//! vocabulary: the client's are in `validate`, the sandbox's in `sandbox::rules`, kept apart on
//! purpose so that one can be tested against the other.
//!
//! Sources are cited by section of `contract/REFERENCE.md`: [Y] is the OpenAPI file, [R] the
//! rendered documentation, the only source for v1.

pub mod enums;
mod fields;
pub mod formats;
mod path;

use std::fmt;

pub use fields::{Access, EnumTable, FIELDS, Field, FieldId, Kind, field, find, id as field_id};
pub use path::FieldPath;

/// Which generation of the create/update/get paths a request uses.
///
/// v1 is the newest source and the default everywhere: v0 create, update and get are deprecated
/// (REFERENCE.md §0). Search and portfolio exist only as v0, whatever this says.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ApiVersion {
    V0,
    #[default]
    V1,
}

impl ApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V0 => "v0",
            ApiVersion::V1 => "v1",
        }
    }

    /// Allowed `offerLines[].revenueType` values in requests of this version.
    pub fn revenue_types(self) -> &'static [&'static str] {
        match self {
            ApiVersion::V0 => enums::REVENUE_TYPE_V0,
            ApiVersion::V1 => enums::REVENUE_TYPE_V1,
        }
    }

    /// A stored revenue type as this version's readers see it: the v0 ↔ v1 correspondence
    /// inferred in REFERENCE.md §6.6 from the record shown once per version.
    pub fn revenue_type_of(self, stored: &str) -> &str {
        match (self, stored) {
            (ApiVersion::V1, "UPFRONT") => "PxC",
            (ApiVersion::V1, "RENTAL_BOOKING") => "YxC",
            (ApiVersion::V0, "PxC") => "UPFRONT",
            (ApiVersion::V0, "YxC" | "QxC") => "RENTAL_BOOKING",
            (_, other) => other,
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ApiVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "v0" | "0" => Ok(ApiVersion::V0),
            "v1" | "1" => Ok(ApiVersion::V1),
            other => Err(format!("unknown API version `{other}` (expected v1 or v0)")),
        }
    }
}

/// Where a field sits in a lead's body (REFERENCE.md §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    /// `partnerId`, and the `dsLeadOpportunityId` that goes into an update's path.
    Top,
    Lead,
    LegalEntity,
    OfferLine,
    CustomerContact,
    PartnerContact,
}

impl Section {
    pub const ALL: [Section; 6] = [
        Section::Top,
        Section::Lead,
        Section::LegalEntity,
        Section::OfferLine,
        Section::CustomerContact,
        Section::PartnerContact,
    ];

    /// The sections whose items repeat (one per row of a group, or per numbered column group).
    pub const LISTS: [Section; 3] = [
        Section::OfferLine,
        Section::CustomerContact,
        Section::PartnerContact,
    ];

    /// The key in a request body and in the mapping file (`offerLines`, …); `None` for the top.
    pub fn key(self) -> Option<&'static str> {
        match self {
            Section::Top => None,
            Section::Lead => Some("leadOpportunity"),
            Section::LegalEntity => Some("customerLegalEntity"),
            Section::OfferLine => Some("offerLines"),
            Section::CustomerContact => Some("customerContacts"),
            Section::PartnerContact => Some("partnerContacts"),
        }
    }

    /// The key of a nested section in the read model's `leadOpportunity` (REFERENCE.md §5.7):
    /// the contact lists are singular there. `None` for the sections read at its top level.
    pub fn read_key(self) -> Option<&'static str> {
        match self {
            Section::Top | Section::Lead => None,
            Section::LegalEntity => Some("customerLegalEntity"),
            Section::OfferLine => Some("offerLines"),
            Section::CustomerContact => Some("customerContact"),
            Section::PartnerContact => Some("partnerContact"),
        }
    }

    /// The read model's list of a repeated section in `record` (its `leadOpportunity`); the
    /// request spelling (`customerContacts`) is accepted too, as a careful reader does.
    pub fn read_items(self, record: &serde_json::Value) -> &[serde_json::Value] {
        if !self.is_list() {
            return &[];
        }
        [self.read_key(), self.key()]
            .into_iter()
            .flatten()
            .find_map(|k| record.get(k).and_then(serde_json::Value::as_array))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    pub fn is_list(self) -> bool {
        matches!(
            self,
            Section::OfferLine | Section::CustomerContact | Section::PartnerContact
        )
    }

    /// The writable fields of the section, in the table's order.
    pub fn fields(self) -> impl Iterator<Item = FieldId> {
        fields::ids().filter(move |id| {
            let f = fields::field(*id);
            f.section == self && f.writable()
        })
    }

    /// The fields of the section the read model shows, in the read model's order.
    pub fn read_fields(self) -> impl Iterator<Item = FieldId> {
        let mut ids: Vec<FieldId> = fields::ids()
            .filter(|id| {
                let f = fields::field(*id);
                f.section == self && f.readable()
            })
            .collect();
        ids.sort_by_key(|id| fields::field(*id).read_at);
        ids.into_iter()
    }

    /// The writable field `name` of the section.
    pub fn field(self, name: &str) -> Option<FieldId> {
        fields::find(self, name)
    }

    /// Writable field names of the section, for "expected one of" messages.
    pub fn field_names(self) -> Vec<&'static str> {
        self.fields().map(|id| fields::field(id).name).collect()
    }
}

/// The five operations of the contract (REFERENCE.md §3), with what the client's retry policy
/// and the sandbox's router need to know of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Create,
    Update,
    Get,
    Search,
    Portfolio,
}

const PREFIX: &str = "/sales/api4partners";

impl Operation {
    pub const ALL: [Operation; 5] = [
        Operation::Create,
        Operation::Update,
        Operation::Get,
        Operation::Search,
        Operation::Portfolio,
    ];

    /// As the sandbox's stats name it.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Get => "get",
            Operation::Search => "search",
            Operation::Portfolio => "portfolio",
        }
    }

    pub fn method(self) -> reqwest::Method {
        match self {
            Operation::Create | Operation::Search => reqwest::Method::POST,
            Operation::Update => reqwest::Method::PATCH,
            Operation::Get | Operation::Portfolio => reqwest::Method::GET,
        }
    }

    /// The versions that have the operation: search and portfolio exist only as v0.
    pub fn versioned(self) -> bool {
        matches!(self, Operation::Create | Operation::Update | Operation::Get)
    }

    /// Whether a request may change what the server holds.
    pub fn writes(self) -> bool {
        matches!(self, Operation::Create | Operation::Update)
    }

    /// Whether a request may be repeated after an unknown outcome: reads change nothing, and
    /// an update sends the same values again. A create is not idempotent.
    pub fn repeatable(self) -> bool {
        self != Operation::Create
    }

    /// The path of the operation. `version` applies to create, update and get (the others are
    /// v0 only); `id` is the dsLeadOpportunityId of an update or get, percent-encoded so that
    /// a cell holding `ABC#1` or `a/b` cannot address another path.
    pub fn path(self, version: ApiVersion, id: &str) -> String {
        let v = if self.versioned() {
            version
        } else {
            ApiVersion::V0
        };
        match self {
            Operation::Create => format!("{PREFIX}/{v}/leads-opportunities"),
            Operation::Update | Operation::Get => {
                let id = percent_encoding::utf8_percent_encode(id, PATH_SEGMENT);
                format!("{PREFIX}/{v}/leads-opportunities/{id}")
            }
            Operation::Search => format!("{PREFIX}/v0/leads-opportunities/search"),
            Operation::Portfolio => format!("{PREFIX}/v0/portfolio-items/search"),
        }
    }

    /// The operation a request addresses, with the path's version and the lead id.
    ///
    /// # Errors
    /// [`RouteError::NotFound`] for a path the contract does not have,
    /// [`RouteError::WrongMethod`] for a path it has with another method (the sandbox answers
    /// 404 and 405).
    pub fn route(
        method: &reqwest::Method,
        path: &str,
    ) -> Result<(Operation, ApiVersion, Option<String>), RouteError> {
        let path = path.strip_suffix('/').unwrap_or(path);
        let rest = path
            .strip_prefix(PREFIX)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or(RouteError::NotFound)?;
        let mut parts = rest.split('/');
        let version: ApiVersion = parts
            .next()
            .unwrap_or_default()
            .parse()
            .map_err(|_| RouteError::NotFound)?;
        let resource = parts.next().ok_or(RouteError::NotFound)?;
        let tail = parts.next();
        if parts.next().is_some() {
            return Err(RouteError::NotFound);
        }
        let op = match (resource, tail) {
            ("leads-opportunities", None) => Operation::Create,
            ("leads-opportunities", Some("search"))
                if *method == reqwest::Method::POST && version == ApiVersion::V0 =>
            {
                Operation::Search
            }
            ("leads-opportunities", Some("search")) if *method == reqwest::Method::POST => {
                return Err(RouteError::NotFound);
            }
            ("leads-opportunities", Some(id)) if !id.is_empty() => {
                let op = if *method == reqwest::Method::PATCH {
                    Operation::Update
                } else {
                    Operation::Get
                };
                if *method != op.method() {
                    return Err(RouteError::WrongMethod);
                }
                return Ok((op, version, Some(id.to_string())));
            }
            ("portfolio-items", Some("search")) if version == ApiVersion::V0 => {
                Operation::Portfolio
            }
            _ => return Err(RouteError::NotFound),
        };
        if *method != op.method() {
            return Err(RouteError::WrongMethod);
        }
        Ok((op, version, None))
    }
}

/// The fields of a sales-portfolio item (REFERENCE.md §4.5), the id first, then the contract's
/// order. Note the lowercase `is` of `salesPortfolioisOrderable`.
pub const PORTFOLIO_ITEM_FIELDS: &[&str] = &[
    "salesPortfolioId",
    "salesPortfolioType",
    "salesPortfolioInfrastructure",
    "salesPortfolioisOrderable",
    "salesPortfolioLevel1",
    "salesPortfolioLevel2",
    "salesPortfolioLevel3",
];

/// Why a request addresses no operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteError {
    NotFound,
    WrongMethod,
}

/// Everything but RFC 3986's unreserved characters is encoded in a path segment, and so is
/// `.`, so that an id `..` cannot address the parent path.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'~');

/// A deliberately loose e-mail test (the contract declares no format, REFERENCE.md §5.5): one
/// `@` with text on both sides, a dot in the domain, no empty domain label, no spaces.
pub fn looks_like_email(s: &str) -> bool {
    let mut parts = s.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
                && !s.chars().any(char::is_whitespace)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Method;

    #[test]
    fn ids_are_one_path_segment() {
        assert_eq!(
            Operation::Update.path(ApiVersion::V1, "9YEL-Y3W56Q"),
            "/sales/api4partners/v1/leads-opportunities/9YEL-Y3W56Q"
        );
        assert!(
            Operation::Get
                .path(ApiVersion::V1, "a/b#c")
                .ends_with("/a%2Fb%23c")
        );
        assert!(
            Operation::Get
                .path(ApiVersion::V1, "..")
                .ends_with("/%2E%2E")
        );
        assert_eq!(
            Operation::Search.path(ApiVersion::V1, ""),
            "/sales/api4partners/v0/leads-opportunities/search"
        );
    }

    #[test]
    fn every_path_routes_back_to_its_operation() {
        for op in Operation::ALL {
            for v in [ApiVersion::V0, ApiVersion::V1] {
                let (got, version, id) =
                    Operation::route(&op.method(), &op.path(v, "X-1")).unwrap();
                assert_eq!(got, op);
                assert_eq!(version, if op.versioned() { v } else { ApiVersion::V0 });
                assert_eq!(
                    id.is_some(),
                    matches!(op, Operation::Update | Operation::Get)
                );
            }
        }
        assert_eq!(
            Operation::route(
                &Method::DELETE,
                "/sales/api4partners/v1/leads-opportunities/X"
            ),
            Err(RouteError::WrongMethod)
        );
        assert_eq!(
            Operation::route(
                &Method::POST,
                "/sales/api4partners/v1/leads-opportunities/search"
            ),
            Err(RouteError::NotFound)
        );
        assert_eq!(
            Operation::route(&Method::GET, "/elsewhere"),
            Err(RouteError::NotFound)
        );
    }

    #[test]
    fn emails() {
        assert!(looks_like_email("a.b@example.com"));
        assert!(!looks_like_email("a.b@example"));
        assert!(!looks_like_email("a b@example.com"));
        assert!(!looks_like_email("@example.com"));
        assert!(!looks_like_email("a@@example.com"));
        assert!(!looks_like_email("a@b..com"));
    }
}
