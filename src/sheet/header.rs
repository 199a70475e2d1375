//! Where the table starts. Without `--header-row`, the first non-blank rows are held until the
//! header is known: the row that holds most of the headers the mapping looks for is the header
//! (a title, a date or notes above the table are then skipped, and a note says so); when none
//! holds any, the first row as wide as most. Both readers feed the router here, so header rules
//! live in one place.

use super::feed::{Feed, Header, Raw};
use super::limits::MAX_COLUMNS;
use super::{Cell, ReadOptions, RowNum, SheetError, clip, normalize_header};

/// How many non-blank rows are looked at to find the header when no `--header-row` is given.
const HEADER_LOOKAHEAD: usize = 12;

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
    /// A long gap among the held rows is held as one blank row; the rows it stands for beyond
    /// that one, by its row number, are counted when it is handed on.
    held_gaps: Vec<(RowNum, u32)>,
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
            held_gaps: Vec::new(),
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

    /// The header's width once it is found: a reader need not build cells beyond it.
    pub fn width(&self) -> Option<usize> {
        if self.found { self.feed.width() } else { None }
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
        // Held rows are few; a long gap among them is held as one row standing for all.
        self.held.push(Raw::new(first, Vec::new()));
        if count > 1 {
            self.held_gaps.push((first, count - 1));
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
        let gaps = std::mem::take(&mut self.held_gaps);
        for raw in rest {
            let row = raw.row;
            if !self.feed.push(raw) {
                return false;
            }
            if let Some((_, more)) = gaps.iter().find(|(r, _)| *r == row) {
                self.feed.push_blank(u64::from(*more));
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
