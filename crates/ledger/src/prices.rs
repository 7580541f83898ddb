//! The prices a valuation reads: daily closes per symbol, and the latest quote, which counts as
//! the close of its day when it is newer than the last close.

use std::collections::HashMap;

use chrono::NaiveDate;
use contracts::market::Ticker;
use rust_decimal::Decimal;

/// Daily closes of every symbol, oldest first.
#[derive(Debug, Clone, Default)]
pub struct PriceBook {
    closes: HashMap<Ticker, Vec<(NaiveDate, Decimal)>>,
}

impl PriceBook {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds closes of `symbol`; a day given twice keeps the last one given.
    pub fn add_closes(
        &mut self,
        symbol: &Ticker,
        closes: impl IntoIterator<Item = (NaiveDate, Decimal)>,
    ) {
        let series = self.closes.entry(symbol.clone()).or_default();
        series.extend(closes);
        // Stable, then keep the last of each day.
        series.sort_by_key(|(date, _)| *date);
        let mut deduped: Vec<(NaiveDate, Decimal)> = Vec::with_capacity(series.len());
        for (date, close) in series.drain(..) {
            match deduped.last_mut() {
                Some(last) if last.0 == date => last.1 = close,
                _ => deduped.push((date, close)),
            }
        }
        *series = deduped;
    }

    /// The latest quote of `symbol`, on `date`: it counts as that day's close when no close of
    /// that day or later is known.
    pub fn add_quote(&mut self, symbol: &Ticker, date: NaiveDate, price: Decimal) {
        let series = self.closes.entry(symbol.clone()).or_default();
        if series.last().is_none_or(|(last, _)| *last < date) {
            series.push((date, price));
        }
    }

    /// The last close of `symbol` on or before `date`.
    pub fn close_on_or_before(&self, symbol: &Ticker, date: NaiveDate) -> Option<Decimal> {
        let series = self.closes.get(symbol)?;
        let after = series.partition_point(|(day, _)| *day <= date);
        after.checked_sub(1).map(|at| series[at].1)
    }

    /// The closes of `symbol`, oldest first.
    pub fn closes(&self, symbol: &Ticker) -> &[(NaiveDate, Decimal)] {
        self.closes.get(symbol).map_or(&[], Vec::as_slice)
    }
}

/// Reads one symbol's closes day by day, forwards only: each step costs what it skips.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    closes: &'a [(NaiveDate, Decimal)],
    /// How many closes are on or before the last day asked for.
    seen: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(closes: &'a [(NaiveDate, Decimal)]) -> Self {
        Self { closes, seen: 0 }
    }

    /// The last close on or before `date`; `date` never goes backwards between calls.
    pub(crate) fn at(&mut self, date: NaiveDate) -> Option<Decimal> {
        while self.seen < self.closes.len() && self.closes[self.seen].0 <= date {
            self.seen += 1;
        }
        self.seen.checked_sub(1).map(|at| self.closes[at].1)
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::history::tests::{day, ticker};

    #[test]
    fn the_last_close_on_or_before_a_day_counts() {
        let aapl = ticker("AAPL");
        let mut book = PriceBook::new();
        book.add_closes(
            &aapl,
            [
                (day("2024-01-03"), dec!(12)),
                (day("2024-01-01"), dec!(10)),
                (day("2024-01-01"), dec!(11)),
            ],
        );
        assert_eq!(book.close_on_or_before(&aapl, day("2023-12-31")), None);
        assert_eq!(
            book.close_on_or_before(&aapl, day("2024-01-01")),
            Some(dec!(11))
        );
        assert_eq!(
            book.close_on_or_before(&aapl, day("2024-01-02")),
            Some(dec!(11))
        );
        assert_eq!(
            book.close_on_or_before(&aapl, day("2024-02-01")),
            Some(dec!(12))
        );
        let mut cursor = Cursor::new(book.closes(&aapl));
        assert_eq!(cursor.at(day("2023-12-31")), None);
        assert_eq!(cursor.at(day("2024-01-02")), Some(dec!(11)));
        assert_eq!(cursor.at(day("2024-01-03")), Some(dec!(12)));
    }

    #[test]
    fn a_quote_counts_only_when_newer_than_the_last_close() {
        let aapl = ticker("AAPL");
        let mut book = PriceBook::new();
        book.add_closes(&aapl, [(day("2024-01-03"), dec!(12))]);
        book.add_quote(&aapl, day("2024-01-03"), dec!(99));
        assert_eq!(
            book.close_on_or_before(&aapl, day("2024-01-03")),
            Some(dec!(12))
        );
        book.add_quote(&aapl, day("2024-01-04"), dec!(13));
        assert_eq!(
            book.close_on_or_before(&aapl, day("2024-01-04")),
            Some(dec!(13))
        );
        let msft = ticker("MSFT");
        book.add_quote(&msft, day("2024-01-04"), dec!(300));
        assert_eq!(
            book.close_on_or_before(&msft, day("2024-01-04")),
            Some(dec!(300))
        );
        assert_eq!(book.close_on_or_before(&msft, day("2024-01-03")), None);
    }
}
