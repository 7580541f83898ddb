//! Every message Bourse sends over NATS, declared once with its subject.
//!
//! - [`Request`]: a request/reply pair; `SUBJECT` is `<service>.v1.<resource>.<action>`.
//! - [`Event`]: a JetStream event; `SUBJECT_PATTERN` is `evt.<aggregate>.{id}...` and
//!   [`Event::subject`] fills it in for one event.
//! - [`market`]: symbols, quotes, price history and price events.
//! - [`identity`]: users, roles, sessions (access + refresh tokens) and the login audit.
//! - [`gateway`]: the gateway's own health endpoint, so discovery lists the edge too.
//! - [`schema`]: the JSON Schema export behind `schemas/` (`cargo run -p contracts --bin export-schemas`).
//!
//! Subjects here carry no deployment prefix: `bus` prepends `BOURSE_SUBJECT_PREFIX` when it
//! sends. Money and quantities are `rust_decimal::Decimal` (JSON strings), times are RFC 3339
//! UTC, ids are UUIDv7.

pub mod gateway;
pub mod identity;
pub mod market;
pub mod schema;

use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;

/// A request answered by exactly one service over NATS request/reply.
pub trait Request: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static {
    /// `<service>.v1.<resource>.<action>`, without the deployment prefix.
    const SUBJECT: &'static str;
    /// What a successful call answers.
    type Reply: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static;

    /// The ADR-32 endpoint name: the subject after `<service>.v1.`, dots as `_`
    /// (`market.v1.quote.get` -> `quote_get`), which is schema-valid for `$SRV.INFO`.
    fn endpoint_name() -> String {
        let rest = Self::SUBJECT.splitn(3, '.').nth(2).unwrap_or(Self::SUBJECT);
        rest.replace('.', "_")
    }
}

/// An event kept in a JetStream stream.
pub trait Event: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static {
    /// The subject with placeholders, e.g. `evt.price.{symbol}`; documentation and schema file name.
    const SUBJECT_PATTERN: &'static str;
    /// The stream that keeps it (a name under `nats/streams/`).
    const STREAM: &'static str;

    /// The concrete subject of this event, without the deployment prefix.
    fn subject(&self) -> String;
    /// The UUIDv7 that identifies this event; it becomes `Nats-Msg-Id`.
    fn event_id(&self) -> Uuid;

    /// The pattern as a NATS wildcard (`evt.price.*`), for subscriptions and filters.
    fn wildcard() -> String {
        Self::SUBJECT_PATTERN
            .split('.')
            .map(|token| if token.starts_with('{') { "*" } else { token })
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// Checks that `token` can stand as one NATS subject token: non-empty, no `.`, `*`, `>` or
/// whitespace. Ids that are put into subjects go through this first.
pub fn is_subject_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .chars()
            .all(|c| !c.is_whitespace() && c != '.' && c != '*' && c != '>' && !c.is_control())
}

/// A new UUIDv7 (time-ordered), the id format of every aggregate and event.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_name_drops_service_and_version() {
        assert_eq!(market::GetQuote::endpoint_name(), "quote_get");
        assert_eq!(market::SearchSymbols::endpoint_name(), "symbol_search");
    }

    #[test]
    fn wildcard_replaces_placeholders() {
        assert_eq!(market::PriceUpdated::wildcard(), "evt.price.*");
    }

    #[test]
    fn subject_tokens_reject_wildcards_and_dots() {
        assert!(is_subject_token("AAPL"));
        assert!(is_subject_token("BTC-USD"));
        for bad in ["", "A.B", "*", ">", "A B"] {
            assert!(!is_subject_token(bad), "{bad:?}");
        }
    }
}
