//! The WebSocket: subscriptions, filtering, bad frames, missing streams.

use std::time::Duration;

use serde_json::json;
use testkit::wait_until;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{Spawn, sample, spawn, spawn_gateway_only};

#[tokio::test]
async fn a_subscriber_gets_live_prices_of_its_symbols_only() {
    let app = spawn_gateway_only().await;
    let before = app.publish_price("AAPL", "100").await;
    let mut ws = app.ws().await;
    let subscribed = ws.subscribe(&["aapl", "MSFT"], None).await;
    assert_eq!(subscribed["keys"], json!(["AAPL", "MSFT"]));
    assert_eq!(subscribed["last_seq"], before);

    let ignored = app.publish_price("GOOG", "1").await;
    let aapl = app.publish_price("AAPL", "101").await;
    let msft = app.publish_price("MSFT", "300").await;
    assert!(ignored < aapl);
    assert_eq!(
        ws.next_event().await,
        (aapl, "AAPL".to_owned()),
        "GOOG is skipped, the old AAPL not replayed"
    );
    let frame = ws.next_frame().await;
    assert_eq!(frame["type"], "event");
    assert_eq!(frame["topic"], "prices");
    assert_eq!(frame["seq"], msft);
    assert_eq!(frame["data"]["price"], "300");
    assert_eq!(frame["data"]["currency"], "USD");
}

#[tokio::test]
async fn subscribing_again_widens_the_set_without_sending_anything_twice() {
    let app = spawn_gateway_only().await;
    let mut ws = app.ws().await;
    ws.subscribe(&["AAPL"], None).await;
    let first = app.publish_price("AAPL", "1").await;
    assert_eq!(ws.next_event().await, (first, "AAPL".to_owned()));

    let widened = ws.subscribe(&["MSFT"], None).await;
    assert_eq!(widened["keys"], json!(["AAPL", "MSFT"]));
    let msft = app.publish_price("MSFT", "2").await;
    let aapl = app.publish_price("AAPL", "3").await;
    assert_eq!(ws.next_event().await, (msft, "MSFT".to_owned()));
    assert_eq!(ws.next_event().await, (aapl, "AAPL".to_owned()));
}

#[tokio::test]
async fn unsubscribe_stops_the_named_symbols_and_without_names_all() {
    let app = spawn_gateway_only().await;
    let mut ws = app.ws().await;
    ws.subscribe(&["AAPL", "MSFT"], None).await;
    ws.send(json!({"type":"unsubscribe","topic":"prices","symbols":["AAPL"]}))
        .await;
    let left = ws.next_frame().await;
    assert_eq!(
        left,
        json!({"type":"unsubscribed","topic":"prices","keys":["MSFT"]})
    );
    app.publish_price("AAPL", "1").await;
    let msft = app.publish_price("MSFT", "2").await;
    assert_eq!(ws.next_event().await, (msft, "MSFT".to_owned()));

    ws.send(json!({"type":"unsubscribe","topic":"prices"}))
        .await;
    assert_eq!(ws.next_frame().await["keys"], json!([]));
    app.publish_price("MSFT", "3").await;
    ws.send(json!({"type":"ping"})).await;
    assert_eq!(
        ws.next_frame().await,
        json!({"type":"pong"}),
        "nothing arrives after unsubscribing all"
    );
}

#[tokio::test]
async fn invalid_frames_get_an_error_frame_and_the_socket_stays_usable() {
    let app = spawn_gateway_only().await;
    let mut ws = app.ws().await;
    let cases = [
        ("{not json".to_owned(), "bad_request"),
        (json!({"type":"dance"}).to_string(), "validation_failed"),
        (
            json!({"type":"subscribe","topic":"gossip","symbols":["AAPL"]}).to_string(),
            "validation_failed",
        ),
        (
            json!({"type":"subscribe","topic":"prices","symbols":["BRK_B"]}).to_string(),
            "validation_failed",
        ),
        (
            json!({"type":"subscribe","topic":"prices","symbols":[]}).to_string(),
            "validation_failed",
        ),
    ];
    for (text, code) in cases {
        ws.stream_send(Message::text(text.clone())).await;
        let frame = ws.next_frame().await;
        assert_eq!(frame["type"], "error", "{text}: {frame}");
        assert_eq!(frame["code"], code, "{text}: {frame}");
    }
    ws.stream_send(Message::binary(vec![1, 2, 3])).await;
    assert_eq!(ws.next_frame().await["code"], "unsupported_media_type");

    ws.send(json!({"type":"ping"})).await;
    assert_eq!(ws.next_frame().await, json!({"type":"pong"}));
    ws.subscribe(&["AAPL"], None).await;
    let seq = app.publish_price("AAPL", "5").await;
    assert_eq!(ws.next_event().await.0, seq);
}

#[tokio::test]
async fn a_message_over_1_mb_is_refused_as_payload_too_large_and_closed_with_1009() {
    let app = spawn_gateway_only().await;
    let mut ws = app.ws().await;
    let huge = json!({"type":"subscribe","topic":"prices","symbols":["AAPL"],"pad":"x".repeat(1024 * 1024)});
    ws.send(huge).await;
    let frame = ws.next_frame().await;
    assert_eq!(frame["type"], "error", "{frame}");
    assert_eq!(frame["code"], "payload_too_large", "{frame}");
    match ws.next_message().await {
        Message::Close(Some(close)) => assert_eq!(u16::from(close.code), 1009),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn subscribe_answers_unavailable_when_the_prices_stream_is_missing() {
    let app = spawn(Spawn {
        market: false,
        identity: false,
        provision: false,
        ..Spawn::default()
    })
    .await;
    let mut ws = app.ws().await;
    ws.send(json!({"type":"subscribe","topic":"prices","symbols":["AAPL"]}))
        .await;
    let frame = ws.next_frame().await;
    assert_eq!(frame["type"], "error", "{frame}");
    assert_eq!(frame["code"], "unavailable", "{frame}");
    ws.send(json!({"type":"ping"})).await;
    assert_eq!(
        ws.next_frame().await,
        json!({"type":"pong"}),
        "the socket survives"
    );
}

#[tokio::test]
async fn ws_prices_is_an_alias_of_ws_and_connections_are_counted() {
    let app = spawn_gateway_only().await;
    let mut ws = app.ws_at("/ws/prices", None).await;
    ws.subscribe(&["AAPL"], None).await;
    let metrics = app.metrics().await;
    assert_eq!(
        sample(&metrics, "bourse_gateway_ws_connections"),
        1.0,
        "{metrics}"
    );
    drop(ws);
    wait_until(
        Duration::from_secs(5),
        "the closed socket is no longer counted",
        || async { sample(&app.metrics().await, "bourse_gateway_ws_connections") == 0.0 },
    )
    .await;
}

#[tokio::test]
async fn a_plain_get_on_the_websocket_path_is_refused_with_an_envelope() {
    let app = spawn_gateway_only().await;
    let (status, body) = app.get_json("/ws").await;
    assert!(status.is_client_error(), "{status}");
    assert_eq!(body["success"], false);
    assert_eq!(body["service"], "gateway");
}
