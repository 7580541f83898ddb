//! The market service: the symbol catalogue, daily price history, latest quotes and the price
//! feed (a simulated random walk, or Alpha Vantage when an API key is set).
//!
//! Owns: Postgres schema `market` (`migrations/market/`), KV bucket `quotes`.
//! Answers (service `market`): `market.v1.symbol.search|get|create`, `market.v1.quote.get`,
//! `market.v1.history.get|import` — see `contracts::market`.
//! Publishes: `evt.price.<SYMBOL>` (`PriceUpdated`, stream `PRICES`).
//!
//! Modules:
//! - [`config`]: flags and environment.
//! - [`app`]: [`App::build`] / [`App::run_until_stopped`], shared by the binary, `bourse dev`
//!   and the tests.
//! - [`handlers`]: one file per resource.
//! - [`store`]: sqlx queries, one file per table.
//! - [`feed`]: the simulated and Alpha Vantage price feeds.
//! - [`quote_book`]: the `quotes` bucket followed in memory, the fast path of `quote.get`.
//! - [`domain`]: pure logic, no IO: the random walk, the price-history rules, quote building.
//! - [`alpha_vantage`]: the HTTP client for Alpha Vantage, rate-limited to the plan's quota.
//! - [`error`]: [`MarketError`](error::MarketError) and its mapping to the bus catalogue.

pub mod alpha_vantage;
pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod feed;
pub mod handlers;
pub mod quote_book;
pub mod store;

pub use app::{App, AppState};
pub use config::{Config, FeedKind};

/// The Postgres schema this service owns.
pub const SCHEMA: &str = "market";

/// The migrations of [`SCHEMA`].
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/market");
