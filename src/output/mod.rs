//! Every file leadsheet writes goes through this layer: the results workbook of `validate` and
//! `import` ([`results`]), the export's report and import layouts ([`export`]), the portfolio
//! ([`portfolio`]), the template ([`template`]) and the emitted requests. It owns the rules a
//! writer must not forget, so that no caller can:
//! - one rule for the format from a file name ([`Format::choose`]);
//! - one set of xlsx styles and one header setup ([`xlsx`]);
//! - one cell writer that fits Excel's cell limit, and one CSV writer that makes every field
//!   inert to spreadsheet formulas ([`csv`]);
//! - one Summary sheet and `--json` object from one [`Summary`];
//! - every file written beside its destination and renamed into place ([`atomic`]), so a
//!   failure leaves the earlier file as it was, never half a file.

pub mod csv;
pub mod export;
pub mod portfolio;
pub mod results;
mod summary;
pub mod template;
pub mod xlsx;

use std::path::{Path, PathBuf};

pub use summary::{Summary, SummaryValue};

use crate::Exit;

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {}: {message}", path.display())]
    Write { path: PathBuf, message: String },
    #[error("{}: leadsheet writes {what} as {}", path.display(), accepted.join(" or "))]
    Format {
        path: PathBuf,
        what: &'static str,
        accepted: Vec<&'static str>,
    },
    #[error(
        "{rows} rows do not fit in an XLSX sheet (at most {max}); write the results as CSV with -o results.csv",
        max = xlsx::MAX_ROWS - 1
    )]
    TooManyRows { rows: usize },
}

impl OutputError {
    pub fn exit(&self) -> Exit {
        match self {
            OutputError::Write { .. } => Exit::Fatal,
            OutputError::Format { .. } | OutputError::TooManyRows { .. } => Exit::Usage,
        }
    }

    pub(crate) fn write(path: &Path, e: impl std::fmt::Display) -> OutputError {
        OutputError::Write {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}

/// The kinds of file leadsheet writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    /// Comma-separated, UTF-8, every field inert to formulas.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// The format a file name asks for: `.xlsx`; `.csv` or `.txt`; `.jsonl`, `.ndjson` or
    /// `.json`. `None` for any other name.
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)?;
        match ext.as_str() {
            "xlsx" => Some(Format::Xlsx),
            "csv" | "txt" => Some(Format::Csv),
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Format::Xlsx => ".xlsx",
            Format::Csv => ".csv",
            Format::Jsonl => ".jsonl",
        }
    }

    /// The format of `path` among those `accepted` for `what` (the results, an export…);
    /// `fallback` for a name without an extension or a stream (`results`, `/dev/stdout`), when
    /// the writer has one. A name with another extension (`.ods`, `.toml`, `.journal`) is
    /// refused: it asks for a format leadsheet does not write, or names a file of another kind.
    ///
    /// # Errors
    /// [`OutputError::Format`] when the name asks for a format not accepted, or for none and
    /// there is no fallback.
    pub fn choose(
        path: &Path,
        what: &'static str,
        accepted: &[Format],
        fallback: Option<Format>,
    ) -> Result<Format, OutputError> {
        let plain = path.extension().is_none() || crate::files::is_stream(path);
        match Format::of(path).or(fallback.filter(|_| plain)) {
            Some(f) if accepted.contains(&f) => Ok(f),
            _ => Err(OutputError::Format {
                path: path.to_path_buf(),
                what,
                accepted: accepted.iter().map(|f| f.label()).collect(),
            }),
        }
    }
}

/// Writes a file through `write`, which is given a path beside `path` to write to; the file is
/// renamed into place only when `write` succeeds, and removed when it fails.
///
/// # Errors
/// What `write` returns, or [`OutputError::Write`] when the rename fails.
pub fn atomic<T>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<T, OutputError>,
) -> Result<T, OutputError> {
    // A device or a pipe (`-o /dev/stdout`) is written as it is: it has no earlier content to
    // keep, and nothing can be renamed onto it.
    if crate::files::is_stream(path) {
        return write(path);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let partial = path.with_file_name(format!("{name}.partial"));
    match write(&partial) {
        Ok(v) => {
            // On disk before it takes the name: a power cut leaves the old file or the new one.
            if let Ok(f) = std::fs::File::open(&partial) {
                let _ = f.sync_all();
            }
            std::fs::rename(&partial, path).map_err(|e| {
                let _ = std::fs::remove_file(&partial);
                OutputError::write(path, e)
            })?;
            crate::durable::sync_dir(path);
            Ok(v)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            // The partial file is a detail: the message names the file the user asked for.
            Err(match e {
                OutputError::Write { path: p, message } if p == partial => OutputError::Write {
                    path: path.to_path_buf(),
                    message,
                },
                other => other,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_formats() {
        let p = Path::new;
        assert_eq!(Format::of(p("a.XLSX")), Some(Format::Xlsx));
        assert_eq!(Format::of(p("a.txt")), Some(Format::Csv));
        assert_eq!(Format::of(p("a.ndjson")), Some(Format::Jsonl));
        assert_eq!(Format::of(p("a.ods")), None);
        let results = [Format::Xlsx, Format::Csv];
        assert_eq!(
            Format::choose(p("out"), "the results", &results, Some(Format::Xlsx)).unwrap(),
            Format::Xlsx
        );
        let e = Format::choose(p("out.json"), "the results", &results, Some(Format::Xlsx))
            .unwrap_err()
            .to_string();
        assert!(e.contains(".xlsx or .csv"), "{e}");
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "old").unwrap();
        let failed: Result<(), _> = atomic(&path, |tmp| {
            std::fs::write(tmp, "half").unwrap();
            Err(OutputError::write(tmp, "disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        atomic(&path, |tmp| {
            std::fs::write(tmp, "new").map_err(|e| OutputError::write(tmp, e))
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }
}
