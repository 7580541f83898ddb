//! The definitions on hand-computed cases.

use contracts::portfolio::ActivityType;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal_macros::dec;

use super::*;
use crate::history::tests::{buy, day, fee, sell, ticker, trade};

fn closes(symbol: &str, closes: &[(&str, Decimal)]) -> PriceBook {
    let mut book = PriceBook::new();
    book.add_closes(
        &ticker(symbol),
        closes.iter().map(|(date, close)| (day(date), *close)),
    );
    book
}

fn max(history: &History, prices: &PriceBook, as_of: &str) -> Performance {
    performance(history, prices, day(as_of), PerformanceRange::Max)
}

fn close_to(actual: Decimal, expected: f64) -> bool {
    (actual.to_f64().unwrap() - expected).abs() < 1e-6
}

#[test]
fn a_single_buy() {
    let history = History::new(vec![trade(
        ActivityType::Buy,
        "2024-01-01",
        "AAPL",
        dec!(10),
        dec!(100),
        dec!(1),
    )])
    .unwrap();
    let prices = closes(
        "AAPL",
        &[("2024-01-01", dec!(100)), ("2024-01-10", dec!(110))],
    );
    let p = max(&history, &prices, "2024-01-10");
    assert_eq!(p.start, Some(day("2024-01-01")));
    assert_eq!(p.current_value, dec!(1100));
    assert_eq!(p.investment, dec!(1000));
    assert_eq!(p.gross_performance, dec!(100));
    assert_eq!(p.fees, dec!(1));
    assert_eq!(p.net_performance, dec!(99));
    assert_eq!(p.time_weighted_investment, dec!(1000));
    assert_eq!(p.gross_performance_percentage, dec!(0.1));
    assert_eq!(p.net_performance_percentage, dec!(0.099));
    // Day 1: 1001 in (fee included) for 1000 of value; day 10: +10 %. 1100 / 1001 − 1.
    assert_eq!(p.twr, dec!(0.0989010989));
    assert_eq!(p.twr_annualized, None);
    // −1001 then +1100 nine days later.
    let irr = p.irr.unwrap().to_f64().unwrap();
    assert!(
        (irr - ((1100.0f64 / 1001.0).powf(365.0 / 9.0) - 1.0)).abs() < 1e-6 * irr,
        "{irr}"
    );
    let [position] = p.positions.as_slice() else {
        panic!("{:?}", p.positions)
    };
    assert_eq!(position.symbol, ticker("AAPL"));
    assert_eq!(position.average_price, dec!(100));
    assert_eq!(position.market_price, dec!(110));
    assert_eq!(position.value, dec!(1100));
    assert_eq!(
        (position.gross_performance, position.net_performance),
        (dec!(100), dec!(99))
    );
}

#[test]
fn two_buys_average_and_weight_their_investment_by_days_held() {
    let history = History::new(vec![
        buy("2024-01-01", "AAPL", dec!(10), dec!(100)),
        buy("2024-01-05", "AAPL", dec!(10), dec!(200)),
    ])
    .unwrap();
    let prices = closes("AAPL", &[("2024-01-10", dec!(180))]);
    let p = max(&history, &prices, "2024-01-10");
    assert_eq!(p.current_value, dec!(3600));
    assert_eq!(p.investment, dec!(3000));
    assert_eq!(p.gross_performance, dec!(600));
    assert_eq!(p.positions[0].average_price, dec!(150));
    // (4 days × 1000 + 5 days × 3000) / 9 days.
    assert_eq!(p.time_weighted_investment, dec!(2111.1111111111));
    assert_eq!(p.gross_performance_percentage, dec!(0.2842105263));
}

#[test]
fn a_buy_sold_in_full_keeps_its_realized_gain() {
    let history = History::new(vec![
        buy("2024-01-01", "AAPL", dec!(10), dec!(100)),
        trade(
            ActivityType::Sell,
            "2024-01-05",
            "AAPL",
            dec!(10),
            dec!(120),
            dec!(2),
        ),
    ])
    .unwrap();
    let p = max(&history, &PriceBook::new(), "2024-01-10");
    assert_eq!((p.current_value, p.investment), (dec!(0), dec!(0)));
    assert_eq!(p.gross_performance, dec!(200));
    assert_eq!(p.net_performance, dec!(198));
    // Held 4 days at 1000, then nothing.
    assert_eq!(p.time_weighted_investment, dec!(1000));
    assert_eq!(p.net_performance_percentage, dec!(0.198));
    let position = &p.positions[0];
    assert_eq!(position.quantity, dec!(0));
    assert_eq!(position.net_performance, dec!(198));
    assert!(positions(&history, &PriceBook::new(), day("2024-01-10")).is_empty());
}

#[test]
fn a_partial_sell_realizes_against_the_average_price() {
    let history = History::new(vec![
        buy("2024-01-01", "AAPL", dec!(10), dec!(100)),
        buy("2024-01-02", "AAPL", dec!(10), dec!(200)),
        sell("2024-01-03", "AAPL", dec!(5), dec!(180)),
    ])
    .unwrap();
    let prices = closes("AAPL", &[("2024-01-04", dec!(160))]);
    let p = max(&history, &prices, "2024-01-04");
    // 15 left at an average of 150; 5 sold at 180 realized 150.
    assert_eq!(p.current_value, dec!(2400));
    assert_eq!(p.investment, dec!(2250));
    assert_eq!(p.gross_performance, dec!(300));
    let held = positions(&history, &prices, day("2024-01-04"));
    assert_eq!(held[0].quantity, dec!(15));
    assert_eq!(held[0].average_price, dec!(150));
}

#[test]
fn a_same_day_sell_then_buy_applies_in_the_order_recorded() {
    let history = History::new(vec![
        buy("2024-01-01", "AAPL", dec!(10), dec!(100)),
        sell("2024-01-02", "AAPL", dec!(10), dec!(110)),
        buy("2024-01-02", "AAPL", dec!(5), dec!(120)),
    ])
    .unwrap();
    let p = max(&history, &PriceBook::new(), "2024-01-02");
    let position = &p.positions[0];
    // Sold out first (realizing 100, investment reset), then bought afresh at 120.
    assert_eq!(position.quantity, dec!(5));
    assert_eq!(position.average_price, dec!(120));
    assert_eq!(position.investment, dec!(600));
    assert_eq!(p.gross_performance, dec!(100));
}

#[test]
fn fees_alone_are_a_loss_and_no_investment() {
    let history = History::new(vec![fee("2024-01-01", dec!(5))]).unwrap();
    let p = max(&history, &PriceBook::new(), "2024-01-31");
    assert_eq!(p.fees, dec!(5));
    assert_eq!(p.net_performance, dec!(-5));
    assert_eq!(p.time_weighted_investment, dec!(0));
    assert_eq!(p.net_performance_percentage, dec!(0));
    // 5 went in and nothing is worth anything: −100 % on that day.
    assert_eq!(p.twr, dec!(-1));
    assert_eq!(p.irr, None);
    assert!(p.positions.is_empty());
}

#[test]
fn dividends_are_reported_and_count_in_twr_but_not_in_performance() {
    let history = History::new(vec![
        buy("2024-01-01", "AAPL", dec!(10), dec!(100)),
        trade(
            ActivityType::Dividend,
            "2024-01-05",
            "AAPL",
            dec!(10),
            dec!(0.5),
            dec!(0),
        ),
    ])
    .unwrap();
    let p = max(&history, &PriceBook::new(), "2024-01-10");
    assert_eq!(p.dividends, dec!(5));
    assert_eq!(p.positions[0].dividends, dec!(5));
    assert_eq!(p.net_performance, dec!(0));
    assert_eq!(p.twr, dec!(0.005));
}

#[test]
fn no_activities_is_all_zero() {
    let p = max(&History::default(), &PriceBook::new(), "2024-01-10");
    assert_eq!(p.start, None);
    assert_eq!(p.current_value, dec!(0));
    assert_eq!(p.twr, dec!(0));
    assert_eq!(p.irr, None);
    // Activities after as_of do not count either.
    let later = History::new(vec![buy("2024-02-01", "AAPL", dec!(1), dec!(1))]).unwrap();
    assert_eq!(max(&later, &PriceBook::new(), "2024-01-10").start, None);
}

#[test]
fn a_back_dated_activity_takes_its_place_in_the_history() {
    // Recorded: a BUY on the 10th, a SELL on the 5th, then a BUY back-dated to the 1st.
    let history = History::new(vec![
        buy("2024-01-10", "AAPL", dec!(10), dec!(100)),
        sell("2024-01-05", "AAPL", dec!(5), dec!(60)),
        buy("2024-01-01", "AAPL", dec!(10), dec!(50)),
    ])
    .unwrap();
    let p = max(&history, &PriceBook::new(), "2024-01-20");
    // The SELL realized against the back-dated BUY's 50: 5 × 10.
    assert_eq!(
        p.gross_performance - (p.current_value - p.investment),
        dec!(50)
    );
    assert_eq!(p.investment, dec!(1250));
    // 4 days × 500, 5 days × 250, 10 days × 1250, over 19 days.
    assert_eq!(p.time_weighted_investment, dec!(828.9473684211));
}

#[test]
fn ranges_start_where_the_calendar_says() {
    let as_of = day("2024-03-13"); // a Wednesday
    let start = |range| range_start(range, as_of);
    assert_eq!(start(PerformanceRange::OneDay), Some(day("2024-03-13")));
    assert_eq!(start(PerformanceRange::WeekToDate), Some(day("2024-03-11")));
    assert_eq!(
        start(PerformanceRange::MonthToDate),
        Some(day("2024-03-01"))
    );
    assert_eq!(start(PerformanceRange::YearToDate), Some(day("2024-01-01")));
    assert_eq!(start(PerformanceRange::OneYear), Some(day("2023-03-13")));
    assert_eq!(start(PerformanceRange::FiveYears), Some(day("2019-03-13")));
    assert_eq!(start(PerformanceRange::Max), None);
    assert_eq!(
        range_start(PerformanceRange::OneYear, day("2024-02-29")),
        Some(day("2023-02-28"))
    );
}

#[test]
fn a_range_counts_net_performance_from_the_close_before_it() {
    let history = History::new(vec![buy("2024-01-15", "AAPL", dec!(10), dec!(100))]).unwrap();
    let prices = closes(
        "AAPL",
        &[("2024-02-29", dec!(120)), ("2024-03-13", dec!(130))],
    );
    let net = |range| performance(&history, &prices, day("2024-03-13"), range);
    // 300 in all; 200 of it by the close of Feb 29, the last close before each short range.
    for range in [
        PerformanceRange::OneDay,
        PerformanceRange::WeekToDate,
        PerformanceRange::MonthToDate,
    ] {
        let p = net(range);
        assert_eq!(p.net_performance, dec!(100), "{range:?}");
        assert_eq!(
            p.gross_performance,
            dec!(300),
            "{range:?}: gross is at as_of"
        );
        // From 1200 to 1300.
        assert_eq!(p.twr, dec!(0.0833333333), "{range:?}");
    }
    // Ranges reaching before the first activity start at it.
    for range in [
        PerformanceRange::YearToDate,
        PerformanceRange::OneYear,
        PerformanceRange::FiveYears,
        PerformanceRange::Max,
    ] {
        let p = net(range);
        assert_eq!(p.start, Some(day("2024-01-15")), "{range:?}");
        assert_eq!(p.net_performance, dec!(300), "{range:?}");
        assert_eq!(p.twr, dec!(0.3), "{range:?}");
    }
    assert_eq!(
        net(PerformanceRange::MonthToDate).start,
        Some(day("2024-03-01"))
    );
}

#[test]
fn twr_and_irr_with_a_deposit_in_the_middle() {
    // 1000 in on Jan 1; +10 % by June 30; 1100 more in on July 1 at that price; +10 % by the
    // next Jan 1. TWR: 1.1 × 1.1 − 1 = 21 %, whatever the deposit's size.
    let history = History::new(vec![
        buy("2023-01-01", "AAPL", dec!(10), dec!(100)),
        buy("2023-07-01", "AAPL", dec!(10), dec!(110)),
    ])
    .unwrap();
    let prices = closes(
        "AAPL",
        &[
            ("2023-06-30", dec!(110)),
            ("2023-07-01", dec!(110)),
            ("2024-01-01", dec!(121)),
        ],
    );
    let p = max(&history, &prices, "2024-01-01");
    assert_eq!(p.twr, dec!(0.21));
    // 366 days, both ends counted.
    assert!(close_to(
        p.twr_annualized.unwrap(),
        1.21f64.powf(365.0 / 366.0) - 1.0
    ));
    assert_eq!(p.net_performance, dec!(320));
    // (181 days × 1000 + 184 days × 2100) / 365 days.
    assert_eq!(p.time_weighted_investment, dec!(1554.5205479452));
    // The IRR discounts −1000 (day 0), −1100 (day 181) and +2420 (day 365) to zero.
    let irr = p.irr.unwrap().to_f64().unwrap();
    let npv = -1000.0 - 1100.0 * (1.0 + irr).powf(-181.0 / 365.0) + 2420.0 / (1.0 + irr);
    assert!(npv.abs() < 1e-4, "irr {irr}, npv {npv}");
    // Money-weighted, the later, larger deposit earned less of the year: below the TWR.
    assert!(irr > 0.19 && irr < 0.21, "{irr}");
}

#[test]
fn a_quote_newer_than_the_last_close_values_today() {
    let history = History::new(vec![buy("2024-01-01", "AAPL", dec!(2), dec!(100))]).unwrap();
    let mut prices = closes("AAPL", &[("2024-01-02", dec!(101))]);
    prices.add_quote(&ticker("AAPL"), day("2024-01-03"), dec!(105));
    let p = max(&history, &prices, "2024-01-03");
    assert_eq!(p.current_value, dec!(210));
    assert_eq!(p.positions[0].market_price, dec!(105));
}
