//! The day-by-day walk every figure comes from: for each calendar day, apply that day's
//! activities in order, then value the holdings at the day's close.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use contracts::{market::Ticker, portfolio::ActivityType};
use rust_decimal::Decimal;

use crate::{
    history::{Activity, History},
    holding::Holding,
    prices::{Cursor, PriceBook},
};

/// A portfolio at the close of one day. Amounts are cumulative up to that day, but for
/// `inflow` and `outflow`, which are the day's own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Day {
    pub date: NaiveDate,
    pub value: Decimal,
    pub investment: Decimal,
    pub realized: Decimal,
    /// Every fee so far, FEE activities included.
    pub fees: Decimal,
    pub dividends: Decimal,
    /// `In_t`: Σ BUY (quantity × price + fee) + Σ FEE fee, of this day.
    pub inflow: Decimal,
    /// `Out_t`: Σ SELL (quantity × price − fee) + Σ DIVIDEND (amount − fee), of this day.
    pub outflow: Decimal,
}

impl Day {
    /// `value − investment + realized`.
    pub fn gross(&self) -> Decimal {
        self.value - self.investment + self.realized
    }

    /// `gross − fees`.
    pub fn net(&self) -> Decimal {
        self.gross() - self.fees
    }
}

/// One symbol along the walk.
#[derive(Debug, Clone)]
struct Line<'a> {
    symbol: &'a Ticker,
    holding: Holding,
    closes: Cursor<'a>,
}

impl Line<'_> {
    /// The price the holding is valued at on `date`: the last close on or before it, else the
    /// last trade price (0 for a symbol never traded, which then holds nothing).
    fn price(&mut self, date: NaiveDate) -> Decimal {
        self.closes
            .at(date)
            .or(self.holding.last_trade_price)
            .unwrap_or(Decimal::ZERO)
    }
}

/// Sums over every line.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    investment: Decimal,
    realized: Decimal,
    fees: Decimal,
    dividends: Decimal,
}

impl Totals {
    fn of(holding: &Holding) -> Self {
        Self {
            investment: holding.investment,
            realized: holding.realized,
            fees: holding.fees,
            dividends: holding.dividends,
        }
    }
}

/// Walks a history forwards one calendar day at a time.
#[derive(Debug, Clone)]
pub struct Walk<'a> {
    activities: &'a [Activity],
    /// The first activity not applied yet.
    next: usize,
    lines: Vec<Line<'a>>,
    line_of: HashMap<&'a Ticker, usize>,
    /// Fees of FEE activities (symbol fees are on the lines).
    other_fees: Decimal,
    /// The lines' investment, realized gains, fees and dividends summed: they change only
    /// when an activity applies, so a day reads them instead of adding up every line (a
    /// ten-year walk of twenty symbols is 73,000 line-days).
    totals: Totals,
    /// The day [`Walk::next_day`] answers next.
    date: NaiveDate,
}

impl<'a> Walk<'a> {
    /// A walk whose first day is `from`; what happened before it is applied without valuing.
    pub fn new(history: &'a History, prices: &'a PriceBook, from: NaiveDate) -> Self {
        let mut lines = Vec::new();
        let mut line_of = HashMap::new();
        for symbol in history.symbols() {
            line_of.insert(symbol, lines.len());
            lines.push(Line {
                symbol,
                holding: Holding::default(),
                closes: Cursor::new(prices.closes(symbol)),
            });
        }
        let mut walk = Self {
            activities: history.activities(),
            next: 0,
            lines,
            line_of,
            other_fees: Decimal::ZERO,
            totals: Totals::default(),
            date: from,
        };
        let before = walk.activities.partition_point(|a| a.date < from);
        for at in 0..before {
            walk.apply(at);
        }
        walk.next = before;
        walk
    }

    /// Applies the day's activities, values the close and moves to the following day.
    pub fn next_day(&mut self) -> Day {
        let date = self.date;
        let (mut inflow, mut outflow) = (Decimal::ZERO, Decimal::ZERO);
        while let Some(activity) = self.activities.get(self.next).filter(|a| a.date == date) {
            match activity.kind {
                ActivityType::Buy => inflow += activity.amount() + activity.fee,
                ActivityType::Fee => inflow += activity.fee,
                ActivityType::Sell | ActivityType::Dividend => {
                    outflow += activity.amount() - activity.fee;
                }
            }
            self.apply(self.next);
            self.next += 1;
        }
        let mut day = Day {
            date,
            value: Decimal::ZERO,
            investment: self.totals.investment,
            realized: self.totals.realized,
            fees: self.other_fees + self.totals.fees,
            dividends: self.totals.dividends,
            inflow,
            outflow,
        };
        for line in &mut self.lines {
            if !line.holding.quantity.is_zero() {
                day.value += line.holding.quantity * line.price(date);
            }
        }
        self.date = date.checked_add_days(Days::new(1)).unwrap_or(date);
        day
    }

    /// Every symbol walked so far with its holding and its price on the last day answered, by
    /// symbol.
    pub fn holdings(&mut self) -> Vec<(&'a Ticker, Holding, Decimal)> {
        let last = self.date.pred_opt().unwrap_or(self.date);
        self.lines
            .iter_mut()
            .filter(|line| line.holding != Holding::default())
            .map(|line| (line.symbol, line.holding.clone(), line.price(last)))
            .collect()
    }

    fn apply(&mut self, at: usize) {
        let activity = &self.activities[at];
        match activity.symbol.as_ref().and_then(|s| self.line_of.get(s)) {
            Some(&line) => {
                let holding = &mut self.lines[line].holding;
                let before = Totals::of(holding);
                holding.apply(activity);
                let after = Totals::of(holding);
                // Exact: decimals add and subtract without rounding.
                self.totals.investment += after.investment - before.investment;
                self.totals.realized += after.realized - before.realized;
                self.totals.fees += after.fees - before.fees;
                self.totals.dividends += after.dividends - before.dividends;
            }
            None => self.other_fees += activity.fee,
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::history::tests::{buy, day, fee, sell, ticker, trade};

    #[test]
    fn each_day_applies_its_activities_then_values_the_close() {
        let history = History::new(vec![
            buy("2024-01-01", "AAPL", dec!(10), dec!(100)),
            trade(
                ActivityType::Sell,
                "2024-01-03",
                "AAPL",
                dec!(4),
                dec!(120),
                dec!(2),
            ),
            fee("2024-01-03", dec!(5)),
        ])
        .unwrap();
        let mut prices = PriceBook::new();
        prices.add_closes(&ticker("AAPL"), [(day("2024-01-02"), dec!(110))]);
        let mut walk = Walk::new(&history, &prices, day("2023-12-31"));
        let before = walk.next_day();
        assert_eq!((before.value, before.net()), (dec!(0), dec!(0)));
        // No close yet on the 1st: valued at the trade price.
        let first = walk.next_day();
        assert_eq!(first.value, dec!(1000));
        assert_eq!(first.inflow, dec!(1000));
        let second = walk.next_day();
        assert_eq!(second.value, dec!(1100));
        assert_eq!(second.net(), dec!(100));
        let third = walk.next_day();
        // 6 left at the 2nd's close (110); 4 sold at 120 over an average of 100 realize 80.
        assert_eq!(third.value, dec!(660));
        assert_eq!(third.investment, dec!(600));
        assert_eq!(third.realized, dec!(80));
        assert_eq!(third.fees, dec!(7));
        assert_eq!(third.outflow, dec!(478));
        assert_eq!(third.inflow, dec!(5));
        assert_eq!(third.net(), dec!(660) - dec!(600) + dec!(80) - dec!(7));
    }

    #[test]
    fn a_walk_may_start_after_the_first_activity() {
        let history = History::new(vec![
            buy("2024-01-01", "AAPL", dec!(10), dec!(100)),
            sell("2024-01-05", "AAPL", dec!(10), dec!(90)),
        ])
        .unwrap();
        let prices = PriceBook::new();
        let mut walk = Walk::new(&history, &prices, day("2024-01-04"));
        assert_eq!(walk.next_day().value, dec!(1000));
        let sold = walk.next_day();
        assert_eq!(sold.value, dec!(0));
        assert_eq!(sold.net(), dec!(-100));
        let holdings = walk.holdings();
        assert_eq!(holdings.len(), 1);
        assert_eq!(holdings[0].2, dec!(90));
    }
}
