//! The stream every reader feeds: a reader runs on a thread of its own and pushes raw rows
//! into a [`RowRouter`], which finds the header and hands the data rows on through a [`Feed`]
//! in batches; an [`OpenSheet`] takes them on the other side. Validation starts while the file
//! is still being read, and memory stays flat however long the file is.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};

use super::limits::MAX_COLUMNS;
use super::{
    Cell, Detected, ReadOptions, RowNum, SheetError, SheetSelector, SourceInfo, SourceRow,
    column_letter, normalize_header,
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

/// How many non-blank rows are looked at to find the header when no `--header-row` is given.
const HEADER_LOOKAHEAD: usize = 12;

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
}

impl Raw {
    pub fn new(row: RowNum, cells: Vec<Cell>) -> Raw {
        Raw {
            row,
            cells,
            defect: None,
            warning: None,
        }
    }

    fn is_blank(&self) -> bool {
        self.defect.is_none() && self.cells.iter().all(Cell::is_blank)
    }
}

impl Feed {
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
        } = raw;
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
    fn push_blank(&mut self, n: u64) {
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

/// A header the mapping looks for, normalised; `{n}` (numbered groups) matches any number.
#[derive(Debug, Clone)]
struct Expected {
    before: String,
    after: Option<String>,
}

impl Expected {
    fn new(h: &str) -> Expected {
        match h.split_once("{n}") {
            Some((b, a)) => Expected {
                before: normalize_header(b),
                after: Some(normalize_header(a)),
            },
            None => Expected {
                before: normalize_header(h),
                after: None,
            },
        }
    }

    fn matches(&self, header: &str) -> bool {
        match &self.after {
            None => !self.before.is_empty() && header == self.before,
            Some(after) => header
                .strip_prefix(self.before.as_str())
                .and_then(|rest| rest.strip_suffix(after.as_str()))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        }
    }
}

/// Routes a reader's raw rows: rows before the header are dropped, the header is announced,
/// the rest are data. Both readers feed it, so header rules live in one place.
///
/// Without `--header-row`, the first non-blank rows are held until the header is known: the
/// row that holds most of the headers the mapping looks for is the header (a title, a date or
/// notes above the table are then skipped, and a note says so); when none holds any, the first
/// row about as wide as the widest of them.
pub(crate) struct RowRouter {
    feed: Feed,
    wanted: Option<u32>,
    found: bool,
    sheet: Option<String>,
    display: String,
    expected: Vec<Expected>,
    held: Vec<Raw>,
    held_nonblank: usize,
    notes: Vec<String>,
}

impl RowRouter {
    pub fn new(feed: Feed, options: &ReadOptions, sheet: Option<String>, display: &str) -> Self {
        RowRouter {
            feed,
            wanted: options.header_row,
            found: false,
            sheet,
            display: display.to_string(),
            expected: options
                .expected_headers
                .iter()
                .map(|h| Expected::new(h))
                .collect(),
            held: Vec::new(),
            held_nonblank: 0,
            notes: Vec::new(),
        }
    }

    /// A note for the user about how the file was read, announced with the header.
    pub fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    fn sheet_label(&self) -> String {
        self.sheet
            .as_ref()
            .map(|s| format!(", sheet `{s}`"))
            .unwrap_or_default()
    }

    fn bad_header_row(&self, row: u32) -> SheetError {
        SheetError::BadHeaderRow {
            path: self.display.clone(),
            sheet: self.sheet_label(),
            row,
        }
    }

    /// Takes the next raw row; false when reading should stop.
    pub fn row(&mut self, raw: Raw) -> bool {
        if self.found {
            return self.feed.push(raw);
        }
        match self.wanted {
            Some(n) if raw.row.0 < n => true,
            Some(n) if raw.row.0 > n => {
                // The wanted row was missing entirely (a sparse sheet): it is empty.
                let e = self.bad_header_row(n);
                self.feed.header(Err(e));
                false
            }
            Some(_) => self.announce(raw, Vec::new()),
            None => {
                if raw.is_blank() {
                    if self.held_nonblank > 0 {
                        self.held.push(raw);
                    }
                    return true;
                }
                self.held_nonblank += 1;
                self.held.push(raw);
                if self.held_nonblank >= HEADER_LOOKAHEAD {
                    return self.decide();
                }
                true
            }
        }
    }

    /// `count` rows from `first` on hold no cell at all (a gap in a workbook's rows).
    pub fn blank_rows(&mut self, first: RowNum, count: u32) -> bool {
        if count == 0 {
            return true;
        }
        if self.found {
            self.feed.push_blank(u64::from(count));
            return true;
        }
        if let Some(n) = self.wanted {
            if n < first.0 {
                return self.row(Raw::new(first, Vec::new()));
            }
            if n - first.0 < count {
                // The wanted row is one of them: it is empty.
                let e = self.bad_header_row(n);
                self.feed.header(Err(e));
                return false;
            }
            return true;
        }
        if self.held_nonblank == 0 {
            return true;
        }
        // Held rows are few; a long gap among them is kept short, as it changes nothing.
        for i in 0..count.min(2) {
            self.held.push(Raw::new(RowNum(first.0 + i), Vec::new()));
        }
        true
    }

    /// How many of the expected headers `cells` hold.
    fn score(&self, cells: &[Cell]) -> usize {
        let texts: Vec<String> = cells
            .iter()
            .filter(|c| !c.is_blank())
            .map(|c| normalize_header(&c.to_text()))
            .collect();
        self.expected
            .iter()
            .filter(|e| texts.iter().any(|t| e.matches(t)))
            .count()
    }

    /// Picks the header among the held rows, announces it, and hands on the rows after it.
    fn decide(&mut self) -> bool {
        let held = std::mem::take(&mut self.held);
        let nonblank: Vec<usize> = (0..held.len()).filter(|&i| !held[i].is_blank()).collect();
        let Some(&first) = nonblank.first() else {
            return true;
        };
        let scores: Vec<usize> = nonblank
            .iter()
            .map(|&i| self.score(&held[i].cells))
            .collect();
        let best = scores.iter().copied().max().unwrap_or(0);
        let chosen = if best > 0 {
            nonblank[scores.iter().position(|&s| s == best).unwrap_or(0)]
        } else {
            // The first row as wide as most: a title is narrower than the table under it,
            // and one overlong row among the data does not make the header.
            let width = |r: &Raw| r.cells.iter().filter(|c| !c.is_blank()).count();
            let mut widths: Vec<usize> = nonblank.iter().map(|&i| width(&held[i])).collect();
            widths.sort_unstable();
            let typical = widths[widths.len() / 2];
            nonblank
                .iter()
                .copied()
                .find(|&i| width(&held[i]) >= typical)
                .unwrap_or(first)
        };
        let mut notes = Vec::new();
        if chosen != first {
            let above: Vec<String> = nonblank
                .iter()
                .take_while(|&&i| i < chosen)
                .take(3)
                .map(|&i| {
                    let r = &held[i];
                    let text = r
                        .cells
                        .iter()
                        .find(|c| !c.is_blank())
                        .map(|c| c.to_text())
                        .unwrap_or_default();
                    format!("row {}: `{}`", r.row, clip(&text, 40))
                })
                .collect();
            notes.push(format!(
                "the header is row {}; the rows above it look like a title and are not read ({}); --header-row {} says so explicitly",
                held[chosen].row,
                above.join("; "),
                held[chosen].row
            ));
        }
        let mut rest = held.into_iter().skip(chosen);
        let Some(header) = rest.next() else {
            return true;
        };
        if !self.announce(header, notes) {
            return false;
        }
        for raw in rest {
            if !self.feed.push(raw) {
                return false;
            }
        }
        true
    }

    fn announce(&mut self, raw: Raw, mut notes: Vec<String>) -> bool {
        let texts = header_texts(&raw.cells);
        if texts.is_empty() {
            let e = self.bad_header_row(raw.row.0);
            self.feed.header(Err(e));
            return false;
        }
        if texts.len() > MAX_COLUMNS {
            let e = SheetError::Broken {
                path: self.display.clone(),
                format: if self.sheet.is_some() {
                    "workbook"
                } else {
                    "CSV"
                },
                message: format!(
                    "its header (row {}) has {} columns; a sheet has at most {MAX_COLUMNS}",
                    raw.row,
                    texts.len()
                ),
            };
            self.feed.header(Err(e));
            return false;
        }
        self.found = true;
        let mut all = std::mem::take(&mut self.notes);
        all.append(&mut notes);
        self.feed.header(Ok(Header {
            texts,
            row: raw.row,
            sheet: self.sheet.clone(),
            notes: all,
        }))
    }

    pub fn fail(self, e: SheetError) {
        self.feed.fail(e);
    }

    pub fn finish(mut self) {
        if !self.found && !self.held.is_empty() && !self.decide() {
            return;
        }
        if !self.found {
            let e = match self.wanted {
                Some(row) => self.bad_header_row(row),
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

/// `text` cut to `n` characters, with an ellipsis when cut.
fn clip(text: &str, n: usize) -> String {
    let mut out: String = text.chars().take(n).collect();
    if text.chars().count() > n {
        out.push('…');
    }
    out
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
