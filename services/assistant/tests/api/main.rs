//! The assistant on real NATS and Postgres, with the portfolio and market services its tools
//! call; hosted providers faked by local servers speaking their wire formats.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod chat;
mod helpers;
mod organise;
mod providers;
