//! Pure market logic: no IO, no clock, no NATS, so all of it is unit-tested inline.
//!
//! - [`random_walk`]: the simulated price feed's next price (geometric Brownian motion).
//! - [`history_csv`]: the one rule set for imported daily closes, from CSV text or from JSON.
//! - [`quote`]: a [`contracts::market::Quote`] from a price tick and the previous close.

pub mod history_csv;
pub mod quote;
pub mod random_walk;

pub use history_csv::{CloseProblem, HistoryError, RowRef, parse_history_csv, validate_closes};
pub use quote::quote_from_tick;
pub use random_walk::RandomWalk;
