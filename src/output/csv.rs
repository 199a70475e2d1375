//! The CSV side of the output layer: one writer for every CSV leadsheet writes (results,
//! exports, the portfolio, the list of ids an export could not fetch). Every field goes through
//! [`inert`], so no caller can forget that a cell starting with `=` is a formula to Excel.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use super::OutputError;

/// Makes a text inert for spreadsheet programs: a leading `=`, `+`, `-`, `@`, tab or carriage
/// return would start a formula (CSV injection), so it gets the usual `'` text mark, which
/// leadsheet's readers drop again.
pub fn inert(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

/// A CSV file being written, comma-separated and UTF-8.
pub struct CsvWriter {
    path: PathBuf,
    inner: csv::Writer<std::fs::File>,
}

impl CsvWriter {
    /// # Errors
    /// [`OutputError::Write`] when the file cannot be created.
    pub fn create(path: &Path) -> Result<CsvWriter, OutputError> {
        let inner = csv::Writer::from_path(path).map_err(|e| OutputError::write(path, e))?;
        Ok(CsvWriter {
            path: path.to_path_buf(),
            inner,
        })
    }

    /// Writes one record, every field made inert.
    ///
    /// # Errors
    /// [`OutputError::Write`] when the file cannot be written.
    pub fn record<I, S>(&mut self, fields: I) -> Result<(), OutputError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for f in fields {
            self.inner
                .write_field(inert(f.as_ref()).as_bytes())
                .map_err(|e| OutputError::write(&self.path, e))?;
        }
        self.inner
            .write_record(None::<&[u8]>)
            .map_err(|e| OutputError::write(&self.path, e))
    }

    /// # Errors
    /// [`OutputError::Write`] when the file cannot be flushed.
    pub fn finish(mut self) -> Result<(), OutputError> {
        self.inner
            .flush()
            .map_err(|e| OutputError::write(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_made_inert() {
        assert_eq!(inert("=1+1"), "'=1+1");
        assert_eq!(inert("@x"), "'@x");
        assert_eq!(inert("-3"), "'-3");
        assert_eq!(inert("+3"), "'+3");
        assert_eq!(inert("\tx"), "'\tx");
        assert_eq!(inert("\rx"), "'\rx");
        assert_eq!(inert("plain"), "plain");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        let mut w = CsvWriter::create(&path).unwrap();
        w.record(["=SUM(A1)", "ok"]).unwrap();
        w.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "'=SUM(A1),ok\n");
    }
}
