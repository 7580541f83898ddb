//! Two instances split the portfolios; when one dies the other takes its share.

use std::{collections::HashSet, time::Duration};

use contracts::valuation::{PARTITIONS, ValuationCause, partition_of};
use rust_decimal_macros::dec;
use uuid::Uuid;

use crate::helpers::TestApp;

/// Portfolios in the test: enough that both instances hold some.
const PORTFOLIOS: usize = 24;

#[tokio::test]
async fn two_instances_split_the_work_and_one_takes_over_when_the_other_dies() {
    let app = TestApp::new().await;
    let mut ids = Vec::new();
    for _ in 0..PORTFOLIOS {
        ids.push(app.holding("AAPL", dec!(1), dec!(100)).await.id);
    }
    let mut valuations = app.valuations().await;
    let a = app.valuation().await;
    let b = app.valuation().await;
    let (status_a, status_b) = (a.status().clone(), b.status().clone());
    let (a, b) = (testkit::run(a), testkit::run(b));

    // They settle on half each, disjoint.
    testkit::wait_until(Duration::from_secs(20), "the partitions are split", || {
        let (pa, pb) = (status_a.partitions(), status_b.partitions());
        async move {
            pa.len() == usize::from(PARTITIONS) / 2
                && pb.len() == usize::from(PARTITIONS) / 2
                && pa.iter().all(|p| !pb.contains(p))
        }
    })
    .await;
    let held_by_a: HashSet<u16> = status_a.partitions().into_iter().collect();
    let of_a = ids
        .iter()
        .filter(|id| held_by_a.contains(&partition_of(**id)))
        .count();
    assert!(
        0 < of_a && of_a < PORTFOLIOS,
        "both instances hold portfolios ({of_a} of {PORTFOLIOS} on one)"
    );
    // The takeovers of the start are published; then one tick.
    valuations.drain(Duration::from_secs(1)).await;
    let before = (status_a.report().published, status_b.report().published);
    app.tick("AAPL", dec!(150), None).await;
    let seen = valuations.drain(Duration::from_secs(1)).await;
    assert_exactly_once(&ids, &seen, dec!(150));
    // Each published its own share of that tick.
    assert_eq!(status_a.report().published - before.0, of_a as u64);
    assert_eq!(
        status_b.report().published - before.1,
        (PORTFOLIOS - of_a) as u64
    );

    // A dies without a word: its leases expire and B takes all of them.
    let died = std::time::Instant::now();
    a.kill().await;
    testkit::wait_until(Duration::from_secs(30), "B holds every partition", || {
        let held = status_b.partitions().len();
        async move { held == usize::from(PARTITIONS) }
    })
    .await;
    println!(
        "takeover of a dead instance's partitions: {:.1} s",
        died.elapsed().as_secs_f64()
    );
    // What A held is revalued at once by B...
    let taken = valuations.drain(Duration::from_secs(1)).await;
    for id in ids
        .iter()
        .filter(|id| held_by_a.contains(&partition_of(**id)))
    {
        assert!(
            taken[id]
                .iter()
                .any(|v| v.cause == ValuationCause::Takeover && v.value == dec!(150)),
            "{id} taken over: {taken:#?}"
        );
    }
    // ...and every tick from now on is B's, once per portfolio.
    app.tick("AAPL", dec!(160), None).await;
    let seen = valuations.drain(Duration::from_secs(1)).await;
    assert_exactly_once(&ids, &seen, dec!(160));
    b.stop().await;
    app.stop().await;
}

fn assert_exactly_once(
    ids: &[Uuid],
    seen: &std::collections::HashMap<Uuid, Vec<contracts::valuation::PortfolioValued>>,
    value: rust_decimal::Decimal,
) {
    for id in ids {
        let got = seen.get(id).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(got.len(), 1, "one valuation of {id} for the tick: {got:#?}");
        assert_eq!(got[0].value, value);
        assert_eq!(got[0].cause, ValuationCause::Price);
    }
    assert_eq!(seen.len(), ids.len(), "no valuation of anything else");
}
