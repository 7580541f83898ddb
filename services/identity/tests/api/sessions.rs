use auth::Role;
use bus::ErrorCode;
use contracts::Secret;
use contracts::identity::{
    GetUser, Logout, RefreshSession, Session, UpdateUser, UserChanges, limits,
};

use crate::helpers::{PASSWORD, TestApp, client, spawn_app};

fn refresh(token: &Secret) -> RefreshSession {
    RefreshSession {
        refresh_token: token.clone(),
        client: client(),
    }
}

async fn refreshed(identity: &TestApp, session: &Session) -> Result<Session, bus::BusError> {
    identity.call(refresh(&session.refresh_token)).await
}

#[tokio::test]
async fn login_answers_a_bearer_session_whose_access_token_carries_the_account() {
    let identity = spawn_app().await;
    let user = identity.register("ada@example.com").await;

    let session = identity.login("  ADA@example.com", PASSWORD).await.unwrap();

    assert_eq!(session.token_type, "Bearer");
    assert_eq!(session.expires_in, 900);
    assert_eq!(session.user, user);
    assert_eq!(session.refresh_token.expose().len(), 43);
    let claims = identity
        .verifier()
        .verify(session.access_token.expose())
        .unwrap();
    assert_eq!(claims.sub, user.id);
    assert_eq!(claims.roles, [Role::User]);
    assert_eq!(
        (claims.iss.as_str(), claims.aud.as_str()),
        ("bourse", "bourse-api")
    );
    assert_eq!(claims.exp - claims.iat, 900);
    let days = (session.refresh_expires_at - chrono::Utc::now()).num_days();
    assert!((29..=30).contains(&days), "{days}");
    identity.stop().await;
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let identity = spawn_app().await;
    identity.register("ada@example.com").await;

    let wrong = identity
        .login("ada@example.com", "not the password")
        .await
        .unwrap_err();
    let unknown = identity
        .login("nobody@example.com", PASSWORD)
        .await
        .unwrap_err();
    let absurd = identity
        .login(
            "ada@example.com",
            &"x".repeat(limits::PASSWORD_MAX_CHARS + 1),
        )
        .await
        .unwrap_err();

    for err in [&wrong, &unknown, &absurd] {
        assert_eq!(err.code(), ErrorCode::Unauthorized);
        assert_eq!(err.public_message(), "invalid email or password");
    }
    identity.stop().await;
}

#[tokio::test]
async fn each_refresh_rotates_the_refresh_token_and_keeps_the_account() {
    let identity = spawn_app().await;
    let (user, first, _) = identity.signed_up("ada@example.com").await;

    let second = refreshed(&identity, &first).await.unwrap();
    let third = refreshed(&identity, &second).await.unwrap();

    assert_ne!(first.refresh_token, second.refresh_token);
    assert_ne!(second.refresh_token, third.refresh_token);
    assert_ne!(first.access_token, second.access_token);
    assert_eq!(identity.actor(&third).user_id, user.id);
    let families: i64 =
        sqlx::query_scalar("select count(distinct family_id) from identity.refresh_token")
            .fetch_one(&identity.pool)
            .await
            .unwrap();
    assert_eq!(families, 1, "rotation stays in the login's family");
    identity.stop().await;
}

#[tokio::test]
async fn presenting_a_used_refresh_token_again_revokes_the_whole_family() {
    let identity = spawn_app().await;
    let (user, stolen, _) = identity.signed_up("ada@example.com").await;
    let other_device = identity.login("ada@example.com", PASSWORD).await.unwrap();
    let newest = refreshed(&identity, &stolen).await.unwrap();

    let replay = refreshed(&identity, &stolen).await.unwrap_err();
    let newest_after = refreshed(&identity, &newest).await.unwrap_err();
    let other_after = refreshed(&identity, &other_device).await;

    assert_eq!(replay.code(), ErrorCode::Unauthorized);
    assert_eq!(
        newest_after.code(),
        ErrorCode::Unauthorized,
        "the newest token of the family stops working too"
    );
    assert!(other_after.is_ok(), "another login's session is left alone");
    let (event, _) = identity
        .event(&format!("evt.identity.login.{}.refresh_reused", user.id))
        .await;
    assert_eq!(event["user_id"], user.id.to_string());
    identity.stop().await;
}

#[tokio::test]
async fn logout_revokes_the_session_and_can_be_repeated() {
    let identity = spawn_app().await;
    let (_, session, _) = identity.signed_up("ada@example.com").await;
    let rotated = refreshed(&identity, &session).await.unwrap();

    identity
        .call(Logout {
            refresh_token: rotated.refresh_token.clone(),
        })
        .await
        .unwrap();
    identity
        .call(Logout {
            refresh_token: rotated.refresh_token.clone(),
        })
        .await
        .unwrap();
    identity
        .call(Logout {
            refresh_token: "not-a-token".into(),
        })
        .await
        .unwrap();

    assert_eq!(
        refreshed(&identity, &rotated).await.unwrap_err().code(),
        ErrorCode::Unauthorized
    );
    identity.stop().await;
}

#[tokio::test]
async fn unknown_malformed_and_expired_refresh_tokens_are_unauthorized() {
    let identity = spawn_app().await;
    let (_, session, _) = identity.signed_up("ada@example.com").await;
    sqlx::query("update identity.refresh_token set issued_at = now() - interval '31 days', expires_at = now() - interval '1 day'")
        .execute(&identity.pool)
        .await
        .unwrap();

    let expired = refreshed(&identity, &session).await.unwrap_err();
    let malformed = identity.call(refresh(&"garbage".into())).await.unwrap_err();
    let unknown = identity
        .call(refresh(
            &auth::RefreshToken::generate().unwrap().into_string().into(),
        ))
        .await
        .unwrap_err();

    for err in [expired, malformed, unknown] {
        assert_eq!(err.code(), ErrorCode::Unauthorized);
    }
    identity.stop().await;
}

#[tokio::test]
async fn changing_the_password_ends_every_session() {
    let identity = spawn_app().await;
    let (user, first, actor) = identity.signed_up("ada@example.com").await;
    let second = identity.login("ada@example.com", PASSWORD).await.unwrap();
    let changes = UserChanges {
        password: Some("a brand new passphrase".into()),
        current_password: Some(PASSWORD.into()),
        ..UserChanges::default()
    };

    identity
        .call_as(
            &actor,
            UpdateUser {
                user_id: user.id,
                changes,
            },
        )
        .await
        .unwrap();

    for session in [&first, &second] {
        assert_eq!(
            refreshed(&identity, session).await.unwrap_err().code(),
            ErrorCode::Unauthorized
        );
    }
    assert!(identity.login("ada@example.com", PASSWORD).await.is_err());
    assert!(
        identity
            .login("ada@example.com", "a brand new passphrase")
            .await
            .is_ok()
    );
    identity.stop().await;
}

#[tokio::test]
async fn a_refresh_carries_roles_granted_since_login() {
    let identity = spawn_app().await;
    let (user, session, _) = identity.signed_up("ada@example.com").await;
    sqlx::query("update identity.user set roles = '{user,admin}' where user_id = $1")
        .bind(user.id)
        .execute(&identity.pool)
        .await
        .unwrap();

    let refreshed = refreshed(&identity, &session).await.unwrap();

    let actor = identity.actor(&refreshed);
    assert!(actor.has_role("admin"));
    let nobody = identity
        .call_as(
            &actor,
            GetUser {
                user_id: uuid::Uuid::now_v7(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        nobody.code(),
        ErrorCode::NotFound,
        "an admin is past the access check"
    );
    identity.stop().await;
}

#[tokio::test]
async fn an_unknown_email_costs_the_same_work_as_a_wrong_password() {
    // Time is not measured (it would measure the machine's load); the work is. Both answers run
    // exactly one argon2id verification, and the dummy hash an unknown email is checked against
    // has the real cost (`password::tests::the_dummy_hash_costs_exactly_what_a_real_one_does`),
    // so both take the time of one verification.
    let identity = spawn_app().await;
    identity.register("ada@example.com").await;
    let work = |before: u64| identity.passwords.verifications() - before;

    let before = identity.passwords.verifications();
    identity
        .login("ada@example.com", "not the password")
        .await
        .unwrap_err();
    let wrong = work(before);
    let before = identity.passwords.verifications();
    identity
        .login("nobody@example.com", "not the password")
        .await
        .unwrap_err();
    let unknown = work(before);
    let before = identity.passwords.verifications();
    identity.login("ada@example.com", PASSWORD).await.unwrap();
    let right = work(before);

    assert_eq!((wrong, unknown, right), (1, 1, 1));
    identity.stop().await;
}
