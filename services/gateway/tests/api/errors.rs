//! Every way a request fails maps onto the error catalogue, with its status and the envelope.

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Spawn, spawn, spawn_app, spawn_gateway_only};

#[tokio::test]
async fn an_unknown_symbol_is_a_404_from_market() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/api/v1/stocks/ZZZZZ").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["service"], "market");
}

#[tokio::test]
async fn an_invalid_symbol_in_the_path_is_refused_with_422_before_any_nats_call() {
    // Without market, anything that reached NATS would be a 503.
    let app = spawn_gateway_only().await;
    for path in [
        "/api/v1/stocks/BRK_B",
        "/api/v1/stocks/A*B/price",
        "/api/v1/stocks/%3E/history",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 422, "{path}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed");
        assert_eq!(body["service"], "gateway");
    }
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let app = spawn_gateway_only().await;
    let (status, body) = app
        .post_raw("/api/v1/stocks", "application/json", "{\"symbol\": ")
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");
    assert_eq!(body["service"], "gateway");
}

#[tokio::test]
async fn well_formed_but_invalid_bodies_are_a_422() {
    let app = spawn_gateway_only().await;
    let bad_symbol = json!({"symbol":"BRK_B","name":"x","exchange":"NYSE","currency":"USD","asset_type":"stock"});
    let missing_field = json!({"symbol":"NEWCO","name":"x"});
    let blank_name = json!({"symbol":"NEWCO","name":" ","exchange":"NYSE","currency":"USD","asset_type":"stock"});
    for body in [bad_symbol, missing_field, blank_name] {
        let (status, reply) = app.post_json("/api/v1/stocks", &body).await;
        assert_eq!(status, 422, "{body}: {reply}");
        assert_eq!(reply["error"]["code"], "validation_failed");
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_where_json_is_expected_is_a_415() {
    let app = spawn_gateway_only().await;
    let (status, body) = app
        .post_raw("/api/v1/stocks", "text/plain", "symbol=AAPL")
        .await;
    assert_eq!(status, 415, "{body}");
    assert_eq!(body["error"]["code"], "unsupported_media_type");
}

#[tokio::test]
async fn a_body_over_10_mb_is_refused_with_a_413_envelope() {
    let app = spawn_gateway_only().await;
    // Raw HTTP: announce 11 MB and send none of it, so the refusal cannot race the upload.
    let mut tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = format!(
        "POST /api/v1/stocks/AAPL/history HTTP/1.1\r\nhost: {}\r\ncontent-type: text/csv\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        app.addr,
        11 * 1024 * 1024
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    let body = &response[response.find("\r\n\r\n").unwrap() + 4..];
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
    assert_eq!(body["success"], false);
}

#[tokio::test]
async fn a_body_over_the_nats_max_payload_is_refused_with_413() {
    let app = spawn_gateway_only().await;
    let max_payload = app.bus.client().server_info().max_payload;
    let mut csv = String::from("date,close\n");
    while csv.len() <= max_payload {
        csv.push_str("2026-01-02,123.45\n");
    }
    let (status, body) = app
        .post_raw("/api/v1/stocks/AAPL/history", "text/csv", csv)
        .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn requests_answer_503_when_market_is_not_running() {
    let app = spawn_gateway_only().await;
    let (status, body) = app.get_json("/api/v1/stocks/AAPL").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    assert_eq!(body["service"], "gateway");
    assert!(
        !body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("market.v1"),
        "no subjects leak: {body}"
    );
}

#[tokio::test]
async fn requests_answer_504_when_market_does_not_answer_in_time() {
    let app = spawn(Spawn {
        market: false,
        request_timeout: Duration::from_millis(300),
        ..Spawn::default()
    })
    .await;
    // A responder that takes the request and never answers (registered before the request).
    let mut silent = testkit::listen(
        &app.bus,
        <contracts::market::GetSymbol as contracts::Request>::SUBJECT,
    )
    .await;
    let swallow = tokio::spawn(async move { while silent.next().await.is_some() {} });
    let (status, body) = app.get_json("/api/v1/stocks/AAPL").await;
    swallow.abort();
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "timeout");
}

#[tokio::test]
async fn a_malformed_query_string_is_a_400() {
    let app = spawn_gateway_only().await;
    let (status, body) = app.get_json("/api/v1/stocks?limit=many").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");
}

#[tokio::test]
async fn a_method_the_route_does_not_have_gets_the_envelope() {
    let app = spawn_gateway_only().await;
    let response = app
        .http
        .delete(app.url("/api/v1/stocks"))
        .send()
        .await
        .unwrap();
    let (status, body) = crate::helpers::envelope_of(response).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");
}
