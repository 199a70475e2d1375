//! The sandbox's records: an in-memory store keyed by dsLeadOpportunityId, with the uniqueness
//! index on partnerLeadOpportunityId that makes a second create answer `ERR801`.
//!
//! Records keep the write-side shape (what creates and patches send) and are turned into the
//! read model (REFERENCE.md §5.7) only when read, in the version of the path that reads them, so
//! a lead created through v1 reads back with v0 revenue types on a v0 path and vice versa.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::api::contract::{self, Access, ApiVersion, Section, enums};

/// One stored lead-opportunity.
#[derive(Debug, Clone)]
pub struct Record {
    pub ds_id: String,
    /// `None` for marketing leads nobody has picked up yet; read back as `""`.
    pub partner_lead_id: Option<String>,
    /// `leadOpportunity` fields other than the two ids, as sent, plus defaults.
    pub lead: Map<String, Value>,
    pub offer_lines: Vec<Map<String, Value>>,
    pub legal_entity: Map<String, Value>,
    pub customer_contacts: Vec<Value>,
    pub partner_contacts: Vec<Value>,
    /// Read-only fields set by "3DS" (approvalStatus, sboIndicator, …).
    pub read_only: Map<String, Value>,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

/// What tests and demonstrations need to know about a stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSummary {
    pub ds_id: String,
    pub partner_lead_id: Option<String>,
    pub status: String,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Record {
    /// The `data.leadOpportunity` object of a get response, in `version`'s vocabulary.
    pub fn read_model(&self, version: ApiVersion) -> Value {
        let mut lo = Map::new();
        lo.insert("dsLeadOpportunityId".into(), json!(self.ds_id));
        for id in Section::Lead.read_fields() {
            let field = contract::field(id);
            let value = match (field.name, field.access) {
                ("partnerLeadOpportunityId", _) => {
                    json!(self.partner_lead_id.clone().unwrap_or_default())
                }
                ("createdDate", _) => json!(timestamp(self.created)),
                ("modifiedDate", _) => json!(timestamp(self.modified)),
                (name, Access::ReadOnly) => {
                    self.read_only.get(name).cloned().unwrap_or(Value::Null)
                }
                (name, _) => self.lead.get(name).cloned().unwrap_or(Value::Null),
            };
            lo.insert(field.name.into(), value);
        }
        let lines: Vec<Value> = self
            .offer_lines
            .iter()
            .map(|l| offer_line_read(l, version))
            .collect();
        lo.insert("offerLines".into(), Value::Array(lines));
        lo.insert(
            "customerContact".into(),
            nullable_list(&self.customer_contacts),
        );
        lo.insert(
            "partnerContact".into(),
            nullable_list(&self.partner_contacts),
        );
        let mut le = Map::new();
        for id in Section::LegalEntity.read_fields() {
            let key = contract::field(id).name;
            le.insert(
                key.into(),
                self.legal_entity.get(key).cloned().unwrap_or(Value::Null),
            );
        }
        lo.insert("customerLegalEntity".into(), Value::Object(le));
        Value::Object(lo)
    }

    pub fn summary(&self) -> RecordSummary {
        RecordSummary {
            ds_id: self.ds_id.clone(),
            partner_lead_id: self.partner_lead_id.clone(),
            status: self
                .lead
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            created: self.created,
            modified: self.modified,
        }
    }
}

fn nullable_list(items: &[Value]) -> Value {
    if items.is_empty() {
        Value::Null
    } else {
        Value::Array(items.to_vec())
    }
}

fn offer_line_read(line: &Map<String, Value>, version: ApiVersion) -> Value {
    let mut out = Map::new();
    if let Some(a) = line.get("amount") {
        out.insert("amount".into(), a.clone());
    }
    out.insert(
        "offerNameId".into(),
        line.get("offerNameId").cloned().unwrap_or(json!("")),
    );
    let stored = line.get("revenueType").and_then(Value::as_str);
    match version {
        ApiVersion::V0 => {
            if let Some(rt) = stored {
                out.insert("revenueType".into(), json!(version.revenue_type_of(rt)));
            }
        }
        ApiVersion::V1 => {
            // The v1 read model requires revenueType and knows SUPPORT_SERVICES but not the
            // other v0-only values; those read as the request default.
            let rt = match stored.map(|s| version.revenue_type_of(s)) {
                Some(v @ ("PxC" | "YxC" | "QxC" | "SUPPORT_SERVICES")) => v,
                Some("SERVICES_SIGNING") => "SUPPORT_SERVICES",
                _ => enums::DEFAULT_REVENUE_TYPE_V1,
            };
            out.insert("revenueType".into(), json!(rt));
            for key in ["startDate", "endDate"] {
                if let Some(v) = line.get(key) {
                    out.insert(key.into(), v.clone());
                }
            }
        }
    }
    Value::Object(out)
}

/// Why an insert was refused: the partnerLeadOpportunityId is taken.
#[derive(Debug, PartialEq, Eq)]
pub struct DuplicatePartnerLeadId;

/// Why an update was not stored.
#[derive(Debug, PartialEq, Eq)]
pub enum UpdateError<E> {
    NotFound,
    Duplicate,
    Refused(E),
}

#[derive(Default)]
struct Inner {
    records: HashMap<String, Record>,
    /// partnerLeadOpportunityId → the ds ids holding it (at most one while ERR801 holds).
    by_partner_lead_id: HashMap<String, Vec<String>>,
}

/// The record store. One lock: the sandbox serves thousands of requests a second at most, and
/// a single lock keeps the uniqueness check and the insert atomic.
#[derive(Default)]
pub struct Store {
    inner: Mutex<Inner>,
}

impl Store {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock means a handler panicked mid-update; the maps are still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn contains_id(&self, ds_id: &str) -> bool {
        self.lock().records.contains_key(ds_id)
    }

    /// Inserts a new record unless its partnerLeadOpportunityId is taken.
    pub fn insert(&self, record: Record) -> Result<(), DuplicatePartnerLeadId> {
        let mut inner = self.lock();
        if let Some(pl) = &record.partner_lead_id {
            if inner
                .by_partner_lead_id
                .get(pl)
                .is_some_and(|v| !v.is_empty())
            {
                return Err(DuplicatePartnerLeadId);
            }
            inner
                .by_partner_lead_id
                .entry(pl.clone())
                .or_default()
                .push(record.ds_id.clone());
        }
        inner.records.insert(record.ds_id.clone(), record);
        Ok(())
    }

    pub fn get(&self, ds_id: &str) -> Option<Record> {
        self.lock().records.get(ds_id).cloned()
    }

    /// Applies `change` to a copy of a record and stores the copy only if `change` agrees.
    /// `change` may set a partner lead id on a record that had none; the index follows, and an
    /// id another record holds is refused.
    pub fn update<T, E>(
        &self,
        ds_id: &str,
        change: impl FnOnce(&mut Record) -> Result<T, E>,
    ) -> Result<T, UpdateError<E>> {
        let mut inner = self.lock();
        let mut record = inner
            .records
            .get(ds_id)
            .cloned()
            .ok_or(UpdateError::NotFound)?;
        let before = record.partner_lead_id.clone();
        let out = change(&mut record).map_err(UpdateError::Refused)?;
        if record.partner_lead_id != before {
            if let Some(new) = &record.partner_lead_id {
                if inner
                    .by_partner_lead_id
                    .get(new)
                    .is_some_and(|v| !v.is_empty())
                {
                    return Err(UpdateError::Duplicate);
                }
                inner
                    .by_partner_lead_id
                    .entry(new.clone())
                    .or_default()
                    .push(ds_id.to_string());
            }
            if let Some(old) = &before
                && let Some(ids) = inner.by_partner_lead_id.get_mut(old)
            {
                ids.retain(|id| id != ds_id);
            }
        }
        inner.records.insert(ds_id.to_string(), record);
        Ok(out)
    }

    /// Ids of the records matching every criterion, oldest modification first.
    pub fn search(&self, matches: impl Fn(&Record) -> bool) -> Vec<String> {
        let inner = self.lock();
        let mut hits: Vec<(&DateTime<Utc>, &String)> = inner
            .records
            .values()
            .filter(|r| matches(r))
            .map(|r| (&r.modified, &r.ds_id))
            .collect();
        hits.sort();
        hits.into_iter().map(|(_, id)| id.clone()).collect()
    }

    pub fn summaries(&self) -> Vec<RecordSummary> {
        let inner = self.lock();
        let mut out: Vec<RecordSummary> = inner.records.values().map(Record::summary).collect();
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.ds_id.cmp(&b.ds_id)));
        out
    }

    /// How many records hold each partnerLeadOpportunityId (unassigned leads not counted).
    pub fn partner_lead_id_counts(&self) -> Vec<(String, usize)> {
        let inner = self.lock();
        let mut out: Vec<(String, usize)> = inner
            .by_partner_lead_id
            .iter()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(k, ids)| (k.clone(), ids.len()))
            .collect();
        out.sort();
        out
    }

    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    pub fn unassigned(&self) -> usize {
        self.lock()
            .records
            .values()
            .filter(|r| r.partner_lead_id.is_none())
            .count()
    }
}
