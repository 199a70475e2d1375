//! Everything about the API4Partners contract on the client side: its vocabulary
//! ([`contract`]: versions, sections, operations, fields, enum values, field paths), the request
//! models ([`model`]), reading answers ([`envelope`]), the retry policy ([`retry`]), the shared
//! pace of requests ([`throttle`]) and the [`client`].

pub mod client;
pub mod contract;
pub mod envelope;
pub mod model;
pub mod retry;
pub mod throttle;
