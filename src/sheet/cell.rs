//! Cells and where they are: a cell's value with its type kept, a 1-based sheet row, a cell
//! address (`F12`) and column letters. Every layer that points at a cell uses these.

use std::fmt;

use chrono::NaiveDateTime;
use unicode_normalization::UnicodeNormalization;

/// A 1-based spreadsheet row as users see it (the header is usually row 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowNum(pub u32);

impl fmt::Display for RowNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `A`, `B`, … `Z`, `AA` for a 0-based column index.
pub fn column_letter(mut idx: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (idx % 26) as u8);
        if idx < 26 {
            break;
        }
        idx = idx / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII letters")
}

/// A header as compared: accents stripped, lowercase, letters and digits only, so that
/// ` Société  E-Mail ` and `societe email` are one header.
pub fn normalize_header(h: &str) -> String {
    h.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// A cell address such as `F12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellRef {
    pub row: RowNum,
    /// 0-based column index.
    pub col: u32,
}

impl fmt::Display for CellRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", column_letter(self.col as usize), self.row)
    }
}

/// One cell as read, with its type kept: ids stay text, numbers stay numbers, dates stay dates.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Cell {
    #[default]
    Empty,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A date or date-time cell of a workbook; `date_only` when it has no time part.
    DateTime {
        value: NaiveDateTime,
        date_only: bool,
    },
    /// An error value such as `#N/A` or `#REF!`.
    Error(String),
}

impl Cell {
    /// Empty, or text that is only whitespace.
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as text, the way a user would type it: integers without `.0` or exponent
    /// (a 15-digit customer id stays `200000000014442`), dates as ISO 8601.
    pub fn to_text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => number_text(*f),
            Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Cell::DateTime { value, date_only } => {
                if *date_only {
                    value.date().to_string()
                } else {
                    value.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
                }
            }
            Cell::Error(e) => e.clone(),
        }
    }
}

/// A number as plain decimal text: whole numbers without a fraction or exponent.
pub fn number_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e17 {
        format!("{}", f as i64)
    } else {
        // Rust's Display for f64 never uses an exponent and round-trips.
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
        assert_eq!(
            CellRef {
                row: RowNum(12),
                col: 5
            }
            .to_string(),
            "F12"
        );
    }

    #[test]
    fn numbers_as_text_keep_ids_whole() {
        assert_eq!(number_text(200000000014442.0), "200000000014442");
        assert_eq!(number_text(120000000000000.0), "120000000000000");
        assert_eq!(number_text(13800.5), "13800.5");
        assert_eq!(Cell::Float(1234.0).to_text(), "1234");
    }
}
