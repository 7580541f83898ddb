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
