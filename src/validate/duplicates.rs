//! The one rule that spans leads: two creates of one file with the same
//! partnerLeadOpportunityId (3DS would refuse the second with ERR801), or two updates of the
//! same lead (they would overwrite each other). Every lead of such a group gets a problem that
//! names the others.

use std::collections::HashMap;

use super::{Action, Checked, lead, top};
use crate::problem::Problem;
use crate::sheet::{CellRef, RowNum};

/// Finds leads of one file that would collide at 3DS: two creates with the same
/// partnerLeadOpportunityId (the second would get ERR801), or two updates of one lead.
///
/// A million-row file has a million keys, so keys are remembered by a 128-bit digest with the
/// first lead's position (32 bytes each); only keys seen twice keep their text.
#[derive(Default)]
pub struct Duplicates {
    first: HashMap<u128, DuplicateLead>,
    repeated: HashMap<u128, (Action, String, Vec<DuplicateLead>)>,
}

/// A lead of a duplicate group: its index, and where its key sits.
#[derive(Debug, Clone, Copy)]
pub struct DuplicateLead {
    pub lead: usize,
    pub row: Option<RowNum>,
    pub cell: Option<CellRef>,
}

fn digest(action: Action, key: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (salt, action, key).hash(&mut h);
        h.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

impl Duplicates {
    /// Notes lead `lead`, whatever its validity.
    pub fn note(&mut self, lead: usize, checked: &Checked) {
        let key = match checked.action {
            Action::Create => checked
                .request
                .lead_opportunity
                .partner_lead_opportunity_id
                .as_deref(),
            Action::Update => checked.ds_id.as_deref(),
        };
        let Some(k) = key.filter(|k| !k.is_empty()) else {
            return;
        };
        let row = checked
            .key_cell
            .map(|c| c.row)
            .or(checked.rows.first().map(|(_, r)| *r));
        let this = DuplicateLead {
            lead,
            row,
            cell: checked.key_cell,
        };
        let d = digest(checked.action, k);
        match self.first.entry(d) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(this);
            }
            std::collections::hash_map::Entry::Occupied(o) => {
                let first = *o.get();
                self.repeated
                    .entry(d)
                    .or_insert_with(|| (checked.action, k.to_string(), vec![first]))
                    .2
                    .push(this);
            }
        }
    }

    /// Every group of two or more leads sharing a key.
    pub fn groups(self) -> Vec<(Action, String, Vec<DuplicateLead>)> {
        let mut out: Vec<_> = self.repeated.into_values().collect();
        out.sort_by_key(|(_, _, v)| v[0].lead);
        out
    }

    /// The problems to add to each lead of each group.
    pub fn problems(self) -> Vec<(usize, Problem)> {
        let mut out = Vec::new();
        for (action, key, leads) in self.groups() {
            let (field, why) = match action {
                Action::Create => (
                    lead("partnerLeadOpportunityId"),
                    "3DS accepts a partnerLeadOpportunityId once, so the second create would be refused (ERR801); give each lead its own id or group the rows with settings.group_by",
                ),
                Action::Update => (
                    top("dsLeadOpportunityId"),
                    "two updates of one lead would overwrite each other; merge them into one row",
                ),
            };
            for d in &leads {
                let others: Vec<String> = leads
                    .iter()
                    .filter(|o| o.lead != d.lead)
                    .map(|o| {
                        o.row
                            .map_or_else(|| format!("lead #{}", o.lead + 1), |r| format!("row {r}"))
                    })
                    .collect();
                out.push((
                    d.lead,
                    Problem::error(
                        d.row,
                        d.cell,
                        field,
                        format!("`{key}` is also used on {}; {why}", others.join(", ")),
                    ),
                ));
            }
        }
        out
    }
}
