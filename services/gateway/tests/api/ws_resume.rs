//! Resume and lag: a client that reconnects, or falls behind, gets exactly what it missed.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{event_of, sample, spawn_app_with, spawn_gateway_only};

#[tokio::test]
async fn resume_after_reconnect_gets_exactly_the_missed_prices_in_order_then_live_ones() {
    let app = spawn_gateway_only().await;
    let mut ws = app.ws().await;
    ws.subscribe(&["AAPL", "MSFT"], None).await;
    let mut seen = Vec::new();
    for (symbol, price) in [("AAPL", "1"), ("MSFT", "2"), ("AAPL", "3")] {
        seen.push(app.publish_price(symbol, price).await);
    }
    let mut last = 0;
    for expected in &seen {
        let (seq, _) = ws.next_event().await;
        assert_eq!(seq, *expected);
        last = seq;
    }
    drop(ws);

    let mut missed = Vec::new();
    for (symbol, price) in [("MSFT", "4"), ("GOOG", "5"), ("AAPL", "6"), ("MSFT", "7")] {
        let seq = app.publish_price(symbol, price).await;
        if symbol != "GOOG" {
            missed.push((seq, symbol.to_owned()));
        }
    }

    let mut ws = app.ws().await;
    let subscribed = ws.subscribe(&["AAPL", "MSFT"], Some(last)).await;
    // `last_seq` is where this gateway's shared feed was when the socket joined: it may not
    // have read the last publish yet (what it has not read comes live, what is before it from
    // the gap), so it lies between the resume point and the stream's end.
    let joined_at = subscribed["last_seq"].as_u64().unwrap();
    assert!(
        (last..=missed.last().unwrap().0).contains(&joined_at),
        "{subscribed}"
    );
    for expected in &missed {
        assert_eq!(
            &ws.next_event().await,
            expected,
            "exactly the missed events, in order"
        );
    }
    let live = app.publish_price("AAPL", "8").await;
    assert_eq!(
        ws.next_event().await,
        (live, "AAPL".to_owned()),
        "then live ones, with nothing twice"
    );
}

#[tokio::test]
async fn resume_from_behind_what_the_socket_already_sent_is_refused_with_conflict() {
    let app = spawn_gateway_only().await;
    let mut ws = app.ws().await;
    ws.subscribe(&["AAPL"], None).await;
    let first = app.publish_price("AAPL", "1").await;
    let second = app.publish_price("AAPL", "2").await;
    assert_eq!(ws.next_event().await.0, first);
    assert_eq!(ws.next_event().await.0, second);
    ws.send(json!({"type":"subscribe","topic":"prices","symbols":["MSFT"],"resume_from":first}))
        .await;
    let frame = ws.next_frame().await;
    assert_eq!(
        (frame["type"].as_str(), frame["code"].as_str()),
        (Some("error"), Some("conflict")),
        "{frame}"
    );
}

#[tokio::test]
async fn a_symbol_added_with_resume_from_replays_from_there_while_the_others_go_on() {
    let app = spawn_gateway_only().await;
    let mut ws = app.ws().await;
    ws.subscribe(&["AAPL"], None).await;
    let aapl = app.publish_price("AAPL", "1").await;
    assert_eq!(ws.next_event().await.0, aapl);
    // Published while only AAPL is followed; then MSFT is added from `aapl` on.
    let msft = app.publish_price("MSFT", "2").await;
    let widened = ws.subscribe(&["MSFT"], Some(aapl)).await;
    assert_eq!(widened["keys"], json!(["AAPL", "MSFT"]));
    let later = app.publish_price("AAPL", "3").await;
    assert_eq!(
        ws.next_event().await,
        (msft, "MSFT".to_owned()),
        "the missed MSFT price is replayed"
    );
    assert_eq!(
        ws.next_event().await,
        (later, "AAPL".to_owned()),
        "and AAPL is not sent twice"
    );
}

#[tokio::test]
async fn a_slow_client_gets_lagged_and_resumes_without_gap_or_duplicate() {
    let app = spawn_app_with(|config| config.ws_buffer = 4).await;
    // A tiny TCP receive buffer, so that a client that does not read fills up fast.
    let mut ws = app.ws_at("/ws", Some(4096)).await;
    ws.subscribe(&["AAPL"], None).await;

    // Publish while the client reads nothing, until the gateway reports the lag. How much it
    // takes depends on the kernel's socket buffers (up to a few MB), hence batches.
    let mut published = Vec::new();
    for _ in 0..80 {
        published.extend(app.publish_prices("AAPL", 500).await);
        if sample(&app.metrics().await, "bourse_gateway_ws_lagged_total") >= 1.0 {
            break;
        }
    }
    assert!(
        sample(&app.metrics().await, "bourse_gateway_ws_lagged_total") >= 1.0,
        "the client never lagged"
    );
    let last_published = *published.last().unwrap();

    // Read everything: events, `lagged`, resubscribe from there, until the last one arrived.
    let mut received: Vec<u64> = Vec::new();
    let mut lags = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while received.last() != Some(&last_published) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "did not catch up; got {} events",
            received.len()
        );
        let frame = ws.next_frame().await;
        match frame["type"].as_str() {
            Some("event") => received.push(event_of(&frame).0),
            Some("lagged") => {
                lags += 1;
                let resume_from = frame["resume_from"].as_u64().unwrap();
                assert_eq!(
                    Some(&resume_from),
                    received.last(),
                    "lagged names the last event sent"
                );
                ws.subscribe(&["AAPL"], Some(resume_from)).await;
            }
            other => panic!("unexpected frame {other:?}: {frame}"),
        }
    }
    assert!(lags >= 1);
    assert_eq!(received, published, "every event exactly once, in order");
}
