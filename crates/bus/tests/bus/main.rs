#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod consumer;
mod discovery;
mod fixtures;
mod outbox;
mod provision;
mod reconnect;
mod request;
