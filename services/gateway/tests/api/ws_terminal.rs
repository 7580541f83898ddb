//! Terminal sessions through the edge: REST to create and drive them, the WebSocket to attach
//! from an offset, type, share a session between sockets, and survive a flood.

use std::time::Duration;

use auth::Role;
use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::helpers::{Spawn, TestApp, WsClient, mint, spawn, workspace_root};

async fn app() -> TestApp {
    spawn(Spawn {
        market: false,
        identity: false,
        terminal: true,
        ..Spawn::default()
    })
    .await
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app
        .send_as(Method::POST, Some(token), "/api/v1/terminal", Some(&body))
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    body["data"].clone()
}

async fn type_in(app: &TestApp, token: &str, id: &str, text: &str) {
    let response = app
        .send_as(
            Method::POST,
            Some(token),
            &format!("/api/v1/terminal/{id}/write"),
            Some(&json!({"data": text})),
        )
        .await;
    assert_eq!(response.status(), 200);
}

/// The session's output from `from` to its end, through the REST history.
async fn history(app: &TestApp, token: &str, id: &str, from: u64) -> (Vec<u8>, Value) {
    let mut bytes = Vec::new();
    let mut at = from;
    loop {
        let (status, body) = app
            .get_json_as(
                token,
                &format!("/api/v1/terminal/{id}/history?from_offset={at}"),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let page = body["data"].clone();
        bytes.extend(
            base64::engine::general_purpose::STANDARD
                .decode(page["data"].as_str().unwrap())
                .unwrap(),
        );
        at = page["next_offset"].as_u64().unwrap();
        if at >= page["output_offset"].as_u64().unwrap() {
            return (bytes, page);
        }
    }
}

async fn signed_in(app: &TestApp, path: &str, token: &str) -> WsClient {
    let mut ws = app.ws_at(path, None).await;
    ws.send(json!({"type": "auth", "token": token})).await;
    let frame = ws.next_frame().await;
    assert_eq!(frame["type"], "authenticated", "{frame}");
    ws
}

async fn attach(ws: &mut WsClient, id: &str, offset: Option<u64>) -> Value {
    let mut frame = json!({"type": "attach", "session_id": id});
    if let Some(offset) = offset {
        frame["offset"] = offset.into();
    }
    ws.send(frame).await;
    ws.next_frame().await
}

/// What a socket read: output bytes, and the JSON frames between them.
#[derive(Default)]
struct Screen {
    output: Vec<u8>,
    frames: Vec<Value>,
}

impl Screen {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }
}

/// Reads until `done` holds for what was read, acking output as it comes.
async fn read_until(
    ws: &mut WsClient,
    screen: &mut Screen,
    offset: &mut u64,
    done: impl Fn(&Screen) -> bool,
) {
    while !done(screen) {
        match ws.next_message().await {
            Message::Binary(bytes) => {
                assert_eq!(bytes[0], 0, "an output frame starts with opcode 0");
                screen.output.extend_from_slice(&bytes[1..]);
                *offset += bytes.len() as u64 - 1;
                ws.send(json!({"type": "ack", "offset": *offset})).await;
            }
            Message::Text(text) => {
                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                if frame["type"] == "truncated" {
                    *offset = frame["to_offset"].as_u64().unwrap();
                }
                screen.frames.push(frame);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn input(text: &str) -> Message {
    let mut frame = vec![0u8];
    frame.extend_from_slice(text.as_bytes());
    Message::binary(frame)
}

#[tokio::test]
async fn a_session_is_driven_over_rest_and_nobody_else_may() {
    let app = app().await;
    let owner = mint(&app.keys, Uuid::now_v7(), vec![Role::User]);
    let other = mint(&app.keys, Uuid::now_v7(), vec![Role::User]);
    let session = create(&app, &owner, json!({"cols": 100, "rows": 30})).await;
    let id = session["id"].as_str().unwrap().to_owned();
    assert_eq!(session["status"], "running");
    assert_eq!(
        (session["cols"].as_u64(), session["rows"].as_u64()),
        (Some(100), Some(30))
    );
    type_in(&app, &owner, &id, "echo vi''a-rest\r").await;
    testkit::wait_until(
        Duration::from_secs(10),
        "the echo is in the scrollback",
        || async {
            String::from_utf8_lossy(&history(&app, &owner, &id, 0).await.0).contains("via-rest")
        },
    )
    .await;
    let (status, body) = app.get_json_as(&owner, "/api/v1/terminal").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["sessions"][0]["id"], id.as_str());
    let (status, body) = app
        .get_json_as(&owner, &format!("/api/v1/terminal/{id}/commands"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["commands"][0]["line"], "echo vi''a-rest");

    // Another user: 404 on every route, and an empty list.
    for (method, path, body) in [
        (Method::GET, format!("/api/v1/terminal/{id}"), None),
        (Method::DELETE, format!("/api/v1/terminal/{id}"), None),
        (
            Method::POST,
            format!("/api/v1/terminal/{id}/write"),
            Some(json!({"data": "exit\r"})),
        ),
        (
            Method::POST,
            format!("/api/v1/terminal/{id}/resize"),
            Some(json!({"cols": 10, "rows": 10})),
        ),
        (Method::GET, format!("/api/v1/terminal/{id}/history"), None),
        (Method::GET, format!("/api/v1/terminal/{id}/commands"), None),
    ] {
        let response = app
            .send_as(method.clone(), Some(&other), &path, body.as_ref())
            .await;
        assert_eq!(response.status(), 404, "{method} {path}");
    }
    let (_, body) = app.get_json_as(&other, "/api/v1/terminal").await;
    assert_eq!(body["data"]["sessions"], json!([]));
    // A malformed id is refused at the edge; the overview is for admins.
    let response = app
        .send_as(
            Method::GET,
            Some(&owner),
            "/api/v1/terminal/not-an-id",
            None,
        )
        .await;
    assert_eq!(response.status(), 422);
    let response = app
        .send_as(
            Method::GET,
            Some(&owner),
            "/api/v1/terminal/stats/overview",
            None,
        )
        .await;
    assert_eq!(response.status(), 403);
    let (status, body) = app
        .get_json_as(&app.admin_token, "/api/v1/terminal/stats/overview")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["running"], 1);
    // The cwd cannot leave the workspace.
    let response = app
        .send_as(
            Method::POST,
            Some(&owner),
            "/api/v1/terminal",
            Some(&json!({"cwd": "../.."})),
        )
        .await;
    assert_eq!(response.status(), 422);

    let response = app
        .send_as(
            Method::DELETE,
            Some(&owner),
            &format!("/api/v1/terminal/{id}"),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_socket_reattaches_from_its_offset_and_gets_exactly_what_it_missed() {
    let app = app().await;
    let token = mint(&app.keys, Uuid::now_v7(), vec![Role::User]);
    let id = create(&app, &token, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ws = signed_in(&app, "/ws/terminal", &token).await;
    let attached = attach(&mut ws, &id, None).await;
    assert_eq!(attached["type"], "attached", "{attached}");
    assert_eq!(attached["from_offset"], 0);
    let mut screen = Screen::default();
    let mut offset = 0;
    ws.stream_send(input("echo fi''rst\r")).await;
    read_until(&mut ws, &mut screen, &mut offset, |s| {
        s.text().contains("first\r\n")
    })
    .await;

    // Detached, the shell goes on writing.
    ws.send(json!({"type": "detach"})).await;
    // Output already on its way comes before `detached`, and counts.
    let detached = loop {
        match ws.next_message().await {
            Message::Text(text) => break serde_json::from_str::<Value>(text.as_str()).unwrap(),
            Message::Binary(bytes) => offset += bytes.len() as u64 - 1,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(detached["type"], "detached");
    type_in(&app, &token, &id, "echo mis''sed-1; echo mis''sed-2\r").await;
    testkit::wait_until(
        Duration::from_secs(10),
        "the shell wrote while detached",
        || async {
            String::from_utf8_lossy(&history(&app, &token, &id, 0).await.0).contains("missed-2")
        },
    )
    .await;
    let (missed, page) = history(&app, &token, &id, offset).await;
    let end = page["output_offset"].as_u64().unwrap();

    // Another socket, from the last offset: exactly the missed bytes.
    let mut again = signed_in(&app, "/ws", &token).await;
    let attached = attach(&mut again, &id, Some(offset)).await;
    assert_eq!(attached["from_offset"], offset, "{attached}");
    let mut resumed = Screen::default();
    let mut at = offset;
    read_until(&mut again, &mut resumed, &mut at, |s| {
        s.output.len() as u64 >= end - offset
    })
    .await;
    assert_eq!(resumed.output, missed);
    assert!(resumed.frames.is_empty(), "{:?}", resumed.frames);
    // Then live, from where it left off.
    again.stream_send(input("echo li''ve\r")).await;
    read_until(&mut again, &mut resumed, &mut at, |s| {
        s.text().contains("live\r\n")
    })
    .await;
    let (all, _) = history(&app, &token, &id, offset).await;
    assert!(all.starts_with(&resumed.output));

    // The exit comes after the last output.
    again.stream_send(input("exit 7\r")).await;
    read_until(&mut again, &mut resumed, &mut at, |s| !s.frames.is_empty()).await;
    let exited = &resumed.frames[0];
    assert_eq!(exited["type"], "exited", "{exited}");
    assert_eq!(exited["exit_code"], 7);
    assert_eq!(exited["output_offset"], at);
    // Attached after the end: the scrollback, then `exited` all the same.
    let mut late = signed_in(&app, "/ws", &token).await;
    assert_eq!(
        attach(&mut late, &id, Some(offset)).await["type"],
        "attached"
    );
    let (mut replay, mut replay_at) = (Screen::default(), offset);
    read_until(&mut late, &mut replay, &mut replay_at, |s| {
        !s.frames.is_empty()
    })
    .await;
    assert_eq!(replay.frames[0]["type"], "exited", "{:?}", replay.frames);
    assert_eq!(replay_at, at);
    assert_eq!(replay.output, resumed.output);
}

#[tokio::test]
async fn a_full_screen_program_reads_back_through_a_vt_parser() {
    let app = app().await;
    let user = Uuid::now_v7();
    let token = mint(&app.keys, user, vec![Role::User]);
    let session = create(&app, &token, json!({"cols": 80, "rows": 24})).await;
    let id = session["id"].as_str().unwrap().to_owned();
    let home = workspace_root(&app.env).join(user.to_string());
    std::fs::write(home.join("notes.txt"), "buy low\nsell high\n").unwrap();
    type_in(&app, &token, &id, "vi notes.txt\r").await;
    // Attached after the program drew its screen: the scrollback redraws it.
    testkit::wait_until(Duration::from_secs(10), "vi drew its screen", || async {
        String::from_utf8_lossy(&history(&app, &token, &id, 0).await.0).contains("sell high")
    })
    .await;
    let mut ws = signed_in(&app, "/ws", &token).await;
    assert_eq!(attach(&mut ws, &id, None).await["type"], "attached");
    let mut parser = vt100::Parser::new(24, 80, 0);
    let mut screen = Screen::default();
    let mut offset = 0;
    read_until(&mut ws, &mut screen, &mut offset, |s| {
        let mut parser = vt100::Parser::new(24, 80, 0);
        parser.process(&s.output);
        let text = parser.screen().contents();
        text.contains("buy low") && text.contains("sell high") && text.contains("notes.txt")
    })
    .await;
    parser.process(&screen.output);
    let rows: Vec<String> = parser.screen().rows(0, 80).collect();
    assert!(rows[0].starts_with("buy low"), "{rows:#?}");
    assert!(rows[1].starts_with("sell high"), "{rows:#?}");
    assert!(rows[2].starts_with('~'), "{rows:#?}");
    // The cursor is where vi put it: the first line.
    assert_eq!(parser.screen().cursor_position().0, 0);
    // vi is in normal mode: quit without writing.
    ws.stream_send(input(":q!\r")).await;
    // Back at the shell's prompt (vi drops input typed ahead as it exits).
    read_until(&mut ws, &mut screen, &mut offset, |s| {
        let text = s.text();
        text.contains("\u{1b}[?1049l") && (text.ends_with("# ") || text.ends_with("$ "))
    })
    .await;
    // A resize reaches the program: stty sees it.
    ws.send(json!({"type": "resize", "cols": 120, "rows": 40}))
        .await;
    ws.stream_send(input("stty size\r")).await;
    read_until(&mut ws, &mut screen, &mut offset, |s| {
        s.text().contains("40 120")
    })
    .await;
    assert!(
        screen
            .frames
            .iter()
            .any(|f| f["type"] == "resized" && f["session"]["cols"] == 120)
    );
}

#[tokio::test]
async fn two_sockets_share_a_session_and_strangers_are_kept_out() {
    let app = app().await;
    let token = mint(&app.keys, Uuid::now_v7(), vec![Role::User]);
    let id = create(&app, &token, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut first = signed_in(&app, "/ws", &token).await;
    let mut second = signed_in(&app, "/ws/terminal", &token).await;
    assert_eq!(attach(&mut first, &id, None).await["type"], "attached");
    assert_eq!(attach(&mut second, &id, None).await["type"], "attached");
    let (status, body) = app
        .get_json_as(&token, &format!("/api/v1/terminal/{id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["attached"], 2);
    first.stream_send(input("echo fr''om-first\r")).await;
    second.stream_send(input("echo fr''om-second\r")).await;
    for ws in [&mut first, &mut second] {
        let (mut screen, mut offset) = (Screen::default(), 0);
        read_until(ws, &mut screen, &mut offset, |s| {
            s.text().contains("from-first\r\n") && s.text().contains("from-second\r\n")
        })
        .await;
    }

    // Another user cannot attach; nobody types without attaching; anonymous sockets are refused.
    let stranger = mint(&app.keys, Uuid::now_v7(), vec![Role::User]);
    let mut ws = signed_in(&app, "/ws", &stranger).await;
    let refused = attach(&mut ws, &id, None).await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "not_found", "{refused}");
    ws.stream_send(input("exit\r")).await;
    assert_eq!(ws.next_frame().await["code"], "conflict");
    ws.send(json!({"type": "resize", "cols": 10, "rows": 10}))
        .await;
    assert_eq!(ws.next_frame().await["code"], "conflict");
    let mut anonymous = app.ws().await;
    let refused = attach(&mut anonymous, &id, None).await;
    assert_eq!(refused["code"], "unauthorized", "{refused}");
    // An offset past the output is refused. `first` is still attached, so output of the
    // shell (its prompt) may come before the answer.
    first
        .send(json!({"type": "attach", "session_id": id, "offset": 1u64 << 40}))
        .await;
    let refused = loop {
        if let Message::Text(text) = first.next_message().await {
            break serde_json::from_str::<Value>(text.as_str()).unwrap();
        }
    };
    assert_eq!(refused["code"], "validation_failed", "{refused}");
}

#[tokio::test]
async fn a_flood_pauses_a_slow_client_and_ctrl_c_still_gets_through() {
    let app = app().await;
    let token = mint(&app.keys, Uuid::now_v7(), vec![Role::User]);
    let id = create(&app, &token, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ws = signed_in(&app, "/ws", &token).await;
    assert_eq!(attach(&mut ws, &id, None).await["type"], "attached");
    ws.stream_send(input("yes\r")).await;
    // Never acking: the server stops at its window (plus at most one live message).
    let mut received = 0u64;
    while received < 1024 * 1024 {
        if let Message::Binary(bytes) = ws.next_message().await {
            received += bytes.len() as u64 - 1;
        }
    }
    assert!(received <= 1024 * 1024 + 32 * 1024, "{received}");
    // The shell is not held back by the paused client: it writes on into the ring.
    testkit::wait_until(
        Duration::from_secs(10),
        "yes wrote far past the window",
        || async {
            let (_, body) = app
                .get_json_as(&token, &format!("/api/v1/terminal/{id}"))
                .await;
            body["data"]["output_offset"].as_u64().unwrap() > received + 4 * 1024 * 1024
        },
    )
    .await;
    let quiet = tokio::time::timeout(Duration::from_millis(300), ws.next_message()).await;
    assert!(quiet.is_err(), "a paused socket got {quiet:?}");
    // Ctrl-C goes through while paused; once the client acks, it catches up (told what the
    // ring no longer held) and reaches the prompt.
    ws.stream_send(input("\u{3}")).await;
    ws.stream_send(input("echo DO''NE\r")).await;
    ws.send(json!({"type": "ack", "offset": received})).await;
    let mut screen = Screen::default();
    let mut offset = received;
    read_until(&mut ws, &mut screen, &mut offset, |s| {
        s.text().contains("DONE\r\n")
    })
    .await;
    let truncated = screen
        .frames
        .iter()
        .find(|f| f["type"] == "truncated")
        .expect("a truncated frame");
    assert!(
        truncated["to_offset"].as_u64() > truncated["from_offset"].as_u64(),
        "{truncated}"
    );
}

#[tokio::test]
async fn a_client_that_keeps_acking_gets_every_byte_of_a_large_output() {
    let app = app().await;
    let user = Uuid::now_v7();
    let token = mint(&app.keys, user, vec![Role::User]);
    let id = create(&app, &token, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // 4 MB: four times the scrollback, so nothing arrives from history alone.
    let line = format!("{}\n", "0123456789".repeat(9));
    let lines = 40_000;
    let home = workspace_root(&app.env).join(user.to_string());
    std::fs::write(home.join("big.txt"), line.repeat(lines)).unwrap();
    let mut ws = signed_in(&app, "/ws", &token).await;
    assert_eq!(attach(&mut ws, &id, None).await["type"], "attached");
    ws.stream_send(input("stty -echo; cat big.txt; echo EN''D\r"))
        .await;
    let mut offset = 0;
    let mut done = false;
    let mut text_lines = 0;
    let mut pending = Vec::new();
    while !done {
        let mut chunk = Screen::default();
        read_until(&mut ws, &mut chunk, &mut offset, |s| {
            !s.output.is_empty() || !s.frames.is_empty()
        })
        .await;
        assert!(chunk.frames.is_empty(), "{:?}", chunk.frames);
        pending.extend_from_slice(&chunk.output);
        // Count the whole lines seen so far; keep the partial tail.
        let mut start = 0;
        for end in pending
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i)
        {
            let text = &pending[start..end];
            if text == format!("{}\r", "0123456789".repeat(9)).as_bytes() {
                text_lines += 1;
            } else if text.ends_with(b"END\r") {
                done = true;
            }
            start = end + 1;
        }
        pending.drain(..start);
    }
    assert_eq!(text_lines, lines);
}
