//! What a running sandbox holds: its settings, the record store, the fault dice, the id and
//! trace-id generator, and the request counts that `/_sandbox/stats` reports.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::Utc;
use serde_json::{Map, Value, json};

use super::SandboxConfig;
use super::connection::Registry;
use super::faults::Faults;
use super::preload;
use super::store::Store;
use crate::api::contract::Operation;

#[derive(Default)]
struct Stats {
    by_op: BTreeMap<&'static str, BTreeMap<String, u64>>,
    faults: BTreeMap<&'static str, u64>,
    total: u64,
}

pub struct AppState {
    pub config: SandboxConfig,
    pub store: Store,
    pub faults: Faults,
    pub connections: Registry,
    ids: Mutex<fastrand::Rng>,
    stats: Mutex<Stats>,
}

impl AppState {
    pub fn new(config: SandboxConfig) -> Self {
        let store = Store::default();
        let mut ids = fastrand::Rng::with_seed(config.seed);
        let now = Utc::now();
        let mut preload_rng = fastrand::Rng::with_seed(config.seed.wrapping_add(0x5EED));
        for i in 0..config.preload {
            let id = preload::new_ds_id(&mut ids, |id| store.contains_id(id));
            let record = preload::lead(&mut preload_rng, i, now, id);
            // Preloaded partner ids are numbered, so they cannot collide.
            let _ = store.insert(record);
        }
        AppState {
            faults: Faults::new(&config),
            connections: Registry::new(config.max_connections),
            config,
            store,
            ids: Mutex::new(ids),
            stats: Mutex::new(Stats::default()),
        }
    }

    /// Counts one answer of `op` (`outcome`: the HTTP status, or `dropped`).
    pub fn count(&self, op: Operation, outcome: &str) {
        let mut s = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        s.total += 1;
        *s.by_op
            .entry(op.name())
            .or_default()
            .entry(outcome.to_string())
            .or_default() += 1;
    }

    pub fn count_fault(&self, fault: &'static str) {
        let mut s = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        *s.faults.entry(fault).or_default() += 1;
    }

    pub fn trace_id(&self) -> String {
        let mut rng = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        format!("{:016x}{:016x}", rng.u64(..), rng.u64(..))
    }

    pub fn new_ds_id(&self) -> String {
        let mut rng = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        preload::new_ds_id(&mut rng, |id| self.store.contains_id(id))
    }

    /// The body of `/_sandbox/stats`: requests by operation and outcome, faults injected,
    /// connections (open now, and how many were accepted, evicted at the cap, refused, timed out
    /// or dropped for not reading), records held, and how many records hold each
    /// partnerLeadOpportunityId, with those held more than once.
    pub fn stats(&self) -> Value {
        let s = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        let counts = self.store.partner_lead_id_counts();
        let duplicates: Vec<&String> = counts
            .iter()
            .filter(|(_, n)| *n > 1)
            .map(|(k, _)| k)
            .collect();
        let c = *self.connections.counts();
        json!({
            "requests": {"total": s.total, "byOperation": s.by_op},
            "faults": s.faults,
            "connections": {
                "open": self.connections.open(),
                "accepted": c.accepted,
                "evicted": c.evicted,
                "refused": c.refused,
                "headerTimeouts": c.header_timeouts,
                "stalled": c.stalled,
            },
            "records": {"total": self.store.len(), "unassigned": self.store.unassigned()},
            "partnerLeadOpportunityIds": counts.iter().map(|(k, n)| (k.clone(), json!(n))).collect::<Map<String, Value>>(),
            "duplicates": duplicates,
        })
    }
}
