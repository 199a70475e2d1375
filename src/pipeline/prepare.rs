//! The offline half of an import, which `validate` runs alone: read → map → check, streaming.
//! Rows arrive in batches from the reader thread; each batch is mapped and checked on rayon's
//! pool while the reader goes on; checked leads go to the [`Recorder`] in input order, and the
//! bodies of valid leads to a spool file on disk (for `--emit-requests` and for submission),
//! so neither the rows nor the requests are held in memory. Grouped files (several rows per
//! lead, in any order) keep one draft per lead until the end of the file.

use std::collections::HashMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::outcome::{Recorder, Status};
use crate::api::contract::{self, ApiVersion, FieldId, Kind, Section};
use crate::api::model::LeadRequest;
use crate::mapping::{self, LeadDraft, MappingConfig, MappingError, Mode, ResolveInput, Resolved};
use crate::problem::{Problem, Subject};
use crate::sheet::{
    self, CellRef, OpenSheet, ReadOptions, RowNum, SheetError, SourceInfo, column_letter,
};
use crate::validate::{self, Action, Duplicates, Rules};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Sheet(#[from] SheetError),
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl PipelineError {
    pub fn exit(&self) -> crate::Exit {
        match self {
            PipelineError::Sheet(e) => e.exit(),
            PipelineError::Mapping(e) => e.exit(),
            PipelineError::Write { .. } => crate::Exit::Fatal,
        }
    }
}

/// Everything the offline stage needs.
#[derive(Debug, Clone)]
pub struct OfflinePlan {
    pub input: String,
    pub read: ReadOptions,
    pub mapping: MappingConfig,
    pub mapping_path: PathBuf,
    pub mode: Mode,
    pub version: ApiVersion,
    /// From `--partner-id` / `LEADSHEET_PARTNER_ID`; wins over the mapping.
    pub partner_id: Option<String>,
    /// From the connection profile (or the sandbox); used when nothing else gives one.
    pub fallback_partner_id: Option<String>,
    /// Keep the bodies of valid leads (for `--emit-requests` and submission).
    pub spool_requests: bool,
    /// The day rows are judged on (a close date before it is in the past).
    pub today: chrono::NaiveDate,
}

/// One valid lead's body as spooled to disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpooledLead {
    pub lead: usize,
    /// The sheet rows of the lead.
    pub rows: Vec<u32>,
    pub action: Action,
    #[serde(
        rename = "dsLeadOpportunityId",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub ds_id: Option<String>,
    pub body: LeadRequest,
    /// The fields an update empties on purpose (`#CLEAR`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clears: Vec<FieldId>,
}

impl SpooledLead {
    /// The JSON body the lead sends. An update carries only what its row fills: no key of an
    /// empty cell or an unmapped field, so nothing stored is erased by accident (what 3DS does
    /// with a null is undocumented, REFERENCE.md §12); and the fields it clears on purpose,
    /// with their empty value (`""` for text, `[]` for a list, null for a legal-entity field).
    pub fn body_json(&self) -> serde_json::Value {
        let mut body = serde_json::to_value(&self.body).unwrap_or_default();
        if self.action == Action::Update
            && let Some(le) = body
                .get_mut("customerLegalEntity")
                .and_then(serde_json::Value::as_object_mut)
        {
            le.retain(|_, v| !v.is_null());
        }
        for id in &self.clears {
            let field = contract::field(*id);
            let Some(key) = field.section.key() else {
                continue;
            };
            let empty = match (field.section, field.kind) {
                (Section::LegalEntity, _) => serde_json::Value::Null,
                (_, Kind::TextList | Kind::EnumList(_)) => serde_json::Value::Array(vec![]),
                _ => serde_json::Value::String(String::new()),
            };
            if let Some(obj) = body.as_object_mut() {
                let section = obj
                    .entry(key)
                    .or_insert_with(|| serde_json::Value::Object(Default::default()));
                if let Some(section) = section.as_object_mut() {
                    section.insert(field.name.to_string(), empty);
                }
            }
        }
        body
    }
}

/// The result of the offline stage.
pub struct Prepared {
    pub sheet: OpenSheet,
    pub read: ReadOptions,
    pub resolved: Resolved,
    pub recorder: Recorder,
    spool: Option<tempfile::NamedTempFile>,
    pub data_rows: usize,
    pub blank_rows: u64,
    pub started: DateTime<Utc>,
    pub mapping_path: PathBuf,
}

impl Prepared {
    pub fn info(&self) -> &SourceInfo {
        &self.sheet.info
    }

    pub fn headers(&self) -> &[String] {
        &self.sheet.headers
    }

    /// The source again, from its first data row, for the results writer's second pass.
    ///
    /// # Errors
    /// [`SheetError`] when the source (a private snapshot of it) cannot be read again.
    pub fn reopen(&self) -> Result<OpenSheet, SheetError> {
        self.sheet.reopen(&self.read)
    }

    /// Every spooled lead, in input order, read back from disk (valid when spooled; check the
    /// recorder for leads found invalid later). Owns its file, so the recorder stays free.
    ///
    /// # Errors
    /// [`PipelineError::Write`] when the spool file cannot be opened again.
    pub fn spooled_leads(
        &self,
    ) -> Result<impl Iterator<Item = SpooledLead> + Send + 'static, PipelineError> {
        let file = match &self.spool {
            Some(s) => Some(s.reopen().map_err(|source| PipelineError::Write {
                path: s.path().to_path_buf(),
                source,
            })?),
            None => None,
        };
        let lines = file.map(|f| std::io::BufReader::new(f).lines());
        Ok(lines
            .into_iter()
            .flatten()
            .map_while(Result::ok)
            .filter_map(|l| serde_json::from_str::<SpooledLead>(&l).ok()))
    }

    /// The valid leads' bodies, in input order, skipping leads found invalid later.
    ///
    /// # Errors
    /// As [`Prepared::spooled_leads`].
    pub fn valid_leads(&self) -> Result<impl Iterator<Item = SpooledLead> + '_, PipelineError> {
        Ok(self
            .spooled_leads()?
            .filter(|l| self.recorder.status(l.lead) == Status::Valid))
    }
}

fn with_unsent_constants(resolved: &Resolved, mut draft: LeadDraft) -> LeadDraft {
    let unsent = mapping::unsent_constants(resolved, &draft);
    draft.problems.extend(unsent);
    draft
}

/// A mapping that does not fit the file, with what was noticed reading it (a header found
/// below a title, a name that says another format): often the reason it does not fit.
fn with_notes(e: MappingError, info: &SourceInfo) -> MappingError {
    match e {
        MappingError::Invalid { path, mut message } if !info.notes.is_empty() => {
            for note in &info.notes {
                message.push_str(&format!("\n  note: {}: {note}", info.display));
            }
            MappingError::Invalid { path, message }
        }
        e => e,
    }
}

fn header_problems(headers: &[String], header_row: RowNum) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let cell = Some(CellRef {
            row: header_row,
            col: i as u32,
        });
        if h.is_empty() {
            out.push(Problem::warning(
                Some(header_row),
                cell,
                Subject::Header,
                format!(
                    "column {} has no header; its values are not used",
                    column_letter(i)
                ),
            ));
            continue;
        }
        let key = mapping::resolve::normalize_header(h);
        if let Some(first) = seen.get(&key) {
            out.push(Problem::warning(
                Some(header_row),
                cell,
                Subject::Header,
                format!(
                    "`{h}` in column {} repeats the header of column {}; a mapping cannot use it",
                    column_letter(i),
                    column_letter(*first)
                ),
            ));
        } else {
            seen.insert(key, i);
        }
    }
    out
}

/// Reads, maps and checks every row of `plan.input`. Bad rows are not errors: they are
/// recorded with their problems.
///
/// # Errors
/// [`PipelineError::Sheet`] when the input cannot be read, [`PipelineError::Mapping`] when
/// the mapping does not fit its headers, [`PipelineError::Write`] when the requests cannot be
/// spooled.
pub fn prepare(plan: &OfflinePlan) -> Result<Prepared, PipelineError> {
    let started = Utc::now();
    let mut read = plan.read.clone();
    let s = &plan.mapping.settings;
    if read.sheet.is_none() {
        read.sheet = s.sheet.as_ref().and_then(|v| v.0.parse().ok());
    }
    if read.header_row.is_none() {
        read.header_row = s.header_row;
    }
    if read.delimiter.is_none() {
        read.delimiter = match s.delimiter.as_deref() {
            None => None,
            Some(d) if sheet::parse_delimiter(d).is_some() => sheet::parse_delimiter(d),
            Some(d) => {
                return Err(MappingError::Invalid {
                    path: plan.mapping_path.clone(),
                    message: format!("settings.delimiter `{d}` must be one character"),
                }
                .into());
            }
        };
    }
    if read.encoding.is_none()
        && let Some(label) = &s.encoding
    {
        read.encoding = Some(
            encoding_rs::Encoding::for_label(label.as_bytes()).ok_or_else(|| {
                MappingError::Invalid {
                    path: plan.mapping_path.clone(),
                    message: format!("settings.encoding: unknown encoding `{label}`"),
                }
            })?,
        );
    }
    if read.expected_headers.is_empty() {
        read.expected_headers = plan.mapping.column_names();
    }
    let mut sheet = sheet::open(&plan.input, &read)?;
    tracing::info!(input = %sheet.info.label(), format = sheet.info.format.name(), headers = sheet.headers.len(), "reading");
    let resolved = mapping::resolve(&ResolveInput {
        config: &plan.mapping,
        mapping_path: &plan.mapping_path,
        headers: &sheet.headers,
        source_label: sheet.info.label(),
        header_row: sheet.info.header_row.0,
        version: plan.version,
        mode: plan.mode,
        partner_id: plan.partner_id.clone(),
        fallback_partner_id: plan.fallback_partner_id.clone(),
    })
    .map_err(|e| with_notes(e, &sheet.info))?;
    let rules = Rules {
        version: plan.version,
        mode: plan.mode,
        today: plan.today,
    };
    let mut recorder = Recorder::default();
    for note in &sheet.info.notes {
        recorder.add_file_problem(Problem::warning(None, None, Subject::File, note.clone()));
    }
    for p in header_problems(&sheet.headers, sheet.info.header_row) {
        recorder.add_file_problem(p);
    }
    let mut spool = if plan.spool_requests {
        let f =
            crate::scratch::file("requests", ".jsonl").map_err(|source| PipelineError::Write {
                path: std::env::temp_dir(),
                source,
            })?;
        Some((
            BufWriter::new(f.reopen().map_err(|source| PipelineError::Write {
                path: f.path().to_path_buf(),
                source,
            })?),
            f,
        ))
    } else {
        None
    };
    let mut dups = Duplicates::default();
    let mut data_rows = 0usize;
    let mut groups: Vec<LeadDraft> = Vec::new();
    let mut group_index: HashMap<String, usize> = HashMap::new();

    let mut sink = |checked: validate::Checked,
                    recorder: &mut Recorder,
                    dups: &mut Duplicates|
     -> Result<(), PipelineError> {
        let valid = checked.is_valid();
        let idx = recorder.add_lead(&checked.rows, checked.action, checked.problems.clone());
        dups.note(idx, &checked);
        if valid && let Some((w, f)) = spool.as_mut() {
            let line = SpooledLead {
                lead: idx,
                rows: checked.rows.iter().map(|(_, r)| r.0).collect(),
                action: checked.action,
                ds_id: checked.ds_id,
                body: checked.request,
                clears: checked.clears,
            };
            serde_json::to_writer(&mut *w, &line).map_err(|e| PipelineError::Write {
                path: f.path().to_path_buf(),
                source: e.into(),
            })?;
            w.write_all(b"\n").map_err(|source| PipelineError::Write {
                path: f.path().to_path_buf(),
                source,
            })?;
        }
        Ok(())
    };

    while let Some(batch) = sheet.next_batch() {
        let batch = batch?;
        let base = data_rows;
        data_rows += batch.len();
        let parts: Vec<mapping::RowParts> = batch
            .par_iter()
            .enumerate()
            .map(|(i, r)| mapping::map_row(&resolved, base + i, r))
            .collect();
        if resolved.group_by.is_some() {
            for p in parts {
                match p.key.clone().filter(|k| !k.is_empty()) {
                    Some(k) => match group_index.get(&k) {
                        Some(&g) => groups[g].merge(p),
                        None => {
                            group_index.insert(k, groups.len());
                            groups.push(LeadDraft::from_row(p));
                        }
                    },
                    None => groups.push(LeadDraft::from_row(p)),
                }
            }
        } else {
            let drafts: Vec<LeadDraft> = parts
                .into_iter()
                .map(|p| with_unsent_constants(&resolved, LeadDraft::from_row(p)))
                .collect();
            for checked in validate::check_all(&drafts, rules) {
                sink(checked, &mut recorder, &mut dups)?;
            }
        }
    }
    if !groups.is_empty() {
        let groups: Vec<LeadDraft> = groups
            .into_iter()
            .map(|d| with_unsent_constants(&resolved, d))
            .collect();
        for checked in validate::check_all(&groups, rules) {
            sink(checked, &mut recorder, &mut dups)?;
        }
    }
    for (lead, problem) in dups.problems() {
        recorder.add_problem(lead, problem);
    }
    let spool = match spool {
        Some((mut w, f)) => {
            w.flush().map_err(|source| PipelineError::Write {
                path: f.path().to_path_buf(),
                source,
            })?;
            Some(f)
        }
        None => None,
    };
    let blank_rows = sheet.blank_rows();
    tracing::info!(
        rows = data_rows,
        blank_rows,
        leads = recorder.lead_count(),
        "checked"
    );
    Ok(Prepared {
        sheet,
        read,
        resolved,
        recorder,
        spool,
        data_rows,
        blank_rows,
        started,
        mapping_path: plan.mapping_path.clone(),
    })
}
