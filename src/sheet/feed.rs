//! The stream every reader feeds: a reader runs on a thread of its own and pushes raw rows
//! into a `RowRouter` (`header.rs`), which finds the header and hands the data rows on
//! through a [`Feed`] in batches; an [`OpenSheet`] takes them on the other side. Validation
//! starts while the file is still being read, and memory stays flat however long the file is.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};

use super::{
    Cell, Detected, ReadOptions, RowNum, SheetError, SheetSelector, SourceInfo, SourceRow,
    column_letter,
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

/// A batch is also sent once it holds this many cells, so that wide rows (a sheet 16,384
/// columns wide) do not make a batch of gigabytes.
const BATCH_CELLS: usize = 1 << 18;

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
            Some(Detected {
                format: self.info.format,
                note: None,
                utf16: None,
            }),
        )?;
        again.spool = self.spool.clone();
        Ok(again)
    }
}

/// The reader thread's end of the stream: it announces the header once, then pushes rows,
/// which are batched, padded to the header's width, and counted when blank.
pub(crate) struct Feed {
    header_tx: Option<SyncSender<HeaderResult>>,
    /// Set once the header (or its failure) is sent: a reader that fails later says so among
    /// the rows.
    announced: Arc<std::sync::atomic::AtomicBool>,
    tx: SyncSender<Message>,
    batch: Vec<SourceRow>,
    batch_cells: usize,
    blank: Arc<AtomicU64>,
    pending_blank: u64,
    width: usize,
    /// A workbook's sheet (cells have letters users can find), not a delimited file.
    in_workbook: bool,
}

/// The header as found: its texts, its row, the sheet, and what the user should know about
/// how it was found.
pub(crate) struct Header {
    pub texts: Vec<String>,
    pub row: RowNum,
    pub sheet: Option<String>,
    pub notes: Vec<String>,
}

/// The header, or why there is none.
pub(crate) type HeaderResult = Result<Header, SheetError>;

/// One raw row as a reader gives it: its cells, and what is wrong with it (`defect`: the row
/// cannot be used) or worth a look (`warning`).
pub(crate) struct Raw {
    pub row: RowNum,
    pub cells: Vec<Cell>,
    pub defect: Option<String>,
    pub warning: Option<String>,
    /// The rightmost column (0-based) holding a value the reader did not put in `cells`
    /// because it lies right of the table (a sparse sheet's cell at column XFD): no row of
    /// 16,384 cells is built for one stray value, and the row still gets its defect.
    pub far: Option<usize>,
}

impl Raw {
    pub fn new(row: RowNum, cells: Vec<Cell>) -> Raw {
        Raw {
            row,
            cells,
            defect: None,
            warning: None,
            far: None,
        }
    }

    pub(super) fn is_blank(&self) -> bool {
        self.defect.is_none() && self.far.is_none() && self.cells.iter().all(Cell::is_blank)
    }
}

impl Feed {
    /// The header's width, once it is announced.
    pub(super) fn width(&self) -> Option<usize> {
        self.header_tx.is_none().then_some(self.width)
    }

    /// Announces the header (or the failure to find one); false if reading should stop.
    pub fn header(&mut self, h: HeaderResult) -> bool {
        let ok = h.is_ok();
        if let Ok(header) = &h {
            self.width = header.texts.len();
            self.in_workbook = header.sheet.is_some();
        }
        if let Some(tx) = self.header_tx.take() {
            let _ = tx.send(h);
            self.announced.store(true, Ordering::Release);
        }
        ok
    }

    /// Adds a data row; false when the consumer has gone away and reading should stop.
    pub fn push(&mut self, raw: Raw) -> bool {
        if raw.is_blank() {
            // Counted only once a data row follows: trailing formatted-but-empty rows are not
            // "skipped rows" to a user.
            self.pending_blank += 1;
            return true;
        }
        let Raw {
            row,
            mut cells,
            mut defect,
            warning,
            far,
        } = raw;
        if self.pending_blank > 0 {
            self.blank
                .fetch_add(std::mem::take(&mut self.pending_blank), Ordering::Relaxed);
        }
        if cells.len() > self.width || far.is_some() {
            // Nothing is dropped silently: a value with no header makes the row a problem.
            let last = cells
                .iter()
                .rposition(|c| !c.is_blank())
                .unwrap_or(0)
                .max(far.unwrap_or(0));
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
        } else if cells.len() < self.width && !self.in_workbook && defect.is_none() {
            // A workbook leaves trailing empty cells out; a CSV row always has them all.
            defect = Some(format!(
                "the row has {} cells but the header has {}; a delimiter or quote may be missing",
                cells.len(),
                self.width
            ));
        }
        cells.resize(self.width, Cell::Empty);
        self.batch_cells += cells.len();
        self.batch.push(SourceRow {
            row,
            cells,
            defect,
            warning,
        });
        if self.batch.len() >= BATCH || self.batch_cells >= BATCH_CELLS {
            self.batch_cells = 0;
            let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            return self.tx.send(Message::Rows(full)).is_ok();
        }
        true
    }

    /// Counts `n` rows without a single cell (a gap in a workbook), without a row each.
    pub(super) fn push_blank(&mut self, n: u64) {
        self.pending_blank += n;
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

/// The message of a reader that panicked (a parser bug on a file it does not expect): the
/// file is reported unreadable, with the parser's words, rather than the process dying.
fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "an unexpected failure".to_string())
}

thread_local! {
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, catching a panic without the panic message on stderr (the caller reports it in
/// words of its own). Other threads' panics are printed as before.
fn quietly<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result
}

/// Runs `read` on a reader thread and waits for the header it announces.
fn spawn_reader(
    format: &'static str,
    display: &str,
    read: impl FnOnce(Feed) + Send + 'static,
) -> Result<Started, SheetError> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Message>(8);
    let (htx, hrx) = std::sync::mpsc::sync_channel::<HeaderResult>(1);
    let blank = Arc::new(AtomicU64::new(0));
    let feed = Feed {
        header_tx: Some(htx.clone()),
        announced: Arc::default(),
        tx: tx.clone(),
        batch: Vec::with_capacity(BATCH),
        batch_cells: 0,
        blank: blank.clone(),
        pending_blank: 0,
        in_workbook: false,
        width: 0,
    };
    let path = display.to_string();
    let announced = feed.announced.clone();
    std::thread::Builder::new()
        .name("leadsheet-reader".into())
        .spawn(move || {
            if let Err(p) = quietly(|| read(feed)) {
                let e = SheetError::Broken {
                    path,
                    format,
                    message: format!(
                        "the {format} reader cannot handle something in it ({}); the file may be damaged: open it in Excel and save it again",
                        panic_text(&*p)
                    ),
                };
                // Wherever the reader had got to: before the header, or among the rows.
                if announced.load(Ordering::Acquire) {
                    let _ = tx.send(Message::Failed(e));
                } else {
                    let _ = htx.send(Err(e));
                }
            }
        })
        .map_err(|source| SheetError::Io {
            path: "(reader thread)".into(),
            source,
        })?;
    let header = hrx.recv().unwrap_or_else(|_| {
        Err(SheetError::Broken {
            path: display.to_string(),
            format,
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
    let started = spawn_reader(info.format.name(), &info.display, read)?;
    let header = started.header?;
    info.header_row = header.row;
    info.sheet = header.sheet;
    info.notes.extend(header.notes);
    Ok(OpenSheet {
        info,
        headers: header.texts,
        rx: started.rx,
        done: false,
        blank_rows: started.blank,
        spool: None,
    })
}
