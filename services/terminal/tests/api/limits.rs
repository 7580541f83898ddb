//! Sessions per user and per instance, idle sessions and exited ones.

use std::time::Duration;

use bus::ErrorCode;
use contracts::terminal::{
    AttachSession, CreateSession, DetachSession, ExitCause, GetOverview, GetSession, SessionStatus,
};
use uuid::Uuid;

use crate::helpers::{TestApp, admin_ctx, next_exit, user_ctx};

#[tokio::test]
async fn sessions_per_user_and_per_instance_are_limited() {
    let app = TestApp::with(|config| {
        config.terminal_max_per_user = 2;
        config.terminal_max_per_instance = 3;
    })
    .await;
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
    app.shell(first).await;
    app.shell(first).await;
    let err = app
        .bus
        .request(&user_ctx(first), &CreateSession::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert!(err.to_string().contains("most allowed (2)"), "{err}");
    app.shell(second).await;
    let err = app
        .bus
        .request(&user_ctx(second), &CreateSession::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unavailable);
    assert!(err.to_string().contains("its limit"), "{err}");

    let overview = app
        .bus
        .request(&admin_ctx(second), &GetOverview {})
        .await
        .unwrap();
    assert_eq!(
        (overview.instances, overview.running, overview.exited),
        (1, 3, 0)
    );
    assert_eq!(overview.users.len(), 2);
    let err = app
        .bus
        .request(&user_ctx(second), &GetOverview {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
}

#[tokio::test]
async fn idle_sessions_are_closed_unless_attached_and_exited_ones_forgotten() {
    let app = TestApp::with(|config| {
        config.terminal_idle_timeout = Duration::from_millis(400);
        config.terminal_exited_retention = Duration::from_millis(600);
    })
    .await;
    let user = Uuid::now_v7();
    let idle = app.shell(user).await;
    let watched = app.shell(user).await;
    let attachment = Uuid::now_v7();
    let attach = AttachSession {
        session_id: watched.id.clone(),
        attachment_id: attachment,
        acked: None,
    };
    let view = app
        .bus
        .request_routed(&user_ctx(user), &attach)
        .await
        .unwrap();
    assert_eq!(view.attached, 1);
    let mut exits = app.exits(&idle.id).await;
    let exited = next_exit(&mut exits).await;
    assert_eq!(exited.cause, ExitCause::Idle);
    // The attached one outlived the idle timeout.
    let get = GetSession {
        session_id: watched.id.clone(),
    };
    let view = app.bus.request_routed(&user_ctx(user), &get).await.unwrap();
    assert_eq!(view.status, SessionStatus::Running);
    // Once detached it is idle too.
    let mut exits = app.exits(&watched.id).await;
    let detach = DetachSession {
        session_id: watched.id.clone(),
        attachment_id: attachment,
    };
    assert_eq!(
        app.bus
            .request_routed(&user_ctx(user), &detach)
            .await
            .unwrap()
            .attached,
        0
    );
    assert_eq!(next_exit(&mut exits).await.cause, ExitCause::Idle);
    // Exited sessions stay readable for the retention, then are gone.
    testkit::wait_until(
        Duration::from_secs(5),
        "exited sessions are forgotten",
        || async {
            let get = GetSession {
                session_id: idle.id.clone(),
            };
            app.bus
                .request_routed(&user_ctx(user), &get)
                .await
                .is_err_and(|err| err.code() == ErrorCode::NotFound)
        },
    )
    .await;
}
