//! One instance follows ticks and activities.

use std::time::Duration;

use contracts::{
    portfolio::{ActivityType, RecordActivities},
    valuation::ValuationCause,
};
use rust_decimal_macros::dec;

use crate::helpers::{TestApp, activity};

#[tokio::test]
async fn a_tick_revalues_the_portfolios_holding_the_symbol_and_only_those() {
    let app = TestApp::new().await;
    let aapl = app.holding("AAPL", dec!(10), dec!(100)).await;
    let msft = app.holding("MSFT", dec!(2), dec!(300)).await;
    let mut valuations = app.valuations().await;
    let worker = app.valuation().await;
    let status = worker.status().clone();
    let worker = testkit::run(worker);

    // At start every portfolio is valued once (taken over), at its trade price: no quote yet.
    let first = valuations
        .until(aapl.id, "its takeover", |v| {
            v.cause == ValuationCause::Takeover
        })
        .await;
    assert_eq!(first.value, dec!(1000));
    assert_eq!(first.unrealized_gain, dec!(0));
    assert_eq!(first.positions, 1);
    assert_eq!(first.owner_id, aapl.owner_id);
    valuations.drain(Duration::from_millis(500)).await;

    app.tick("AAPL", dec!(120), Some(dec!(110))).await;
    let ticked = valuations
        .until(aapl.id, "the tick", |v| v.cause == ValuationCause::Price)
        .await;
    assert_eq!(ticked.value, dec!(1200));
    assert_eq!(ticked.investment, dec!(1000));
    assert_eq!(ticked.unrealized_gain, dec!(200));
    assert_eq!(ticked.unrealized_gain_percentage, dec!(0.2));
    assert_eq!(ticked.day_change, dec!(100)); // 10 × (120 − 110)
    assert_eq!(ticked.day_change_percentage, dec!(0.0909090909)); // 100 / 1,100
    // MSFT's holder was not touched by an AAPL tick.
    let others = valuations.drain(Duration::from_millis(500)).await;
    assert!(!others.contains_key(&msft.id), "{others:#?}");

    // A burst of ticks within the coalescing window is one valuation, at the last price.
    for price in [dec!(121), dec!(122), dec!(123), dec!(124), dec!(125)] {
        app.tick("AAPL", price, Some(dec!(110))).await;
    }
    let burst = valuations.drain(Duration::from_millis(500)).await;
    let last = burst[&aapl.id].last().unwrap();
    assert_eq!(last.value, dec!(1250));
    assert!(burst[&aapl.id].len() < 5, "{burst:#?}");

    // Selling half changes the holdings: revalued at once.
    app.bus
        .request(
            &crate::helpers::user_ctx(aapl.owner_id),
            &RecordActivities {
                portfolio_id: aapl.id,
                activities: vec![activity(ActivityType::Sell, "AAPL", dec!(5), dec!(125))],
            },
        )
        .await
        .unwrap();
    let sold = valuations
        .until(aapl.id, "the sale", |v| v.cause == ValuationCause::Activity)
        .await;
    assert_eq!(sold.value, dec!(625));
    assert_eq!(sold.investment, dec!(500));

    let report = status.report();
    assert!(report.ready);
    assert_eq!(report.portfolios, 2);
    assert_eq!(report.symbols, 2);
    assert_eq!(report.partitions.len(), 64);
    worker.stop().await;
    app.stop().await;
}
