#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod alpha_vantage;
mod feed;
mod helpers;
mod history;
mod outages;
mod symbols;
