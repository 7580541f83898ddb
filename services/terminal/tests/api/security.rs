//! Only the owner sees or drives a session; a shell gets no secret and stays in its workspace.

use bus::ErrorCode;
use contracts::terminal::{
    AttachSession, CloseSession, CreateSession, GetHistory, GetSession, ListCommands, ListSessions,
    ResizeSession, WriteSession,
};
use uuid::Uuid;

use crate::helpers::{TestApp, user_ctx};

#[tokio::test]
async fn another_user_finds_no_session_on_any_route() {
    let app = TestApp::new().await;
    let (owner, other) = (Uuid::now_v7(), Uuid::now_v7());
    let session = app.shell(owner).await;
    let id = session.id.clone();
    let ctx = user_ctx(other);
    let codes = [
        app.bus
            .request_routed(
                &ctx,
                &GetSession {
                    session_id: id.clone(),
                },
            )
            .await
            .map(|_| ()),
        app.bus
            .request_routed(
                &ctx,
                &WriteSession {
                    session_id: id.clone(),
                    data: Some("exit\r".into()),
                    data_base64: None,
                },
            )
            .await
            .map(|_| ()),
        app.bus
            .request_routed(
                &ctx,
                &ResizeSession {
                    session_id: id.clone(),
                    cols: 10,
                    rows: 10,
                },
            )
            .await
            .map(|_| ()),
        app.bus
            .request_routed(
                &ctx,
                &GetHistory {
                    session_id: id.clone(),
                    from_offset: None,
                    max_bytes: None,
                },
            )
            .await
            .map(|_| ()),
        app.bus
            .request_routed(
                &ctx,
                &ListCommands {
                    session_id: id.clone(),
                },
            )
            .await
            .map(|_| ()),
        app.bus
            .request_routed(
                &ctx,
                &AttachSession {
                    session_id: id.clone(),
                    attachment_id: Uuid::now_v7(),
                    acked: None,
                },
            )
            .await
            .map(|_| ()),
        app.bus
            .request_routed(
                &ctx,
                &CloseSession {
                    session_id: id.clone(),
                },
            )
            .await
            .map(|_| ()),
    ];
    for (route, result) in codes.into_iter().enumerate() {
        assert_eq!(
            result.unwrap_err().code(),
            ErrorCode::NotFound,
            "route {route}"
        );
    }
    let theirs = app.bus.request(&ctx, &ListSessions {}).await.unwrap();
    assert!(theirs.sessions.is_empty());
    // Untouched: still running, still the owner's.
    let mine = app
        .bus
        .request(&user_ctx(owner), &ListSessions {})
        .await
        .unwrap();
    assert_eq!(mine.sessions.len(), 1);
    assert_eq!(mine.sessions[0].attached, 0);
    assert_eq!(
        mine.sessions[0].status,
        contracts::terminal::SessionStatus::Running
    );
    // Nobody signed in: refused outright.
    let anonymous = app
        .bus
        .request(&bus::RequestContext::new(), &CreateSession::default())
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), ErrorCode::Unauthorized);
}

#[tokio::test]
async fn the_child_environment_is_built_from_allow_lists() {
    // Cargo gives every test process its manifest directory; a shell must not inherit it, as it
    // must not inherit the service's secrets.
    assert!(std::env::var("CARGO_MANIFEST_DIR").is_ok());
    let app = TestApp::new().await;
    let user = Uuid::now_v7();
    let session = app
        .create(
            user,
            CreateSession {
                env: Some([("EDITOR".to_owned(), "vi".to_owned())].into()),
                ..CreateSession::default()
            },
        )
        .await;
    app.write(user, &session.id, "env; echo END''ENV\r").await;
    let output = app.wait_for(user, &session.id, "ENDENV").await;
    // The typed line reads END''ENV; the first ENDENV ends what `env` printed.
    let (env, _) = output.split_once("ENDENV").unwrap();
    assert!(!env.contains("CARGO_MANIFEST_DIR"), "{env}");
    assert!(!env.contains("BOURSE_"), "{env}");
    assert!(env.contains("TERM=xterm-256color"), "{env}");
    assert!(env.contains("EDITOR=vi"), "{env}");
    let home = app.root.canonicalize().unwrap().join(user.to_string());
    assert!(env.contains(&format!("HOME={}", home.display())), "{env}");

    let secret = CreateSession {
        env: Some([("BOURSE_JWT_SECRET".to_owned(), "x".to_owned())].into()),
        ..CreateSession::default()
    };
    let err = app.bus.request(&user_ctx(user), &secret).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed);
    assert!(err.to_string().contains("BOURSE_JWT_SECRET"), "{err}");
}

#[tokio::test]
async fn a_session_starts_inside_the_users_workspace_only() {
    let app = TestApp::new().await;
    let user = Uuid::now_v7();
    let home = app.root.join(user.to_string());
    std::fs::create_dir_all(home.join("strategies")).unwrap();
    std::os::unix::fs::symlink("/etc", home.join("etc")).unwrap();
    for cwd in [
        "../..",
        "..",
        "/etc",
        "etc",
        "strategies/../../..",
        "missing",
    ] {
        let request = CreateSession {
            cwd: Some(cwd.into()),
            ..CreateSession::default()
        };
        let err = app
            .bus
            .request(&user_ctx(user), &request)
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed, "{cwd}");
    }
    let request = CreateSession {
        cwd: Some("strategies".into()),
        ..CreateSession::default()
    };
    let session = app.create(user, request).await;
    assert_eq!(session.cwd, "strategies");
    app.write(user, &session.id, "pwd\r").await;
    let strategies = home.canonicalize().unwrap().join("strategies");
    app.wait_for(user, &session.id, &format!("{}\r\n", strategies.display()))
        .await;
    // A command off the allow-list is refused.
    let request = CreateSession {
        command: Some("/bin/bash".into()),
        ..CreateSession::default()
    };
    let err = app
        .bus
        .request(&user_ctx(user), &request)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed);
}
