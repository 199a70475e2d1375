//! The sales portfolio, every item of it: paged with skip/top until `estimatedSearchCount` is
//! reached, a page comes back empty, or a page brings nothing new (REFERENCE.md §4.5). A short
//! page before the count does not end it: a gateway may serve fewer items than `top` asks for.
//! A page that fails after retries stops the run, and nothing is written: a catalogue with a
//! silent gap would be worse than none.

use std::collections::HashSet;

use serde_json::Value;

use super::ExportError;
use crate::api::client::{CallError, Client, Report};
use crate::api::contract::PORTFOLIO_ITEM_FIELDS;
use crate::terminal::Progress;

/// The whole catalogue as served.
#[derive(Debug, Default)]
pub struct Portfolio {
    /// Distinct items (by `salesPortfolioId`), in the order served.
    pub items: Vec<Value>,
    /// Fields the contract does not list, in the order first seen.
    pub extra_fields: Vec<String>,
    pub pages: usize,
    /// The first page's `estimatedSearchCount`.
    pub estimate: Option<u64>,
}

impl Portfolio {
    /// The columns: the contract's fields, then any other the server sent.
    pub fn headers(&self) -> Vec<String> {
        PORTFOLIO_ITEM_FIELDS
            .iter()
            .map(|s| s.to_string())
            .chain(self.extra_fields.iter().cloned())
            .collect()
    }
}

/// A value of an item as text.
pub fn item_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => if *b { "TRUE" } else { "FALSE" }.into(),
        Some(other) => other.to_string(),
    }
}

/// Fetches every page, `page_size` items at a time. `new_progress` makes the progress once the
/// first page says how many items to expect.
///
/// # Errors
/// [`ExportError::Key`] when 3DS refuses the key, [`ExportError::Portfolio`] when a page fails
/// after retries.
pub async fn fetch(
    client: &Client,
    page_size: usize,
    mut new_progress: impl FnMut(u64) -> Progress,
) -> Result<Portfolio, ExportError> {
    let mut out = Portfolio::default();
    let mut seen = HashSet::new();
    let mut skip = 0usize;
    let mut progress: Option<Progress> = None;
    loop {
        let mut report = Report::default();
        let (page, count) = match client.portfolio(skip, page_size, &mut report).await {
            Ok(p) => p,
            Err(CallError::StopRun(f)) => {
                return Err(ExportError::Key {
                    status: f.status,
                    message: f.message,
                });
            }
            Err(e) => {
                return Err(ExportError::Portfolio {
                    skip,
                    message: e.message(),
                    trace_id: report.trace_id,
                });
            }
        };
        out.pages += 1;
        if progress.is_none() {
            out.estimate = count;
            progress = Some(new_progress(count.unwrap_or(0)));
        }
        let n = page.len();
        let mut new = 0;
        for item in page {
            let id = item_text(item.get("salesPortfolioId"));
            if !id.is_empty() && !seen.insert(id) {
                continue;
            }
            if let Some(o) = item.as_object() {
                for k in o.keys() {
                    if !PORTFOLIO_ITEM_FIELDS.contains(&k.as_str()) && !out.extra_fields.contains(k)
                    {
                        out.extra_fields.push(k.clone());
                    }
                }
            }
            out.items.push(item);
            new += 1;
        }
        if let Some(p) = progress.as_mut() {
            p.advance(new as u64, false);
        }
        skip += n;
        // Without a count, paging goes on to a short page.
        let reached = match out.estimate {
            Some(e) => skip as u64 >= e,
            None => n < page_size,
        };
        if n == 0 || new == 0 || reached {
            break;
        }
    }
    if let Some(p) = &progress {
        p.finish();
    }
    Ok(out)
}
