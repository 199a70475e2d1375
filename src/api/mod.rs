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
/// The id is percent-encoded: a cell holding `ABC#1` or `a/b` must not address another path.
pub fn lead_path(version: ApiVersion, ds_id: &str) -> String {
    let id = percent_encoding::utf8_percent_encode(ds_id, PATH_SEGMENT);
    format!("/sales/api4partners/{version}/leads-opportunities/{id}")
}

/// Everything but RFC 3986's unreserved characters is encoded in a path segment, and so is
/// `.`, so that an id `..` cannot address the parent path.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'~');

/// Search exists only as v0 (REFERENCE.md §0).
pub const SEARCH_PATH: &str = "/sales/api4partners/v0/leads-opportunities/search";

/// Portfolio search exists only as v0.
pub const PORTFOLIO_PATH: &str = "/sales/api4partners/v0/portfolio-items/search";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_one_path_segment() {
        assert_eq!(
            lead_path(ApiVersion::V1, "9YEL-Y3W56Q"),
            "/sales/api4partners/v1/leads-opportunities/9YEL-Y3W56Q"
        );
        assert!(lead_path(ApiVersion::V1, "a/b#c").ends_with("/a%2Fb%23c"));
        assert!(lead_path(ApiVersion::V1, "..").ends_with("/%2E%2E"));
    }
}
