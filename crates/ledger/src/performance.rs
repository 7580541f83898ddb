//! A portfolio's performance at a day over a range, and its positions.
//!
//! - A range starts on `as_of` (1d), the Monday of its week (wtd), the first of its month (mtd),
//!   January 1 (ytd), one or five years before it (1y, 5y), or at the first activity (max). A
//!   range reaching further back than the first activity starts there: a portfolio has no
//!   returns before it exists.
//! - `net_performance` is the net performance at `as_of` minus that at the close of the day
//!   before the range starts (0 before the first activity); every other amount is at `as_of`.
//! - `time_weighted_investment`, per symbol: `Σ (investment × days held) / Σ days` over the
//!   intervals between consecutive activity days and `as_of` during which something was held;
//!   the portfolio's is the sum over symbols. Percentages divide by it (0 when it is 0).

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use contracts::{
    market::Ticker,
    portfolio::{Performance, PerformanceRange, Position},
};
use rust_decimal::Decimal;

use crate::{
    history::{Activity, History},
    holding::Holding,
    prices::PriceBook,
    ratio,
    returns::Returns,
    rounded,
    walk::Walk,
};

/// The first day `range` covers when it ends on `as_of`; None for `max` (the first activity).
pub fn range_start(range: PerformanceRange, as_of: NaiveDate) -> Option<NaiveDate> {
    match range {
        PerformanceRange::OneDay => Some(as_of),
        PerformanceRange::WeekToDate => {
            let back = u64::from(as_of.weekday().num_days_from_monday());
            as_of.checked_sub_days(chrono::Days::new(back))
        }
        PerformanceRange::MonthToDate => as_of.with_day(1),
        PerformanceRange::YearToDate => NaiveDate::from_ymd_opt(as_of.year(), 1, 1),
        PerformanceRange::OneYear => as_of.checked_sub_months(Months::new(12)),
        PerformanceRange::FiveYears => as_of.checked_sub_months(Months::new(60)),
        PerformanceRange::Max => None,
    }
}

/// The performance of `history` at the close of `as_of` over `range`, valued with `prices`.
pub fn performance(
    history: &History,
    prices: &PriceBook,
    as_of: NaiveDate,
    range: PerformanceRange,
) -> Performance {
    let Some(first) = history.first_date().filter(|first| *first <= as_of) else {
        return nothing_yet(as_of, range);
    };
    let start = range_start(range, as_of).map_or(first, |start| start.max(first));
    let mut walk = Walk::new(history, prices, start.pred_opt().unwrap_or(start));
    let opening = walk.next_day();
    let mut returns = Returns::new(&opening);
    let mut closing = opening;
    while closing.date < as_of {
        closing = walk.next_day();
        returns.add(&closing);
    }
    let positions = valued(walk.holdings());
    let twi = time_weighted_investment(history.until(as_of), as_of);
    let gross = closing.gross();
    let net = closing.net() - opening.net();
    Performance {
        as_of,
        range,
        start: Some(start),
        current_value: rounded(closing.value),
        investment: rounded(closing.investment),
        gross_performance: rounded(gross),
        gross_performance_percentage: rounded(ratio(gross, twi)),
        net_performance: rounded(net),
        net_performance_percentage: rounded(ratio(net, twi)),
        fees: rounded(closing.fees),
        dividends: rounded(closing.dividends),
        time_weighted_investment: rounded(twi),
        twr: rounded(returns.twr()),
        twr_annualized: returns.twr_annualized().map(rounded),
        irr: returns.irr(&closing),
        positions,
    }
}

/// The positions held at the close of `as_of` (quantity above 0), by symbol.
pub fn positions(history: &History, prices: &PriceBook, as_of: NaiveDate) -> Vec<Position> {
    let mut walk = Walk::new(history, prices, as_of);
    walk.next_day();
    let mut positions = valued(walk.holdings());
    positions.retain(|position| !position.quantity.is_zero());
    positions
}

fn nothing_yet(as_of: NaiveDate, range: PerformanceRange) -> Performance {
    Performance {
        as_of,
        range,
        start: None,
        current_value: Decimal::ZERO,
        investment: Decimal::ZERO,
        gross_performance: Decimal::ZERO,
        gross_performance_percentage: Decimal::ZERO,
        net_performance: Decimal::ZERO,
        net_performance_percentage: Decimal::ZERO,
        fees: Decimal::ZERO,
        dividends: Decimal::ZERO,
        time_weighted_investment: Decimal::ZERO,
        twr: Decimal::ZERO,
        twr_annualized: None,
        irr: None,
        positions: Vec::new(),
    }
}

fn valued(holdings: Vec<(&Ticker, Holding, Decimal)>) -> Vec<Position> {
    holdings
        .into_iter()
        .map(|(symbol, holding, price)| {
            let gross = holding.gross(price);
            Position {
                symbol: symbol.clone(),
                quantity: rounded(holding.quantity),
                average_price: rounded(holding.average_price()),
                investment: rounded(holding.investment),
                market_price: rounded(price),
                value: rounded(holding.quantity * price),
                gross_performance: rounded(gross),
                net_performance: rounded(gross - holding.fees),
                fees: rounded(holding.fees),
                dividends: rounded(holding.dividends),
            }
        })
        .collect()
}

/// The sum over symbols of each one's investment weighted by the days it was held.
fn time_weighted_investment(activities: &[Activity], as_of: NaiveDate) -> Decimal {
    let mut by_symbol: BTreeMap<&Ticker, Vec<&Activity>> = BTreeMap::new();
    for activity in activities {
        if let Some(symbol) = &activity.symbol {
            by_symbol.entry(symbol).or_default().push(activity);
        }
    }
    by_symbol
        .values()
        .map(|activities| symbol_twi(activities, as_of))
        .sum()
}

fn symbol_twi(activities: &[&Activity], as_of: NaiveDate) -> Decimal {
    let mut holding = Holding::default();
    let (mut weighted, mut days) = (Decimal::ZERO, Decimal::ZERO);
    let mut at = 0;
    while at < activities.len() {
        let date = activities[at].date;
        while at < activities.len() && activities[at].date == date {
            holding.apply(activities[at]);
            at += 1;
        }
        let until = activities.get(at).map_or(as_of, |next| next.date);
        let held = Decimal::from((until - date).num_days());
        if !holding.quantity.is_zero() {
            weighted += holding.investment * held;
            days += held;
        }
    }
    ratio(weighted, days)
}

#[cfg(test)]
mod tests;
