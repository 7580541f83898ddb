//! A portfolio's activities as the arithmetic reads them: in date order, the activities of one
//! day in the order they were recorded, and checked as a whole — a SELL never sells more than
//! is held at its point of the history, however the activities arrived (a back-dated BUY's
//! removal or a back-dated SELL can make a later SELL oversell).

use std::collections::{BTreeMap, btree_map::Entry};

use chrono::NaiveDate;
use contracts::{market::Ticker, portfolio::ActivityType};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::holding::Holding;

/// One activity, as the arithmetic needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub id: Uuid,
    pub kind: ActivityType,
    pub date: NaiveDate,
    /// Every type but FEE has one.
    pub symbol: Option<Ticker>,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub fee: Decimal,
}

impl Activity {
    /// What changes hands: `quantity × unit_price`, or a FEE's `fee`.
    pub fn amount(&self) -> Decimal {
        match self.kind {
            ActivityType::Fee => self.fee,
            _ => self.quantity * self.unit_price,
        }
    }
}

/// Why a set of activities is not a history.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LedgerError {
    #[error(
        "selling {selling} {symbol} on {date} is more than the {held} held at that point of the history"
    )]
    Oversold {
        activity_id: Uuid,
        symbol: Ticker,
        date: NaiveDate,
        held: Decimal,
        selling: Decimal,
    },
    #[error("a {kind} activity needs a symbol")]
    MissingSymbol {
        activity_id: Uuid,
        kind: &'static str,
    },
    #[error("a FEE activity has no symbol")]
    FeeWithSymbol { activity_id: Uuid },
}

impl LedgerError {
    /// The activity the history breaks at.
    pub fn activity_id(&self) -> Uuid {
        match self {
            Self::Oversold { activity_id, .. }
            | Self::MissingSymbol { activity_id, .. }
            | Self::FeeWithSymbol { activity_id } => *activity_id,
        }
    }
}

/// Activities in the order they apply, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    activities: Vec<Activity>,
}

impl History {
    /// `activities` in the order they were recorded; sorted by date (stably, so a day keeps
    /// that order) and checked.
    pub fn new(mut activities: Vec<Activity>) -> Result<Self, LedgerError> {
        activities.sort_by_key(|activity| activity.date);
        let mut holdings: BTreeMap<&Ticker, Holding> = BTreeMap::new();
        for activity in &activities {
            match (activity.kind, &activity.symbol) {
                (ActivityType::Fee, None) => {}
                (ActivityType::Fee, Some(_)) => {
                    return Err(LedgerError::FeeWithSymbol {
                        activity_id: activity.id,
                    });
                }
                (kind, None) => {
                    return Err(LedgerError::MissingSymbol {
                        activity_id: activity.id,
                        kind: kind.as_str(),
                    });
                }
                (_, Some(symbol)) => {
                    let holding = match holdings.entry(symbol) {
                        Entry::Occupied(entry) => entry.into_mut(),
                        Entry::Vacant(entry) => entry.insert(Holding::default()),
                    };
                    if activity.kind == ActivityType::Sell && activity.quantity > holding.quantity {
                        return Err(LedgerError::Oversold {
                            activity_id: activity.id,
                            symbol: symbol.clone(),
                            date: activity.date,
                            held: holding.quantity,
                            selling: activity.quantity,
                        });
                    }
                    holding.apply(activity);
                }
            }
        }
        Ok(Self { activities })
    }

    /// In the order they apply.
    pub fn activities(&self) -> &[Activity] {
        &self.activities
    }

    /// The day of the first activity.
    pub fn first_date(&self) -> Option<NaiveDate> {
        self.activities.first().map(|activity| activity.date)
    }

    /// The activities up to and including `day`.
    pub fn until(&self, day: NaiveDate) -> &[Activity] {
        let end = self
            .activities
            .partition_point(|activity| activity.date <= day);
        &self.activities[..end]
    }

    /// Every symbol with an activity, in order.
    pub fn symbols(&self) -> Vec<&Ticker> {
        let mut symbols: Vec<&Ticker> = self
            .activities
            .iter()
            .filter_map(|activity| activity.symbol.as_ref())
            .collect();
        symbols.sort();
        symbols.dedup();
        symbols
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    pub(crate) fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    pub(crate) fn ticker(raw: &str) -> Ticker {
        Ticker::parse(raw).unwrap()
    }

    pub(crate) fn trade(
        kind: ActivityType,
        date: &str,
        symbol: &str,
        quantity: Decimal,
        unit_price: Decimal,
        fee: Decimal,
    ) -> Activity {
        Activity {
            id: Uuid::now_v7(),
            kind,
            date: day(date),
            symbol: Some(ticker(symbol)),
            quantity,
            unit_price,
            fee,
        }
    }

    pub(crate) fn buy(date: &str, symbol: &str, quantity: Decimal, price: Decimal) -> Activity {
        trade(ActivityType::Buy, date, symbol, quantity, price, dec!(0))
    }

    pub(crate) fn sell(date: &str, symbol: &str, quantity: Decimal, price: Decimal) -> Activity {
        trade(ActivityType::Sell, date, symbol, quantity, price, dec!(0))
    }

    pub(crate) fn fee(date: &str, amount: Decimal) -> Activity {
        Activity {
            id: Uuid::now_v7(),
            kind: ActivityType::Fee,
            date: day(date),
            symbol: None,
            quantity: dec!(0),
            unit_price: dec!(0),
            fee: amount,
        }
    }

    #[test]
    fn activities_sort_by_date_and_keep_the_recorded_order_within_a_day() {
        let first = sell("2024-01-02", "AAPL", dec!(5), dec!(12));
        let second = buy("2024-01-02", "AAPL", dec!(5), dec!(11));
        let earlier = buy("2024-01-01", "AAPL", dec!(5), dec!(10));
        let history = History::new(vec![first.clone(), second.clone(), earlier.clone()]).unwrap();
        let ids: Vec<Uuid> = history.activities().iter().map(|a| a.id).collect();
        assert_eq!(ids, [earlier.id, first.id, second.id]);
    }

    #[test]
    fn a_sell_of_more_than_held_is_refused_at_its_point_of_the_history() {
        // Selling 10 on day 2 is fine with 10 bought on day 1 ...
        let bought = buy("2024-01-01", "AAPL", dec!(10), dec!(10));
        let sold = sell("2024-01-03", "AAPL", dec!(10), dec!(12));
        assert!(History::new(vec![bought.clone(), sold.clone()]).is_ok());
        // ... until a back-dated SELL takes 4 of them first.
        let back_dated = sell("2024-01-02", "AAPL", dec!(4), dec!(11));
        let err = History::new(vec![bought.clone(), sold.clone(), back_dated]).unwrap_err();
        assert_eq!(err.activity_id(), sold.id);
        assert!(
            matches!(err, LedgerError::Oversold { held, selling, .. } if held == dec!(6) && selling == dec!(10))
        );
        // Deleting the BUY leaves the SELL with nothing to sell.
        assert!(History::new(vec![sold]).is_err());
    }

    #[test]
    fn a_same_day_sell_before_the_buy_oversells() {
        let sold = sell("2024-01-02", "AAPL", dec!(1), dec!(12));
        let bought = buy("2024-01-02", "AAPL", dec!(1), dec!(10));
        assert!(History::new(vec![bought.clone(), sold.clone()]).is_ok());
        assert!(History::new(vec![sold, bought]).is_err());
    }

    #[test]
    fn fees_have_no_symbol_and_everything_else_has_one() {
        let mut symbol_fee = fee("2024-01-01", dec!(1));
        symbol_fee.symbol = Some(ticker("AAPL"));
        assert!(matches!(
            History::new(vec![symbol_fee]),
            Err(LedgerError::FeeWithSymbol { .. })
        ));
        let mut bare = buy("2024-01-01", "AAPL", dec!(1), dec!(1));
        bare.symbol = None;
        assert!(matches!(
            History::new(vec![bare]),
            Err(LedgerError::MissingSymbol { kind: "BUY", .. })
        ));
    }

    #[test]
    fn until_and_symbols() {
        let history = History::new(vec![
            buy("2024-01-01", "MSFT", dec!(2), dec!(10)),
            buy("2024-01-03", "BRK.B", dec!(3), dec!(10)),
            sell("2024-01-04", "MSFT", dec!(1), dec!(10)),
        ])
        .unwrap();
        assert_eq!(history.until(day("2024-01-03")).len(), 2);
        assert_eq!(history.until(day("2023-12-31")).len(), 0);
        assert_eq!(history.symbols(), [&ticker("BRK.B"), &ticker("MSFT")]);
        assert_eq!(history.first_date(), Some(day("2024-01-01")));
    }
}
