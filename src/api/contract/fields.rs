//! The table of every field of a lead the contract names (REFERENCE.md §5): its section, its
//! JSON name, its kind (how a cell becomes a value and back), whether requests may write it and
//! the read model shows it, and the versions that know it. The mapping, the validator, the
//! template, the export layouts and the sandbox's store all read this one table; its order is
//! the order of columns in templates and exports.

use super::{ApiVersion, Section, enums};

/// How a value of the field is written in a sheet.
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
    /// An amount.
    Number,
    /// A three-letter ISO 4217 code.
    Currency,
}

impl Kind {
    pub fn is_date(self) -> bool {
        matches!(self, Kind::Date | Kind::DateTime)
    }

    pub fn is_list(self) -> bool {
        matches!(self, Kind::TextList | Kind::EnumList(_))
    }
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

/// Who sees a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Sent in requests and shown by the read model.
    ReadWrite,
    /// Sent only (`partnerId`).
    WriteOnly,
    /// Set by 3DS, shown by the read model (approvalStatus, createdDate, …).
    ReadOnly,
}

/// One field of the contract.
#[derive(Debug, PartialEq, Eq)]
pub struct Field {
    pub section: Section,
    /// The JSON property name.
    pub name: &'static str,
    pub kind: Kind,
    pub access: Access,
    /// Only in v1 (the v1 offer-line dates, [R] only).
    pub v1_only: bool,
    /// Where the read model lists it within its section, when that differs from the table's
    /// order (the contacts, REFERENCE.md §5.5–5.6 as exports have always written them); 0
    /// keeps the table's order.
    pub read_at: u8,
}

impl Field {
    pub fn writable(&self) -> bool {
        self.access != Access::ReadOnly
    }

    pub fn readable(&self) -> bool {
        self.access != Access::WriteOnly
    }

    pub fn exists_in(&self, version: ApiVersion) -> bool {
        !self.v1_only || version == ApiVersion::V1
    }

    /// The values an enum field may take in `version`: validation checks them, and
    /// `leadsheet template` offers them as dropdowns.
    pub fn allowed(&self, version: ApiVersion) -> Option<&'static [&'static str]> {
        match self.kind {
            Kind::Enum(t) | Kind::EnumList(t) => Some(t.values(version)),
            _ => None,
        }
    }
}

const fn rw(section: Section, name: &'static str, kind: Kind) -> Field {
    Field {
        section,
        name,
        kind,
        access: Access::ReadWrite,
        v1_only: false,
        read_at: 0,
    }
}

/// A field the read model shows at `read_at` within its section.
const fn rw_at(section: Section, name: &'static str, kind: Kind, read_at: u8) -> Field {
    Field {
        read_at,
        ..rw(section, name, kind)
    }
}

const fn ro(section: Section, name: &'static str, kind: Kind) -> Field {
    Field {
        access: Access::ReadOnly,
        ..rw(section, name, kind)
    }
}

const fn v1(section: Section, name: &'static str, kind: Kind) -> Field {
    Field {
        v1_only: true,
        ..rw(section, name, kind)
    }
}

use Kind::*;
use Section::*;

/// The table. Writable fields come in the order templates and the import layout have always
/// shown them; the read model's own fields follow the lead's writable ones, in §5.7's order.
pub static FIELDS: &[Field] = &[
    Field {
        access: Access::WriteOnly,
        ..rw(Top, "partnerId", Id)
    },
    rw(Top, "dsLeadOpportunityId", Id),
    rw(Lead, "partnerLeadOpportunityId", Id),
    rw(Lead, "name", Text),
    rw(Lead, "status", Enum(EnumTable::Status)),
    rw(Lead, "forecastCategory", Enum(EnumTable::ForecastCategory)),
    rw(Lead, "closeDate", DateTime),
    rw(Lead, "currency", Currency),
    rw(Lead, "dsOwnerEmail", Email),
    rw(Lead, "cometCampaignCode", Id),
    rw(Lead, "reasonWon", EnumList(EnumTable::ReasonWon)),
    rw(Lead, "reasonLost", EnumList(EnumTable::ReasonLost)),
    rw(Lead, "competitors", TextList),
    rw(Lead, "reasonWonLostComment", Text),
    rw(Lead, "gtmTacticId", Id),
    rw(Lead, "description", Text),
    rw(Lead, "nextMilestone", Text),
    rw(Lead, "nextMilestoneDate", DateTime),
    ro(Lead, "approvalStatus", Text),
    ro(Lead, "engagementType", Text),
    ro(Lead, "poInformation", Text),
    ro(Lead, "poStatus", Text),
    ro(Lead, "poNumber", Text),
    ro(Lead, "sboIndicator", Text),
    ro(Lead, "sboStatus", Text),
    ro(Lead, "sboNumber", Text),
    ro(Lead, "growthType", Text),
    ro(Lead, "leadPriority", Text),
    ro(Lead, "levelOfInterest", Text),
    ro(Lead, "dsComment", Text),
    ro(Lead, "partnerImportMode", Text),
    ro(Lead, "createdDate", DateTime),
    ro(Lead, "modifiedDate", DateTime),
    rw(LegalEntity, "id", Id),
    rw(LegalEntity, "dunsNumber", Id),
    rw(LegalEntity, "vatNumber", Id),
    rw(LegalEntity, "registrationId", Id),
    rw(LegalEntity, "name", Text),
    rw(LegalEntity, "addressLine1", Text),
    rw(LegalEntity, "addressLine2", Text),
    rw(LegalEntity, "zipCode", Id),
    rw(LegalEntity, "city", Text),
    rw(LegalEntity, "statePrefecture", Text),
    rw(LegalEntity, "country", Text),
    rw(LegalEntity, "websiteUrl", Text),
    rw(OfferLine, "offerNameId", Id),
    rw(OfferLine, "amount", Number),
    rw(OfferLine, "revenueType", Enum(EnumTable::RevenueType)),
    v1(OfferLine, "startDate", Date),
    v1(OfferLine, "endDate", Date),
    rw_at(CustomerContact, "email", Email, 4),
    rw_at(CustomerContact, "firstName", Text, 2),
    rw_at(CustomerContact, "lastName", Text, 3),
    rw_at(CustomerContact, "salutation", Text, 1),
    rw_at(CustomerContact, "jobTitle", Text, 6),
    rw_at(CustomerContact, "phoneNumber", Id, 5),
    rw_at(PartnerContact, "salesRepEmail", Email, 3),
    rw_at(PartnerContact, "salesRepFirstName", Text, 1),
    rw_at(PartnerContact, "salesRepLastName", Text, 2),
];

/// Index of a field in [`FIELDS`]: a small copyable handle.
pub type FieldId = u16;

pub(super) fn ids() -> impl Iterator<Item = FieldId> {
    (0..FIELDS.len()).map(|i| i as FieldId)
}

pub fn field(id: FieldId) -> &'static Field {
    &FIELDS[id as usize]
}

/// The writable field `name` of `section`.
pub fn find(section: Section, name: &str) -> Option<FieldId> {
    FIELDS
        .iter()
        .position(|f| f.section == section && f.name == name && f.writable())
        .map(|i| i as FieldId)
}

/// The id of a field known to exist; for the fields the code itself names.
pub fn id(section: Section, name: &str) -> FieldId {
    find(section, name).expect("a writable field of the table")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_named_once_per_section() {
        for (i, f) in FIELDS.iter().enumerate() {
            assert!(
                !FIELDS[..i]
                    .iter()
                    .any(|g| g.section == f.section && g.name == f.name),
                "{} twice",
                f.name
            );
        }
        assert_eq!(Section::Lead.fields().count(), 16);
        assert_eq!(Section::Lead.read_fields().count(), 31);
        assert!(find(Section::Lead, "createdDate").is_none());
    }
}
