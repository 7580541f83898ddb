use bus::ErrorCode;
use contracts::identity::{DeleteUser, GetUser, Role, SetUserRoles, UpdateUser, UserChanges};
use serde_json::json;

use crate::helpers::{PASSWORD, spawn_app};

fn rename(name: &str) -> UserChanges {
    UserChanges {
        name: Some(name.into()),
        ..UserChanges::default()
    }
}

#[tokio::test]
async fn users_read_and_rename_their_own_account() {
    let identity = spawn_app().await;
    let (user, _, me) = identity.signed_up("ada@example.com").await;

    let read = identity
        .call_as(&me, GetUser { user_id: user.id })
        .await
        .unwrap();
    let renamed = identity
        .call_as(
            &me,
            UpdateUser {
                user_id: user.id,
                changes: rename("  Countess "),
            },
        )
        .await
        .unwrap();

    assert_eq!(read, user);
    assert_eq!(renamed.name, "Countess");
    assert!(renamed.updated_at > user.updated_at);
    identity.stop().await;
}

#[tokio::test]
async fn a_user_cannot_read_update_or_delete_another_user() {
    let identity = spawn_app().await;
    let (_, _, mallory) = identity.signed_up("mallory@example.com").await;
    let victim = identity.register("ada@example.com").await;

    let read = identity
        .call_as(&mallory, GetUser { user_id: victim.id })
        .await
        .unwrap_err();
    let update = identity
        .call_as(
            &mallory,
            UpdateUser {
                user_id: victim.id,
                changes: rename("pwned"),
            },
        )
        .await
        .unwrap_err();
    let delete = identity
        .call_as(&mallory, DeleteUser { user_id: victim.id })
        .await
        .unwrap_err();
    let ghost = identity
        .call_as(
            &mallory,
            GetUser {
                user_id: uuid::Uuid::now_v7(),
            },
        )
        .await
        .unwrap_err();

    for err in [read, update, delete, ghost] {
        assert_eq!(
            err.code(),
            ErrorCode::Forbidden,
            "refused before looking, so existence is not revealed"
        );
    }
    assert!(
        identity.login("ada@example.com", PASSWORD).await.is_ok(),
        "the victim's account is untouched"
    );
    identity.stop().await;
}

#[tokio::test]
async fn an_admin_can_read_update_and_delete_any_account() {
    let identity = spawn_app().await;
    let root = identity.admin().await;
    let user = identity.register("ada@example.com").await;

    let read = identity
        .call_as(&root, GetUser { user_id: user.id })
        .await
        .unwrap();
    let reset = UserChanges {
        password: Some("reset by the admin".into()),
        ..rename("Ada")
    };
    let updated = identity
        .call_as(
            &root,
            UpdateUser {
                user_id: user.id,
                changes: reset,
            },
        )
        .await
        .unwrap();
    let deleted = identity
        .call_as(&root, DeleteUser { user_id: user.id })
        .await
        .unwrap();
    let gone = identity
        .call_as(&root, GetUser { user_id: user.id })
        .await
        .unwrap_err();

    assert_eq!(read.id, user.id);
    assert_eq!(updated.name, "Ada");
    assert_eq!(deleted.id, user.id);
    assert_eq!(gone.code(), ErrorCode::NotFound);
    assert_eq!(
        identity
            .login("ada@example.com", "reset by the admin")
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Unauthorized
    );
    identity.stop().await;
}

#[tokio::test]
async fn requests_about_accounts_without_a_user_are_unauthorized() {
    let identity = spawn_app().await;
    let user = identity.register("ada@example.com").await;

    let read = identity
        .call(GetUser { user_id: user.id })
        .await
        .unwrap_err();
    let delete = identity
        .call(DeleteUser { user_id: user.id })
        .await
        .unwrap_err();

    assert_eq!(read.code(), ErrorCode::Unauthorized);
    assert_eq!(delete.code(), ErrorCode::Unauthorized);
    identity.stop().await;
}

#[tokio::test]
async fn an_update_naming_roles_id_or_email_verified_is_refused() {
    let identity = spawn_app().await;
    let (user, _, me) = identity.signed_up("ada@example.com").await;

    for extra in [
        json!({"roles": ["admin"]}),
        json!({"id": uuid::Uuid::now_v7()}),
        json!({"email_verified": true}),
    ] {
        let mut changes = json!({"name": "Ada"});
        changes
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let body = json!({"user_id": user.id, "changes": changes});
        let code = identity
            .call_raw("identity.v1.user.update", Some(&me), body)
            .await;
        assert_eq!(code.as_deref(), Some("validation_failed"), "{extra}");
    }
    let body = json!({"user_id": user.id, "changes": {"name": "Ada"}, "roles": ["admin"]});
    assert_eq!(
        identity
            .call_raw("identity.v1.user.update", Some(&me), body)
            .await
            .as_deref(),
        Some("validation_failed")
    );
    let after = identity
        .call_as(&me, GetUser { user_id: user.id })
        .await
        .unwrap();
    assert_eq!(
        (after.name.as_str(), after.roles.as_slice()),
        ("ada", &[Role::User][..])
    );
    identity.stop().await;
}

#[tokio::test]
async fn nobody_changes_their_own_roles_but_an_admin_sets_others() {
    let identity = spawn_app().await;
    let root = identity.admin().await;
    let (user, _, me) = identity.signed_up("ada@example.com").await;

    let own = identity
        .call_as(
            &me,
            SetUserRoles {
                user_id: user.id,
                roles: vec![Role::Admin],
            },
        )
        .await
        .unwrap_err();
    let admin_own = identity
        .call_as(
            &root,
            SetUserRoles {
                user_id: root.user_id,
                roles: vec![],
            },
        )
        .await
        .unwrap_err();
    let granted = identity
        .call_as(
            &root,
            SetUserRoles {
                user_id: user.id,
                roles: vec![Role::Admin],
            },
        )
        .await
        .unwrap();
    let revoked = identity
        .call_as(
            &root,
            SetUserRoles {
                user_id: user.id,
                roles: vec![],
            },
        )
        .await
        .unwrap();

    assert_eq!(own.code(), ErrorCode::Forbidden);
    assert_eq!(admin_own.code(), ErrorCode::Forbidden);
    assert_eq!(granted.roles, [Role::User, Role::Admin]);
    assert_eq!(revoked.roles, [Role::User], "user is always kept");
    identity.stop().await;
}

#[tokio::test]
async fn changing_your_own_email_or_password_needs_the_current_password() {
    let identity = spawn_app().await;
    let (user, _, me) = identity.signed_up("ada@example.com").await;
    let new_email = |current: Option<&str>| UserChanges {
        email: Some("Countess@Example.com".into()),
        current_password: current.map(Into::into),
        ..UserChanges::default()
    };

    let missing = identity
        .call_as(
            &me,
            UpdateUser {
                user_id: user.id,
                changes: new_email(None),
            },
        )
        .await
        .unwrap_err();
    let wrong = identity
        .call_as(
            &me,
            UpdateUser {
                user_id: user.id,
                changes: new_email(Some("guessing wrong")),
            },
        )
        .await
        .unwrap_err();
    let right = identity
        .call_as(
            &me,
            UpdateUser {
                user_id: user.id,
                changes: new_email(Some(PASSWORD)),
            },
        )
        .await
        .unwrap();

    assert_eq!(missing.code(), ErrorCode::ValidationFailed);
    assert_eq!(wrong.code(), ErrorCode::ValidationFailed);
    assert_eq!(right.email, "countess@example.com");
    assert!(
        identity
            .login("countess@example.com", PASSWORD)
            .await
            .is_ok()
    );
    identity.stop().await;
}

#[tokio::test]
async fn taking_another_accounts_email_is_a_conflict() {
    let identity = spawn_app().await;
    identity.register("grace@example.com").await;
    let (user, _, me) = identity.signed_up("ada@example.com").await;
    let changes = UserChanges {
        email: Some("GRACE@example.com".into()),
        current_password: Some(PASSWORD.into()),
        ..UserChanges::default()
    };

    let err = identity
        .call_as(
            &me,
            UpdateUser {
                user_id: user.id,
                changes,
            },
        )
        .await
        .unwrap_err();

    assert_eq!(err.code(), ErrorCode::Conflict);
    identity.stop().await;
}

#[tokio::test]
async fn deleting_your_own_account_ends_your_sessions() {
    let identity = spawn_app().await;
    let (user, session, me) = identity.signed_up("ada@example.com").await;

    identity
        .call_as(&me, DeleteUser { user_id: user.id })
        .await
        .unwrap();

    let refresh = contracts::identity::RefreshSession {
        refresh_token: session.refresh_token,
        client: Default::default(),
    };
    assert_eq!(
        identity.call(refresh).await.unwrap_err().code(),
        ErrorCode::Unauthorized
    );
    assert_eq!(
        identity
            .login("ada@example.com", PASSWORD)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Unauthorized
    );
    identity.stop().await;
}
