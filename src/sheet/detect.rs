//! What a file is, by its bytes first and its name second. People send workbooks with the
//! wrong extension (an XLSX saved as `leads.csv`, a CRM's CSV export named `.xls`), and files
//! that only look like spreadsheets (a web page or an Excel 2003 XML file saved as `.xls`, a
//! PDF): the content decides, the extension only breaks a tie, and a file that is no
//! spreadsheet at all is refused with what it really is and the way out.
//!
//! A zip is looked into before any reader touches it (`zipped`): its entries name the format
//! (ODS, XLSB, XLSX, or a Word document), and their declared sizes bound what reading it can
//! inflate to.

use std::io::Read;
use std::path::Path;

use super::limits::Limits;
use super::{Format, SheetError, zipped};

/// What a file is, and what to tell the user about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    pub format: Format,
    /// Said when the content and the name disagree, or when the text's encoding had to be
    /// guessed from its bytes.
    pub note: Option<String>,
    /// UTF-16 text without a byte-order mark: the pattern of zero bytes says which.
    pub utf16: Option<&'static encoding_rs::Encoding>,
}

/// How many bytes are looked at to tell what a text file is.
pub(super) const SNIFF: usize = 8 * 1024;

fn by_extension(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "xlsx" | "xlsm" | "xltx" | "xltm" | "xlam" => Format::Xlsx,
        "xls" | "xla" | "xlt" => Format::Xls,
        "xlsb" => Format::Xlsb,
        "ods" | "ots" => Format::Ods,
        "csv" | "tsv" | "txt" | "tab" => Format::Delimited,
        _ => return None,
    })
}

fn refused(display: &str, what: &str, advice: &str) -> SheetError {
    SheetError::NotASpreadsheet {
        path: display.to_string(),
        what: what.to_string(),
        advice: advice.to_string(),
    }
}

const SAVE_AS_XLSX: &str =
    "open it in Excel (or LibreOffice) and save it as an Excel workbook (.xlsx) or as CSV";
const NOT_A_TABLE: &str =
    "export the data as .xlsx or CSV from the program that made it, and import that";

/// What a text file that is not delimited data is, by its first bytes: a web page, an Excel
/// 2003 XML spreadsheet, other XML, RTF.
fn markup(head: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let start = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if !start.starts_with('<') {
        return None;
    }
    if text.contains("urn:schemas-microsoft-com:office:spreadsheet")
        || text.contains("progid=\"excel.sheet\"")
    {
        // Excel's own HTML export names the same namespace; a <html> root says which it is.
        if !text.contains("<html") {
            return Some("an Excel 2003 XML spreadsheet (\"XML Spreadsheet 2003\")");
        }
    }
    if text.contains("<html") || text.contains("<!doctype html") || text.contains("<table") {
        return Some("a web page (an HTML table, as some CRMs export \"Excel\" files)");
    }
    // A header such as `<Company>;City` starts with `<` too: XML is a declaration, a comment
    // or a doctype, or a first line with no delimiter in it.
    let first_line = start.lines().next().unwrap_or("");
    let delimited = first_line.contains([',', ';', '\t', '|']);
    (start.starts_with("<?xml") || start.starts_with("<!") || !delimited)
        .then_some("an XML document")
}

/// Binary formats that are not spreadsheets, by their magic bytes.
fn foreign_binary(head: &[u8]) -> Option<&'static str> {
    const KNOWN: [(&[u8], &str); 7] = [
        (b"%PDF-", "a PDF document"),
        (b"\x1f\x8b", "a gzip-compressed file"),
        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
        (b"Rar!\x1a\x07", "a RAR archive"),
        (b"\x89PNG", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"{\\rtf", "an RTF document"),
    ];
    KNOWN
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|(_, what)| *what)
}

/// Text as UTF-16 without a BOM: ASCII characters leave a zero byte in every other place.
fn utf16_without_bom(head: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    if head.len() < 8 {
        return None;
    }
    let pairs = head.len() / 2;
    let zeros_at = |odd: usize| {
        head.chunks_exact(2)
            .filter(|p| p[odd] == 0 && p[1 - odd] != 0)
            .count()
    };
    let (even, odd) = (zeros_at(0), zeros_at(1));
    if odd * 10 >= pairs * 9 {
        Some(encoding_rs::UTF_16LE)
    } else if even * 10 >= pairs * 9 {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}

/// Whether text looks like a delimited table: its first line has a delimiter.
fn looks_delimited(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    text.lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.contains([',', ';', '\t', '|']))
}

/// What a file's first bytes say it is, before anything reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Head {
    /// A zip: XLSX, XLSB, ODS, or something else its entries tell.
    Zip,
    /// An OLE compound file: XLS, unless it holds no workbook (a .doc, an .msg).
    Ole,
    /// Text, UTF-16 without a byte-order mark when `Some`.
    Text(Option<&'static encoding_rs::Encoding>),
}

/// Judges a file's first bytes (`SNIFF` of them, or all it has): the container it is, or its
/// refusal for what it is instead (a PDF, a web page, binary data). One judge for files and
/// for streams (`stream.rs`), which are judged before they are copied.
///
/// # Errors
/// [`SheetError::NotASpreadsheet`] naming what the bytes are, and the way out.
pub(super) fn judge_head(head: &[u8], display: &str) -> Result<Head, SheetError> {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Ok(Head::Zip);
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Ok(Head::Ole);
    }
    if let Some(what) = foreign_binary(head) {
        return Err(refused(display, what, NOT_A_TABLE));
    }
    if let Some(what) = markup(head) {
        return Err(refused(display, what, SAVE_AS_XLSX));
    }
    let bom = encoding_rs::Encoding::for_bom(head);
    let utf16 = bom
        .map(|(e, _)| e)
        .filter(|e| *e != encoding_rs::UTF_8)
        .map_or_else(|| utf16_without_bom(head), |_| None);
    if utf16.is_none() && bom.is_none() && head.contains(&0) {
        return Err(refused(
            display,
            "binary data (it holds zero bytes, which text never does)",
            "check that this is the file you meant: leadsheet reads .xlsx, .xlsm, .xlsb, .xls, .ods and CSV",
        ));
    }
    Ok(Head::Text(utf16))
}

/// A file whose first bytes are text: CSV, unless its name says a workbook and its first line
/// is no table (a damaged workbook, not a CSV misnamed).
fn text(
    head: &[u8],
    named_as: Option<Format>,
    utf16: Option<&'static encoding_rs::Encoding>,
    display: &str,
) -> Result<Detected, SheetError> {
    if let Some(f) = named_as.filter(|f| *f != Format::Delimited)
        && utf16.is_none()
        && !looks_delimited(head)
    {
        return Err(SheetError::Broken {
            path: display.to_string(),
            format: f.name(),
            message: format!(
                "its bytes are neither an {} workbook nor a table of text (damaged, or not the file meant?)",
                f.name()
            ),
        });
    }
    let note = match named_as {
        Some(f) if f != Format::Delimited => Some(format!(
            "it is a text (CSV) file, not an {} workbook as its name says; it is read as CSV",
            f.name()
        )),
        _ => None,
    }
    .or_else(|| {
        utf16.map(|e| {
            format!(
                "it has no byte-order mark, but its bytes are {} text; it is read as such",
                e.name()
            )
        })
    });
    Ok(Detected {
        format: Format::Delimited,
        note,
        utf16,
    })
}

/// What `path` is, by its first bytes (a zip's entries, an OLE signature, markup, magic
/// numbers, zero bytes), the extension breaking ties; `display` names it in messages.
///
/// # Errors
/// [`SheetError::NotASpreadsheet`] for a file that is something else (a PDF, a web page, a
/// Word document, binary data), [`SheetError::Broken`] for a zip that cannot be read,
/// [`SheetError::TooLarge`] for a workbook that would inflate beyond `limits`,
/// [`SheetError::Io`] when it cannot be read.
pub fn detect_format(path: &Path, display: &str, limits: &Limits) -> Result<Detected, SheetError> {
    let io = |source| SheetError::Io {
        path: display.to_string(),
        source,
    };
    let mut head = Vec::with_capacity(SNIFF);
    std::fs::File::open(path)
        .and_then(|f| f.take(SNIFF as u64).read_to_end(&mut head))
        .map_err(io)?;
    let named_as = by_extension(path);
    let found = match judge_head(&head, display)? {
        Head::Zip => zipped::inspect(path, display, limits)?,
        // The XLS reader says so when it holds no workbook, and its error is turned into
        // words there.
        Head::Ole => Format::Xls,
        Head::Text(utf16) => return text(&head, named_as, utf16, display),
    };
    let note = match named_as {
        Some(f) if f != found => Some(format!(
            "it is an {} workbook, not {} as its name says; it is read as {}",
            found.name(),
            if f == Format::Delimited {
                "a text (CSV) file".to_string()
            } else {
                format!("an {}", f.name())
            },
            found.name()
        )),
        _ => None,
    };
    Ok(Detected {
        format: found,
        note,
        utf16: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(dir: &Path, name: &str, bytes: &[u8]) -> Result<Detected, SheetError> {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        detect_format(&path, name, &Limits::default())
    }

    #[test]
    fn text_that_is_not_a_table_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&str, &[u8], &str); 6] = [
            ("a.xls", b"%PDF-1.7\n...", "a PDF document"),
            (
                "b.xls",
                b"<html><body><table><tr><td>CRM ID</td></tr></table>",
                "a web page",
            ),
            (
                "c.xls",
                b"<?xml version=\"1.0\"?>\n<?mso-application progid=\"Excel.Sheet\"?>\n<Workbook xmlns=\"urn:schemas-microsoft-com:office:spreadsheet\">",
                "an Excel 2003 XML spreadsheet",
            ),
            ("d.csv", b"{\\rtf1\\ansi hello}", "an RTF document"),
            ("e.csv", &[0u8; 4096], "binary data"),
            ("f.xlsx", b"\x1f\x8b\x08\x00rest", "gzip"),
        ];
        for (name, bytes, what) in cases {
            let e = detect(dir.path(), name, bytes).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains(what) && msg.contains(name), "{name}: {msg}");
            assert!(msg.contains(".xlsx"), "{name}: {msg}");
        }
    }

    #[test]
    fn a_header_in_angle_brackets_is_a_csv_and_xml_is_xml() {
        let dir = tempfile::tempdir().unwrap();
        let d = detect(dir.path(), "a.csv", b"<Company>;City\nACME;Lyon\n").unwrap();
        assert_eq!(d.format, Format::Delimited);
        for xml in [
            &b"<?xml version=\"1.0\"?><leads/>"[..],
            b"<leads>\n<lead/>\n</leads>",
        ] {
            let e = detect(dir.path(), "b.csv", xml).unwrap_err().to_string();
            assert!(e.contains("an XML document"), "{e}");
        }
    }

    #[test]
    fn a_csv_named_xls_is_read_as_csv_and_said() {
        let dir = tempfile::tempdir().unwrap();
        let d = detect(dir.path(), "export.xls", b"CRM ID;Name\n1;a\n").unwrap();
        assert_eq!(d.format, Format::Delimited);
        assert!(d.note.unwrap().contains("not an XLS workbook"));
        let d = detect(dir.path(), "plain.csv", b"CRM ID;Name\n1;a\n").unwrap();
        assert_eq!(
            d,
            Detected {
                format: Format::Delimited,
                note: None,
                utf16: None
            }
        );
    }

    #[test]
    fn utf16_without_a_bom_is_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let le: Vec<u8> = "CRM ID\tName\r\n1\tMüller\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let d = detect(dir.path(), "u.txt", &le).unwrap();
        assert_eq!(d.utf16, Some(encoding_rs::UTF_16LE));
        let be: Vec<u8> = "CRM ID\tName\r\n1\tx\r\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(
            detect(dir.path(), "u.txt", &be).unwrap().utf16,
            Some(encoding_rs::UTF_16BE)
        );
    }
}
