//! A problem found in the input: a value, not an error. It says where (sheet row, cell, field)
//! and how to fix it, and it travels to the Problems sheet and the row's message. Every layer
//! that finds problems (mapping, validation, the pipeline) carries this one type, so it sits
//! below them all.

use std::fmt;
use std::sync::Arc;

use crate::api::contract::FieldPath;
use crate::sheet::{CellRef, RowNum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The lead cannot be sent.
    Error,
    /// The lead can be sent, but something will not happen as the sheet suggests.
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// What a problem is about: a field of the request (the usual case), or the row, the header,
/// or a setting of the mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Field(FieldPath),
    /// The row's shape or bytes (too many cells, bad encoding).
    Row,
    /// A header cell of the file.
    Header,
    /// A setting of the mapping, by its key (`settings.group_by`).
    Setting(&'static str),
    /// The file as a whole: how it was read (its format, encoding, where its header is).
    File,
}

impl From<FieldPath> for Subject {
    fn from(p: FieldPath) -> Subject {
        Subject::Field(p)
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Field(p) => p.fmt(f),
            Subject::Row => f.write_str("row"),
            Subject::Header => f.write_str("header"),
            Subject::Setting(s) => f.write_str(s),
            Subject::File => f.write_str("file"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub severity: Severity,
    /// The 1-based sheet row; `None` for problems of the whole file.
    pub row: Option<RowNum>,
    pub cell: Option<CellRef>,
    /// The field it concerns (`leadOpportunity.closeDate`, `offerLines[1].amount`), or the row,
    /// the header, a setting.
    pub field: Subject,
    /// Shared: a million rows missing the same field share one text (see `Recorder`).
    pub message: Arc<str>,
}

impl Problem {
    pub fn error(
        row: Option<RowNum>,
        cell: Option<CellRef>,
        field: impl Into<Subject>,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            severity: Severity::Error,
            row,
            cell,
            field: field.into(),
            message: message.into().into(),
        }
    }

    pub fn warning(
        row: Option<RowNum>,
        cell: Option<CellRef>,
        field: impl Into<Subject>,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            severity: Severity::Warning,
            row,
            cell,
            field: field.into(),
            message: message.into().into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        match (&self.cell, &self.row) {
            (Some(c), _) => write!(f, "{c} ")?,
            (None, Some(r)) => write!(f, "row {r} ")?,
            _ => {}
        }
        write!(f, "{}: {}", self.field, self.message)
    }
}
