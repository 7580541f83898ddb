use bus::ErrorCode;
use contracts::{Limit, Page, identity::ListUsers};
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn listing_accounts_needs_an_admin() {
    let identity = spawn_app().await;
    let (_, _, user) = identity.signed_up("ada@example.com").await;

    let as_user = identity
        .call_as(&user, ListUsers::default())
        .await
        .unwrap_err();
    let anonymous = identity.call(ListUsers::default()).await.unwrap_err();

    assert_eq!(as_user.code(), ErrorCode::Forbidden);
    assert_eq!(anonymous.code(), ErrorCode::Unauthorized);
    identity.stop().await;
}

#[tokio::test]
async fn the_list_pages_through_accounts_in_creation_order() {
    let identity = spawn_app().await;
    let root = identity.admin().await;
    for i in 0..4 {
        identity.register(&format!("user{i}@example.com")).await;
    }

    let first = identity
        .call_as(
            &root,
            ListUsers {
                page: Some(Page::new(1).unwrap()),
                limit: Some(Limit::new(2).unwrap()),
            },
        )
        .await
        .unwrap();
    let last = identity
        .call_as(
            &root,
            ListUsers {
                page: Some(Page::new(3).unwrap()),
                limit: Some(Limit::new(2).unwrap()),
            },
        )
        .await
        .unwrap();
    let beyond = identity
        .call_as(
            &root,
            ListUsers {
                page: Some(Page::new(4).unwrap()),
                limit: Some(Limit::new(2).unwrap()),
            },
        )
        .await
        .unwrap();

    let emails: Vec<&str> = first.users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, ["root@example.com", "user0@example.com"]);
    assert_eq!((first.pagination.page, first.pagination.limit), (1, 2));
    assert_eq!(
        (first.pagination.total, first.pagination.total_pages),
        (5, 3)
    );
    assert_eq!(last.users.len(), 1);
    assert_eq!(last.users[0].email, "user3@example.com");
    assert!(beyond.users.is_empty());
    identity.stop().await;
}

#[tokio::test]
async fn page_sizes_over_100_and_page_zero_are_refused() {
    let identity = spawn_app().await;
    let root = identity.admin().await;

    // Past the contract types, as a client not written in Rust could send it.
    let large = identity
        .call_raw("identity.v1.user.list", Some(&root), json!({"limit": 101}))
        .await;
    let zero = identity
        .call_raw("identity.v1.user.list", Some(&root), json!({"page": 0}))
        .await;

    assert_eq!(large.as_deref(), Some("validation_failed"));
    assert_eq!(zero.as_deref(), Some("validation_failed"));
    identity.stop().await;
}
