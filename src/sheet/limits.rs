//! How much a file may make leadsheet read, inflate and hold. A spreadsheet from a stranger can
//! be built to explode (a zip bomb, a row a gigabyte long, a cell reference a hundred million
//! columns wide): every reader checks these before it allocates, and the message names the
//! limit and the flag that raises it.

/// Excel's widest sheet (column XFD); no format leadsheet reads goes wider in practice, and a
/// row is never made wider than this.
pub const MAX_COLUMNS: usize = 16_384;

/// Excel's longest sheet. A workbook row number beyond it is a broken or hostile file.
pub const MAX_ROWS: u32 = 1_048_576;

/// The limits a user can raise (`--max-unzipped`, `--max-row-size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// What the parts of a workbook (XLSX, XLSB, ODS: a zip) may inflate to, together.
    pub max_unzipped: u64,
    /// The bytes of one CSV row (all its cells, quoted newlines included).
    pub max_row_bytes: u64,
}

pub const DEFAULT_MAX_UNZIPPED: u64 = 1 << 30;
pub const DEFAULT_MAX_ROW_BYTES: u64 = 16 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_unzipped: DEFAULT_MAX_UNZIPPED,
            max_row_bytes: DEFAULT_MAX_ROW_BYTES,
        }
    }
}

/// A size as users write it: `512MB`, `2GiB`, `1g`, `700000` (bytes). Decimal and binary
/// units are both taken as binary (1 MB = 1 MiB): what matters is the order of magnitude.
///
/// # Errors
/// A message that says what a size looks like.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let bad = || format!("`{s}` is not a size; write e.g. 512MB, 2GiB or 700000 (bytes)");
    let n: f64 = number.parse().map_err(|_| bad())?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(bad()),
    };
    let bytes = n * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as u64)
}

/// A size for messages: `1 GiB`, `16 MiB`, `2.3 GiB`, `700 bytes`.
pub fn show_size(n: u64) -> String {
    const UNITS: [(u32, &str); 4] = [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")];
    for (shift, unit) in UNITS {
        let size = (1u64 << shift) as f64;
        if n as f64 >= size {
            let v = n as f64 / size;
            return if (v - v.round()).abs() < 0.05 {
                format!("{} {unit}", v.round())
            } else {
                format!("{v:.1} {unit}")
            };
        }
    }
    format!("{n} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_and_show() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("512 MB"), Ok(512 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("700000"), Ok(700_000));
        for bad in ["", "MB", "-1MB", "1 parsec", "0", "1e999GB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(show_size(1 << 30), "1 GiB");
        assert_eq!(show_size(16 << 20), "16 MiB");
        assert_eq!(show_size((23 << 30) / 10), "2.3 GiB");
        assert_eq!(show_size(700), "700 bytes");
    }
}
