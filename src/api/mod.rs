//! Everything about the API4Partners contract on the client side: its vocabulary
//! ([`enums`]), the request models ([`model`]), reading answers ([`envelope`]), the retry
//! policy ([`retry`]), the shared pace of requests ([`throttle`]) and the [`client`].

pub mod client;
pub mod enums;
pub mod envelope;
pub mod model;
pub mod retry;
pub mod throttle;

use enums::ApiVersion;

/// `POST` path of a create.
pub fn create_path(version: ApiVersion) -> String {
    format!("/sales/api4partners/{version}/leads-opportunities")
}

/// `PATCH` (update) and `GET` path of one lead.
pub fn lead_path(version: ApiVersion, ds_id: &str) -> String {
    format!("/sales/api4partners/{version}/leads-opportunities/{ds_id}")
}

/// Search exists only as v0 (REFERENCE.md §0).
pub const SEARCH_PATH: &str = "/sales/api4partners/v0/leads-opportunities/search";

/// Portfolio search exists only as v0.
pub const PORTFOLIO_PATH: &str = "/sales/api4partners/v0/portfolio-items/search";
