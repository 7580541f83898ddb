//! The client against a local HTTP server (wiremock) replaying Alpha Vantage's documented wire
//! format: [`endpoints`] reads each function's answer, [`failures`] each way a call fails.
//! This file holds the shared helpers and the configuration checks.

mod endpoints;
mod failures;

use std::error::Error as _;

use contracts::market::Ticker;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

const KEY: &str = "TESTKEY123";

fn client(server: &MockServer, requests_per_minute: u32) -> AlphaVantage {
    AlphaVantage::new(AlphaVantageConfig {
        base_url: server.uri(),
        api_key: KEY.to_owned(),
        requests_per_minute,
    })
    .unwrap()
}

/// 6000 a minute: one call every 10 ms, so the limiter does not slow the other tests down.
fn fast_client(server: &MockServer) -> AlphaVantage {
    client(server, 6_000)
}

/// Answers every call of `function` that carries the key with `response`.
async fn answer(server: &MockServer, function: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path("/query"))
        .and(query_param("function", function))
        .and(query_param("apikey", KEY))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn answer_json(server: &MockServer, function: &str, body: Value) {
    answer(
        server,
        function,
        ResponseTemplate::new(200).set_body_json(body),
    )
    .await;
}

fn ibm() -> Ticker {
    Ticker::parse("IBM").unwrap()
}

/// The error and all its causes, as a log line would show them.
fn full_text(error: &AlphaVantageError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[test]
fn a_configuration_that_cannot_work_is_refused() {
    let good = AlphaVantageConfig::new("key");
    let cases = [
        AlphaVantageConfig {
            api_key: "  ".into(),
            ..good.clone()
        },
        AlphaVantageConfig {
            requests_per_minute: 0,
            ..good.clone()
        },
        AlphaVantageConfig {
            base_url: "ftp://example.com".into(),
            ..good.clone()
        },
        AlphaVantageConfig {
            base_url: "not a url".into(),
            ..good.clone()
        },
    ];
    for config in cases {
        let result = AlphaVantage::new(config.clone());
        assert!(
            matches!(result, Err(AlphaVantageError::Config(_))),
            "{config:?}"
        );
    }
    assert!(AlphaVantage::new(good).is_ok());
}

#[test]
fn debug_output_hides_the_api_key() {
    let config = AlphaVantageConfig::new(KEY);
    assert_eq!(config.base_url, "https://www.alphavantage.co");
    assert_eq!(config.requests_per_minute, 5);
    assert!(!format!("{config:?}").contains(KEY));
    assert!(!format!("{:?}", AlphaVantage::new(config).unwrap()).contains(KEY));
}
