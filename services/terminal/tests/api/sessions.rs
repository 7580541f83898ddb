//! A session as its owner drives it: input, output, size, scrollback, exit.

use bus::ErrorCode;
use contracts::terminal::{
    CloseSession, CreateSession, ExitCause, GetHistory, GetSession, ListCommands, ListSessions,
    ResizeSession, SessionStatus,
};
use uuid::Uuid;

use crate::helpers::{TestApp, decode, next_exit, user_ctx};

#[tokio::test]
async fn a_shell_echoes_what_it_runs() {
    let app = TestApp::new().await;
    let user = Uuid::now_v7();
    let session = app.shell(user).await;
    assert_eq!(session.status, SessionStatus::Running);
    assert_eq!((session.cols, session.rows), (80, 24));
    assert_eq!(session.command, "/bin/sh");
    assert_eq!(session.cwd, ".");
    // The quotes keep the typed line (echoed by the terminal) from matching the output.
    app.write(user, &session.id, "echo hel''lo-there\r").await;
    app.wait_for(user, &session.id, "hello-there").await;
    let view = app
        .bus
        .request_routed(
            &user_ctx(user),
            &GetSession {
                session_id: session.id.clone(),
            },
        )
        .await
        .unwrap();
    assert!(view.output_offset > 0);
    assert_eq!(view.history_start, 0);
}

#[tokio::test]
async fn cat_is_interactive_and_its_exit_is_an_event() {
    let app = TestApp::new().await;
    let user = Uuid::now_v7();
    let session = app
        .create(
            user,
            CreateSession {
                command: Some("cat".into()),
                ..CreateSession::default()
            },
        )
        .await;
    let mut exits = app.exits(&session.id).await;
    app.write(user, &session.id, "ping\r").await;
    // The terminal echoes the line, then cat writes it back.
    let seen = app.wait_for(user, &session.id, "ping\r\nping\r\n").await;
    assert_eq!(seen.matches("ping").count(), 2, "{seen:?}");
    app.write(user, &session.id, "\u{4}").await;
    let exited = next_exit(&mut exits).await;
    assert_eq!(exited.exit_code, Some(0));
    assert_eq!(exited.cause, ExitCause::Exited);
    assert_eq!(exited.owner_id, user);
    let output = app.output(user, &session.id, 0).await;
    assert_eq!(exited.output_offset, output.len() as u64);
}

#[tokio::test]
async fn an_exit_status_is_kept_with_the_scrollback() {
    let app = TestApp::new().await;
    let user = Uuid::now_v7();
    let session = app.shell(user).await;
    let mut exits = app.exits(&session.id).await;
    app.write(user, &session.id, "echo bye''bye; exit 3\r")
        .await;
    let exited = next_exit(&mut exits).await;
    assert_eq!(exited.exit_code, Some(3));
    let view = app
        .bus
        .request_routed(
            &user_ctx(user),
            &GetSession {
                session_id: session.id.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(view.status, SessionStatus::Exited);
    assert_eq!(view.exit_code, Some(3));
    assert!(view.exited_at.is_some());
    // Still readable, but no longer driven.
    app.wait_for(user, &session.id, "byebye").await;
    let write = contracts::terminal::WriteSession {
        session_id: session.id.clone(),
        data: Some("ls\r".into()),
        data_base64: None,
    };
    let err = app
        .bus
        .request_routed(&user_ctx(user), &write)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
    // A signal is reported as 128 + its number.
    let session = app.shell(user).await;
    let mut exits = app.exits(&session.id).await;
    app.write(user, &session.id, "kill -KILL $$\r").await;
    assert_eq!(next_exit(&mut exits).await.exit_code, Some(128 + 9));
}

#[tokio::test]
async fn a_resize_is_what_the_program_sees() {
    let app = TestApp::new().await;
    let user = Uuid::now_v7();
    let session = app.shell(user).await;
    let resized = app
        .bus
        .request_routed(
            &user_ctx(user),
            &ResizeSession {
                session_id: session.id.clone(),
                cols: 132,
                rows: 43,
            },
        )
        .await
        .unwrap();
    assert_eq!((resized.cols, resized.rows), (132, 43));
    app.write(user, &session.id, "stty size\r").await;
    app.wait_for(user, &session.id, "43 132").await;
    let bad = ResizeSession {
        session_id: session.id.clone(),
        cols: 0,
        rows: 43,
    };
    let err = app
        .bus
        .request_routed(&user_ctx(user), &bad)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed);
}

#[tokio::test]
async fn history_is_addressed_by_offset_and_says_what_it_dropped() {
    let app = TestApp::with(|config| config.terminal_scrollback = 4096).await;
    let user = Uuid::now_v7();
    let session = app.shell(user).await;
    app.write(user, &session.id, "echo mark''er\r").await;
    let before = app.wait_for(user, &session.id, "marker").await;
    let at = before.len() as u64;
    app.write(user, &session.id, "echo sec''ond\r").await;
    app.wait_for(user, &session.id, "second").await;
    // From an offset: exactly the bytes after it.
    let after = String::from_utf8(app.output(user, &session.id, at).await).unwrap();
    assert!(
        after.contains("second") && !after.contains("marker"),
        "{after:?}"
    );
    // A page is at most max_bytes, and says where the next starts.
    let ask = |from_offset, max_bytes| GetHistory {
        session_id: session.id.clone(),
        from_offset: Some(from_offset),
        max_bytes: Some(max_bytes),
    };
    let page = app
        .bus
        .request_routed(&user_ctx(user), &ask(0, 5))
        .await
        .unwrap();
    assert_eq!(decode(&page.data).len(), 5);
    assert_eq!(
        (page.from_offset, page.next_offset, page.truncated),
        (0, 5, false)
    );
    assert_eq!(page.encoding, "base64");
    // 10,000 bytes through a 4,096-byte ring: the oldest are dropped, and a read from 0 says so.
    app.write(user, &session.id, "i=0; while [ $i -lt 100 ]; do echo 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456; i=$((i+1)); done; echo END''MARK\r").await;
    app.wait_for(user, &session.id, "ENDMARK").await;
    let page = app
        .bus
        .request_routed(&user_ctx(user), &ask(0, 1_000_000))
        .await
        .unwrap();
    assert!(page.truncated);
    assert!(page.from_offset > 0);
    assert_eq!(page.next_offset - page.from_offset, 4096);
    assert_eq!(page.next_offset, page.output_offset);
}

#[tokio::test]
async fn commands_are_the_input_lines() {
    let app = TestApp::new().await;
    let user = Uuid::now_v7();
    let session = app.shell(user).await;
    app.write(user, &session.id, "echo onne\u{7f}\u{7f}e\r")
        .await;
    // The shell runs (and handles SIGINT) before Ctrl-C: one sent while it starts kills it.
    app.wait_for(user, &session.id, "one\r\n").await;
    app.write(user, &session.id, "rm -rf nothing\u{3}").await;
    app.write(user, &session.id, "echo two\r").await;
    let lines = app
        .bus
        .request_routed(
            &user_ctx(user),
            &ListCommands {
                session_id: session.id.clone(),
            },
        )
        .await
        .unwrap()
        .commands;
    let lines: Vec<&str> = lines.iter().map(|c| c.line.as_str()).collect();
    assert_eq!(lines, ["echo one", "echo two"]);
}

#[tokio::test]
async fn a_closed_session_is_hung_up_and_forgotten() {
    let app = TestApp::new().await;
    let user = Uuid::now_v7();
    let session = app.shell(user).await;
    let mut exits = app.exits(&session.id).await;
    let closed = app
        .bus
        .request_routed(
            &user_ctx(user),
            &CloseSession {
                session_id: session.id.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(closed.id, session.id);
    let exited = next_exit(&mut exits).await;
    assert_eq!(exited.cause, ExitCause::Closed);
    assert_eq!(exited.exit_code, Some(128 + 1), "SIGHUP ends a shell");
    testkit::wait_until(
        std::time::Duration::from_secs(5),
        "the session is forgotten",
        || async {
            let list = app
                .bus
                .request(&user_ctx(user), &ListSessions {})
                .await
                .unwrap();
            list.sessions.is_empty()
        },
    )
    .await;
    let err = app
        .bus
        .request_routed(
            &user_ctx(user),
            &GetSession {
                session_id: session.id.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
}
