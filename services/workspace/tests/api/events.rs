//! File events, whoever writes: the API, a terminal session in the same directory; and a
//! deleted user's workspace going with them.

use std::time::Duration;

use bus::RequestContext;
use contracts::{
    identity::UserDeleted,
    terminal::{CreateSession, WriteSession},
    workspace::{DeleteFile, EntryKind, WorkspaceEventKind},
};

use crate::helpers::{TestApp, path, user_ctx};

#[tokio::test]
async fn writes_through_the_api_are_created_updated_and_deleted_events() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let project = app.project(user, "watched").await;
    let mut events = app.events(project.id).await;

    app.write(user, project.id, "notes/today.md", b"# Today")
        .await;
    let created = events.until(|e| matches!(&e.kind, WorkspaceEventKind::FileCreated { path, .. } if path == "notes/today.md")).await;
    // The new directory comes first, then the file in it; nothing of .git or temporary files.
    let kinds: Vec<_> = created.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            WorkspaceEventKind::FileCreated {
                path: "notes".into(),
                entry: EntryKind::Directory,
                size: 0
            },
            WorkspaceEventKind::FileCreated {
                path: "notes/today.md".into(),
                entry: EntryKind::File,
                size: 7
            },
        ]
    );
    assert!(
        created
            .iter()
            .all(|e| e.owner_id == user && e.project_id == project.id)
    );

    // An atomic replace (temporary file and rename) is one update.
    app.write(user, project.id, "notes/today.md", b"# Today, edited")
        .await;
    let updated = events.next().await;
    assert_eq!(
        updated.kind,
        WorkspaceEventKind::FileUpdated {
            path: "notes/today.md".into(),
            size: 15
        }
    );
    app.ok(
        user,
        &DeleteFile {
            project_id: project.id,
            path: path("notes"),
            recursive: true,
        },
    )
    .await;
    let deleted = events
        .until(
            |e| matches!(&e.kind, WorkspaceEventKind::FileDeleted { path, .. } if path == "notes"),
        )
        .await;
    let kinds: Vec<_> = deleted.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            WorkspaceEventKind::FileDeleted {
                path: "notes/today.md".into(),
                entry: EntryKind::File
            },
            WorkspaceEventKind::FileDeleted {
                path: "notes".into(),
                entry: EntryKind::Directory
            },
        ]
    );
    // Stored in WORKSPACE, so a client can replay them.
    let info = app
        .bus
        .stream_info(<contracts::workspace::WorkspaceEvent as contracts::Event>::STREAM)
        .await
        .unwrap();
    assert!(info.state.messages >= 5, "{:?}", info.state);
    assert_eq!(
        events.none_within(Duration::from_millis(400)).await,
        None,
        "nothing more"
    );
}

#[tokio::test]
async fn a_file_written_in_a_terminal_session_is_an_event() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let project = app.project(user, "shell").await;
    let terminal = app
        .env
        .start::<terminal::App>(terminal::Config {
            workspace_root: app.root.clone(),
            terminal_commands: vec!["/bin/sh".into()],
            ..terminal::Config::default()
        })
        .await;
    let _terminal = testkit::run(terminal);
    let mut events = app.events(project.id).await;
    let create = CreateSession {
        cwd: Some("shell".into()),
        ..CreateSession::default()
    };
    let session = app.bus.request(&user_ctx(user), &create).await.unwrap();
    let write = WriteSession {
        session_id: session.id.clone(),
        data: Some("printf 'from the shell' > made-in-terminal.txt\n".into()),
        data_base64: None,
    };
    app.bus
        .request_routed(&user_ctx(user), &write)
        .await
        .unwrap();
    let seen = events.until(|e| matches!(&e.kind, WorkspaceEventKind::FileCreated { path, .. } if path == "made-in-terminal.txt")).await;
    let last = seen.last().unwrap();
    assert_eq!(
        last.kind,
        WorkspaceEventKind::FileCreated {
            path: "made-in-terminal.txt".into(),
            entry: EntryKind::File,
            size: 14
        }
    );
    // And the file API sees it too.
    assert_eq!(
        app.read(user, project.id, "made-in-terminal.txt").await.1,
        b"from the shell"
    );
}

#[tokio::test]
async fn a_deleted_user_loses_their_workspace_directory() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let keeper = app.user("Bob").await;
    let project = app.project(user, "gone").await;
    let kept = app.project(keeper, "kept").await;
    app.write(user, project.id, "x.txt", b"x").await;
    std::fs::write(
        app.root.join(user.to_string()).join("loose.txt"),
        "from a terminal",
    )
    .unwrap();
    let event = UserDeleted {
        event_id: contracts::new_id(),
        occurred_at: chrono::Utc::now(),
        user_id: user,
        deleted_by: None,
    };
    app.bus
        .publish_event(&RequestContext::new(), &event)
        .await
        .unwrap();
    let home = app.root.join(user.to_string());
    testkit::wait_until(
        Duration::from_secs(10),
        "the user's directory is removed",
        || {
            let home = home.clone();
            async move { !home.exists() }
        },
    )
    .await;
    let err = app
        .call(
            user,
            &contracts::workspace::GetProject {
                project_id: project.id,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), bus::ErrorCode::NotFound);
    assert!(app.dir(keeper, &kept).is_dir(), "other users keep theirs");
}
