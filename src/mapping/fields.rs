//! Every field of the create and update bodies that a spreadsheet column can feed, with its
//! JSON path, its kind (how a cell becomes a value) and the API versions that know it. The
//! mapping config, the validator, the template and the export layout all read this one table.

use crate::api::enums::{self, ApiVersion};

/// Where a field sits in the request body.
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
    /// The key in the mapping file and in the body (`offerLines`, …); `None` for top level.
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

    /// Sections whose items repeat (one per row of a group, or per numbered column group).
    pub fn is_list(self) -> bool {
        matches!(
            self,
            Section::OfferLine | Section::CustomerContact | Section::PartnerContact
        )
    }

    pub const LISTS: [Section; 3] = [
        Section::OfferLine,
        Section::CustomerContact,
        Section::PartnerContact,
    ];
}

/// How a cell becomes a value of the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text (trimmed).
    Text,
    /// An identifier: text exactly as typed, numbers without decimals or exponent.
    Id,
    Email,
    /// One of an enumeration (the table depends on the version for revenue types).
    Enum(EnumTable),
    /// A list of enumeration values, split on the list separator.
    EnumList(EnumTable),
    /// A list of free texts, split on the list separator.
    TextList,
    /// An ISO 8601 UTC date-time with milliseconds.
    DateTime,
    /// A plain `YYYY-MM-DD` date.
    Date,
    /// A non-negative amount.
    Number,
    /// A three-letter ISO 4217 code.
    Currency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnumTable {
    Status,
    ForecastCategory,
    ReasonWon,
    ReasonLost,
    RevenueType,
}

impl EnumTable {
    pub fn values(self, version: ApiVersion) -> &'static [&'static str] {
        match self {
            EnumTable::Status => enums::STATUS,
            EnumTable::ForecastCategory => enums::FORECAST_CATEGORY,
            EnumTable::ReasonWon => enums::REASON_WON,
            EnumTable::ReasonLost => enums::REASON_LOST,
            EnumTable::RevenueType => version.revenue_types(),
        }
    }
}

/// One mappable field.
#[derive(Debug, PartialEq, Eq)]
pub struct FieldDef {
    pub section: Section,
    /// The JSON property name.
    pub name: &'static str,
    pub kind: Kind,
    /// Only in v1 requests (the v1 offer-line dates).
    pub v1_only: bool,
}

impl FieldDef {
    /// `leadOpportunity.name`, `offerLines[].amount`, `partnerId`.
    pub fn path(&self) -> String {
        match self.section.key() {
            None => self.name.to_string(),
            Some(k) if self.section.is_list() => format!("{k}[].{}", self.name),
            Some(k) => format!("{k}.{}", self.name),
        }
    }

    pub fn exists_in(&self, version: ApiVersion) -> bool {
        !self.v1_only || version == ApiVersion::V1
    }
}

const fn f(section: Section, name: &'static str, kind: Kind) -> FieldDef {
    FieldDef {
        section,
        name,
        kind,
        v1_only: false,
    }
}

use Kind::*;
use Section::*;

/// The table. Its order is the order of columns in templates and exports.
pub static FIELDS: &[FieldDef] = &[
    f(Top, "partnerId", Id),
    f(Top, "dsLeadOpportunityId", Id),
    f(Lead, "partnerLeadOpportunityId", Id),
    f(Lead, "name", Text),
    f(Lead, "status", Enum(EnumTable::Status)),
    f(Lead, "forecastCategory", Enum(EnumTable::ForecastCategory)),
    f(Lead, "closeDate", DateTime),
    f(Lead, "currency", Currency),
    f(Lead, "dsOwnerEmail", Email),
    f(Lead, "cometCampaignCode", Id),
    f(Lead, "reasonWon", EnumList(EnumTable::ReasonWon)),
    f(Lead, "reasonLost", EnumList(EnumTable::ReasonLost)),
    f(Lead, "competitors", TextList),
    f(Lead, "reasonWonLostComment", Text),
    f(Lead, "gtmTacticId", Id),
    f(Lead, "description", Text),
    f(Lead, "nextMilestone", Text),
    f(Lead, "nextMilestoneDate", DateTime),
    f(LegalEntity, "id", Id),
    f(LegalEntity, "dunsNumber", Id),
    f(LegalEntity, "vatNumber", Id),
    f(LegalEntity, "registrationId", Id),
    f(LegalEntity, "name", Text),
    f(LegalEntity, "addressLine1", Text),
    f(LegalEntity, "addressLine2", Text),
    f(LegalEntity, "zipCode", Id),
    f(LegalEntity, "city", Text),
    f(LegalEntity, "statePrefecture", Text),
    f(LegalEntity, "country", Text),
    f(LegalEntity, "websiteUrl", Text),
    f(OfferLine, "offerNameId", Id),
    f(OfferLine, "amount", Number),
    f(OfferLine, "revenueType", Enum(EnumTable::RevenueType)),
    FieldDef {
        section: OfferLine,
        name: "startDate",
        kind: Date,
        v1_only: true,
    },
    FieldDef {
        section: OfferLine,
        name: "endDate",
        kind: Date,
        v1_only: true,
    },
    f(CustomerContact, "email", Email),
    f(CustomerContact, "firstName", Text),
    f(CustomerContact, "lastName", Text),
    f(CustomerContact, "salutation", Text),
    f(CustomerContact, "jobTitle", Text),
    f(CustomerContact, "phoneNumber", Id),
    f(PartnerContact, "salesRepEmail", Email),
    f(PartnerContact, "salesRepFirstName", Text),
    f(PartnerContact, "salesRepLastName", Text),
];

/// Index of a field in [`FIELDS`]: a small copyable handle.
pub type FieldId = u16;

pub fn def(id: FieldId) -> &'static FieldDef {
    &FIELDS[id as usize]
}

pub fn find(section: Section, name: &str) -> Option<FieldId> {
    FIELDS
        .iter()
        .position(|f| f.section == section && f.name == name)
        .map(|i| i as FieldId)
}

/// Field names of a section, for "expected one of" messages.
pub fn names_in(section: Section) -> Vec<&'static str> {
    FIELDS
        .iter()
        .filter(|f| f.section == section)
        .map(|f| f.name)
        .collect()
}

/// The id of a field known to exist; for the fields the code itself refers to.
pub fn id(section: Section, name: &str) -> FieldId {
    find(section, name).expect("a field of the table")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            def(id(Lead, "closeDate")).path(),
            "leadOpportunity.closeDate"
        );
        assert_eq!(def(id(OfferLine, "amount")).path(), "offerLines[].amount");
        assert_eq!(def(id(Top, "partnerId")).path(), "partnerId");
    }
}
