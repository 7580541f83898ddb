//! The assistant through the edge: a message over REST, its reply followed on `/ws` (`chat`
//! topic) live and resumed, or streamed as server-sent events; nobody else's conversations.

use auth::Role;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Spawn, TestApp, WsClient, mint, spawn};

async fn app() -> TestApp {
    spawn(Spawn {
        portfolio: true,
        assistant: true,
        ..Spawn::default()
    })
    .await
}

async fn signed_in(app: &TestApp, token: &str) -> WsClient {
    let mut ws = app.ws_at("/ws/chat", None).await;
    ws.send(json!({"type": "auth", "token": token})).await;
    assert_eq!(ws.next_frame().await["type"], "authenticated");
    ws
}

/// Chat events until `completed` or `failed`: their subjects' last tokens, and the text.
async fn reply(ws: &mut WsClient) -> (Vec<String>, String) {
    let (mut kinds, mut text) = (Vec::new(), String::new());
    loop {
        let frame = ws.next_frame().await;
        assert_eq!(frame["type"], "event", "{frame}");
        assert_eq!(frame["topic"], "chat");
        let kind = frame["data"]["kind"].as_str().unwrap().to_owned();
        if kind == "delta" {
            text.push_str(frame["data"]["text"].as_str().unwrap());
        }
        let last = kind == "completed" || kind == "failed";
        kinds.push(kind);
        if last {
            return (kinds, text);
        }
    }
}

#[tokio::test]
async fn a_reply_is_followed_live_resumed_and_streamed_as_server_sent_events() {
    let app = app().await;
    let token = mint(&app.keys, Uuid::now_v7(), vec![Role::User]);
    let response = app
        .send_as(
            Method::POST,
            Some(&token),
            "/api/v1/chat/sessions",
            Some(&json!({})),
        )
        .await;
    assert_eq!(response.status(), 201);
    let conversation: Value = response.json().await.unwrap();
    let id = conversation["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(conversation["data"]["model"], "bourse-local");

    let mut ws = signed_in(&app, &token).await;
    ws.send(json!({"type": "subscribe", "topic": "chat", "keys": [id]}))
        .await;
    let subscribed = ws.next_frame().await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    let response = app
        .send_as(
            Method::POST,
            Some(&token),
            "/api/v1/chat/message",
            Some(&json!({"conversation_id": id, "content": "What is my portfolio worth?"})),
        )
        .await;
    assert_eq!(response.status(), 201);
    let started: Value = response.json().await.unwrap();
    assert!(started["data"]["generation_id"].is_string());
    let (kinds, text) = reply(&mut ws).await;
    assert_eq!(kinds.first().map(String::as_str), Some("started"));
    assert!(kinds.contains(&"tool_call".to_owned()) && kinds.contains(&"tool_result".to_owned()));
    assert_eq!(text, "You have no portfolios yet.");

    // A reloaded page: the same reply again from the start of the stream, in order.
    let mut again = signed_in(&app, &token).await;
    again
        .send(json!({"type": "subscribe", "topic": "chat", "keys": [id], "resume_from": 0}))
        .await;
    assert_eq!(again.next_frame().await["type"], "subscribed");
    assert_eq!(reply(&mut again).await, (kinds, text.clone()));

    // The saved branch.
    let (status, body) = app
        .get_json_as(&token, &format!("/api/v1/chat/sessions/{id}/messages"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["messages"][1]["content"], text.as_str());
    assert_eq!(body["data"]["messages"][1]["status"], "complete");

    // Server-sent events: `accepted`, then the steps, then `completed`.
    let response = app
        .http
        .post(app.url("/api/v1/chat/message"))
        .bearer_auth(&token)
        .header("accept", "text/event-stream")
        .json(&json!({"conversation_id": id, "content": "quote AAPL"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let body = response.text().await.unwrap();
    let events: Vec<&str> = body
        .lines()
        .filter_map(|line| line.strip_prefix("event: "))
        .collect();
    assert_eq!(events.first(), Some(&"accepted"), "{body}");
    assert_eq!(events.get(1), Some(&"started"), "{body}");
    assert_eq!(events.last(), Some(&"completed"), "{body}");
    assert!(body.contains("AAPL"), "{body}");

    // Export as a file.
    let response = app
        .send_as(
            Method::GET,
            Some(&token),
            &format!("/api/v1/chat/sessions/{id}/export?format=md"),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".md")
    );
}

#[tokio::test]
async fn nobody_else_reads_follows_or_stops_a_conversation() {
    let app = app().await;
    let owner = mint(&app.keys, Uuid::now_v7(), vec![Role::User]);
    let other = mint(&app.keys, Uuid::now_v7(), vec![Role::User]);
    let response = app
        .send_as(
            Method::POST,
            Some(&owner),
            "/api/v1/chat/message",
            Some(&json!({"content": "tell me a joke"})),
        )
        .await;
    assert_eq!(response.status(), 201);
    let started: Value = response.json().await.unwrap();
    let id = started["data"]["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let generation = started["data"]["generation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let folder: Value = app
        .send_as(
            Method::POST,
            Some(&owner),
            "/api/v1/chat/folders",
            Some(&json!({"name": "Mine"})),
        )
        .await
        .json()
        .await
        .unwrap();
    let folder = folder["data"]["id"].as_str().unwrap().to_owned();
    for (method, path, body) in [
        (Method::GET, format!("/api/v1/chat/sessions/{id}"), None),
        (
            Method::PUT,
            format!("/api/v1/chat/sessions/{id}"),
            Some(json!({"pinned": true})),
        ),
        (
            Method::GET,
            format!("/api/v1/chat/sessions/{id}/messages"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/chat/sessions/{id}/export?format=json"),
            None,
        ),
        (
            Method::POST,
            "/api/v1/chat/message".to_owned(),
            Some(json!({"conversation_id": id, "content": "hi"})),
        ),
        (
            Method::POST,
            format!("/api/v1/chat/generations/{generation}/stop"),
            None,
        ),
        (
            Method::PUT,
            format!("/api/v1/chat/folders/{folder}"),
            Some(json!({"name": "Theirs"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/chat/folders/{folder}"),
            None,
        ),
        (Method::DELETE, format!("/api/v1/chat/sessions/{id}"), None),
    ] {
        let response = app
            .send_as(method.clone(), Some(&other), &path, body.as_ref())
            .await;
        assert_eq!(response.status(), 404, "{method} {path}");
    }
    let mut ws = signed_in(&app, &other).await;
    ws.send(json!({"type": "subscribe", "topic": "chat", "keys": [id]}))
        .await;
    let refused = ws.next_frame().await;
    assert_eq!(refused["code"], "not_found", "{refused}");
    let (_, body) = app.get_json_as(&other, "/api/v1/chat/sessions").await;
    assert_eq!(body["data"]["conversations"], json!([]));
    let (status, body) = app
        .get_json_as(&owner, &format!("/api/v1/chat/sessions/{id}"))
        .await;
    assert_eq!(status, 200, "{body}");
    // The anonymous are refused at the edge.
    let response = app
        .send_as(Method::GET, None, "/api/v1/chat/sessions", None)
        .await;
    assert_eq!(response.status(), 401);
}
