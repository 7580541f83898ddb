//! Performance through the service: the ledger's figures over stored activities and market's
//! closes.

use bus::ErrorCode;
use contracts::portfolio::{GetPerformance, GetPerformanceSeries, PerformanceRange};
use rust_decimal_macros::dec;

use crate::helpers::{User, buy, code, day, spawn_app};

#[tokio::test]
async fn performance_values_holdings_at_markets_closes_over_each_range() {
    let app = spawn_app().await;
    let user = User::new();
    let portfolio = app.portfolio(&user, "USD").await;
    app.closes(
        "AAPL",
        &[("2024-02-29", dec!(120)), ("2024-03-13", dec!(130))],
    )
    .await;
    app.record(
        &user,
        &portfolio,
        vec![buy("2024-01-15", "AAPL", dec!(10), dec!(100))],
    )
    .await
    .unwrap();
    let at = |range| GetPerformance {
        portfolio_id: portfolio.id,
        as_of: Some(day("2024-03-13")),
        range: Some(range),
    };
    let max = app.call(&user, at(PerformanceRange::Max)).await.unwrap();
    assert_eq!(max.base_currency, "USD");
    let p = &max.performance;
    assert_eq!(
        (p.current_value, p.investment, p.net_performance),
        (dec!(1300), dec!(1000), dec!(300))
    );
    assert_eq!(p.twr, dec!(0.3));
    assert_eq!(p.positions[0].market_price, dec!(130));
    let mtd = app
        .call(&user, at(PerformanceRange::MonthToDate))
        .await
        .unwrap();
    assert_eq!(mtd.performance.net_performance, dec!(100));
    let future = GetPerformance {
        as_of: Some(day("2999-01-01")),
        ..at(PerformanceRange::Max)
    };
    assert_eq!(
        code(app.call(&user, future).await),
        ErrorCode::ValidationFailed
    );

    let series = app
        .call(
            &user,
            GetPerformanceSeries {
                portfolio_id: portfolio.id,
                from: None,
                to: Some(day("2024-03-13")),
            },
        )
        .await
        .unwrap();
    assert_eq!(series.points.first().unwrap().date, day("2024-01-15"));
    assert_eq!(series.points.len(), 59);
    assert_eq!(series.points.last().unwrap().value, dec!(1300));
    assert_eq!(series.points.last().unwrap().twr_index, dec!(1.3));
    app.stop().await;
}

#[tokio::test]
async fn closes_imported_after_a_valuation_are_used_by_the_next_one() {
    let app = spawn_app().await;
    let user = User::new();
    let portfolio = app.portfolio(&user, "USD").await;
    app.closes("AAPL", &[("2024-01-15", dec!(100))]).await;
    app.record(
        &user,
        &portfolio,
        vec![buy("2024-01-15", "AAPL", dec!(10), dec!(100))],
    )
    .await
    .unwrap();
    let request = GetPerformance {
        portfolio_id: portfolio.id,
        as_of: Some(day("2024-03-13")),
        range: None,
    };
    let before = app.call(&user, request.clone()).await.unwrap();
    assert_eq!(before.performance.current_value, dec!(1000));
    // The closes are now held in memory; an import replaces them.
    app.closes("AAPL", &[("2024-03-01", dec!(125))]).await;
    testkit::wait_until(
        std::time::Duration::from_secs(5),
        "the valuation uses the imported close",
        || {
            let (app, user, request) = (&app, &user, request.clone());
            async move {
                let after = app.call(user, request).await.unwrap();
                after.performance.current_value == dec!(1250)
            }
        },
    )
    .await;
    app.stop().await;
}
