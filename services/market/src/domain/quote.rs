//! Building a [`Quote`] from a price tick: the change against the previous close is computed in
//! one place, so every feed (simulated or Alpha Vantage) reports it the same way.

use chrono::{DateTime, Utc};
use contracts::{
    Currency,
    market::{Quote, QuoteSource, Ticker},
};
use rust_decimal::{Decimal, RoundingStrategy};

/// Decimal places of `change_percent`, as documented on [`Quote`].
const CHANGE_PERCENT_DP: u32 = 4;

/// The quote for `price` at `as_of`. `change` and `change_percent` are `None` when there is no
/// previous close to compare with (none known, or a non-positive one, which no real close is).
pub fn quote_from_tick(
    symbol: Ticker,
    price: Decimal,
    currency: Currency,
    previous_close: Option<Decimal>,
    as_of: DateTime<Utc>,
    source: QuoteSource,
) -> Quote {
    let base = previous_close.filter(|close| *close > Decimal::ZERO);
    let change = base.and_then(|base| price.checked_sub(base));
    let change_percent = base.zip(change).and_then(|(base, change)| {
        let percent = change
            .checked_mul(Decimal::ONE_HUNDRED)?
            .checked_div(base)?;
        Some(
            percent
                .round_dp_with_strategy(CHANGE_PERCENT_DP, RoundingStrategy::MidpointAwayFromZero),
        )
    });
    Quote {
        symbol,
        price,
        currency,
        previous_close,
        change,
        change_percent,
        as_of,
        source,
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn quote(price: Decimal, previous_close: Option<Decimal>) -> Quote {
        quote_from_tick(
            Ticker::parse("AAPL").unwrap(),
            price,
            Currency::parse("USD").unwrap(),
            previous_close,
            DateTime::UNIX_EPOCH,
            QuoteSource::Simulated,
        )
    }

    #[test]
    fn change_and_percent_are_measured_against_the_previous_close() {
        let q = quote(dec!(189.50), Some(dec!(187.12)));
        assert_eq!(q.change, Some(dec!(2.38)));
        assert_eq!(q.change_percent, Some(dec!(1.2719)));
        assert_eq!(q.previous_close, Some(dec!(187.12)));
        assert_eq!(q.price, dec!(189.50));
        assert_eq!(q.symbol.as_str(), "AAPL");
        assert_eq!(q.currency, "USD");
        assert_eq!(q.source, QuoteSource::Simulated);
        assert_eq!(q.as_of, DateTime::UNIX_EPOCH);
    }

    #[test]
    fn a_fall_gives_a_negative_change() {
        let q = quote(dec!(90), Some(dec!(100)));
        assert_eq!(q.change, Some(dec!(-10)));
        assert_eq!(q.change_percent, Some(dec!(-10)));
    }

    #[test]
    fn change_percent_is_rounded_to_four_places() {
        let q = quote(dec!(1), Some(dec!(3)));
        assert_eq!(q.change_percent, Some(dec!(-66.6667)));
    }

    #[test]
    fn no_previous_close_means_no_change() {
        let q = quote(dec!(100), None);
        assert_eq!((q.change, q.change_percent), (None, None));
    }

    #[test]
    fn a_zero_previous_close_means_no_change_rather_than_a_division_by_zero() {
        let q = quote(dec!(100), Some(Decimal::ZERO));
        assert_eq!((q.change, q.change_percent), (None, None));
        assert_eq!(q.previous_close, Some(Decimal::ZERO));
    }
}
