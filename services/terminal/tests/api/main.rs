//! The terminal service on real NATS, started by the service kit as its binary is: real PTYs,
//! real shells.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;
mod instances;
mod limits;
mod security;
mod sessions;
