//! All NATS plumbing of Bourse, written once.
//!
//! - [`Bus`]: a connection with the deployment prefix; typed [`Bus::request`] and
//!   [`Bus::publish_event`] (JetStream, `Nats-Msg-Id` = event id).
//! - [`prefix`]: `BOURSE_SUBJECT_PREFIX` applied to subjects, streams and buckets.
//! - [`headers`]: [`RequestContext`] — correlation id, `traceparent`, the acting user — to and
//!   from NATS headers.
//! - [`error`]: the one catalogue of error codes ([`ErrorCode`], each with its HTTP status),
//!   [`ServiceError`] (what a handler answers) and [`BusError`] (what a caller gets).
//! - [`kit`]: the one start path of every service ([`kit::Service`], [`kit::start`],
//!   [`kit::main`]), and [`kit::Launcher`] for lists of services.
//! - [`service`]: ADR-32 services built from contract types, the handlers' state given once,
//!   requests handled concurrently with a bound, failures answered with `Nats-Service-Error` /
//!   `Nats-Service-Error-Code`.
//! - [`kv`]: typed KV buckets ([`Bus::bucket`] for a [`contracts::Bucket`]).
//! - [`discovery`]: `$SRV.PING/INFO/STATS` collection for health pages and the CLI.
//! - [`provision`]: streams and KV buckets from `nats/streams/*.json` and `nats/kv/*.json`.
//! - [`consumer`]: durable pull consumers: ack after success, bounded redelivery, poison parking.
//! - [`outbox`]: the transactional outbox (write in the caller's transaction, relay to JetStream).
//! - [`pg`]: a pool bound to one service's Postgres schema, migrated at start.
//! - [`Clock`]: the time services read, manual in tests.
//! - [`shutdown_on_signal`]: Ctrl-C / SIGTERM to a cancellation token, for every binary.
//!
//! Everything here works on nats-server 2.9.10: async-nats is built without its `server_2_10`+
//! features.

mod args;
mod clock;
mod connection;
pub mod consumer;
pub mod discovery;
pub mod error;
pub mod headers;
pub mod kit;
pub mod kv;
pub mod outbox;
pub mod pg;
pub mod prefix;
pub mod provision;
pub mod service;
mod signal;

pub use args::NatsArgs;
pub use async_nats;
pub use clock::Clock;
pub use connection::{Bus, BusConfig, server_addrs};
pub use error::{BusError, ErrorCode, ServiceError};
pub use headers::{Actor, RequestContext};
pub use prefix::Prefix;
pub use service::{RunningService, ServiceBuilder};
pub use signal::shutdown_on_signal;
