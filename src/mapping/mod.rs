//! Columns → request fields. [`config`] is the mapping file as written, [`resolve`] binds a
//! mapping to a file's headers (the fields themselves are the contract's table,
//! `api::contract`), [`convert`] turns cells into values, and [`assemble`] turns rows into
//! leads.

pub mod assemble;
pub mod config;
pub mod convert;
pub mod resolve;

pub use assemble::{LeadDraft, Origins, RowParts, map_row, unsent_constants};
pub use config::{MappingConfig, MappingError, Mode};
pub use convert::{CLEAR, Conv, Value, date_format, parse_number};
pub use resolve::{ResolveInput, Resolved, normalize_header, resolve};
