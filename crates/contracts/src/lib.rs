//! Every message Bourse sends over NATS, declared once with its subject.
//!
//! - [`Request`]: a request/reply pair; `SUBJECT` is `<service>.v1.<resource>.<action>`.
//! - [`Event`]: a JetStream event; `SUBJECT_PATTERN` is `evt.<aggregate>.{id}...` and
//!   [`Event::subject`] fills it in for one event.
//! - [`Bucket`]: a KV bucket, its name declared next to its key and value types.
//! - [`value`]: rules several messages share ([`Currency`], [`Page`], [`Limit`], [`DateRange`],
//!   [`Secret`]), each a type whose constructor is the one place the rule is written.
//! - [`market`]: symbols, quotes, price history and price events.
//! - [`portfolio`]: portfolios, activities, trades, positions and performance.
//! - [`valuation`]: portfolios marked to market, and the leases that split that work.
//! - [`identity`]: users, roles, sessions (access + refresh tokens) and the login audit.
//! - [`assistant`]: conversations, folders and the events of a streamed reply.
//! - [`terminal`]: PTY sessions routed to the instance that owns them, and their lifecycle events.
//! - [`workspace`]: projects on disk, their files (moved in chunks) and git, and their events.
//! - [`gateway`]: the gateway's own health endpoint, so discovery lists the edge too.
//! - [`schema`]: the JSON Schema export behind `schemas/` (`cargo run -p contracts --bin export-schemas`).
//!
//! Subjects here carry no deployment prefix: `bus` prepends `BOURSE_SUBJECT_PREFIX` when it
//! sends. Money and quantities are `rust_decimal::Decimal` (JSON strings), times are RFC 3339
//! UTC, ids are UUIDv7.

pub mod assistant;
pub mod gateway;
pub mod identity;
pub mod market;
pub mod portfolio;
pub mod schema;
pub mod terminal;
pub mod valuation;
pub mod value;
pub mod workspace;

pub use value::{Currency, DateRange, InvalidValue, Limit, Page, Pagination, Secret};

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

    /// The service that answers: the subject's first token (`market.v1.quote.get` -> `market`),
    /// which is also its ADR-32 name.
    fn service() -> &'static str {
        Self::SUBJECT.split('.').next().unwrap_or(Self::SUBJECT)
    }
}

/// A request about something only one instance holds (a terminal session's PTY): it is sent to
/// `<SUBJECT>.<instance>`, where only that instance answers. Its ids embed the instance.
pub trait Routed: Request {
    /// The instance that holds what the request is about.
    fn instance(&self) -> &str;
    /// What the caller is told when that instance is gone (no responder): `not_found`.
    fn missing(&self) -> String;

    /// The subject this request goes to (unprefixed).
    fn routed_subject(&self) -> String {
        format!("{}.{}", Self::SUBJECT, self.instance())
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

/// A KV bucket: its name (a file under `nats/kv/`, without the deployment prefix), what its
/// keys stand for and what its values are. `bus` gives a typed handle on it.
pub trait Bucket: Send + Sync + 'static {
    const NAME: &'static str;
    type Key: Send + Sync;
    type Value: Serialize + DeserializeOwned + Send + Sync;

    /// The KV key of `key`: it must be a valid KV key (`[-/_=.A-Za-z0-9]+`).
    fn key(key: &Self::Key) -> String;
    /// The inverse of [`Bucket::key`]; `None` for a key this bucket never writes.
    fn parse_key(raw: &str) -> Option<Self::Key>;
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
    fn the_service_is_the_subjects_first_token() {
        assert_eq!(market::GetQuote::service(), "market");
        assert_eq!(identity::Login::service(), "identity");
    }
}
