//! The market service: the symbol catalogue, daily price history, latest quotes and the price
//! feed (a simulated random walk, or Alpha Vantage when an API key is set).
//!
//! Modules:
//! - [`domain`]: pure logic, no IO: the random walk, the price-history rules, quote building.
//! - [`alpha_vantage`]: the HTTP client for Alpha Vantage, rate-limited to the plan's quota.

pub mod alpha_vantage;
pub mod domain;
