//! The shared live feed and the caps at the door: sockets share one consumer per topic, and
//! connections and WebSockets are capped per gateway, per IP and per user.

use std::time::Duration;

use auth::Role;
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{Spawn, TestApp, mint, sample, spawn, spawn_gateway_only};

/// Consumers on the test's `PRICES` stream right now.
async fn price_consumers(app: &TestApp) -> usize {
    app.bus
        .stream_info("PRICES")
        .await
        .unwrap()
        .state
        .consumer_count
}

#[tokio::test]
async fn many_sockets_share_one_consumer_and_each_gets_its_own_symbols() {
    let app = spawn_gateway_only().await;
    assert_eq!(price_consumers(&app).await, 0);
    let mut aapl = Vec::new();
    let mut msft = Vec::new();
    for _ in 0..10 {
        let mut ws = app.ws().await;
        ws.subscribe(&["AAPL"], None).await;
        aapl.push(ws);
        let mut ws = app.ws().await;
        ws.subscribe(&["MSFT"], None).await;
        msft.push(ws);
    }
    assert_eq!(
        price_consumers(&app).await,
        1,
        "one consumer for every socket of the gateway"
    );
    let a = app.publish_price("AAPL", "1").await;
    let m = app.publish_price("MSFT", "2").await;
    for ws in &mut aapl {
        assert_eq!(ws.next_event().await, (a, "AAPL".to_owned()));
    }
    for ws in &mut msft {
        assert_eq!(ws.next_event().await, (m, "MSFT".to_owned()));
    }
    // A resume reads its gap with a consumer of its own, then joins the shared feed.
    let missed = app.publish_price("AAPL", "3").await;
    let mut late = app.ws().await;
    late.subscribe(&["AAPL"], Some(a)).await;
    assert_eq!(late.next_event().await, (missed, "AAPL".to_owned()));
    let live = app.publish_price("AAPL", "4").await;
    assert_eq!(late.next_event().await, (live, "AAPL".to_owned()));
    for ws in &mut aapl {
        assert_eq!(ws.next_event().await, (missed, "AAPL".to_owned()));
        assert_eq!(ws.next_event().await, (live, "AAPL".to_owned()));
    }
}

#[tokio::test]
async fn websockets_per_ip_are_capped_and_a_closed_one_frees_its_place() {
    let app = spawn(Spawn {
        market: false,
        identity: false,
        configure: Box::new(|config| config.ws_max_per_ip = 2),
        ..Spawn::default()
    })
    .await;
    let first = app.ws().await;
    let _second = app.ws().await;
    let refused = app.try_ws(None).await;
    assert_eq!(refused.err().map(|s| s.as_u16()), Some(429));
    drop(first);
    testkit::wait_until(
        Duration::from_secs(5),
        "the place is free again",
        || async { app.try_ws(None).await.is_ok() },
    )
    .await;
}

#[tokio::test]
async fn websockets_per_user_are_capped_at_the_upgrade_and_at_sign_in() {
    let app = spawn(Spawn {
        market: false,
        identity: false,
        configure: Box::new(|config| config.ws_max_per_user = 1),
        ..Spawn::default()
    })
    .await;
    let user = contracts::new_id();
    let token = mint(&app.keys, user, vec![Role::User]);
    let (mut first, _) = app
        .ws_with_protocols(&format!("bearer, {token}"))
        .await
        .expect("the first socket of the user");
    assert_eq!(first.next_frame().await["type"], "authenticated");
    let refused = app.ws_with_protocols(&format!("bearer, {token}")).await;
    assert_eq!(refused.err().map(|s| s.as_u16()), Some(429));

    // An anonymous socket that signs in as the same user is refused and stays anonymous.
    let mut other = app.ws().await;
    other.send(json!({"type":"auth","token":token})).await;
    let frame = other.next_frame().await;
    assert_eq!(frame["code"], "rate_limited", "{frame}");
    // The first one may renew its sign-in: it keeps its place.
    first.send(json!({"type":"auth","token":token})).await;
    assert_eq!(first.next_frame().await["type"], "authenticated");
    // Another user is not affected.
    let someone_else = mint(&app.keys, contracts::new_id(), vec![Role::User]);
    other
        .send(json!({"type":"auth","token":someone_else}))
        .await;
    assert_eq!(other.next_frame().await["type"], "authenticated");
}

/// Sends a request on `tcp` and tells whether a response came back.
async fn served(tcp: &mut TcpStream) -> bool {
    let request = "GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n";
    if tcp.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = [0u8; 512];
    match tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await {
        Ok(Ok(n)) => n > 0 && buf.starts_with(b"HTTP/1.1 200"),
        _ => false,
    }
}

#[tokio::test]
async fn connections_past_the_cap_are_closed_at_once_and_counted() {
    let app = spawn(Spawn {
        market: false,
        identity: false,
        configure: Box::new(|config| config.max_connections = 3),
        ..Spawn::default()
    })
    .await;
    // reqwest keeps a connection of its own for `metrics()`: the test's raw ones are two.
    let before = sample(
        &app.metrics().await,
        "bourse_gateway_connections_refused_total",
    );
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut tcp = TcpStream::connect(app.addr).await.unwrap();
        assert!(served(&mut tcp).await);
        open.push(tcp);
    }
    let mut over = TcpStream::connect(app.addr).await.unwrap();
    assert!(!served(&mut over).await, "the fourth connection is closed");
    let after = sample(
        &app.metrics().await,
        "bourse_gateway_connections_refused_total",
    );
    assert!(after > before, "counted: {before} -> {after}");
    drop(open.pop());
    testkit::wait_until(Duration::from_secs(5), "a place is free again", || async {
        let mut tcp = TcpStream::connect(app.addr).await.unwrap();
        served(&mut tcp).await
    })
    .await;
}
