//! The size an XLS file declares for its sheets, checked before it is read. The XLS reader
//! reserves room for every cell a sheet's DIMENSIONS record announces, and those are numbers a
//! file can make up: four billion rows would ask for terabytes at once, and a failed
//! allocation ends a process without a word. The records are scanned (their headers only) for
//! dimensions beyond what XLS allows (65,536 rows, 256 columns), which only a damaged or
//! hostile file has.

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::SheetError;

/// XLS (BIFF8) sheets have at most 65,536 rows and 256 columns.
const XLS_ROWS: u32 = 65_536;
const XLS_COLUMNS: u32 = 256;

/// DIMENSIONS (MS-XLS 2.4.90).
const DIMENSIONS: u16 = 0x0200;

/// Refuses an XLS file whose sheets declare more than XLS allows, and an OLE file that holds
/// no workbook (a Word document, an Outlook message).
///
/// # Errors
/// [`SheetError::NotASpreadsheet`], [`SheetError::Broken`].
pub fn check(path: &Path, display: &str) -> Result<(), SheetError> {
    let broken = |message: String| SheetError::Broken {
        path: display.to_string(),
        format: "XLS",
        message,
    };
    let mut file = cfb::open(path).map_err(|e| broken(format!("its OLE container: {e}")))?;
    let Some(name) = ["/Workbook", "/Book"]
        .into_iter()
        .find(|n| file.is_stream(n))
    else {
        return Err(SheetError::NotASpreadsheet {
            path: display.to_string(),
            what:
                "an Office file that holds no Excel workbook (a Word .doc or an Outlook message?)"
                    .into(),
            advice: "open the spreadsheet you meant in Excel and save it as .xlsx".into(),
        });
    };
    let stream = file
        .open_stream(name)
        .map_err(|e| broken(format!("its workbook stream: {e}")))?;
    let mut records = BufReader::new(stream);
    let mut header = [0u8; 4];
    loop {
        match records.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(broken(e.to_string())),
        }
        let kind = u16::from_le_bytes([header[0], header[1]]);
        let len = u16::from_le_bytes([header[2], header[3]]);
        // BIFF8 writes 14 bytes (some writers 16), BIFF5 and some BIFF8 writers 10 (16-bit
        // rows): the XLS reader takes all three, so all three are checked.
        if kind != DIMENSIONS || !matches!(len, 10 | 14 | 16) {
            records
                .seek(SeekFrom::Current(i64::from(len)))
                .map_err(|e| broken(e.to_string()))?;
            continue;
        }
        let mut data = [0u8; 16];
        records
            .read_exact(&mut data[..usize::from(len)])
            .map_err(|e| broken(e.to_string()))?;
        let u16_at = |i: usize| u32::from(u16::from_le_bytes([data[i], data[i + 1]]));
        let u32_at =
            |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
        // Rows `first_row..last_row` (the last one past the end), columns up to `last_col`.
        let (first_row, last_row, last_col) = if len == 10 {
            (u16_at(0), u16_at(2), u16_at(6))
        } else {
            (u32_at(0), u32_at(4), u16_at(10))
        };
        if last_row > XLS_ROWS || last_col > XLS_COLUMNS {
            return Err(broken(format!(
                "a sheet declares rows {first_row} to {last_row} and {last_col} columns, beyond what an XLS sheet can hold ({XLS_ROWS} rows, {XLS_COLUMNS} columns): the file is damaged or built to mislead"
            )));
        }
        // A last row at or before the first one makes the reader's row count wrap around to
        // four billion.
        if last_row >= 1 && last_row <= first_row {
            return Err(broken(format!(
                "a sheet declares rows that end (row {last_row}) before they start (row {}): the file is damaged or built to mislead",
                first_row + 1
            )));
        }
    }
}
