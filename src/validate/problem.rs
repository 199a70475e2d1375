//! A problem found in the input: a value, not an error. It says where (sheet row, cell,
//! field path) and how to fix it, and it travels to the Problems sheet and the row's message.

use std::fmt;
use std::sync::Arc;

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

#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub severity: Severity,
    /// The 1-based sheet row; `None` for problems of the whole file.
    pub row: Option<RowNum>,
    pub cell: Option<CellRef>,
    /// The request field it concerns (`leadOpportunity.closeDate`, `offerLines[1].amount`), or
    /// a short tag (`row`, `header`) for problems of the row or the file.
    /// Shared: a million rows missing the same field share one text (see `Recorder`).
    pub field: Arc<str>,
    pub message: Arc<str>,
}

impl Problem {
    pub fn error(
        row: Option<RowNum>,
        cell: Option<CellRef>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            severity: Severity::Error,
            row,
            cell,
            field: field.into().into(),
            message: message.into().into(),
        }
    }

    pub fn warning(
        row: Option<RowNum>,
        cell: Option<CellRef>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            severity: Severity::Warning,
            row,
            cell,
            field: field.into().into(),
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
