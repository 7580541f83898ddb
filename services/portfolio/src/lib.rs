//! The portfolio service: portfolios, their activities and trades — the money of Bourse.
//! Figures (positions, performance, the daily series) come from the pure `ledger` crate, fed
//! with the activities stored here and the prices market keeps.
//!
//! Owns: Postgres schema `portfolio` (`migrations/portfolio/`): `portfolio.portfolio`,
//! `portfolio.activity`, `portfolio.trade`, `portfolio.outbox`.
//! Answers (service `portfolio`): `portfolio.v1.portfolio.create|list|get|update|delete`,
//! `portfolio.v1.activity.record|list|delete|import|export`, `portfolio.v1.trade.execute|list`,
//! `portfolio.v1.position.list`, `portfolio.v1.performance.get|series` for the user on the
//! request, and `portfolio.v1.holding.list` for other services — see `contracts::portfolio`.
//! Publishes (through the outbox, stream `PORTFOLIO`): `evt.portfolio.<id>.created|updated|
//! deleted|activity_recorded|activity_deleted` and `evt.trade.<portfolio_id>.executed`.
//! Consumes: `evt.identity.user.<id>.deleted` (the user's portfolios go; their events stay),
//! and `evt.price.<SYMBOL>.history_changed` (the symbol's cached closes are dropped).
//! Asks market: `market.v1.history.get` (daily closes), `market.v1.symbol.get|ensure`, and
//! reads the KV bucket `quotes` for latest prices.
//!
//! Every request acts for the user the gateway stamped on it (`Bourse-User-Id`); another
//! user's portfolio answers `not_found`, exactly like one that does not exist.
//!
//! Modules:
//! - [`config`]: flags and environment.
//! - [`app`]: [`App`], the service as the kit starts it; runs the outbox relay and the
//!   user-deletion consumer.
//! - [`handlers`]: one file per resource.
//! - [`desk`]: trades at market, executed in batches (one transaction each).
//! - [`store`]: sqlx queries, one file per table.
//! - [`domain`]: pure rules: activities to the ledger's, Ghostfolio's CSV and JSON formats.
//! - [`market`]: prices and symbols from the market service.
//! - [`error`]: [`PortfolioError`] and its mapping to the bus catalogue.

pub mod app;
pub mod config;
pub mod desk;
pub mod domain;
pub mod error;
pub mod handlers;
pub mod market;
pub mod store;

pub use app::{App, AppState};
pub use config::Config;
pub use error::PortfolioError;

/// The Postgres schema this service owns.
pub const SCHEMA: &str = "portfolio";

/// The migrations of [`SCHEMA`].
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/portfolio");
