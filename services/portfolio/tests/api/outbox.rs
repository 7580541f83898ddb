//! Every change is an event in the PORTFOLIO stream, exactly once, whatever happens to the
//! relay; a deleted user's portfolios go, their events stay.

use std::time::Duration;

use bus::Bus;
use contracts::{
    Event,
    identity::UserDeleted,
    portfolio::{ExecuteTrade, GetPortfolio, TradeExecuted, TradeSide},
};
use futures::StreamExt;
use rust_decimal_macros::dec;

use crate::helpers::{User, code, spawn_app, spawn_built, ticker};

/// The subjects (unprefixed) in the PORTFOLIO stream, in order.
async fn stream_subjects(bus: &Bus) -> Vec<String> {
    let mut stream = bus.stream(TradeExecuted::STREAM).await.unwrap();
    let last = stream.info().await.unwrap().state.last_sequence;
    let mut subjects = Vec::new();
    for seq in 1..=last {
        if let Ok(message) = stream.get_raw_message(seq).await {
            subjects.push(bus.prefix().strip(&message.subject).unwrap().to_owned());
        }
    }
    subjects
}

async fn unsent(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from outbox where sent_at is null")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_relay_killed_mid_drain_publishes_every_trade_exactly_once() {
    let (app, portfolio_app) = spawn_built().await;
    let user = User::new();
    let portfolio = app.portfolio(&user, "USD").await;
    app.quote("AAPL", dec!(10), "USD").await;
    let trades = 40;
    for _ in 0..trades {
        let order = ExecuteTrade {
            portfolio_id: portfolio.id,
            side: TradeSide::Buy,
            symbol: ticker("AAPL"),
            quantity: dec!(1),
            limit_price: None,
            client_order_id: None,
        };
        app.call(&user, order).await.unwrap();
    }
    let mut arrivals = app
        .bus
        .client()
        .subscribe(app.bus.prefix().subject("evt.>"))
        .await
        .unwrap();
    // Killed while its batch is in flight: some events are in the stream, no row marked sent.
    let relay = portfolio_app.relay().clone().batch_size(100);
    let running = tokio::spawn(relay.run(tokio_util::sync::CancellationToken::new()));
    arrivals.next().await.unwrap();
    running.abort();
    let _ = running.await;
    assert!(
        unsent(&app.pool).await > 0,
        "the relay died before finishing"
    );

    let restarted = portfolio_app.relay().clone().batch_size(100);
    while restarted.try_run_once().await.unwrap() > 0 {}
    assert_eq!(unsent(&app.pool).await, 0);
    let subjects = stream_subjects(&app.bus).await;
    let executed = format!("evt.trade.{}.executed", portfolio.id);
    assert_eq!(subjects.iter().filter(|s| **s == executed).count(), trades);
    let recorded = format!("evt.portfolio.{}.activity_recorded", portfolio.id);
    assert_eq!(subjects.iter().filter(|s| **s == recorded).count(), trades);
    assert_eq!(
        subjects[0],
        format!("evt.portfolio.{}.created", portfolio.id)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_deleted_users_portfolios_go_and_their_events_stay() {
    let app = spawn_app().await;
    let (user, other) = (User::new(), User::new());
    let gone = app.portfolio(&user, "USD").await;
    let kept = app.portfolio(&other, "USD").await;
    let deleted = UserDeleted {
        event_id: uuid::Uuid::now_v7(),
        occurred_at: chrono::Utc::now(),
        user_id: user.0,
        deleted_by: None,
    };
    // Twice: a redelivered event changes nothing more.
    for _ in 0..2 {
        app.bus
            .publish_event(&bus::RequestContext::new(), &deleted)
            .await
            .unwrap();
    }
    let bus = app.bus.clone();
    let deleted_subject = format!("evt.portfolio.{}.deleted", gone.id);
    testkit::wait_until(
        Duration::from_secs(10),
        "the portfolio's deletion is in the stream",
        || {
            let (bus, subject) = (bus.clone(), deleted_subject.clone());
            async move { stream_subjects(&bus).await.contains(&subject) }
        },
    )
    .await;
    assert_eq!(
        code(
            app.call(
                &user,
                GetPortfolio {
                    portfolio_id: gone.id
                }
            )
            .await
        ),
        bus::ErrorCode::NotFound
    );
    app.call(
        &other,
        GetPortfolio {
            portfolio_id: kept.id,
        },
    )
    .await
    .unwrap();
    let subjects = stream_subjects(&app.bus).await;
    assert!(
        subjects.contains(&format!("evt.portfolio.{}.created", gone.id)),
        "its history stays"
    );
    assert_eq!(
        subjects.iter().filter(|s| **s == deleted_subject).count(),
        1
    );
    app.stop().await;
}
