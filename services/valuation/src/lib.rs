//! The valuation worker: every portfolio marked to market, live.
//!
//! It keeps an index symbol → holdings of every portfolio (loaded at start from
//! `portfolio.v1.holding.list`, then kept current by the `PORTFOLIO` stream: an activity, a
//! trade or a deleted portfolio refetches or drops that portfolio), the latest price of every
//! symbol (`evt.price.>`, with the previous close from the KV bucket `quotes`), and on each tick
//! revalues the portfolios holding the symbol. Ticks arriving within `--valuation-coalesce` of
//! each other are one revaluation per portfolio. Each valuation is published as
//! `evt.valuation.<portfolio_id>` (`contracts::valuation::PortfolioValued`, stream
//! `VALUATIONS`); the figures come from `ledger::valuate`.
//!
//! Several instances split the work: the portfolios fall into `contracts::valuation::PARTITIONS`
//! partitions, and each instance holds leases on a fair share of them in the KV bucket
//! `valuation_leases` (keys expire 10 s after their last renewal). An instance revalues only the
//! partitions it holds, so no portfolio is published twice for one tick; an instance that takes
//! a partition over revalues all of it at once, so none is missed. When an instance dies its
//! leases expire and the others take them within about 12 s; one that stops gracefully hands
//! them over at once.
//!
//! Owns no database: everything here is derived and rebuilt at start.
//! Answers (service `valuation`): `valuation.v1.status.get`, what the answering instance holds.
//!
//! Modules:
//! - [`config`]: flags and environment.
//! - [`app`]: [`App`], the worker as the kit starts it.
//! - [`leases`]: the partition leases.
//! - [`index`]: holdings by portfolio and by symbol.
//! - [`worker`]: the loop that follows prices and portfolios and publishes valuations.

pub mod app;
pub mod config;
pub mod index;
pub mod leases;
pub mod worker;

pub use app::{App, Status};
pub use config::Config;
