//! The `bourse` binary against real NATS and Postgres (testkit): one test binary, one module per
//! command.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod dev;
mod events;
mod helpers;
mod migrate;
mod svc;
mod user;
