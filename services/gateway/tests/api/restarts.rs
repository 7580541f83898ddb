//! NATS stopped and started again under a running gateway and market (a nats-server of the
//! test's own): the gateway refuses at once while it is gone, and works again after, without
//! restarting anything.

use std::time::Duration;

use testkit::{NatsServer, wait_until};

use crate::helpers::{Spawn, spawn};

#[tokio::test]
async fn while_nats_is_down_the_gateway_answers_503_at_once_and_recovers_by_itself() {
    let mut server = NatsServer::start().await;
    let app = spawn(Spawn {
        nats_url: Some(server.url()),
        // Long, so that an answer that waited for it could not pass for a quick refusal.
        request_timeout: Duration::from_secs(30),
        ..Spawn::default()
    })
    .await;
    let (status, body) = app.get_json("/api/v1/stocks/AAPL").await;
    assert_eq!(status, 200, "{body}");

    server.stop();
    // The gateway's connection notices the server is gone within moments.
    wait_until(Duration::from_secs(5), "the gateway refuses", || async {
        app.get("/api/v1/stocks/AAPL").await.status() == 503
    })
    .await;
    let started = tokio::time::Instant::now();
    let (status, body) = app.get_json("/api/v1/stocks/AAPL").await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "refused without waiting for the request timeout: {:?}",
        started.elapsed()
    );
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert_eq!(body["service"], "gateway", "{body}");

    server.restart().await;
    wait_until(
        Duration::from_secs(20),
        "the gateway and market answer again",
        || async { app.get("/api/v1/stocks/AAPL").await.status() == 200 },
    )
    .await;
    let (status, body) = app.get_json("/api/v1/stocks/MSFT").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["service"], "market", "{body}");
}

#[tokio::test]
async fn a_websocket_resumes_exactly_after_nats_comes_back() {
    let mut server = NatsServer::start().await;
    let app = spawn(Spawn {
        nats_url: Some(server.url()),
        market: false,
        identity: false,
        ..Spawn::default()
    })
    .await;
    let mut ws = app.ws().await;
    ws.subscribe(&["AAPL"], None).await;
    let first = app.publish_price("AAPL", "1").await;
    assert_eq!(ws.next_event().await, (first, "AAPL".to_owned()));

    server.stop();
    server.restart().await;
    // Published while the socket's feed may still be recovering.
    let event = crate::helpers::price_event("AAPL", "2");
    let ctx = bus::RequestContext::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut published = loop {
        if let Ok(ack) = app.bus.publish_event(&ctx, &event).await {
            break vec![ack.sequence];
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "publishing never worked again"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    published.extend(app.publish_prices("AAPL", 3).await);

    // Either the shared feed carries on by itself, or the socket is told `lagged` and resumes.
    let mut received = vec![first];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while received.last() != published.last() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "got {received:?}, want {published:?}"
        );
        let frame = ws.next_frame().await;
        match frame["type"].as_str() {
            Some("event") => received.push(crate::helpers::event_of(&frame).0),
            Some("lagged") => {
                let resume_from = frame["resume_from"].as_u64().unwrap();
                assert_eq!(Some(&resume_from), received.last());
                ws.subscribe(&["AAPL"], Some(resume_from)).await;
            }
            other => panic!("unexpected frame {other:?}: {frame}"),
        }
    }
    let mut want = vec![first];
    want.extend(&published);
    assert_eq!(received, want, "every event once, in order");
}
