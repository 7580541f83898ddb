#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod activities;
mod helpers;
mod outbox;
mod performance;
mod portfolios;
mod trades;
mod transfer;
