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

/// Tables of texts a zip may hold (a workbook has one).
const MAX_TABLES: usize = 4;

/// How far into a table of texts its `sst` element must begin.
const SST_HEAD: u64 = 1 << 20;

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
                total.checked_next_power_of_two().map_or_else(
                    || "(a size beyond any disk)".to_string(),
                    |n| show_size(n).replace(' ', "")
                )
            ),
        });
    }
    if format == Format::Xlsx {
        shared_strings(&mut archive, display, limits)?;
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
/// within it). The workbook's folder is named by its relationships (`xl/` as a rule, but any
/// folder will do), so every `…sharedStrings.xml` of the zip is checked.
fn shared_strings<R: Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    display: &str,
    limits: &Limits,
) -> Result<(), SheetError> {
    let tables: Vec<usize> = (0..archive.len())
        .filter(|&i| {
            archive
                .name_for_index(i)
                .and_then(Result::ok)
                .is_some_and(|n| n.to_ascii_lowercase().ends_with("sharedstrings.xml"))
        })
        .collect();
    // A workbook has one; a zip of many is built to make this check (or its reader) work.
    if tables.len() > MAX_TABLES {
        return Err(broken(
            display,
            format!(
                "it holds {} tables of texts (sharedStrings.xml); a workbook has one",
                tables.len()
            ),
        ));
    }
    for i in tables {
        let entry = archive
            .by_index(i)
            .map_err(|e| broken(display, format!("entry {i}: {e}")))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let size = entry.size();
        let cap = limits.max_unzipped / 4;
        if size > cap {
            return Err(SheetError::TooLarge {
                path: display.to_string(),
                message: format!(
                    "its table of texts ({name}) inflates to {}, beyond a quarter of --max-unzipped ({}); if you trust the file, raise --max-unzipped",
                    show_size(size),
                    show_size(cap)
                ),
            });
        }
        // The shortest entry, `<si/>`, takes 5 bytes.
        let Ok(announced) = announced_count(entry) else {
            return Err(broken(
                display,
                format!(
                    "its table of texts ({name}) does not begin with its `sst` element within {}: the file is damaged or built to mislead",
                    show_size(SST_HEAD)
                ),
            ));
        };
        if let Some(n) = announced
            && n > size / 5 + 1
        {
            return Err(broken(
                display,
                format!(
                    "its table of texts ({name}) announces {n} texts but holds {size} bytes, room for at most {}: the file is damaged or built to mislead",
                    size / 5
                ),
            ));
        }
    }
    Ok(())
}

/// The `uniqueCount` of a table of texts' first `sst` element, read as the workbook reader
/// reads it (its XML settings: any quotes, spaces, prefix, comments, even unmatched end tags
/// before it), within the table's first [`SST_HEAD`] bytes (Excel's begins within a hundred).
/// `Err` when no `sst` element begins there, or the XML breaks before it: the reader might
/// still get to an announcement this check did not see.
fn announced_count(entry: impl Read) -> Result<Option<u64>, ()> {
    let mut xml = quick_xml::Reader::from_reader(std::io::BufReader::new(entry.take(SST_HEAD)));
    let config = xml.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf).map_err(|_| ())? {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.local_name().as_ref() == "sst" =>
            {
                for attr in e.attributes().with_checks(false).flatten() {
                    if attr.key.as_ref() == "uniqueCount" {
                        let digits = attr.value.trim().trim_start_matches('+');
                        // Unparsable is no announcement to the reader either; too large for
                        // u64 is an announcement beyond any table.
                        return Ok(
                            if digits.bytes().all(|b| b.is_ascii_digit()) && !digits.is_empty() {
                                Some(digits.parse::<u64>().unwrap_or(u64::MAX))
                            } else {
                                None
                            },
                        );
                    }
                }
                return Ok(None);
            }
            quick_xml::events::Event::Eof => return Err(()),
            _ => {}
        }
    }
}

/// An ODF file's `mimetype` entry (a short text), if it has one.
fn mimetype<R: Read + std::io::Seek>(archive: &mut zip::ZipArchive<R>) -> Option<String> {
    let mut entry = archive.by_name("mimetype").ok()?;
    let mut text = String::new();
    (&mut entry).take(200).read_to_string(&mut text).ok()?;
    Some(text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// An XLSX-like zip whose workbook lives in `folder` with the table of texts `sst`.
    fn xlsx(dir: &Path, folder: &str, sst: &str) -> std::path::PathBuf {
        let path = dir.join("t.xlsx");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        zip.start_file("xl/styles.xml", opts).unwrap();
        zip.write_all(b"<styleSheet/>").unwrap();
        zip.start_file(format!("{folder}/sharedStrings.xml"), opts)
            .unwrap();
        zip.write_all(sst.as_bytes()).unwrap();
        zip.finish().unwrap();
        path
    }

    #[test]
    fn a_table_of_texts_announcing_too_much_is_refused_however_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let comment = format!("<!--{}-->", " ".repeat(8000));
        let lies = [
            (
                "xl",
                "<sst uniqueCount=\"4000000000\"><si><t>a</t></si></sst>".to_string(),
            ),
            (
                "xl",
                "<sst uniqueCount='4000000000'><si><t>a</t></si></sst>".to_string(),
            ),
            (
                "xl",
                "<sst uniqueCount = \"4000000000\"><si/></sst>".to_string(),
            ),
            (
                "xl",
                format!("<?xml version=\"1.0\"?>{comment}<x:sst uniqueCount=\"4000000000\"/>"),
            ),
            (
                "foo",
                "<sst uniqueCount=\"4000000000\"><si/></sst>".to_string(),
            ),
            (
                "xl",
                "<sst uniqueCount=\"99999999999999999999999\"><si/></sst>".to_string(),
            ),
            // The workbook reader does not check end names; neither may this check.
            (
                "xl",
                "<a></b><sst uniqueCount=\"4000000000\"><si/></sst>".to_string(),
            ),
        ];
        for (folder, sst) in lies {
            let path = xlsx(dir.path(), folder, &sst);
            let e = inspect(&path, "t.xlsx", &Limits::default())
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("announces"),
                "{folder}: {}: {e}",
                &sst[..40.min(sst.len())]
            );
        }
        // No `sst` where a table of texts begins: refused, since its reader might find one
        // further on.
        let padded = format!("<!--{}--><sst uniqueCount=\"1\"/>", " ".repeat(2 << 20));
        let e = inspect(
            &xlsx(dir.path(), "xl", &padded),
            "t.xlsx",
            &Limits::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("does not begin with its `sst` element"), "{e}");
        let honest = xlsx(
            dir.path(),
            "xl",
            "<sst count=\"2\" uniqueCount=\"2\"><si><t>a</t></si><si><t>b</t></si></sst>",
        );
        assert_eq!(
            inspect(&honest, "t.xlsx", &Limits::default()).unwrap(),
            Format::Xlsx
        );
    }
}
