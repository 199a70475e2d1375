//! The terminal: the progress bar of a run on stderr (rows done of total, rate, ETA, failures so
//! far). It hides itself when stderr is not a terminal (cron, CI, a pipe) and with `--quiet`, so
//! logs stay clean. The layers that do long work (submission, export, portfolio) take a
//! `&mut Progress` and need not know whether anyone is watching.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    failures: u64,
}

impl Progress {
    pub fn new(total: u64, quiet: bool, label: &str) -> Progress {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress {
                bar: None,
                failures: 0,
            };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(&format!(
            "{label} {{bar:30}} {{pos}}/{{len}} rows  {{per_sec}}  ETA {{eta}}  {{msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message("0 failed");
        Progress {
            bar: Some(bar),
            failures: 0,
        }
    }

    /// `rows` more rows are done; `failed` if they did not succeed.
    pub fn advance(&mut self, rows: u64, failed: bool) {
        if failed {
            self.failures += rows;
        }
        if let Some(b) = &self.bar {
            b.inc(rows);
            if failed {
                b.set_message(format!("{} failed", self.failures));
            }
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
