//! Everything about the API4Partners contract on the client side: its vocabulary
//! ([`enums`]), and later the request models, the client, error parsing and retries.

pub mod enums;
