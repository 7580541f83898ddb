//! A portfolio's value now, from its holdings and the latest prices: what the valuation worker
//! publishes on every tick. The same average-cost holdings as the rest of the ledger (the
//! portfolio service computes them), marked to market:
//!
//! - a holding's value is `quantity × price`, the price being its latest quote, else the unit
//!   price of its last BUY/SELL (a manual symbol with no price history);
//! - `unrealized_gain = value − investment`, its percentage `÷ investment`;
//! - `day_change = Σ quantity × (price − previous_close)` over the holdings whose quote knows the
//!   previous close, its percentage `÷ Σ quantity × previous_close` over the same holdings. A
//!   holding valued at its trade price has no day change.
//!
//! Percentages are fractions (`0.05` is 5 %), rounded to [`crate::SCALE`].

use rust_decimal::Decimal;

use crate::{ratio, rounded};

/// What a portfolio holds of one symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub quantity: Decimal,
    pub investment: Decimal,
    /// The unit price of its last BUY or SELL: its value with no quote.
    pub last_trade_price: Decimal,
}

/// A symbol's latest quote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    pub price: Decimal,
    pub previous_close: Option<Decimal>,
}

/// A portfolio marked to market.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Valuation {
    pub value: Decimal,
    pub investment: Decimal,
    pub unrealized_gain: Decimal,
    pub unrealized_gain_percentage: Decimal,
    pub day_change: Decimal,
    pub day_change_percentage: Decimal,
}

/// Values `holdings`, each with its symbol's quote when there is one.
pub fn valuate<'a>(holdings: impl IntoIterator<Item = (&'a Held, Option<Mark>)>) -> Valuation {
    let mut value = Decimal::ZERO;
    let mut investment = Decimal::ZERO;
    let mut day_change = Decimal::ZERO;
    let mut day_base = Decimal::ZERO;
    for (held, mark) in holdings {
        investment += held.investment;
        match mark {
            Some(mark) => {
                value += held.quantity * mark.price;
                if let Some(close) = mark.previous_close {
                    day_change += held.quantity * (mark.price - close);
                    day_base += held.quantity * close;
                }
            }
            None => value += held.quantity * held.last_trade_price,
        }
    }
    let unrealized_gain = value - investment;
    Valuation {
        value: rounded(value),
        investment: rounded(investment),
        unrealized_gain: rounded(unrealized_gain),
        unrealized_gain_percentage: rounded(ratio(unrealized_gain, investment)),
        day_change: rounded(day_change),
        day_change_percentage: rounded(ratio(day_change, day_base)),
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn held(quantity: Decimal, investment: Decimal, last: Decimal) -> Held {
        Held {
            quantity,
            investment,
            last_trade_price: last,
        }
    }

    #[test]
    fn nothing_held_is_worth_nothing() {
        assert_eq!(valuate([]), Valuation::default());
    }

    #[test]
    fn holdings_are_marked_to_their_quotes() {
        // 10 AAPL bought for 1,500 (avg 150), now 180, closed yesterday at 175;
        // 4 MSFT bought for 1,200 (avg 300), now 290, closed yesterday at 300.
        let aapl = held(dec!(10), dec!(1500), dec!(150));
        let msft = held(dec!(4), dec!(1200), dec!(300));
        let v = valuate([
            (
                &aapl,
                Some(Mark {
                    price: dec!(180),
                    previous_close: Some(dec!(175)),
                }),
            ),
            (
                &msft,
                Some(Mark {
                    price: dec!(290),
                    previous_close: Some(dec!(300)),
                }),
            ),
        ]);
        assert_eq!(v.value, dec!(2960)); // 1,800 + 1,160
        assert_eq!(v.investment, dec!(2700));
        assert_eq!(v.unrealized_gain, dec!(260));
        assert_eq!(v.unrealized_gain_percentage, dec!(0.0962962963)); // 260 / 2,700
        assert_eq!(v.day_change, dec!(10)); // 10 × 5 + 4 × −10
        assert_eq!(v.day_change_percentage, dec!(0.0033898305)); // 10 / (1,750 + 1,200)
    }

    #[test]
    fn a_holding_without_a_quote_is_worth_its_last_trade_price_and_has_no_day_change() {
        let manual = held(dec!(3), dec!(300), dec!(120));
        let v = valuate([(&manual, None)]);
        assert_eq!(v.value, dec!(360));
        assert_eq!(v.unrealized_gain, dec!(60));
        assert_eq!(v.unrealized_gain_percentage, dec!(0.2));
        assert_eq!(v.day_change, Decimal::ZERO);
        assert_eq!(v.day_change_percentage, Decimal::ZERO);
    }

    #[test]
    fn a_quote_without_a_previous_close_has_no_day_change() {
        let new = held(dec!(2), dec!(20), dec!(10));
        let v = valuate([(
            &new,
            Some(Mark {
                price: dec!(11),
                previous_close: None,
            }),
        )]);
        assert_eq!(v.value, dec!(22));
        assert_eq!(v.day_change, Decimal::ZERO);
        assert_eq!(v.day_change_percentage, Decimal::ZERO);
    }
}
