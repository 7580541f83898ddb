use bus::ErrorCode;
use contracts::identity::{RegisterUser, Role};
use serde_json::json;

use crate::helpers::{PASSWORD, spawn_app, spawn_app_with, test_config};

fn registration(email: &str, password: &str) -> RegisterUser {
    RegisterUser {
        email: email.into(),
        password: password.into(),
        name: " Ada Lovelace ".into(),
    }
}

#[tokio::test]
async fn registering_answers_the_account_with_a_normalised_email_and_the_user_role() {
    let identity = spawn_app().await;

    let user = identity
        .call(registration("  Ada@Example.COM ", PASSWORD))
        .await
        .unwrap();

    assert_eq!(
        (user.email.as_str(), user.name.as_str()),
        ("ada@example.com", "Ada Lovelace")
    );
    assert_eq!(user.roles, [Role::User]);
    assert_eq!(user.id.get_version_num(), 7);
    let stored: String =
        sqlx::query_scalar("select password_hash from identity.user where user_id = $1")
            .bind(user.id)
            .fetch_one(&identity.pool)
            .await
            .unwrap();
    assert!(
        stored.starts_with("$argon2id$") && !stored.contains(PASSWORD),
        "only a hash is stored"
    );
    identity.stop().await;
}

#[tokio::test]
async fn an_email_taken_in_any_case_is_a_conflict() {
    let identity = spawn_app().await;
    identity.register("ada@example.com").await;

    let again = identity
        .call(registration("ADA@example.com", PASSWORD))
        .await
        .unwrap_err();

    assert_eq!(again.code(), ErrorCode::Conflict);
    identity.stop().await;
}

#[tokio::test]
async fn passwords_must_be_10_to_128_characters() {
    let identity = spawn_app().await;

    let short = identity
        .call(registration("a@example.com", "123456789"))
        .await
        .unwrap_err();
    let long = identity
        .call(registration("b@example.com", &"x".repeat(129)))
        .await
        .unwrap_err();
    let ten = identity
        .call(registration("c@example.com", "1234567890"))
        .await;
    let wide = identity
        .call(registration("d@example.com", &"é".repeat(128)))
        .await;

    assert_eq!(short.code(), ErrorCode::ValidationFailed);
    assert_eq!(long.code(), ErrorCode::ValidationFailed);
    assert!(
        ten.is_ok() && wide.is_ok(),
        "lengths are counted in characters, not bytes"
    );
    identity.stop().await;
}

#[tokio::test]
async fn bad_emails_and_names_are_refused_and_nothing_is_stored() {
    let identity = spawn_app().await;

    let email = identity
        .call(registration("not-an-email", PASSWORD))
        .await
        .unwrap_err();
    let name = identity
        .call(RegisterUser {
            email: "a@example.com".into(),
            password: PASSWORD.into(),
            name: "  ".into(),
        })
        .await
        .unwrap_err();

    assert_eq!(email.code(), ErrorCode::ValidationFailed);
    assert_eq!(name.code(), ErrorCode::ValidationFailed);
    let count: i64 = sqlx::query_scalar("select count(*) from identity.user")
        .fetch_one(&identity.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
    identity.stop().await;
}

#[tokio::test]
async fn a_registration_naming_roles_is_refused() {
    let identity = spawn_app().await;

    let code = identity
        .call_raw(
            "identity.v1.user.register",
            None,
            json!({"email": "eve@example.com", "password": PASSWORD, "name": "Eve", "roles": ["admin"]}),
        )
        .await;

    assert_eq!(code.as_deref(), Some("validation_failed"));
    assert!(
        identity.login("eve@example.com", PASSWORD).await.is_err(),
        "no account was made"
    );
    identity.stop().await;
}

#[tokio::test]
async fn the_first_account_is_an_admin_only_when_configured() {
    let plain = spawn_app().await;
    let mut config = test_config();
    config.first_user_admin = true;
    let dev = spawn_app_with(config).await;

    let not_admin = plain.register("first@example.com").await;
    let admin = dev.register("first@example.com").await;
    let second = dev.register("second@example.com").await;

    assert_eq!(not_admin.roles, [Role::User]);
    assert_eq!(admin.roles, [Role::User, Role::Admin]);
    assert_eq!(second.roles, [Role::User]);
    plain.stop().await;
    dev.stop().await;
}

#[tokio::test]
async fn simultaneous_first_registrations_make_exactly_one_admin() {
    let mut config = test_config();
    config.first_user_admin = true;
    let identity = spawn_app_with(config).await;

    let users = futures::future::join_all(
        (0..6).map(|i| identity.register_email(format!("racer{i}@example.com"))),
    )
    .await;

    let admins = users
        .iter()
        .filter(|u| u.roles.contains(&Role::Admin))
        .count();
    assert_eq!(admins, 1, "{users:?}");
    identity.stop().await;
}

#[tokio::test]
async fn create_user_makes_an_admin_through_the_registration_path() {
    let identity = spawn_app().await;
    let request = registration("Root@Example.com", PASSWORD);

    let admin = identity::create_user(
        &identity.pool,
        &bus::RequestContext::new(),
        request,
        &[Role::Admin],
    )
    .await
    .unwrap();
    let taken = identity::create_user(
        &identity.pool,
        &bus::RequestContext::new(),
        registration("root@example.com", PASSWORD),
        &[],
    )
    .await;

    assert_eq!(
        (admin.email.as_str(), admin.roles.as_slice()),
        ("root@example.com", &[Role::User, Role::Admin][..])
    );
    assert!(matches!(taken, Err(identity::IdentityError::EmailTaken)));
    let session = identity.login("root@example.com", PASSWORD).await.unwrap();
    assert!(identity.actor(&session).has_role("admin"));
    identity
        .event(&format!("evt.identity.user.{}.registered", admin.id))
        .await;
    identity.stop().await;
}
