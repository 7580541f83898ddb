//! The daily series of a portfolio, for charts.

use chrono::NaiveDate;
use contracts::portfolio::SeriesPoint;

use crate::{History, PriceBook, returns::Returns, rounded, walk::Walk};

/// One point per day from `from` to `to` (both inclusive): value, investment, net performance
/// and the TWR index (the growth of 1 held from the close before `from`).
pub fn series(
    history: &History,
    prices: &PriceBook,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<SeriesPoint> {
    let mut walk = Walk::new(history, prices, from.pred_opt().unwrap_or(from));
    let mut returns = Returns::new(&walk.next_day());
    let days = usize::try_from((to - from).num_days() + 1).unwrap_or(0);
    let mut points = Vec::with_capacity(days);
    for _ in 0..days {
        let day = walk.next_day();
        returns.add(&day);
        points.push(SeriesPoint {
            date: day.date,
            value: rounded(day.value),
            investment: rounded(day.investment),
            net_performance: rounded(day.net()),
            twr_index: rounded(returns.growth()),
        });
    }
    points
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::history::tests::{buy, day, ticker};

    #[test]
    fn a_point_per_day_with_the_twr_index_from_the_close_before() {
        let history = History::new(vec![
            buy("2024-01-01", "AAPL", dec!(10), dec!(100)),
            buy("2024-01-03", "AAPL", dec!(10), dec!(110)),
        ])
        .unwrap();
        let mut prices = PriceBook::new();
        prices.add_closes(
            &ticker("AAPL"),
            [
                (day("2024-01-02"), dec!(110)),
                (day("2024-01-04"), dec!(121)),
            ],
        );
        let points = series(&history, &prices, day("2023-12-31"), day("2024-01-04"));
        assert_eq!(points.len(), 5);
        assert_eq!(points[0].value, dec!(0));
        assert_eq!(points[0].twr_index, dec!(1));
        assert_eq!(points[2].value, dec!(1100));
        assert_eq!(points[2].twr_index, dec!(1.1));
        assert_eq!(points[4].value, dec!(2420));
        assert_eq!(points[4].investment, dec!(2100));
        assert_eq!(points[4].net_performance, dec!(320));
        assert_eq!(points[4].twr_index, dec!(1.21));
        // A series from the middle starts its index at 1 again.
        let later = series(&history, &prices, day("2024-01-04"), day("2024-01-04"));
        assert_eq!(later[0].twr_index, dec!(1.1));
    }
}
