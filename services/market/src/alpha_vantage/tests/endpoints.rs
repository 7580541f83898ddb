//! Each endpoint's documented answer, read into our types.

use chrono::NaiveDate;
use contracts::market::Ticker;
use rust_decimal_macros::dec;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

#[tokio::test]
async fn global_quote_reads_price_previous_close_and_trading_day() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/query"))
        .and(query_param("function", "GLOBAL_QUOTE"))
        .and(query_param("symbol", "IBM"))
        .and(query_param("apikey", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "Global Quote": {
                "01. symbol": "IBM", "02. open": "166.5000", "03. high": "167.7500",
                "04. low": "165.8300", "05. price": "167.1600", "06. volume": "4282302",
                "07. latest trading day": "2024-05-03", "08. previous close": "166.9500",
                "09. change": "0.2100", "10. change percent": "0.1258%"
            }
        })))
        .expect(1)
        .mount(&server)
        .await;

    let quote = fast_client(&server).global_quote(&ibm()).await.unwrap();

    assert_eq!(
        quote,
        GlobalQuote {
            symbol: ibm(),
            price: dec!(167.16),
            previous_close: dec!(166.95),
            latest_trading_day: NaiveDate::from_ymd_opt(2024, 5, 3).unwrap(),
        }
    );
}

#[tokio::test]
async fn an_empty_global_quote_means_the_symbol_is_unknown() {
    let server = MockServer::start().await;
    answer_json(&server, "GLOBAL_QUOTE", json!({ "Global Quote": {} })).await;

    let error = fast_client(&server).global_quote(&ibm()).await.unwrap_err();

    assert!(
        matches!(&error, AlphaVantageError::NotFound { symbol } if symbol == "IBM"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_global_quote_with_a_broken_price_is_a_decode_error() {
    let server = MockServer::start().await;
    let quote = json!({ "05. price": "n/a", "07. latest trading day": "2024-05-03", "08. previous close": "1" });
    answer_json(&server, "GLOBAL_QUOTE", json!({ "Global Quote": quote })).await;

    let error = fast_client(&server).global_quote(&ibm()).await.unwrap_err();

    assert!(
        matches!(&error, AlphaVantageError::Decode(text) if text.contains("05. price")),
        "{error:?}"
    );
}

#[tokio::test]
async fn symbol_search_returns_every_match_with_its_score() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/query"))
        .and(query_param("function", "SYMBOL_SEARCH"))
        .and(query_param("keywords", "tesco plc"))
        .and(query_param("apikey", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "bestMatches": [
            { "1. symbol": "TSCO.LON", "2. name": "Tesco PLC", "3. type": "Equity",
              "4. region": "United Kingdom", "5. marketOpen": "08:00", "6. marketClose": "16:30",
              "7. timezone": "UTC+01", "8. currency": "GBX", "9. matchScore": "0.7273" },
            { "1. symbol": "TSCDF", "2. name": "Tesco plc", "3. type": "Equity",
              "4. region": "United States", "5. marketOpen": "09:30", "6. marketClose": "16:00",
              "7. timezone": "UTC-04", "8. currency": "USD", "9. matchScore": "0.7143" }
        ]})))
        .expect(1)
        .mount(&server)
        .await;

    let matches = fast_client(&server)
        .symbol_search("tesco plc")
        .await
        .unwrap();

    assert_eq!(matches.len(), 2);
    assert_eq!(matches[0].symbol, "TSCO.LON");
    assert_eq!(
        matches[0].ticker(),
        Some(Ticker::parse("TSCO.LON").unwrap())
    );
    assert_eq!(matches[0].currency, "GBX");
    assert_eq!(matches[0].match_score, dec!(0.7273));
    assert_eq!(matches[1].ticker(), Some(Ticker::parse("TSCDF").unwrap()));
    assert_eq!(matches[1].region, "United States");
    assert_eq!(
        (
            matches[1].market_open.as_str(),
            matches[1].market_close.as_str()
        ),
        ("09:30", "16:00")
    );
}

#[tokio::test]
async fn daily_closes_are_returned_oldest_first() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/query"))
        .and(query_param("function", "TIME_SERIES_DAILY"))
        .and(query_param("symbol", "IBM"))
        .and(query_param("outputsize", "compact"))
        .and(query_param("apikey", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "Meta Data": { "1. Information": "Daily Prices", "2. Symbol": "IBM" },
            "Time Series (Daily)": {
                "2024-05-03": { "1. open": "166.5", "2. high": "167.75", "3. low": "165.83", "4. close": "167.1600", "5. volume": "4282302" },
                "2024-05-01": { "1. open": "165.7", "2. high": "167.0", "3. low": "164.5", "4. close": "164.4300", "5. volume": "4030000" },
                "2024-05-02": { "1. open": "164.5", "2. high": "167.1", "3. low": "164.1", "4. close": "166.9500", "5. volume": "3900000" }
            }
        })))
        .expect(1)
        .mount(&server)
        .await;

    let closes = fast_client(&server)
        .daily_closes(&ibm(), false)
        .await
        .unwrap();

    let dates: Vec<_> = closes.iter().map(|c| c.date.to_string()).collect();
    assert_eq!(dates, ["2024-05-01", "2024-05-02", "2024-05-03"]);
    assert_eq!(closes[0].close, dec!(164.43));
    assert_eq!(closes[2].close, dec!(167.16));
}

#[tokio::test]
async fn a_full_history_asks_for_outputsize_full() {
    let server = MockServer::start().await;
    Mock::given(query_param("outputsize", "full"))
        .and(query_param("apikey", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "Meta Data": {}, "Time Series (Daily)": { "1999-11-01": { "4. close": "98.2500" } }
        })))
        .expect(1)
        .mount(&server)
        .await;

    let closes = fast_client(&server)
        .daily_closes(&ibm(), true)
        .await
        .unwrap();

    assert_eq!(closes.len(), 1);
    assert_eq!(closes[0].close, dec!(98.25));
}
