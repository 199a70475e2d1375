//! The outcome recorder: the one place where a lead's status is decided and kept, for the
//! offline check (VALID / INVALID) and the online submission (CREATED, UPDATED, REJECTED, …).
//! Every status change goes through [`Recorder::record`], so a journal can be added in one
//! spot. It keeps compact per-lead records plus a row → lead index, never the rows themselves:
//! the results writer re-reads the source and asks the recorder about each row.

use std::collections::BTreeMap;

use crate::problem::{Problem, Severity};
use crate::sheet::RowNum;
use crate::validate::Action;

/// A row's (and its lead's) status in the results workbook.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Checked offline, nothing wrong (validate, dry run).
    Valid,
    /// Checked offline, cannot be sent; the message says why.
    Invalid,
    Created,
    Updated,
    /// An update that would change nothing (the record already holds these values).
    Unchanged,
    /// A create of a partnerLeadOpportunityId 3DS already holds (ERR801): the row shows the
    /// existing record's id. Not a failure: the lead is there (a re-run, or an earlier import).
    Exists,
    /// The server refused it (400, 406, ERR801 in create mode); final.
    Rejected,
    /// It could not be completed (retries exhausted, server down, unknown outcome).
    Failed,
    /// Not sent: the run stopped first (Ctrl-C, a refused API key).
    NotSubmitted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Valid => "VALID",
            Status::Invalid => "INVALID",
            Status::Created => "CREATED",
            Status::Updated => "UPDATED",
            Status::Unchanged => "UNCHANGED",
            Status::Exists => "EXISTS",
            Status::Rejected => "REJECTED",
            Status::Failed => "FAILED",
            Status::NotSubmitted => "NOT_SUBMITTED",
        }
    }

    /// Whether the row counts against exit code 0.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Status::Invalid | Status::Rejected | Status::Failed | Status::NotSubmitted
        )
    }
}

/// One row's outcome as the results file shows it.
#[derive(Debug, Default, Clone)]
pub struct ResultRow<'a> {
    pub status: &'a str,
    pub ds_id: Option<&'a str>,
    pub action: Option<&'a str>,
    pub http_status: Option<u16>,
    pub error_code: Option<&'a str>,
    pub message: Option<&'a str>,
    pub trace_id: Option<&'a str>,
    pub attempts: Option<u32>,
}

/// What the server said, for statuses beyond VALID/INVALID.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detail {
    pub ds_id: Option<String>,
    /// `create`, `update`, or a sentence for the unusual paths (`update (after ERR801)`).
    pub action: Option<String>,
    pub http_status: Option<u16>,
    pub error_code: Option<String>,
    pub message: Option<String>,
    pub trace_id: Option<String>,
    pub attempts: u32,
}

#[derive(Debug, Clone)]
struct LeadRecord {
    status: Status,
    action: Option<Action>,
    detail: Option<Box<Detail>>,
}

/// Per-lead outcomes, and the map from data rows to leads.
#[derive(Debug, Default)]
pub struct Recorder {
    leads: Vec<LeadRecord>,
    /// data-row index → lead index.
    row_lead: Vec<u32>,
    /// Problems of leads that have any, by lead index.
    problems: BTreeMap<u32, Vec<Problem>>,
    /// Problems of the file itself (headers), not of a lead.
    file_problems: Vec<Problem>,
    /// The texts of problems, shared: a file where every row lacks the same field holds each
    /// message once, not a million times (bounded, for files whose messages are all distinct).
    texts: std::collections::HashSet<std::sync::Arc<str>>,
}

/// Distinct problem texts shared at most; beyond, each problem keeps its own.
const SHARED_TEXTS: usize = 50_000;

const NO_LEAD: u32 = u32::MAX;

/// The longest message of a results cell (bytes); the Problems sheet has them all.
const MESSAGE_CAP: usize = 1500;

impl Recorder {
    /// Registers a checked lead; returns its index.
    pub fn add_lead(
        &mut self,
        rows: &[(usize, RowNum)],
        action: Action,
        problems: Vec<Problem>,
    ) -> usize {
        let idx = self.leads.len();
        let status = if problems.iter().any(Problem::is_error) {
            Status::Invalid
        } else {
            Status::Valid
        };
        self.leads.push(LeadRecord {
            status,
            action: Some(action),
            detail: None,
        });
        for (data_idx, _) in rows {
            if self.row_lead.len() <= *data_idx {
                self.row_lead.resize(data_idx + 1, NO_LEAD);
            }
            self.row_lead[*data_idx] = idx as u32;
        }
        if !problems.is_empty() {
            let problems = problems.into_iter().map(|p| self.share(p)).collect();
            self.problems.insert(idx as u32, problems);
        }
        idx
    }

    fn share(&mut self, mut p: Problem) -> Problem {
        if let Some(shared) = self.texts.get(&*p.message) {
            p.message = shared.clone();
        } else if self.texts.len() < SHARED_TEXTS {
            self.texts.insert(p.message.clone());
        }
        p
    }

    pub fn add_file_problem(&mut self, p: Problem) {
        self.file_problems.push(p);
    }

    /// Adds a problem found after the lead was registered (duplicates across the file).
    pub fn add_problem(&mut self, lead: usize, p: Problem) {
        if p.is_error() && self.leads[lead].status == Status::Valid {
            self.leads[lead].status = Status::Invalid;
        }
        let p = self.share(p);
        self.problems.entry(lead as u32).or_default().push(p);
    }

    /// Records a lead's outcome. The single place where statuses change.
    pub fn record(&mut self, lead: usize, status: Status, detail: Detail) {
        let rec = &mut self.leads[lead];
        rec.status = status;
        rec.detail = Some(Box::new(detail));
    }

    /// After a submission: every valid lead that was not sent is NOT_SUBMITTED, with `why`.
    pub fn finish_unsent(&mut self, why: &str) {
        let unsent: Vec<usize> = (0..self.leads.len())
            .filter(|l| self.leads[*l].status == Status::Valid)
            .collect();
        for lead in unsent {
            let action = self.leads[lead].action.map(|a| a.as_str().to_string());
            self.record(
                lead,
                Status::NotSubmitted,
                Detail {
                    action,
                    message: Some(why.to_string()),
                    ..Default::default()
                },
            );
        }
    }

    pub fn status(&self, lead: usize) -> Status {
        self.leads[lead].status
    }

    pub fn action(&self, lead: usize) -> Option<Action> {
        self.leads[lead].action
    }

    pub fn lead_count(&self) -> usize {
        self.leads.len()
    }

    pub fn row_count(&self) -> usize {
        self.row_lead.len()
    }

    pub fn lead_of_row(&self, data_idx: usize) -> Option<usize> {
        self.row_lead
            .get(data_idx)
            .copied()
            .filter(|l| *l != NO_LEAD)
            .map(|l| l as usize)
    }

    pub fn problems_of(&self, lead: usize) -> &[Problem] {
        self.problems
            .get(&(lead as u32))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Every problem: the file's first, then by lead.
    pub fn all_problems(&self) -> impl Iterator<Item = &Problem> {
        self.file_problems
            .iter()
            .chain(self.problems.values().flatten())
    }

    pub fn count_problems(&self, severity: Severity) -> usize {
        self.all_problems()
            .filter(|p| p.severity == severity)
            .count()
    }

    /// Row counts by status (every data row counted once).
    pub fn rows_by_status(&self) -> BTreeMap<Status, usize> {
        let mut out = BTreeMap::new();
        for l in &self.row_lead {
            let status = if *l == NO_LEAD {
                Status::Invalid
            } else {
                self.leads[*l as usize].status
            };
            *out.entry(status).or_insert(0) += 1;
        }
        out
    }

    pub fn leads_by_status(&self) -> BTreeMap<Status, usize> {
        let mut out = BTreeMap::new();
        for l in &self.leads {
            *out.entry(l.status).or_insert(0) += 1;
        }
        out
    }

    /// The message of a lead: the server's, then the problems, capped for a cell.
    pub fn message(&self, lead: usize) -> Option<String> {
        let rec = &self.leads[lead];
        let mut parts: Vec<String> = Vec::new();
        if let Some(m) = rec.detail.as_ref().and_then(|d| d.message.clone()) {
            parts.push(m);
        }
        let problems = self.problems_of(lead);
        let errors_first = problems
            .iter()
            .filter(|p| p.is_error())
            .chain(problems.iter().filter(|p| !p.is_error()));
        parts.extend(errors_first.map(ToString::to_string));
        if parts.is_empty() {
            return None;
        }
        let mut out = String::new();
        for (i, p) in parts.iter().enumerate() {
            if out.is_empty() && p.len() > MESSAGE_CAP {
                // One long message (a server's stack trace): its start, not nothing.
                let mut end = MESSAGE_CAP;
                while !p.is_char_boundary(end) {
                    end -= 1;
                }
                out.push_str(&p[..end]);
                out.push('…');
                continue;
            }
            if out.len() + p.len() > MESSAGE_CAP {
                out.push_str(&format!(
                    " … and {} more (see the Problems sheet)",
                    parts.len() - i
                ));
                break;
            }
            if !out.is_empty() {
                out.push_str(" | ");
            }
            out.push_str(p);
        }
        Some(out)
    }

    /// What the results writer shows for data row `data_idx`. `scratch` holds the message.
    pub fn result_row<'a>(&'a self, data_idx: usize, scratch: &'a mut String) -> ResultRow<'a> {
        let Some(lead) = self.lead_of_row(data_idx) else {
            return ResultRow {
                status: Status::Invalid.as_str(),
                message: Some("the row was not read in the first pass"),
                ..Default::default()
            };
        };
        let rec = &self.leads[lead];
        *scratch = self.message(lead).unwrap_or_default();
        let d = rec.detail.as_deref();
        ResultRow {
            status: rec.status.as_str(),
            ds_id: d.and_then(|d| d.ds_id.as_deref()),
            action: d
                .and_then(|d| d.action.as_deref())
                .or(rec.action.map(Action::as_str)),
            http_status: d.and_then(|d| d.http_status),
            error_code: d.and_then(|d| d.error_code.as_deref()),
            message: (!scratch.is_empty()).then_some(scratch.as_str()),
            trace_id: d.and_then(|d| d.trace_id.as_deref()),
            attempts: d.map(|d| d.attempts).filter(|a| *a > 0),
        }
    }
}
