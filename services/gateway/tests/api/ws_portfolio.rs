//! The `portfolio` and `valuation` topics: a user's own portfolio events and valuations, live
//! and resumed; nobody else's.

use auth::Role;
use bus::RequestContext;
use chrono::Utc;
use contracts::{
    Currency,
    valuation::{PortfolioValued, ValuationCause},
};
use reqwest::Method;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Spawn, TestApp, WsClient, mint, spawn};

async fn record(app: &TestApp, token: &str, portfolio: &str, quantity: &str) -> Value {
    let response = app
        .send_as(
            Method::POST,
            Some(token),
            &format!("/api/v1/portfolios/{portfolio}/activities"),
            Some(
                &json!({"type": "BUY", "date": "2024-01-02", "symbol": "AAPL",
                          "quantity": quantity, "unit_price": "100", "currency": "USD"}),
            ),
        )
        .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn signed_in_socket(app: &TestApp, token: &str) -> WsClient {
    let mut ws = app.ws_at("/ws/portfolio", None).await;
    ws.send(json!({"type": "auth", "token": token})).await;
    let frame = ws.next_frame().await;
    assert_eq!(frame["type"], "authenticated", "{frame}");
    ws
}

async fn subscribe(
    ws: &mut WsClient,
    topic: &str,
    keys: &[&str],
    resume_from: Option<u64>,
) -> Value {
    let mut frame = json!({"type": "subscribe", "topic": topic, "keys": keys});
    if let Some(seq) = resume_from {
        frame["resume_from"] = seq.into();
    }
    ws.send(frame).await;
    ws.next_frame().await
}

/// The next `event` frame as (seq, subject).
async fn event(ws: &mut WsClient, topic: &str) -> (u64, String, Value) {
    let frame = ws.next_frame().await;
    assert_eq!(frame["type"], "event", "{frame}");
    assert_eq!(frame["topic"], topic, "{frame}");
    (
        frame["seq"].as_u64().unwrap(),
        frame["subject"].as_str().unwrap().to_owned(),
        frame["data"].clone(),
    )
}

#[tokio::test]
async fn the_owner_follows_a_portfolio_live_and_resumed_and_nobody_else_may() {
    let app = spawn(Spawn {
        portfolio: true,
        ..Spawn::default()
    })
    .await;
    let owner = mint(&app.keys, Uuid::now_v7(), vec![Role::User]);
    let other = mint(&app.keys, Uuid::now_v7(), vec![Role::User]);
    let response = app
        .send_as(
            Method::POST,
            Some(&owner),
            "/api/v1/portfolios",
            Some(&json!({"name": "Main", "base_currency": "USD"})),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let id = created["data"]["id"].as_str().unwrap().to_owned();

    // Live: what the owner records arrives on the socket.
    let mut ws = signed_in_socket(&app, &owner).await;
    let subscribed = subscribe(&mut ws, "portfolio", &[&id], None).await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    assert_eq!(subscribed["keys"], json!([id]));
    let recorded = record(&app, &owner, &id, "10").await;
    // The outbox may publish `created` after the socket subscribed: then it comes first.
    let (mut seq, mut subject, mut data) = event(&mut ws, "portfolio").await;
    if subject == format!("evt.portfolio.{id}.created") {
        (seq, subject, data) = event(&mut ws, "portfolio").await;
    }
    assert_eq!(subject, format!("evt.portfolio.{id}.activity_recorded"));
    assert_eq!(data["activity"]["id"], recorded["data"][0]["id"]);
    assert_eq!(data["activity"]["quantity"], "10");

    // Resume: a new socket from 0 gets the whole story of this portfolio, in order.
    record(&app, &owner, &id, "5").await;
    let (last, _, _) = event(&mut ws, "portfolio").await;
    assert!(last > seq);
    let mut again = signed_in_socket(&app, &owner).await;
    let subscribed = subscribe(&mut again, "portfolio", &[&id], Some(0)).await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    let mut replayed = Vec::new();
    for _ in 0..3 {
        let (seq, subject, _) = event(&mut again, "portfolio").await;
        replayed.push((seq, subject));
    }
    assert_eq!(
        replayed.iter().map(|(_, s)| s.clone()).collect::<Vec<_>>(),
        vec![
            format!("evt.portfolio.{id}.created"),
            format!("evt.portfolio.{id}.activity_recorded"),
            format!("evt.portfolio.{id}.activity_recorded"),
        ]
    );
    assert!(replayed.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(replayed[2].0, last);

    // Valuations on their own topic, same keys.
    let subscribed = subscribe(&mut ws, "valuation", &[&id], None).await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    let valued = PortfolioValued {
        event_id: contracts::new_id(),
        occurred_at: Utc::now(),
        portfolio_id: id.parse().unwrap(),
        owner_id: created["data"]["owner_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
        currency: Currency::parse("USD").unwrap(),
        value: dec!(1600),
        investment: dec!(1500),
        unrealized_gain: dec!(100),
        unrealized_gain_percentage: dec!(0.0666666667),
        day_change: dec!(0),
        day_change_percentage: dec!(0),
        positions: 1,
        as_of: Utc::now(),
        cause: ValuationCause::Price,
    };
    app.bus
        .publish_event(&RequestContext::new(), &valued)
        .await
        .unwrap();
    let (_, subject, data) = event(&mut ws, "valuation").await;
    assert_eq!(subject, format!("evt.valuation.{id}"));
    assert_eq!(data["value"], "1600");

    // Anonymous: unauthorized. Another user, or a portfolio that does not exist: not_found,
    // the same answer, so existence does not leak.
    let mut anonymous = app.ws().await;
    let refused = subscribe(&mut anonymous, "portfolio", &[&id], None).await;
    assert_eq!(refused["code"], "unauthorized", "{refused}");
    let mut stranger = signed_in_socket(&app, &other).await;
    for topic in ["portfolio", "valuation"] {
        let refused = subscribe(&mut stranger, topic, &[&id], Some(0)).await;
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(refused["code"], "not_found", "{refused}");
    }
    let missing = Uuid::now_v7().to_string();
    let refused = subscribe(&mut stranger, "portfolio", &[&missing], None).await;
    assert_eq!(refused["code"], "not_found", "{refused}");
    let refused = subscribe(&mut stranger, "portfolio", &["AAPL"], None).await;
    assert_eq!(refused["code"], "validation_failed", "{refused}");

    // Signing the socket in as another user ends what the first followed.
    ws.send(json!({"type": "auth", "token": other})).await;
    assert_eq!(ws.next_frame().await["type"], "authenticated");
    let mut ended = vec![ws.next_frame().await, ws.next_frame().await];
    ended.sort_by_key(|f| f["topic"].as_str().unwrap().to_owned());
    assert_eq!(
        ended,
        vec![
            json!({"type": "unsubscribed", "topic": "portfolio", "keys": []}),
            json!({"type": "unsubscribed", "topic": "valuation", "keys": []}),
        ]
    );
    // The owner's other socket gets the next event; this one, routed by the same feed, not.
    record(&app, &owner, &id, "1").await;
    let (_, subject, _) = event(&mut again, "portfolio").await;
    assert_eq!(subject, format!("evt.portfolio.{id}.activity_recorded"));
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(
        ws.next_frame().await["type"],
        "pong",
        "no event after the switch"
    );
}
