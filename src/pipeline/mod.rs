//! An import end to end: [`prepare`] reads, maps and checks every row (the offline half, all
//! that `validate` does); the submission stage sends the valid leads; [`outcome`] records what
//! happened to each lead; the results are written by re-reading the source next to it.

pub mod outcome;
pub mod prepare;
pub mod progress;
pub mod submit;
pub mod unchanged;

pub use outcome::{Detail, Recorder, Status};
pub use prepare::{
    OfflinePlan, PipelineError, Prepared, SpooledLead, prepare, write_requests, write_results,
};
pub use submit::{RunEnd, SubmitSettings, submit};
