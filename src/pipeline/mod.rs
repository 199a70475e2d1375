//! An import end to end: [`prepare`] reads, maps and checks every row (the offline half, all
//! that `validate` does); the submission stage sends the valid leads; [`outcome`] records what
//! happened to each lead. The results are written by `output::results`, which re-reads the
//! source next to the recorder.

pub mod journal;
pub mod outcome;
pub mod prepare;
pub mod send;
pub mod submit;
pub mod unchanged;

pub use outcome::{ResultRow, Status};
pub use prepare::{OfflinePlan, PipelineError, Prepared, prepare};
pub use submit::{RunEnd, Sending, SubmitSettings, submit};
