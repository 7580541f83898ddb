//! The portfolio arithmetic, pure: activities and daily closes in; positions, performance, the
//! daily value series, TWR and IRR out. No IO, no clock: the portfolio service, the valuation
//! worker and replay tooling all compute with it, so they cannot disagree.
//!
//! The method is average cost ("return on average investment"):
//!
//! - per symbol, in date order (activities of one day in the order they were recorded): a BUY
//!   adds `quantity × unit_price` to the investment; a SELL removes `quantity × average_price`
//!   (`average_price = investment / quantity`) and realizes `(unit_price − average_price) ×
//!   quantity`; when the quantity reaches zero the investment resets to zero. Fees never enter
//!   investment or average price.
//! - `gross = value − investment + realized`; `net = gross − fees` (FEE activities included).
//!   Dividends are reported, not performance.
//! - A day's value takes each symbol's last daily close on or before it, else the unit price of
//!   its last BUY/SELL on or before it; a quote newer than the last close counts as the close of
//!   its day.
//!
//! Modules:
//! - [`history`]: [`Activity`] and [`History`] (sorted, checked: no SELL sells more than held).
//! - [`prices`]: [`PriceBook`], daily closes and quotes per symbol.
//! - [`holding`]: one symbol's running state, the average-cost rules above.
//! - [`walk`]: the day-by-day walk every figure comes from.
//! - [`performance`]: [`performance()`], [`positions`], time-weighted investment, ranges.
//! - [`returns`]: TWR (Portfolio Performance's TTWROR) and IRR.
//! - [`series`]: the daily series for charts.
//! - [`valuation`]: holdings marked to the latest quotes (the valuation worker's figures).

pub mod history;
pub mod holding;
pub mod performance;
pub mod prices;
pub mod returns;
pub mod series;
pub mod valuation;
pub mod walk;

pub use history::{Activity, History, LedgerError};
pub use performance::{performance, positions, range_start};
pub use prices::PriceBook;
pub use series::series;
pub use valuation::{Held, Mark, Valuation, valuate};

use rust_decimal::Decimal;

/// Decimal places of every figure the ledger answers: far below a cent, far above noise.
pub const SCALE: u32 = 10;

/// `value` rounded to [`SCALE`], without trailing zeros.
pub(crate) fn rounded(value: Decimal) -> Decimal {
    value.round_dp(SCALE).normalize()
}

/// `numerator / denominator`, 0 when the denominator is 0.
pub(crate) fn ratio(numerator: Decimal, denominator: Decimal) -> Decimal {
    numerator.checked_div(denominator).unwrap_or(Decimal::ZERO)
}
