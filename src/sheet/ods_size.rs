//! How many cells an ODS file becomes. The ODS reader builds every sheet whole, and ODS can
//! say "this cell, 16,384 times across, a million rows down" in a few bytes: a file of a few
//! kilobytes that would fill gigabytes. Before it is read, `content.xml` is scanned (streamed,
//! nothing kept) for the area each table's non-empty cells span, and a file beyond
//! [`MAX_ODS_CELLS`] is refused with the way out (XLSX and CSV are streamed).

use std::io::BufReader;
use std::path::Path;

use quick_xml::events::{BytesStart, Event};

use super::SheetError;
use super::limits::{MAX_COLUMNS, MAX_ROWS};

/// Cells an ODS file may span, all its sheets together: about 300 MB once read, a sheet of
/// 250,000 rows × 20 columns.
pub const MAX_ODS_CELLS: u64 = 5_000_000;

fn repeat(e: &BytesStart<'_>, name: &str) -> u64 {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .and_then(|a| a.value.trim().parse().ok())
        .unwrap_or(1)
}

fn has_value(e: &BytesStart<'_>) -> bool {
    e.attributes()
        .flatten()
        .any(|a| a.key.as_ref() == "office:value-type" || a.key.as_ref() == "table:formula")
}

/// The area of one table's non-empty cells, as its reader will hold it.
#[derive(Default)]
struct Table {
    row: u64,
    first_row: Option<u64>,
    last_row: u64,
    last_col: u64,
}

impl Table {
    fn cells(&self) -> u64 {
        match self.first_row {
            Some(first) => (self.last_row - first + 1).saturating_mul(self.last_col),
            None => 0,
        }
    }
}

/// Refuses an ODS file whose sheets span more than [`MAX_ODS_CELLS`].
///
/// # Errors
/// [`SheetError::TooLarge`] with the area found; [`SheetError::Broken`] when `content.xml`
/// cannot be read.
pub fn check(path: &Path, display: &str) -> Result<(), SheetError> {
    let broken = |message: String| SheetError::Broken {
        path: display.to_string(),
        format: "ODS",
        message,
    };
    let file = std::fs::File::open(path).map_err(|source| SheetError::Io {
        path: display.to_string(),
        source,
    })?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| broken(e.to_string()))?;
    let content = zip
        .by_name("content.xml")
        .map_err(|e| broken(format!("content.xml: {e}")))?;
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(content));
    let mut buf = Vec::new();
    let mut total: u64 = 0;
    let mut table = Table::default();
    // The row being read: how often it repeats, how many cells so far, the last with a value.
    let mut row_repeat = 1u64;
    let mut col = 0u64;
    let mut row_last = 0u64;
    let mut in_cell: Option<u64> = None;
    // Elements open: the ODS reader loops for ever on a document that ends inside a table.
    let mut depth = 0usize;
    loop {
        let event = xml
            .read_event_into(&mut buf)
            .map_err(|e| broken(format!("content.xml: {e}")))?;
        match &event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof if depth > 0 => {
                return Err(broken(
                    "its content (content.xml) ends in the middle of a table: the file is cut short or damaged".into(),
                ));
            }
            _ => {}
        }
        match &event {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                "table:table" => table = Table::default(),
                "table:table-row" => {
                    row_repeat = repeat(e, "table:number-rows-repeated");
                    col = 0;
                    row_last = 0;
                    if matches!(event, Event::Empty(_)) {
                        table.row = table
                            .row
                            .saturating_add(row_repeat)
                            .min(u64::from(MAX_ROWS));
                    }
                }
                "table:table-cell" | "table:covered-table-cell" => {
                    let across = repeat(e, "table:number-columns-repeated");
                    let start = col;
                    col = col.saturating_add(across).min(MAX_COLUMNS as u64);
                    if has_value(e) {
                        row_last = col;
                    } else if matches!(event, Event::Start(_)) {
                        // Text without a value type (a plain string cell) decides at its end.
                        in_cell = Some(start);
                    }
                }
                "text:p" | "text:span" if in_cell.is_some() => row_last = col,
                _ => {}
            },
            Event::End(e) => match e.name().as_ref() {
                "table:table-cell" | "table:covered-table-cell" => in_cell = None,
                "table:table-row" => {
                    let first = table.row;
                    table.row = table
                        .row
                        .saturating_add(row_repeat)
                        .min(u64::from(MAX_ROWS));
                    if row_last > 0 {
                        table.first_row.get_or_insert(first);
                        table.last_row = table.row.saturating_sub(1);
                        table.last_col = table.last_col.max(row_last);
                    }
                }
                "table:table" => {
                    total = total.saturating_add(table.cells());
                    table = Table::default();
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        if total.saturating_add(table.cells()) > MAX_ODS_CELLS {
            return Err(SheetError::TooLarge {
                path: display.to_string(),
                message: format!(
                    "its sheets span more than {MAX_ODS_CELLS} cells (rows × columns from the first to the last filled cell); leadsheet reads an ODS file whole and stops there. Save it as .xlsx or CSV (read as a stream, of any length) and import that"
                ),
            });
        }
        buf.clear();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn ods(dir: &Path, body: &str) -> std::path::PathBuf {
        let path = dir.join("t.ods");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        zip.start_file("mimetype", opts).unwrap();
        zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
            .unwrap();
        zip.start_file("content.xml", opts).unwrap();
        write!(
            zip,
            "<office:document-content><office:body><office:spreadsheet><table:table table:name=\"S\">{body}</table:table></office:spreadsheet></office:body></office:document-content>"
        )
        .unwrap();
        zip.finish().unwrap();
        path
    }

    #[test]
    fn a_table_cut_short_is_refused_rather_than_read_for_ever() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.ods");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        zip.start_file("content.xml", opts).unwrap();
        zip.write_all(b"<office:document-content><office:body><office:spreadsheet><table:table table:name=\"S\"><table:table-row><table:table-cell office:value-type=\"string\"><text:p>CRM")
            .unwrap();
        zip.finish().unwrap();
        let e = check(&path, "cut.ods").unwrap_err().to_string();
        assert!(e.contains("cut short"), "{e}");
    }

    #[test]
    fn repeated_cells_count_as_what_they_become() {
        let dir = tempfile::tempdir().unwrap();
        let small = ods(
            dir.path(),
            "<table:table-row><table:table-cell office:value-type=\"string\"><text:p>CRM ID</text:p></table:table-cell></table:table-row>\
             <table:table-row table:number-rows-repeated=\"1048570\"><table:table-cell table:number-columns-repeated=\"1024\"/></table:table-row>",
        );
        check(&small, "small.ods").unwrap();
        let bomb = ods(
            dir.path(),
            "<table:table-row table:number-rows-repeated=\"1000000\"><table:table-cell table:number-columns-repeated=\"16384\" office:value-type=\"float\" office:value=\"1\"/></table:table-row>",
        );
        let e = check(&bomb, "bomb.ods").unwrap_err().to_string();
        assert!(
            e.contains("bomb.ods") && e.contains("Save it as .xlsx"),
            "{e}"
        );
    }
}
