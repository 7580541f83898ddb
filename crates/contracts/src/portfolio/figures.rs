//! What the portfolio arithmetic (`crates/ledger`) answers: the kinds of activity, the ranges
//! of a performance question, and the figures — positions, performance, the daily series.
//!
//! Rates and percentages are fractions: `0.05` is 5 %.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::market::Ticker;

/// What an activity records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ActivityType {
    /// Shares bought: `quantity × unit_price` enters the investment.
    Buy,
    /// Shares sold at `unit_price`; never more than held at that point of the history.
    Sell,
    /// A dividend of `quantity × unit_price`; reported, not counted as performance.
    Dividend,
    /// A fee on its own (custody, account); its amount is `fee`, it has no symbol.
    Fee,
}

impl ActivityType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "BUY",
            Self::Sell => "SELL",
            Self::Dividend => "DIVIDEND",
            Self::Fee => "FEE",
        }
    }

    /// The type named `raw`, whatever its case.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "BUY" => Some(Self::Buy),
            "SELL" => Some(Self::Sell),
            "DIVIDEND" => Some(Self::Dividend),
            "FEE" => Some(Self::Fee),
            _ => None,
        }
    }
}

/// The span a performance figure covers, ending at `as_of`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, ToSchema,
)]
pub enum PerformanceRange {
    /// `as_of` alone.
    #[serde(rename = "1d")]
    OneDay,
    /// Week to date, from the Monday of `as_of`'s week.
    #[serde(rename = "wtd")]
    WeekToDate,
    /// Month to date, from the first of `as_of`'s month.
    #[serde(rename = "mtd")]
    MonthToDate,
    /// Year to date, from January 1.
    #[serde(rename = "ytd")]
    YearToDate,
    /// From `as_of` minus one year.
    #[serde(rename = "1y")]
    OneYear,
    /// From `as_of` minus five years.
    #[serde(rename = "5y")]
    FiveYears,
    /// Since the first activity.
    #[default]
    #[serde(rename = "max")]
    Max,
}

impl PerformanceRange {
    pub const ALL: [Self; 7] = [
        Self::OneDay,
        Self::WeekToDate,
        Self::MonthToDate,
        Self::YearToDate,
        Self::OneYear,
        Self::FiveYears,
        Self::Max,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OneDay => "1d",
            Self::WeekToDate => "wtd",
            Self::MonthToDate => "mtd",
            Self::YearToDate => "ytd",
            Self::OneYear => "1y",
            Self::FiveYears => "5y",
            Self::Max => "max",
        }
    }
}

/// One symbol's holding at a day, valued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Position {
    pub symbol: Ticker,
    /// Shares held (0 for a position sold in full; it still shows its realized performance).
    #[schema(value_type = String, example = "10")]
    pub quantity: Decimal,
    /// `investment / quantity` (0 when nothing is held).
    #[schema(value_type = String)]
    pub average_price: Decimal,
    /// The cost of the shares held, at their average price (fees excluded).
    #[schema(value_type = String)]
    pub investment: Decimal,
    /// The price the position is valued at: the last daily close on or before the day, else the
    /// last trade price, or today's quote when newer.
    #[schema(value_type = String)]
    pub market_price: Decimal,
    /// `quantity × market_price`.
    #[schema(value_type = String)]
    pub value: Decimal,
    /// `value − investment + realized gains`.
    #[schema(value_type = String)]
    pub gross_performance: Decimal,
    /// `gross_performance − fees`.
    #[schema(value_type = String)]
    pub net_performance: Decimal,
    #[schema(value_type = String)]
    pub fees: Decimal,
    #[schema(value_type = String)]
    pub dividends: Decimal,
}

/// A portfolio's performance at `as_of` over a [`PerformanceRange`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Performance {
    pub as_of: NaiveDate,
    pub range: PerformanceRange,
    /// The first day the range covers (the first activity's day when the range reaches further
    /// back); absent for a portfolio with no activity by `as_of`.
    pub start: Option<NaiveDate>,
    #[schema(value_type = String)]
    pub current_value: Decimal,
    #[schema(value_type = String)]
    pub investment: Decimal,
    /// `current_value − investment + realized gains`, at `as_of`.
    #[schema(value_type = String)]
    pub gross_performance: Decimal,
    /// `gross_performance / time_weighted_investment`.
    #[schema(value_type = String)]
    pub gross_performance_percentage: Decimal,
    /// Gross performance minus fees, at `as_of`, less the same at the close of the day before
    /// the range starts.
    #[schema(value_type = String)]
    pub net_performance: Decimal,
    /// `net_performance / time_weighted_investment`.
    #[schema(value_type = String)]
    pub net_performance_percentage: Decimal,
    /// Every fee up to `as_of`, FEE activities included.
    #[schema(value_type = String)]
    pub fees: Decimal,
    #[schema(value_type = String)]
    pub dividends: Decimal,
    /// Investment weighted by the days it was held, summed over symbols.
    #[schema(value_type = String)]
    pub time_weighted_investment: Decimal,
    /// Time-weighted return over the range (Portfolio Performance's TTWROR).
    #[schema(value_type = String)]
    pub twr: Decimal,
    /// `(1 + twr)^(365 / days) − 1`, for a range of at least 365 days.
    #[schema(value_type = Option<String>)]
    pub twr_annualized: Option<Decimal>,
    /// Money-weighted annual return; absent when the cash flows never change sign.
    #[schema(value_type = Option<String>)]
    pub irr: Option<Decimal>,
    /// Every symbol with an activity by `as_of`, by symbol.
    pub positions: Vec<Position>,
}

/// One day of a portfolio's history, for charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct SeriesPoint {
    pub date: NaiveDate,
    #[schema(value_type = String)]
    pub value: Decimal,
    #[schema(value_type = String)]
    pub investment: Decimal,
    #[schema(value_type = String)]
    pub net_performance: Decimal,
    /// The growth of 1 held from the close before the series' first day:
    /// `Π (1 + r_t)` over its days up to this one.
    #[schema(value_type = String)]
    pub twr_index: Decimal,
}
