//! What the IDENTITY stream receives: account events and the login audit, never a secret.

use contracts::identity::{DeleteUser, LoginFailure, Session};

use crate::helpers::{PASSWORD, spawn_app};

#[tokio::test]
async fn registration_and_deletion_are_published_with_the_event_id_as_msg_id() {
    let identity = spawn_app().await;
    let (user, _, me) = identity.signed_up("ada@example.com").await;

    identity
        .call_as(&me, DeleteUser { user_id: user.id })
        .await
        .unwrap();

    let (registered, headers) = identity
        .event(&format!("evt.identity.user.{}.registered", user.id))
        .await;
    assert_eq!(registered["email"], "ada@example.com");
    assert_eq!(registered["roles"], serde_json::json!(["user"]));
    assert_eq!(
        headers.get("Nats-Msg-Id").unwrap().as_str(),
        registered["event_id"].as_str().unwrap()
    );
    let (deleted, headers) = identity
        .event(&format!("evt.identity.user.{}.deleted", user.id))
        .await;
    assert_eq!(deleted["user_id"], user.id.to_string());
    assert_eq!(deleted["deleted_by"], user.id.to_string());
    assert_eq!(
        headers.get("Bourse-User-Id").unwrap().as_str(),
        user.id.to_string(),
        "who acted travels along"
    );
    identity.stop().await;
}

#[tokio::test]
async fn logins_are_audited_both_ways_without_the_password() {
    let identity = spawn_app().await;
    let user = identity.register("ada@example.com").await;
    let typo = "correct horse battery stapel";

    let session: Session = identity.login(" ADA@example.com ", PASSWORD).await.unwrap();
    identity.login("ada@example.com", typo).await.unwrap_err();
    identity
        .login("Nobody@Example.com", typo)
        .await
        .unwrap_err();

    let (ok, _) = identity
        .event(&format!("evt.identity.login.{}.succeeded", user.id))
        .await;
    assert_eq!(ok["email"], "ada@example.com");
    assert_eq!(ok["client"]["ip"], "203.0.113.7");
    assert_eq!(ok["client"]["user_agent"], "integration-test/1.0");
    let (wrong, _) = identity
        .event(&format!("evt.identity.login.{}.failed", user.id))
        .await;
    assert_eq!(
        wrong["reason"],
        serde_json::to_value(LoginFailure::WrongPassword).unwrap()
    );
    let (unknown, _) = identity.event("evt.identity.login.unknown.failed").await;
    assert_eq!(
        (unknown["email"].as_str(), unknown["user_id"].is_null()),
        (Some("nobody@example.com"), true)
    );
    for (subject, payload, headers) in identity.events().await {
        let everything = format!("{subject} {payload} {headers:?}");
        for secret in [
            PASSWORD,
            typo,
            session.refresh_token.expose(),
            session.access_token.expose(),
        ] {
            assert!(!everything.contains(secret), "{subject} leaks a secret");
        }
    }
    identity.stop().await;
}
