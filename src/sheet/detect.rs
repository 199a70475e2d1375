//! What a file is, by its name and then by its first bytes: a zip is a workbook (ODS names its
//! mimetype first, XLSB lists `xl/workbook.bin` in its central directory, anything else is
//! XLSX), an OLE file is XLS, everything else is delimited text.

use std::path::Path;

use super::{Format, SheetError};

/// Whether the last 64 KiB of a zip (its central directory, which lists every entry's name)
/// hold `name`.
fn zip_tail_names(path: &Path, name: &[u8]) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut tail = Vec::new();
    f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)))
        .and_then(|_| f.read_to_end(&mut tail))
        .is_ok()
        && tail.windows(name.len()).any(|w| w == name)
}

/// By extension first, then by the first bytes (zip: a workbook; OLE: XLS; else text).
pub fn detect_format(path: &Path, display: &str) -> Result<Format, SheetError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "xlsx" | "xlsm" | "xltx" | "xltm" | "xlam" => return Ok(Format::Xlsx),
        "xls" | "xla" => return Ok(Format::Xls),
        "xlsb" => return Ok(Format::Xlsb),
        "ods" => return Ok(Format::Ods),
        "csv" | "tsv" | "txt" | "tab" => return Ok(Format::Delimited),
        _ => {}
    }
    use std::io::Read;
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|source| SheetError::Io {
            path: display.to_string(),
            source,
        })?;
    let head = &head[..n];
    if head.starts_with(b"PK\x03\x04") {
        // A zip: ODS names its mimetype first; everything else is taken as XLSX.
        let mut buf = Vec::new();
        let _ = std::fs::File::open(path).and_then(|f| f.take(200).read_to_end(&mut buf));
        let ods: &[u8] = b"application/vnd.oasis.opendocument.spreadsheet";
        if buf.windows(ods.len()).any(|w| w == ods) {
            return Ok(Format::Ods);
        }
        // XLSB names `xl/workbook.bin` in the zip's central directory, at the end of the file.
        if zip_tail_names(path, b"xl/workbook.bin") {
            return Ok(Format::Xlsb);
        }
        return Ok(Format::Xlsx);
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Ok(Format::Xls);
    }
    Ok(Format::Delimited)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workbooks_without_an_extension_are_known_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&[u8], Format); 4] = [
            (
                b"PK\x03\x04....[Content_Types].xml....PK\x01\x02xl/workbook.bin",
                Format::Xlsb,
            ),
            (
                b"PK\x03\x04....[Content_Types].xml....PK\x01\x02xl/workbook.xml",
                Format::Xlsx,
            ),
            (
                b"PK\x03\x04mimetypeapplication/vnd.oasis.opendocument.spreadsheet",
                Format::Ods,
            ),
            (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", Format::Xls),
        ];
        for (i, (bytes, want)) in cases.iter().enumerate() {
            let path = dir.path().join(format!("upload-{i}"));
            std::fs::write(&path, bytes).unwrap();
            assert_eq!(detect_format(&path, "upload").unwrap(), *want, "case {i}");
        }
    }
}
