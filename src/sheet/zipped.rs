//! A zip looked into before a workbook reader opens it: which format its entries make (ODS,
//! XLSB, XLSX, or a document that is no spreadsheet), and how big it would inflate. The
//! declared sizes of a zip's central directory are binding (the zip reader refuses to inflate
//! an entry past its declared size), so summing them bounds what any reader can be made to
//! inflate: a zip bomb is refused here, before a byte of it is decompressed.

use std::io::Read;
use std::path::Path;

use super::limits::{Limits, show_size};
use super::{Format, SheetError};

/// More entries than any workbook has (a workbook of 1,000 sheets has about 2,000).
const MAX_ENTRIES: usize = 100_000;

/// What spreadsheet XML compresses to at most, about; far beyond it, a part is built to
/// explode, and the message says so.
const BOMB_RATIO: u64 = 200;

fn broken(display: &str, message: String) -> SheetError {
    SheetError::Broken {
        path: display.to_string(),
        format: "zip (XLSX, XLSB or ODS)",
        message,
    }
}

/// Which format the zip at `path` holds, after checking it inflates within `limits`.
///
/// # Errors
/// [`SheetError::Broken`] for a zip that cannot be read (cut short, corrupt),
/// [`SheetError::TooLarge`] beyond `limits.max_unzipped`, [`SheetError::NotASpreadsheet`]
/// for a zip that holds something else (a Word document, an archive of files).
pub fn inspect(path: &Path, display: &str, limits: &Limits) -> Result<Format, SheetError> {
    let file = std::fs::File::open(path).map_err(|source| SheetError::Io {
        path: display.to_string(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
        broken(
            display,
            format!("it is not a complete zip archive, as workbooks are (cut short while copying or downloading?): {e}"),
        )
    })?;
    if archive.len() > MAX_ENTRIES {
        return Err(broken(
            display,
            format!(
                "it holds {} files; no workbook holds more than a few thousand",
                archive.len()
            ),
        ));
    }
    let mut total: u64 = 0;
    let mut biggest = (String::new(), 0u64, 0u64);
    let mut names = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive
            .by_index_data(i)
            .map_err(|e| broken(display, format!("entry {i}: {e}")))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let size = entry.size();
        total = total.saturating_add(size);
        if size > biggest.1 {
            biggest = (name.clone(), size, entry.compressed_size());
        }
        names.push(name);
    }
    let has = |n: &str| names.iter().any(|e| e.eq_ignore_ascii_case(n));
    let format = if has("mimetype") || has("content.xml") {
        match mimetype(&mut archive) {
            Some(m) if m == "application/vnd.oasis.opendocument.spreadsheet" => Format::Ods,
            Some(m) if m.starts_with("application/vnd.oasis.opendocument.spreadsheet") => {
                Format::Ods
            }
            Some(m) if m.starts_with("application/vnd.oasis.opendocument.text") => {
                return Err(not_a_workbook(display, "an OpenDocument text document"));
            }
            Some(m) if m.starts_with("application/vnd.oasis.opendocument.presentation") => {
                return Err(not_a_workbook(display, "an OpenDocument presentation"));
            }
            _ if has("content.xml") => Format::Ods,
            _ => {
                return Err(not_a_workbook(
                    display,
                    "a zip archive that holds no spreadsheet",
                ));
            }
        }
    } else if has("xl/workbook.bin") {
        Format::Xlsb
    } else if has("xl/workbook.xml") || names.iter().any(|n| n.starts_with("xl/")) {
        Format::Xlsx
    } else if has("word/document.xml") {
        return Err(not_a_workbook(display, "a Word document"));
    } else if has("ppt/presentation.xml") {
        return Err(not_a_workbook(display, "a PowerPoint presentation"));
    } else {
        return Err(not_a_workbook(
            display,
            "a zip archive that holds no spreadsheet",
        ));
    };
    if format == Format::Xlsx {
        shared_strings(&mut archive, display, limits)?;
    }
    if total > limits.max_unzipped {
        let (part, size, compressed) = biggest;
        let ratio = size / compressed.max(1);
        let why = if ratio >= BOMB_RATIO {
            format!(
                "`{part}` alone inflates {ratio}:1 to {}, which spreadsheets never do (they compress about 10:1): this looks like a zip bomb",
                show_size(size)
            )
        } else {
            format!(
                "its largest part, `{part}`, inflates to {}: a very large sheet",
                show_size(size)
            )
        };
        return Err(SheetError::TooLarge {
            path: display.to_string(),
            message: format!(
                "the workbook inflates to {}, beyond the limit of {}; {why}. If you trust the file, raise the limit: --max-unzipped {}",
                show_size(total),
                show_size(limits.max_unzipped),
                show_size(total.next_power_of_two()).replace(' ', "")
            ),
        });
    }
    Ok(format)
}

fn not_a_workbook(display: &str, what: &str) -> SheetError {
    SheetError::NotASpreadsheet {
        path: display.to_string(),
        what: what.to_string(),
        advice: "open the spreadsheet you meant in Excel (or LibreOffice) and save it as .xlsx"
            .to_string(),
    }
}

/// The shared strings of an XLSX are read whole before any cell, and their reader reserves
/// room for as many as the table announces: the announcement must fit the table's size, and
/// the table a quarter of `--max-unzipped` (a million-row sheet of distinct texts stays well
/// within it).
fn shared_strings<R: Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    display: &str,
    limits: &Limits,
) -> Result<(), SheetError> {
    let Some(i) = (0..archive.len()).find(|&i| {
        archive
            .name_for_index(i)
            .and_then(Result::ok)
            .is_some_and(|n| n.eq_ignore_ascii_case("xl/sharedStrings.xml"))
    }) else {
        return Ok(());
    };
    let mut entry = archive
        .by_index(i)
        .map_err(|e| broken(display, format!("xl/sharedStrings.xml: {e}")))?;
    let size = entry.size();
    let cap = limits.max_unzipped / 4;
    if size > cap {
        return Err(SheetError::TooLarge {
            path: display.to_string(),
            message: format!(
                "its table of texts (xl/sharedStrings.xml) inflates to {}, beyond a quarter of --max-unzipped ({}); if you trust the file, raise --max-unzipped",
                show_size(size),
                show_size(cap)
            ),
        });
    }
    let mut head = Vec::new();
    // The announcement is in the table's first tag.
    let _ = (&mut entry).take(4096).read_to_end(&mut head);
    let head = String::from_utf8_lossy(&head);
    let announced = head
        .split_once("uniqueCount=\"")
        .and_then(|(_, rest)| rest.split('"').next())
        .and_then(|n| n.trim().parse::<u64>().ok());
    // The shortest entry, `<si/>`, takes 5 bytes.
    if let Some(n) = announced
        && n > size / 5 + 1
    {
        return Err(broken(
            display,
            format!(
                "its table of texts announces {n} texts but holds {} bytes, room for at most {}: the file is damaged or built to mislead",
                size,
                size / 5
            ),
        ));
    }
    Ok(())
}

/// An ODF file's `mimetype` entry (a short text), if it has one.
fn mimetype<R: Read + std::io::Seek>(archive: &mut zip::ZipArchive<R>) -> Option<String> {
    let mut entry = archive.by_name("mimetype").ok()?;
    let mut text = String::new();
    (&mut entry).take(200).read_to_string(&mut text).ok()?;
    Some(text.trim().to_string())
}
