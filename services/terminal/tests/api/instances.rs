//! Several instances on one NATS: requests route to the owner, lists gather from all, and a
//! session whose instance is gone is `not_found` at once.

use std::time::{Duration, Instant};

use bus::ErrorCode;
use contracts::terminal::{CreateSession, GetOverview, GetSession, ListSessions};
use uuid::Uuid;

use crate::helpers::{TestApp, admin_ctx, user_ctx};

#[tokio::test]
async fn sessions_route_to_their_instance_and_lists_gather_from_all() {
    let app = TestApp::new().await;
    let user = Uuid::now_v7();
    let first = app.shell(user).await;
    let second_instance = app.instance().await;
    // Created on the second instance itself, whichever answers the queue group.
    let second = second_instance
        .sessions()
        .create(&user_ctx(user), CreateSession::default())
        .await
        .unwrap();
    assert_ne!(first.id.instance(), second.id.instance());
    let running = testkit::run(second_instance);

    // Each id reaches its own instance, from any connection.
    for id in [&first.id, &second.id] {
        let view = app
            .bus
            .request_routed(
                &user_ctx(user),
                &GetSession {
                    session_id: id.clone(),
                },
            )
            .await
            .unwrap();
        assert_eq!(&view.id, id);
        app.write(user, id, "echo rou''ted\r").await;
        app.wait_for(user, id, "routed").await;
    }
    let list = app
        .bus
        .request(&user_ctx(user), &ListSessions {})
        .await
        .unwrap();
    let ids: Vec<_> = list.sessions.iter().map(|s| s.id.clone()).collect();
    assert_eq!(ids, [first.id.clone(), second.id.clone()]);
    let overview = app
        .bus
        .request(&admin_ctx(user), &GetOverview {})
        .await
        .unwrap();
    assert_eq!((overview.instances, overview.running), (2, 2));

    // The second instance goes away: its session is not found, at once.
    running.stop().await;
    let asked = Instant::now();
    let err = app
        .bus
        .request_routed(
            &user_ctx(user),
            &GetSession {
                session_id: second.id.clone(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    let list = app
        .bus
        .request(&user_ctx(user), &ListSessions {})
        .await
        .unwrap();
    assert_eq!(list.sessions.len(), 1);
    assert_eq!(list.sessions[0].id, first.id);
}
