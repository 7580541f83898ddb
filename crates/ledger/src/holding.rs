//! One symbol's running state under the average-cost rules (see the crate doc).

use contracts::portfolio::ActivityType;
use rust_decimal::Decimal;

use crate::{history::Activity, ratio};

/// What one symbol's activities add up to so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Holding {
    pub quantity: Decimal,
    /// The cost of the shares held, at their average price.
    pub investment: Decimal,
    /// Gains realized by sales: `Σ (unit_price − average_price) × quantity`.
    pub realized: Decimal,
    pub fees: Decimal,
    pub dividends: Decimal,
    /// The unit price of the last BUY or SELL: what the symbol is worth with no close known.
    pub last_trade_price: Option<Decimal>,
}

impl Holding {
    /// `investment / quantity`, 0 when nothing is held.
    pub fn average_price(&self) -> Decimal {
        ratio(self.investment, self.quantity)
    }

    /// Applies one activity of this symbol. A SELL of more than held is the caller's to refuse
    /// ([`crate::History::new`] does); here it sells what there is.
    pub fn apply(&mut self, activity: &Activity) {
        self.fees += activity.fee;
        match activity.kind {
            ActivityType::Buy => {
                self.quantity += activity.quantity;
                self.investment += activity.quantity * activity.unit_price;
                self.last_trade_price = Some(activity.unit_price);
            }
            ActivityType::Sell => {
                let sold = activity.quantity.min(self.quantity);
                let average = self.average_price();
                self.realized += (activity.unit_price - average) * sold;
                self.quantity -= sold;
                self.investment = if self.quantity.is_zero() {
                    Decimal::ZERO
                } else {
                    self.investment - sold * average
                };
                self.last_trade_price = Some(activity.unit_price);
            }
            ActivityType::Dividend => self.dividends += activity.amount(),
            ActivityType::Fee => {}
        }
    }

    /// `value − investment + realized` at `price`.
    pub fn gross(&self, price: Decimal) -> Decimal {
        self.quantity * price - self.investment + self.realized
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::history::tests::{buy, sell, trade};

    fn after(activities: &[Activity]) -> Holding {
        let mut holding = Holding::default();
        for activity in activities {
            holding.apply(activity);
        }
        holding
    }

    #[test]
    fn buys_average_and_sells_realize_against_the_average() {
        // 10 @ 100 and 10 @ 200: 20 at an average of 150.
        let holding = after(&[
            buy("2024-01-01", "AAPL", dec!(10), dec!(100)),
            buy("2024-01-02", "AAPL", dec!(10), dec!(200)),
        ]);
        assert_eq!(holding.average_price(), dec!(150));
        assert_eq!(holding.investment, dec!(3000));
        // Selling 5 @ 180 removes 5 × 150 and realizes 5 × 30; the average stays.
        let holding = after(&[
            buy("2024-01-01", "AAPL", dec!(10), dec!(100)),
            buy("2024-01-02", "AAPL", dec!(10), dec!(200)),
            sell("2024-01-03", "AAPL", dec!(5), dec!(180)),
        ]);
        assert_eq!(holding.quantity, dec!(15));
        assert_eq!(holding.investment, dec!(2250));
        assert_eq!(holding.realized, dec!(150));
        assert_eq!(holding.average_price(), dec!(150));
        assert_eq!(
            holding.gross(dec!(160)),
            dec!(15) * dec!(160) - dec!(2250) + dec!(150)
        );
    }

    #[test]
    fn selling_everything_resets_investment_and_fees_never_enter_it() {
        let holding = after(&[
            trade(
                ActivityType::Buy,
                "2024-01-01",
                "AAPL",
                dec!(3),
                dec!(10),
                dec!(1),
            ),
            trade(
                ActivityType::Sell,
                "2024-01-02",
                "AAPL",
                dec!(3),
                dec!(11),
                dec!(1),
            ),
        ]);
        assert_eq!(holding.quantity, dec!(0));
        assert_eq!(holding.investment, dec!(0));
        assert_eq!(holding.average_price(), dec!(0));
        assert_eq!(holding.realized, dec!(3));
        assert_eq!(holding.fees, dec!(2));
        assert_eq!(holding.last_trade_price, Some(dec!(11)));
    }

    #[test]
    fn a_thirds_average_keeps_its_precision() {
        let holding = after(&[
            buy("2024-01-01", "AAPL", dec!(3), dec!(10)),
            buy("2024-01-01", "AAPL", dec!(3), dec!(10.01)),
            sell("2024-01-02", "AAPL", dec!(1), dec!(10)),
        ]);
        assert_eq!(holding.quantity, dec!(5));
        // 60.03 - 10.005 = 50.025 left.
        assert_eq!(holding.investment, dec!(50.025));
    }

    #[test]
    fn dividends_are_quantity_times_price_and_not_investment() {
        let holding = after(&[
            buy("2024-01-01", "AAPL", dec!(10), dec!(100)),
            trade(
                ActivityType::Dividend,
                "2024-02-01",
                "AAPL",
                dec!(10),
                dec!(0.24),
                dec!(0.5),
            ),
        ]);
        assert_eq!(holding.dividends, dec!(2.4));
        assert_eq!(holding.fees, dec!(0.5));
        assert_eq!(holding.investment, dec!(1000));
    }
}
