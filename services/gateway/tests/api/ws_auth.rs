//! WebSocket authentication: a token in the first frame or in `Sec-WebSocket-Protocol`, never
//! the URL; prices stay public; access ends when the token expires.

use std::time::Duration;

use auth::Role;
use bus::Clock;
use chrono::Utc;
use serde_json::json;

use crate::helpers::{Spawn, mint, spawn, spawn_app};

#[tokio::test]
async fn an_auth_frame_signs_the_socket_in_and_a_bad_token_is_refused() {
    let app = spawn_app().await;
    let (user_id, token) = app.signed_in("ws@example.com").await;
    let mut ws = app.ws().await;
    ws.send(json!({"type": "auth", "token": "not.a.token"}))
        .await;
    let refused = ws.next_frame().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "unauthorized", "{refused}");

    ws.send(json!({"type": "auth", "token": token})).await;
    let frame = ws.next_frame().await;
    assert_eq!(frame["type"], "authenticated", "{frame}");
    assert_eq!(frame["user_id"], user_id.as_str());
    assert_eq!(frame["roles"], json!(["user"]));
    // Still a working socket.
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next_frame().await["type"], "pong");
}

#[tokio::test]
async fn a_token_in_the_subprotocol_header_is_verified_before_the_upgrade() {
    let app = spawn_app().await;
    let (user_id, token) = app.signed_in("proto@example.com").await;
    let (mut ws, selected) = app
        .ws_with_protocols(&format!("bearer, {token}"))
        .await
        .expect("the upgrade");
    assert_eq!(
        selected.as_deref(),
        Some("bearer"),
        "the token is not echoed"
    );
    let frame = ws.next_frame().await;
    assert_eq!(frame["type"], "authenticated", "{frame}");
    assert_eq!(frame["user_id"], user_id.as_str());

    let refused = app.ws_with_protocols("bearer, forged.token.here").await;
    assert_eq!(refused.err().map(|s| s.as_u16()), Some(401));
}

#[tokio::test]
async fn prices_need_no_sign_in() {
    let app = spawn_app().await;
    let mut ws = app.ws().await;
    ws.subscribe(&["AAPL"], None).await;
    let seq = app.publish_price("AAPL", "10").await;
    assert_eq!(ws.next_event().await, (seq, "AAPL".to_owned()));
}

#[tokio::test]
async fn access_ends_when_the_token_expires_unless_renewed() {
    // The gateway reads a manual clock: the test moves it past an expiry instead of waiting.
    let clock = Clock::manual(Utc::now());
    let app = spawn(Spawn {
        market: false,
        identity: false,
        clock: clock.clone(),
        ..Spawn::default()
    })
    .await;
    let user = contracts::new_id();
    // Valid for two more seconds of the gateway's clock (issued in the past, so the lifetime
    // is short); the wall clock, which the signature check reads, is never past it.
    let short = |left: i64| {
        let issued = clock.now() - chrono::Duration::seconds(60 - left);
        let claims = app
            .keys
            .claims(user, vec![Role::User], Duration::from_secs(60), issued);
        app.keys.issue(&claims).unwrap()
    };
    let mut ws = app.ws().await;
    ws.send(json!({"type": "auth", "token": short(2)})).await;
    assert_eq!(ws.next_frame().await["type"], "authenticated");
    clock.advance(Duration::from_secs(3));
    let expired = ws.next_frame().await;
    assert_eq!(expired["type"], "error", "{expired}");
    assert_eq!(expired["code"], "unauthorized", "{expired}");

    // Renewed in time: no error, the new expiry is announced.
    ws.send(json!({"type": "auth", "token": short(2)})).await;
    assert_eq!(ws.next_frame().await["type"], "authenticated");
    ws.send(json!({"type": "auth", "token": mint(&app.keys, user, vec![Role::User])}))
        .await;
    assert_eq!(ws.next_frame().await["type"], "authenticated");
    clock.advance(Duration::from_secs(3));
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(
        ws.next_frame().await["type"],
        "pong",
        "no expiry error came first"
    );
}
