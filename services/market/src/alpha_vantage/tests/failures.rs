//! Each way a call fails, and the rate limiter.

use std::time::{Duration, Instant};

use serde_json::json;
use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

#[tokio::test]
async fn an_error_message_is_an_invalid_request() {
    let server = MockServer::start().await;
    let text = "Invalid API call. Please retry or visit the documentation for TIME_SERIES_DAILY.";
    answer_json(
        &server,
        "TIME_SERIES_DAILY",
        json!({ "Error Message": text }),
    )
    .await;

    let error = fast_client(&server)
        .daily_closes(&ibm(), false)
        .await
        .unwrap_err();

    assert!(
        matches!(&error, AlphaVantageError::InvalidRequest(message) if message == text),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_note_is_a_rate_limit() {
    let server = MockServer::start().await;
    let text =
        "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute.";
    answer_json(&server, "GLOBAL_QUOTE", json!({ "Note": text })).await;

    let error = fast_client(&server).global_quote(&ibm()).await.unwrap_err();

    assert!(
        matches!(&error, AlphaVantageError::RateLimited(message) if message == text),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_information_is_its_own_kind() {
    let server = MockServer::start().await;
    let text = "This is a premium endpoint. You may subscribe to any of the premium plans.";
    answer_json(&server, "SYMBOL_SEARCH", json!({ "Information": text })).await;

    let error = fast_client(&server).symbol_search("ibm").await.unwrap_err();

    assert!(
        matches!(&error, AlphaVantageError::Information(message) if message == text),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_non_2xx_status_is_a_status_error() {
    let server = MockServer::start().await;
    Mock::given(path("/query"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream down"))
        .mount(&server)
        .await;

    let error = fast_client(&server).global_quote(&ibm()).await.unwrap_err();

    assert!(
        matches!(&error, AlphaVantageError::Status { status: 503, body } if body == "upstream down"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_body_that_is_not_the_documented_json_is_a_decode_error() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GLOBAL_QUOTE",
        ResponseTemplate::new(200).set_body_string("<html>"),
    )
    .await;
    answer_json(&server, "SYMBOL_SEARCH", json!({ "unexpected": [] })).await;
    let av = fast_client(&server);

    let not_json = av.global_quote(&ibm()).await.unwrap_err();
    let wrong_shape = av.symbol_search("x").await.unwrap_err();

    assert!(
        matches!(not_json, AlphaVantageError::Decode(_)),
        "{not_json:?}"
    );
    assert!(
        matches!(wrong_shape, AlphaVantageError::Decode(_)),
        "{wrong_shape:?}"
    );
}

#[tokio::test]
async fn the_api_key_never_appears_in_an_error() {
    let server = MockServer::start().await;
    let echo = format!("Invalid API call for apikey={KEY}.");
    answer_json(&server, "GLOBAL_QUOTE", json!({ "Error Message": echo })).await;
    Mock::given(query_param("function", "SYMBOL_SEARCH"))
        .respond_with(ResponseTemplate::new(500).set_body_string(format!("bad key {KEY}")))
        .mount(&server)
        .await;
    let av = fast_client(&server);

    let echoed = av.global_quote(&ibm()).await.unwrap_err();
    let status = av.symbol_search("ibm").await.unwrap_err();
    // Nothing listens on this port once the listener is dropped: the connection is refused.
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let unreachable = AlphaVantage::new(AlphaVantageConfig {
        base_url: format!("http://{closed_port}"),
        api_key: KEY.to_owned(),
        requests_per_minute: 6_000,
    })
    .unwrap()
    .global_quote(&ibm())
    .await
    .unwrap_err();

    assert!(
        matches!(unreachable, AlphaVantageError::Transport(_)),
        "{unreachable:?}"
    );
    for error in [&echoed, &status, &unreachable] {
        let text = format!("{} / {error:?}", full_text(error));
        assert!(!text.contains(KEY), "the key leaked: {text}");
    }
    assert!(echoed.to_string().contains("apikey=[redacted]"), "{echoed}");
}

#[tokio::test]
async fn the_limiter_spaces_calls_to_the_configured_rate() {
    let server = MockServer::start().await;
    answer_json(&server, "GLOBAL_QUOTE", json!({ "Global Quote": {} })).await;
    // 600 a minute: one call every 100 ms, the first one at once.
    let av = client(&server, 600);

    let started = Instant::now();
    for _ in 0..4 {
        let _ = av.global_quote(&ibm()).await;
    }
    let elapsed = started.elapsed();

    assert_eq!(server.received_requests().await.unwrap().len(), 4);
    assert!(
        elapsed >= Duration::from_millis(290),
        "4 calls took only {elapsed:?}"
    );
}
