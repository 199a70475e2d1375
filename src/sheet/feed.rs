//! The stream every reader feeds: a reader runs on a thread of its own and pushes raw rows
//! into a [`RowRouter`], which finds the header and hands the data rows on through a [`Feed`]
//! in batches; an [`OpenSheet`] takes them on the other side. Validation starts while the file
//! is still being read, and memory stays flat however long the file is.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};

use super::{
    Cell, ReadOptions, RowNum, SheetError, SheetSelector, SourceInfo, SourceRow, column_letter,
};

/// What the reader thread sends.
pub(crate) enum Message {
    Rows(Vec<SourceRow>),
    Failed(SheetError),
    /// The end of the rows. A stream that stops without it lost its reader (a bug in a
    /// parser): that is reported, never taken for the end of the file.
    Done,
}

pub(crate) const BATCH: usize = 2048;

/// An opened source: its header and a stream of row batches read on another thread.
pub struct OpenSheet {
    pub info: SourceInfo,
    /// Header texts, trimmed; blank headers are `""`.
    pub headers: Vec<String>,
    rx: Receiver<Message>,
    done: bool,
    blank_rows: Arc<AtomicU64>,
    /// Keeps a spooled stdin copy (or a private snapshot) alive while it may be re-read.
    pub(super) spool: Option<Arc<tempfile::NamedTempFile>>,
}

impl OpenSheet {
    /// The next batch of rows; `None` at the end. Blank rows never appear.
    pub fn next_batch(&mut self) -> Option<Result<Vec<SourceRow>, SheetError>> {
        if self.done {
            return None;
        }
        match self.rx.recv() {
            Ok(Message::Rows(rows)) => Some(Ok(rows)),
            Ok(Message::Failed(e)) => {
                self.done = true;
                Some(Err(e))
            }
            Ok(Message::Done) => {
                self.done = true;
                None
            }
            Err(_) => {
                self.done = true;
                Some(Err(SheetError::Broken {
                    path: self.info.display.clone(),
                    format: self.info.format.name(),
                    message: "the reader stopped unexpectedly before the end of the file".into(),
                }))
            }
        }
    }

    /// Blank rows skipped so far (all of them once the stream has ended).
    pub fn blank_rows(&self) -> u64 {
        self.blank_rows.load(Ordering::Relaxed)
    }

    /// The same source again, from the first data row, for a second pass.
    ///
    /// # Errors
    /// As [`super::open`].
    pub fn reopen(&self, options: &ReadOptions) -> Result<OpenSheet, SheetError> {
        let mut opts = options.clone();
        opts.header_row = Some(self.info.header_row.0);
        if let Some(name) = &self.info.sheet {
            opts.sheet = Some(SheetSelector::Name(name.clone()));
        }
        opts.delimiter = self.info.delimiter.or(opts.delimiter);
        if let Some(enc) = self.info.encoding {
            opts.encoding = encoding_rs::Encoding::for_label(enc.as_bytes());
        }
        let mut again = super::open_path(
            &self.info.path,
            &self.info.display,
            &opts,
            Some(self.info.format),
        )?;
        again.spool = self.spool.clone();
        Ok(again)
    }
}

/// The reader thread's end of the stream: it announces the header once, then pushes rows,
/// which are batched, padded to the header's width, and counted when blank.
pub(crate) struct Feed {
    header_tx: Option<SyncSender<HeaderResult>>,
    tx: SyncSender<Message>,
    batch: Vec<SourceRow>,
    blank: Arc<AtomicU64>,
    pending_blank: u64,
    width: usize,
    /// A workbook's sheet (cells have letters users can find), not a delimited file.
    in_workbook: bool,
}

/// The header texts, the header's row and the sheet name, or why there is no header.
pub(crate) type HeaderResult = Result<(Vec<String>, RowNum, Option<String>), SheetError>;

impl Feed {
    /// Announces the header (or the failure to find one); false if reading should stop.
    pub fn header(&mut self, h: HeaderResult) -> bool {
        let ok = h.is_ok();
        if let Ok((headers, _, sheet)) = &h {
            self.width = headers.len();
            self.in_workbook = sheet.is_some();
        }
        if let Some(tx) = self.header_tx.take() {
            let _ = tx.send(h);
        }
        ok
    }

    /// Adds a data row; false when the consumer has gone away and reading should stop.
    pub fn push(&mut self, row: RowNum, mut cells: Vec<Cell>, mut defect: Option<String>) -> bool {
        if cells.iter().all(Cell::is_blank) && defect.is_none() {
            // Counted only once a data row follows: trailing formatted-but-empty rows are not
            // "skipped rows" to a user.
            self.pending_blank += 1;
            return true;
        }
        if self.pending_blank > 0 {
            self.blank
                .fetch_add(std::mem::take(&mut self.pending_blank), Ordering::Relaxed);
        }
        if cells.len() > self.width {
            // Nothing is dropped silently: a value with no header makes the row a problem.
            let last = cells.iter().rposition(|c| !c.is_blank()).unwrap_or(0);
            if last >= self.width && defect.is_none() {
                defect = Some(if self.in_workbook {
                    format!(
                        "cell {}{} holds a value right of the table, whose header ends at column {}; give that column a header or clear the cell",
                        column_letter(last),
                        row,
                        column_letter(self.width.saturating_sub(1))
                    )
                } else {
                    format!(
                        "the row has {} cells but the header has {}; a delimiter or quote may be wrong",
                        last + 1,
                        self.width
                    )
                });
            }
            cells.truncate(self.width);
        }
        cells.resize(self.width, Cell::Empty);
        self.batch.push(SourceRow { row, cells, defect });
        if self.batch.len() >= BATCH {
            let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            return self.tx.send(Message::Rows(full)).is_ok();
        }
        true
    }

    /// Reports an error that ends the stream (after the header).
    pub fn fail(mut self, e: SheetError) {
        if self.header_tx.is_some() {
            self.header(Err(e));
            return;
        }
        self.flush();
        let _ = self.tx.send(Message::Failed(e));
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let rest = std::mem::take(&mut self.batch);
            let _ = self.tx.send(Message::Rows(rest));
        }
    }

    pub fn finish(mut self) {
        self.flush();
        let _ = self.tx.send(Message::Done);
    }
}

struct Started {
    header: HeaderResult,
    rx: Receiver<Message>,
    blank: Arc<AtomicU64>,
}

/// Runs `read` on a reader thread and waits for the header it announces.
fn spawn_reader(read: impl FnOnce(Feed) + Send + 'static) -> Result<Started, SheetError> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Message>(8);
    let (htx, hrx) = std::sync::mpsc::sync_channel::<HeaderResult>(1);
    let blank = Arc::new(AtomicU64::new(0));
    let feed = Feed {
        header_tx: Some(htx),
        tx,
        batch: Vec::with_capacity(BATCH),
        blank: blank.clone(),
        pending_blank: 0,
        in_workbook: false,
        width: 0,
    };
    std::thread::Builder::new()
        .name("leadsheet-reader".into())
        .spawn(move || read(feed))
        .map_err(|source| SheetError::Io {
            path: "(reader thread)".into(),
            source,
        })?;
    let header = hrx.recv().unwrap_or_else(|_| {
        Err(SheetError::Broken {
            path: String::new(),
            format: "spreadsheet",
            message: "the reader stopped before finding a header".into(),
        })
    });
    Ok(Started { header, rx, blank })
}

/// Starts a reader and builds the [`OpenSheet`] once its header is known.
pub(crate) fn start(
    mut info: SourceInfo,
    read: impl FnOnce(Feed) + Send + 'static,
) -> Result<OpenSheet, SheetError> {
    let started = spawn_reader(read)?;
    let (headers, header_row, sheet) = started.header?;
    info.header_row = header_row;
    info.sheet = sheet;
    Ok(OpenSheet {
        info,
        headers,
        rx: started.rx,
        done: false,
        blank_rows: started.blank,
        spool: None,
    })
}

/// Routes a reader's raw rows: rows before the header are dropped, the header is announced,
/// the rest are data. Both readers feed it, so header rules live in one place.
pub(crate) struct RowRouter {
    feed: Feed,
    wanted: Option<u32>,
    found: bool,
    sheet: Option<String>,
    display: String,
}

impl RowRouter {
    pub fn new(feed: Feed, wanted: Option<u32>, sheet: Option<String>, display: &str) -> Self {
        RowRouter {
            feed,
            wanted,
            found: false,
            sheet,
            display: display.to_string(),
        }
    }

    fn sheet_label(&self) -> String {
        self.sheet
            .as_ref()
            .map(|s| format!(", sheet `{s}`"))
            .unwrap_or_default()
    }

    /// Takes the next raw row; false when reading should stop.
    pub fn row(&mut self, row: RowNum, cells: Vec<Cell>, defect: Option<String>) -> bool {
        if self.found {
            return self.feed.push(row, cells, defect);
        }
        let is_header = match self.wanted {
            Some(n) if row.0 < n => return true,
            Some(n) if row.0 > n => {
                // The wanted row was missing entirely (a sparse sheet): it is empty.
                let e = SheetError::BadHeaderRow {
                    path: self.display.clone(),
                    sheet: self.sheet_label(),
                    row: n,
                };
                self.feed.header(Err(e));
                return false;
            }
            Some(_) => true,
            None => !cells.iter().all(Cell::is_blank),
        };
        if !is_header {
            return true;
        }
        let headers = header_texts(&cells);
        if headers.is_empty() {
            let e = SheetError::BadHeaderRow {
                path: self.display.clone(),
                sheet: self.sheet_label(),
                row: row.0,
            };
            self.feed.header(Err(e));
            return false;
        }
        self.found = true;
        self.feed.header(Ok((headers, row, self.sheet.clone())))
    }

    pub fn fail(self, e: SheetError) {
        self.feed.fail(e);
    }

    pub fn header_found(&self) -> bool {
        self.found
    }

    pub fn header_width(&self) -> Option<usize> {
        self.found.then_some(self.feed.width)
    }

    pub fn finish(mut self) {
        if !self.found {
            let e = match self.wanted {
                Some(row) => SheetError::BadHeaderRow {
                    path: self.display.clone(),
                    sheet: self.sheet_label(),
                    row,
                },
                None => SheetError::NoHeader {
                    path: self.display.clone(),
                    sheet: self.sheet_label(),
                },
            };
            self.feed.header(Err(e));
            return;
        }
        self.feed.finish();
    }
}

/// The header texts of a row, trimmed, without trailing blank cells.
pub(crate) fn header_texts(cells: &[Cell]) -> Vec<String> {
    let mut out: Vec<String> = cells
        .iter()
        .map(|c| c.to_text().trim().to_string())
        .collect();
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}
