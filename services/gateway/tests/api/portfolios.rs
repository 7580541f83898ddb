//! The portfolio routes end to end: HTTP → gateway → NATS → portfolio (→ market) and back.

use auth::Role;
use bus::kv::Kv;
use contracts::{
    Currency,
    market::{Quote, QuoteSource, Quotes, Ticker},
};
use reqwest::Method;
use rust_decimal_macros::dec;
use serde_json::{Value, json};

use crate::helpers::{Spawn, TestApp, mint, spawn};

async fn spawn_with_portfolio() -> TestApp {
    spawn(Spawn {
        portfolio: true,
        ..Spawn::default()
    })
    .await
}

async fn send(
    app: &TestApp,
    method: Method,
    token: Option<&str>,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let response = app.send_as(method, token, path, body.as_ref()).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_user_trades_and_reads_performance_and_nobody_else_sees_the_portfolio() {
    let app = spawn_with_portfolio().await;
    let owner = mint(&app.keys, uuid::Uuid::now_v7(), vec![Role::User]);
    let other = mint(&app.keys, uuid::Uuid::now_v7(), vec![Role::User]);
    let (status, created) = send(
        &app,
        Method::POST,
        Some(&owner),
        "/api/v1/portfolios",
        Some(json!({"name": "Main", "base_currency": "usd"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["service"], "portfolio");
    let id = created["data"]["id"].as_str().unwrap().to_owned();

    let (status, recorded) = send(&app, Method::POST, Some(&owner), &format!("/api/v1/portfolios/{id}/activities"),
        Some(json!({"type": "BUY", "date": "2024-01-02", "symbol": "aapl", "quantity": "10", "unit_price": "100", "fee": "1", "currency": "USD"}))).await;
    assert_eq!(status, 201, "{recorded}");
    assert_eq!(recorded["data"][0]["symbol"], "AAPL");
    let (status, refused) = send(&app, Method::POST, Some(&owner), &format!("/api/v1/portfolios/{id}/activities"),
        Some(json!({"activities": [{"type": "SELL", "date": "2024-01-03", "symbol": "AAPL", "quantity": "11", "unit_price": "100", "currency": "USD"}]}))).await;
    assert_eq!(status, 422, "{refused}");

    let quotes: Kv<Quotes> = app.bus.bucket::<Quotes>().await.unwrap();
    let aapl = Ticker::parse("AAPL").unwrap();
    let quote = Quote {
        symbol: aapl.clone(),
        price: dec!(120),
        currency: Currency::parse("USD").unwrap(),
        previous_close: None,
        change: None,
        change_percent: None,
        as_of: chrono::Utc::now(),
        source: QuoteSource::Simulated,
    };
    quotes.put(&aapl, &quote).await.unwrap();
    let (status, trade) = send(&app, Method::POST, Some(&owner), "/api/v1/trades",
        Some(json!({"portfolio_id": id, "side": "SELL", "symbol": "AAPL", "quantity": "4", "client_order_id": "o-1"}))).await;
    assert_eq!(status, 201, "{trade}");
    assert_eq!(trade["data"]["price"], "120");
    let (status, opened) = send(
        &app,
        Method::POST,
        Some(&owner),
        "/api/v1/positions",
        Some(json!({"portfolio_id": id, "symbol": "AAPL", "quantity": "1", "limit_price": "119"})),
    )
    .await;
    assert_eq!(status, 422, "a BUY limit below the quote: {opened}");

    let (status, positions) = send(
        &app,
        Method::GET,
        Some(&owner),
        &format!("/api/v1/positions?portfolio_id={id}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{positions}");
    assert_eq!(positions["data"]["positions"][0]["quantity"], "6");
    assert_eq!(positions["data"]["positions"][0]["value"], "720");
    let (status, performance) = send(
        &app,
        Method::GET,
        Some(&owner),
        &format!("/api/v1/performance?portfolio_id={id}&range=max"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{performance}");
    // 6 held at 120 (720) against 600 invested, 80 realized, 1 fee.
    assert_eq!(performance["data"]["net_performance"], "199");
    let (status, trades) = send(
        &app,
        Method::GET,
        Some(&owner),
        &format!("/api/v1/trades?portfolio_id={id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(trades["pagination"]["total"], 1);

    let csv = app
        .send_as(
            Method::GET,
            Some(&owner),
            &format!("/api/v1/export?portfolio_id={id}&format=csv"),
            None,
        )
        .await;
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let text = csv.text().await.unwrap();
    assert!(
        text.starts_with("Date,Code,DataSource,Currency,Price,Quantity,Action,Fee,Note"),
        "{text}"
    );

    // Another user: 404 everywhere, never 403; no token: 401.
    for path in [
        format!("/api/v1/portfolios/{id}"),
        format!("/api/v1/portfolios/{id}/activities"),
        format!("/api/v1/positions?portfolio_id={id}"),
        format!("/api/v1/performance?portfolio_id={id}"),
        format!("/api/v1/performance/series?portfolio_id={id}"),
        format!("/api/v1/trades?portfolio_id={id}"),
        format!("/api/v1/export?portfolio_id={id}&format=json"),
    ] {
        let (status, body) = send(&app, Method::GET, Some(&other), &path, None).await;
        assert_eq!(status, 404, "{path}: {body}");
        let (status, _) = send(&app, Method::GET, None, &path, None).await;
        assert_eq!(status, 401, "{path}");
    }
    let (status, _) = send(
        &app,
        Method::DELETE,
        Some(&other),
        &format!("/api/v1/portfolios/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = send(
        &app,
        Method::GET,
        Some(&owner),
        &format!("/api/v1/portfolios/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "still there");
}

#[tokio::test]
async fn a_csv_upload_imports_and_a_bad_line_is_named() {
    let app = spawn_with_portfolio().await;
    let owner = mint(&app.keys, uuid::Uuid::now_v7(), vec![Role::User]);
    let (_, created) = send(
        &app,
        Method::POST,
        Some(&owner),
        "/api/v1/portfolios",
        Some(json!({"name": "Import", "base_currency": "USD"})),
    )
    .await;
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let upload = |body: &'static str, content_type: &'static str| {
        app.http
            .post(app.url(&format!("/api/v1/portfolios/{id}/import")))
            .bearer_auth(&owner)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let bad = upload(
        "Date,Code,Price,Quantity,Action\n01-02-2024,MSFT,400,x,buy\n",
        "text/csv",
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(
        body["error"]["details"],
        json!({"line": 2, "field": "quantity"})
    );
    let good = upload(
        "Date,Code,Price,Quantity,Action\n01-02-2024,MSFT,400,2,buy\n",
        "text/csv",
    )
    .await
    .unwrap();
    assert_eq!(good.status(), 200);
    let body: Value = good.json().await.unwrap();
    assert_eq!(body["data"]["imported"], 1);
    let wrong_type = upload("x", "text/plain").await.unwrap();
    assert_eq!(wrong_type.status(), 415);
}
