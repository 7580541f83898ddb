//! The market service with an Alpha Vantage key, against a local server speaking its format.

use std::sync::Arc;

use contracts::market::{GetPriceHistory, GetQuote, GetSymbol, QuoteSource, SearchSymbols};
use market::{
    AppState,
    alpha_vantage::{AlphaVantage, AlphaVantageConfig, AlphaVantageError},
    error::MarketError,
    feed::alpha_vantage::AlphaVantageFeed,
};
use rust_decimal_macros::dec;
use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path, query_param},
};

use crate::helpers::{TestApp, spawn_app, ticker};

const KEY: &str = "demo-key";

fn config(server: &MockServer) -> market::Config {
    market::Config {
        alpha_vantage_api_key: Some(KEY.into()),
        alpha_vantage_url: server.uri(),
        alpha_vantage_requests_per_minute: 6000,
        ..market::Config::default()
    }
}

async fn answer(server: &MockServer, function: &str, body: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path("/query"))
        .and(query_param("function", function))
        .and(query_param("apikey", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

async fn feed(market: &TestApp, server: &MockServer) -> AlphaVantageFeed {
    let provider = Arc::new(
        AlphaVantage::new(AlphaVantageConfig {
            base_url: server.uri(),
            api_key: KEY.into(),
            requests_per_minute: 6000,
        })
        .unwrap(),
    );
    let state = AppState {
        alpha_vantage: Some(provider.clone()),
        ..market.state.clone()
    };
    AlphaVantageFeed::new(state, provider)
}

#[tokio::test]
async fn the_alpha_vantage_feed_turns_a_global_quote_into_a_price_and_a_quote() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GLOBAL_QUOTE",
        json!({"Global Quote": {
            "01. symbol": "AAPL", "02. open": "180.00", "03. high": "190.00", "04. low": "179.00",
            "05. price": "187.1200", "06. volume": "1000", "07. latest trading day": "2026-11-20",
            "08. previous close": "185.0000", "09. change": "2.1200", "10. change percent": "1.1459%"
        }}),
    )
    .await;
    let market = spawn_app(config(&server)).await;
    let mut feed = feed(&market, &server).await;

    let quoted = feed.try_run_once().await.unwrap().unwrap();

    let quote = market
        .call(GetQuote {
            symbol: quoted.clone(),
        })
        .await
        .unwrap();
    assert_eq!(quote.source, QuoteSource::AlphaVantage);
    assert_eq!(quote.price, dec!(187.12));
    assert_eq!(quote.previous_close, Some(dec!(185)));
    assert_eq!(quote.change, Some(dec!(2.12)));
    market.stop().await;
}

#[tokio::test]
async fn a_rate_limit_note_is_reported_as_rate_limited() {
    let server = MockServer::start().await;
    answer(&server, "GLOBAL_QUOTE", json!({"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute"})).await;
    let market = spawn_app(config(&server)).await;
    let mut feed = feed(&market, &server).await;

    let err = feed.try_run_once().await.unwrap_err();

    assert!(
        matches!(
            err,
            MarketError::AlphaVantage(AlphaVantageError::RateLimited(_))
        ),
        "{err:?}"
    );
    market.stop().await;
}

#[tokio::test]
async fn search_adds_symbols_alpha_vantage_knows_to_the_catalogue() {
    let server = MockServer::start().await;
    answer(
        &server,
        "SYMBOL_SEARCH",
        json!({"bestMatches": [
            {"1. symbol": "ZQZQ", "2. name": "Zed Quebec Inc", "3. type": "Equity", "4. region": "United States",
             "5. marketOpen": "09:30", "6. marketClose": "16:00", "7. timezone": "UTC-04", "8. currency": "USD", "9. matchScore": "1.0000"},
            {"1. symbol": "ZQZQ.LON", "2. name": "Zed Quebec plc", "3. type": "Equity", "4. region": "United Kingdom",
             "5. marketOpen": "08:00", "6. marketClose": "16:30", "7. timezone": "UTC+01", "8. currency": "GBX", "9. matchScore": "0.8"}
        ]}),
    )
    .await;
    let market = spawn_app(config(&server)).await;

    let found = market
        .call(SearchSymbols {
            q: Some(contracts::market::SearchQuery::parse("ZQZQ").unwrap()),
            limit: None,
        })
        .await
        .unwrap()
        .symbols;

    // Both listings are tickers as users write them, the London one with its suffix.
    let symbols: Vec<&str> = found.iter().map(|s| s.symbol.as_str()).collect();
    assert_eq!(symbols, ["ZQZQ", "ZQZQ.LON"], "{found:?}");
    assert_eq!(found[0].name, "Zed Quebec Inc");
    assert_eq!(found[1].currency, "GBX");
    assert_eq!(
        market
            .call(GetSymbol {
                symbol: ticker("ZQZQ")
            })
            .await
            .unwrap()
            .currency,
        "USD"
    );
    market.stop().await;
}

#[tokio::test]
async fn a_thin_history_is_backfilled_from_time_series_daily() {
    let server = MockServer::start().await;
    answer(
        &server,
        "TIME_SERIES_DAILY",
        json!({
            "Meta Data": {"1. Information": "Daily Prices", "2. Symbol": "AAPL"},
            "Time Series (Daily)": {
                "2026-11-19": {"1. open": "1", "2. high": "1", "3. low": "1", "4. close": "183.5000", "5. volume": "1"},
                "2026-11-18": {"1. open": "1", "2. high": "1", "3. low": "1", "4. close": "182.2500", "5. volume": "1"}
            }
        }),
    )
    .await;
    let market = spawn_app(config(&server)).await;

    let history = market
        .call(GetPriceHistory {
            symbol: ticker("AAPL"),
            range: contracts::DateRange::default(),
        })
        .await
        .unwrap();

    let dates: Vec<String> = history.closes.iter().map(|c| c.date.to_string()).collect();
    assert_eq!(
        dates,
        ["2026-11-18", "2026-11-19", "2026-11-20"],
        "backfill plus the seeded close"
    );
    market.stop().await;
}
