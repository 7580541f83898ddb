//! The valuation worker on real NATS and Postgres, with the portfolio and market services it
//! follows, each started by the service kit as its binary is.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;
mod split;
mod ticks;
