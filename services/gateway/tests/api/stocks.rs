//! `/api/v1/stocks`: search, get, price, create — each a request to the real market service.

use bus::ErrorCode;
use chrono::Utc;
use contracts::{
    Currency,
    market::{Quote, QuoteSource, Quotes, Ticker},
};
use rust_decimal_macros::dec;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn search_lists_the_symbols_matching_the_query() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/api/v1/stocks?q=AAP&limit=5").await;
    assert_eq!(status, 200, "{body}");
    let symbols: Vec<&str> = body["data"]["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["symbol"].as_str().unwrap())
        .collect();
    assert!(symbols.contains(&"AAPL"), "{symbols:?}");
    assert!(symbols.len() <= 5);
}

#[tokio::test]
async fn search_without_a_query_lists_the_catalogue() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/api/v1/stocks").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["data"]["symbols"].as_array().unwrap().len() >= 2,
        "{body}"
    );
}

#[tokio::test]
async fn search_refuses_an_out_of_range_limit_at_the_edge() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/api/v1/stocks?limit=1000").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(body["service"], "gateway");
}

#[tokio::test]
async fn get_returns_a_symbol_of_the_catalogue_whatever_the_case_of_the_path() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/api/v1/stocks/msft").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["symbol"], "MSFT");
    assert_eq!(body["data"]["currency"], "USD");
}

#[tokio::test]
async fn price_returns_the_latest_quote_the_market_keeps() {
    let app = spawn_app().await;
    let quote = Quote {
        symbol: Ticker::parse("AAPL").unwrap(),
        price: dec!(187.12),
        currency: Currency::parse("USD").unwrap(),
        previous_close: Some(dec!(185.00)),
        change: Some(dec!(2.12)),
        change_percent: Some(dec!(1.1459)),
        as_of: Utc::now(),
        source: QuoteSource::Simulated,
    };
    let quotes = app.bus.bucket::<Quotes>().await.unwrap();
    quotes.put(&quote.symbol, &quote).await.unwrap();
    let (status, body) = app.get_json("/api/v1/stocks/AAPL/price").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["price"], "187.12");
    assert_eq!(body["data"]["symbol"], "AAPL");
    assert_eq!(body["service"], "market");
}

#[tokio::test]
async fn create_adds_a_symbol_with_201_and_a_second_time_is_a_conflict() {
    let app = spawn_app().await;
    let symbol = json!({"symbol":"zzgw","name":"Gateway Test Co","exchange":"NASDAQ","currency":"USD","asset_type":"stock"});
    let (status, body) = app.post_json("/api/v1/stocks", &symbol).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["symbol"], "ZZGW");
    let (status, body) = app.get_json("/api/v1/stocks/ZZGW").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.post_json("/api/v1/stocks", &symbol).await;
    assert_eq!(status, ErrorCode::Conflict.http_status(), "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(body["service"], "market");
}

#[tokio::test]
async fn a_control_character_in_a_query_or_a_name_is_refused_not_a_server_error() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/api/v1/stocks?q=ab%00c").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["details"]["field"], "q", "{body}");
    let symbol = json!({"symbol":"ZZNUL","name":"Nul\u{0}Co","exchange":"NYSE","currency":"USD","asset_type":"stock"});
    let (status, body) = app.post_json("/api/v1/stocks", &symbol).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    let (status, _) = app.get_json("/api/v1/stocks/ZZNUL").await;
    assert_eq!(status, 404, "nothing was created");
}
