//! Folders, search, export, and nobody else's conversations on any route.

use bus::ErrorCode;
use contracts::assistant::{
    CreateConversation, CreateFolder, DeleteConversation, DeleteFolder, ExportConversation,
    ExportFormat, GetConversation, ListConversations, ListMessages, SearchConversations,
    SendMessage, Title, UpdateConversation, UpdateFolder,
};
use uuid::Uuid;

use crate::helpers::{TestApp, user_ctx};

#[tokio::test]
async fn folders_hold_conversations_and_let_them_go() {
    let app = TestApp::new().await;
    let ctx = user_ctx(Uuid::now_v7());
    let title = |t: &str| Title::parse(t).unwrap();
    let research = app
        .bus
        .request(
            &ctx,
            &CreateFolder {
                name: title("Research"),
                parent_id: None,
            },
        )
        .await
        .unwrap();
    let tech = app
        .bus
        .request(
            &ctx,
            &CreateFolder {
                name: title("Tech"),
                parent_id: Some(research.id),
            },
        )
        .await
        .unwrap();
    let create = |folder| CreateConversation {
        title: Some(title("Chips")),
        folder_id: folder,
        ..CreateConversation::default()
    };
    let inside = app.bus.request(&ctx, &create(Some(tech.id))).await.unwrap();
    let outside = app.bus.request(&ctx, &create(None)).await.unwrap();
    let in_tech = ListConversations {
        folder_id: Some(tech.id),
        page: None,
        limit: None,
    };
    let listed = app.bus.request(&ctx, &in_tech).await.unwrap();
    assert_eq!(listed.conversations.len(), 1);
    assert_eq!(listed.conversations[0].id, inside.id);
    // A folder cannot move into itself or below itself.
    let cycle = UpdateFolder {
        folder_id: research.id,
        name: None,
        parent_id: Some(Some(tech.id)),
    };
    assert_eq!(
        app.bus.request(&ctx, &cycle).await.unwrap_err().code(),
        ErrorCode::Conflict
    );
    // Deleting the parent moves the conversations out, and takes the subfolder with it.
    let deleted = app
        .bus
        .request(
            &ctx,
            &DeleteFolder {
                folder_id: research.id,
                cascade: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(deleted.conversations, 1);
    let kept = app
        .bus
        .request(
            &ctx,
            &GetConversation {
                conversation_id: inside.id,
            },
        )
        .await
        .unwrap();
    assert_eq!(kept.folder_id, None);
    // With cascade, they go.
    let folder = app
        .bus
        .request(
            &ctx,
            &CreateFolder {
                name: title("Old"),
                parent_id: None,
            },
        )
        .await
        .unwrap();
    let moved = UpdateConversation {
        conversation_id: outside.id,
        folder_id: Some(Some(folder.id)),
        ..UpdateConversation::default()
    };
    app.bus.request(&ctx, &moved).await.unwrap();
    app.bus
        .request(
            &ctx,
            &DeleteFolder {
                folder_id: folder.id,
                cascade: true,
            },
        )
        .await
        .unwrap();
    let gone = app
        .bus
        .request(
            &ctx,
            &GetConversation {
                conversation_id: outside.id,
            },
        )
        .await;
    assert_eq!(gone.unwrap_err().code(), ErrorCode::NotFound);
    // Another user's folder cannot hold a conversation.
    let other = user_ctx(Uuid::now_v7());
    let theirs = app
        .bus
        .request(
            &other,
            &CreateFolder {
                name: title("Theirs"),
                parent_id: None,
            },
        )
        .await
        .unwrap();
    let into_theirs = UpdateConversation {
        conversation_id: inside.id,
        folder_id: Some(Some(theirs.id)),
        ..UpdateConversation::default()
    };
    assert_eq!(
        app.bus
            .request(&ctx, &into_theirs)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn search_and_export_see_only_the_users_own_words() {
    let app = TestApp::new().await;
    let (user, other) = (Uuid::now_v7(), Uuid::now_v7());
    let mut events = app.chat_events().await;
    let ask = |content: &str| SendMessage {
        conversation_id: None,
        content: content.into(),
        model: None,
        parent_id: None,
    };
    let started = app
        .bus
        .request(&user_ctx(user), &ask("semiconductor outlook please"))
        .await
        .unwrap();
    events.reply(&started).await;
    let theirs = app
        .bus
        .request(&user_ctx(other), &ask("semiconductor secrets"))
        .await
        .unwrap();
    events.reply(&theirs).await;

    let search = SearchConversations {
        q: "semiconductor".into(),
        page: None,
        limit: None,
    };
    let found = app.bus.request(&user_ctx(user), &search).await.unwrap();
    assert!(!found.hits.is_empty());
    assert!(
        found
            .hits
            .iter()
            .all(|h| h.conversation_id == started.conversation.id),
        "{found:?}"
    );
    assert!(
        found
            .hits
            .iter()
            .any(|h| h.snippet.contains("<b>semiconductor</b>")),
        "{found:?}"
    );
    let empty = SearchConversations {
        q: "  ".into(),
        page: None,
        limit: None,
    };
    let err = app.bus.request(&user_ctx(user), &empty).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed);

    let export = |format| ExportConversation {
        conversation_id: started.conversation.id,
        format,
    };
    let md = app
        .bus
        .request(&user_ctx(user), &export(ExportFormat::Md))
        .await
        .unwrap();
    assert_eq!(md.content_type, "text/markdown; charset=utf-8");
    assert!(
        md.content.starts_with("# semiconductor outlook please"),
        "{}",
        md.content
    );
    assert!(md.content.contains("## You") && md.content.contains("## Assistant"));
    let json = app
        .bus
        .request(&user_ctx(user), &export(ExportFormat::Json))
        .await
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&json.content).unwrap();
    assert_eq!(value["messages"].as_array().unwrap().len(), 2);

    // Another user: not found on every conversation route.
    let id = started.conversation.id;
    let ctx = user_ctx(other);
    let codes = [
        app.bus
            .request(
                &ctx,
                &GetConversation {
                    conversation_id: id,
                },
            )
            .await
            .map(|_| ()),
        app.bus
            .request(
                &ctx,
                &UpdateConversation {
                    conversation_id: id,
                    ..UpdateConversation::default()
                },
            )
            .await
            .map(|_| ()),
        app.bus
            .request(
                &ctx,
                &ListMessages {
                    conversation_id: id,
                    leaf_id: None,
                },
            )
            .await
            .map(|_| ()),
        app.bus
            .request(&ctx, &export(ExportFormat::Md))
            .await
            .map(|_| ()),
        app.bus
            .request(
                &ctx,
                &SendMessage {
                    conversation_id: Some(id),
                    ..ask("hi")
                },
            )
            .await
            .map(|_| ()),
        app.bus
            .request(
                &ctx,
                &DeleteConversation {
                    conversation_id: id,
                },
            )
            .await
            .map(|_| ()),
    ];
    for (route, code) in codes.into_iter().enumerate() {
        assert_eq!(
            code.unwrap_err().code(),
            ErrorCode::NotFound,
            "route {route}"
        );
    }
    // Still there for its owner.
    app.bus
        .request(
            &user_ctx(user),
            &GetConversation {
                conversation_id: id,
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_deleted_users_conversations_and_folders_go() {
    use contracts::identity::UserDeleted;
    let app = TestApp::new().await;
    let (user, other) = (Uuid::now_v7(), Uuid::now_v7());
    let create = CreateConversation::default();
    let gone = app.bus.request(&user_ctx(user), &create).await.unwrap();
    let kept = app.bus.request(&user_ctx(other), &create).await.unwrap();
    let folder = CreateFolder {
        name: Title::parse("Old").unwrap(),
        parent_id: None,
    };
    app.bus.request(&user_ctx(user), &folder).await.unwrap();
    let deleted = UserDeleted {
        event_id: Uuid::now_v7(),
        occurred_at: chrono::Utc::now(),
        user_id: user,
        deleted_by: None,
    };
    // Twice: a redelivered event changes nothing more.
    for _ in 0..2 {
        app.bus
            .publish_event(&bus::RequestContext::new(), &deleted)
            .await
            .unwrap();
    }
    testkit::wait_until(
        std::time::Duration::from_secs(10),
        "the user's conversations are gone",
        || async {
            app.bus
                .request(
                    &user_ctx(user),
                    &GetConversation {
                        conversation_id: gone.id,
                    },
                )
                .await
                .is_err_and(|err| err.code() == ErrorCode::NotFound)
        },
    )
    .await;
    let folders = app
        .bus
        .request(&user_ctx(user), &contracts::assistant::ListFolders {})
        .await
        .unwrap();
    assert!(folders.folders.is_empty());
    app.bus
        .request(
            &user_ctx(other),
            &GetConversation {
                conversation_id: kept.id,
            },
        )
        .await
        .unwrap();
}
