//! Replies of the offline model from real portfolio data; branches; limits; stop.

use bus::ErrorCode;
use contracts::assistant::{
    ChatEventKind, GetConversation, ListMessages, MessageRole, MessageStatus, RegenerateReply,
    SendMessage, StopGeneration,
};
use uuid::Uuid;

use crate::helpers::{TestApp, user_ctx};

fn ask(conversation_id: Option<Uuid>, content: &str) -> SendMessage {
    SendMessage {
        conversation_id,
        content: content.into(),
        model: None,
        parent_id: None,
    }
}

#[tokio::test]
async fn the_offline_model_answers_what_a_portfolio_is_worth_from_its_positions() {
    let app = TestApp::new().await;
    let user = Uuid::now_v7();
    let portfolio = app.holding(user, 10, 150, 200).await;
    let mut events = app.chat_events().await;
    let started = app
        .bus
        .request(&user_ctx(user), &ask(None, "What is my portfolio worth?"))
        .await
        .unwrap();
    assert_eq!(started.message.role, MessageRole::User);
    assert_eq!(started.conversation.model, "bourse-local");
    let told = events.reply(&started).await;
    // 10 AAPL at 200: the figure comes from the portfolio service, through the tools.
    assert!(told.text.contains("Main is worth 2000"), "{}", told.text);
    assert!(told.text.contains("10 AAPL"), "{}", told.text);
    let names: Vec<&str> = told.kinds.iter().map(ChatEventKind::name).collect();
    assert_eq!(names[0], "started");
    assert_eq!(
        &names[1..5],
        ["tool_call", "tool_result", "tool_call", "tool_result"]
    );
    assert!(matches!(
        told.kinds.last(),
        Some(ChatEventKind::Completed {
            status: MessageStatus::Complete,
            ..
        })
    ));
    let Some(ChatEventKind::ToolCall { input, .. }) = told.kinds.get(3) else {
        panic!()
    };
    assert_eq!(input["portfolio_id"], portfolio.id.to_string());

    // Saved: the branch is question then reply, with its tool uses; the title comes from the
    // question.
    let messages = app
        .bus
        .request(
            &user_ctx(user),
            &ListMessages {
                conversation_id: started.conversation.id,
                leaf_id: None,
            },
        )
        .await
        .unwrap()
        .messages;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1].content, told.text);
    assert_eq!(messages[1].status, MessageStatus::Complete);
    assert_eq!(messages[1].tool_uses.len(), 2);
    assert!(messages[1].usage.is_some());
    let conversation = app
        .bus
        .request(
            &user_ctx(user),
            &GetConversation {
                conversation_id: started.conversation.id,
            },
        )
        .await
        .unwrap();
    assert_eq!(conversation.title, "What is my portfolio worth?");
    assert_eq!(conversation.current_leaf_id, Some(messages[1].id));
}

#[tokio::test]
async fn tools_never_see_another_users_portfolio() {
    let app = TestApp::new().await;
    let (owner, other) = (Uuid::now_v7(), Uuid::now_v7());
    let portfolio = app.holding(owner, 10, 150, 200).await;
    let mut events = app.chat_events().await;
    let started = app
        .bus
        .request(&user_ctx(other), &ask(None, "What is my portfolio worth?"))
        .await
        .unwrap();
    let told = events.reply(&started).await;
    assert_eq!(told.text, "You have no portfolios yet.");
    // Asked directly for the owner's portfolio, as the other user: not found.
    let input = serde_json::json!({"portfolio_id": portfolio.id});
    let err = assistant::tools::run(&app.bus, &user_ctx(other), "get_positions", &input)
        .await
        .unwrap_err();
    assert!(err.contains("not_found"), "{err}");
    let mine = assistant::tools::run(&app.bus, &user_ctx(owner), "get_positions", &input)
        .await
        .unwrap();
    assert_eq!(mine["positions"][0]["symbol"], "AAPL");
}

#[tokio::test]
async fn an_unparsed_question_is_answered_with_what_the_offline_model_can_do() {
    let app = TestApp::new().await;
    let user = Uuid::now_v7();
    let mut events = app.chat_events().await;
    let started = app
        .bus
        .request(&user_ctx(user), &ask(None, "tell me a joke"))
        .await
        .unwrap();
    let told = events.reply(&started).await;
    assert!(
        told.text.contains("could not parse") && told.text.contains("quote AAPL"),
        "{}",
        told.text
    );
    // Streamed in pieces, like any provider.
    let deltas = told.kinds.iter().filter(|k| k.name() == "delta").count();
    assert!(deltas > 10, "{deltas}");
}

#[tokio::test]
async fn regenerating_and_editing_make_sibling_branches() {
    let app = TestApp::new().await;
    let user = Uuid::now_v7();
    let ctx = user_ctx(user);
    let mut events = app.chat_events().await;
    let first = app
        .bus
        .request(&ctx, &ask(None, "quote AAPL"))
        .await
        .unwrap();
    events.reply(&first).await;
    let conversation = first.conversation.id;
    // Regenerate the reply: a sibling under the same question.
    let again = app
        .bus
        .request(
            &ctx,
            &RegenerateReply {
                conversation_id: conversation,
                message_id: first.reply_id,
                model: None,
            },
        )
        .await
        .unwrap();
    events.reply(&again).await;
    assert_eq!(again.message.id, first.message.id);
    let list = |leaf| ListMessages {
        conversation_id: conversation,
        leaf_id: leaf,
    };
    let current = app.bus.request(&ctx, &list(None)).await.unwrap().messages;
    assert_eq!(current.len(), 2);
    assert_eq!(current[1].id, again.reply_id);
    // The first reply stays reachable by its leaf.
    let old = app
        .bus
        .request(&ctx, &list(Some(first.reply_id)))
        .await
        .unwrap()
        .messages;
    assert_eq!(old[1].id, first.reply_id);
    assert_eq!(old[0].id, current[0].id);
    // A second question, then an edit of it: a new question under the same parent.
    let second = app
        .bus
        .request(&ctx, &ask(Some(conversation), "search apple"))
        .await
        .unwrap();
    events.reply(&second).await;
    assert_eq!(second.message.parent_id, Some(again.reply_id));
    let edit = SendMessage {
        conversation_id: Some(conversation),
        content: "search micro".into(),
        model: None,
        parent_id: Some(Some(again.reply_id)),
    };
    let edited = app.bus.request(&ctx, &edit).await.unwrap();
    events.reply(&edited).await;
    let branch = app.bus.request(&ctx, &list(None)).await.unwrap().messages;
    let contents: Vec<&str> = branch.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(branch.len(), 4);
    assert_eq!(contents[2], "search micro");
    let before = app
        .bus
        .request(&ctx, &list(Some(second.reply_id)))
        .await
        .unwrap()
        .messages;
    assert_eq!(before[2].content, "search apple");
    assert_eq!(before[..2], branch[..2]);
}

#[tokio::test]
async fn limits_refuse_before_any_provider_call() {
    let config = assistant::Config {
        assistant_daily_tokens: 5,
        ..assistant::Config::default()
    };
    let app = TestApp::with(config).await;
    let user = Uuid::now_v7();
    let ctx = user_ctx(user);
    let mut events = app.chat_events().await;
    let too_long = app
        .bus
        .request(&ctx, &ask(None, &"x".repeat(32_001)))
        .await
        .unwrap_err();
    assert_eq!(too_long.code(), ErrorCode::ValidationFailed);
    // Postgres text cannot hold NUL: refused as bad input, not a server error.
    let nul = app
        .bus
        .request(&ctx, &ask(None, "a\u{0}b"))
        .await
        .unwrap_err();
    assert_eq!(nul.code(), ErrorCode::ValidationFailed);
    let search = contracts::assistant::SearchConversations {
        q: "a\u{0}".into(),
        page: None,
        limit: None,
    };
    assert_eq!(
        app.bus.request(&ctx, &search).await.unwrap_err().code(),
        ErrorCode::ValidationFailed
    );
    let started = app
        .bus
        .request(&ctx, &ask(None, "tell me a joke"))
        .await
        .unwrap();
    events.reply(&started).await;
    // The reply used more than the 5 tokens of the day.
    let spent = app
        .bus
        .request(&ctx, &ask(None, "tell me a joke"))
        .await
        .unwrap_err();
    assert_eq!(spent.code(), ErrorCode::RateLimited);
    assert!(spent.to_string().contains("daily budget"), "{spent}");
}

#[tokio::test]
async fn another_user_cannot_stop_a_generation_and_a_finished_one_is_gone() {
    let app = TestApp::new().await;
    let user = Uuid::now_v7();
    let mut events = app.chat_events().await;
    let started = app
        .bus
        .request(&user_ctx(user), &ask(None, "tell me a joke"))
        .await
        .unwrap();
    let stop = StopGeneration {
        generation_id: started.generation_id.clone(),
    };
    let err = app
        .bus
        .request_routed(&user_ctx(Uuid::now_v7()), &stop)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    events.reply(&started).await;
    testkit::wait_until(
        std::time::Duration::from_secs(5),
        "the generation ended",
        || async {
            app.bus
                .request_routed(&user_ctx(user), &stop)
                .await
                .is_err_and(|err| err.code() == ErrorCode::NotFound)
        },
    )
    .await;
}
