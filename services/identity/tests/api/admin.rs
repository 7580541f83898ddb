use bus::ErrorCode;
use contracts::identity::ListUsers;

use crate::helpers::spawn_identity;

#[tokio::test]
async fn listing_accounts_needs_an_admin() {
    let identity = spawn_identity().await;
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
    let identity = spawn_identity().await;
    let root = identity.admin().await;
    for i in 0..4 {
        identity.register(&format!("user{i}@example.com")).await;
    }

    let first = identity
        .call_as(
            &root,
            ListUsers {
                page: Some(1),
                limit: Some(2),
            },
        )
        .await
        .unwrap();
    let last = identity
        .call_as(
            &root,
            ListUsers {
                page: Some(3),
                limit: Some(2),
            },
        )
        .await
        .unwrap();
    let beyond = identity
        .call_as(
            &root,
            ListUsers {
                page: Some(4),
                limit: Some(2),
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
    let identity = spawn_identity().await;
    let root = identity.admin().await;

    let large = identity
        .call_as(
            &root,
            ListUsers {
                page: None,
                limit: Some(101),
            },
        )
        .await
        .unwrap_err();
    let zero = identity
        .call_as(
            &root,
            ListUsers {
                page: Some(0),
                limit: None,
            },
        )
        .await
        .unwrap_err();

    assert_eq!(large.code(), ErrorCode::ValidationFailed);
    assert_eq!(zero.code(), ErrorCode::ValidationFailed);
    identity.stop().await;
}
