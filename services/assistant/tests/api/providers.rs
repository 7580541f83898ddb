//! Hosted providers through the service: their streams become the same chat events, tool
//! calls run between rounds, failures are saved as failures, and a stop keeps what was said.

use std::time::Duration;

use contracts::assistant::{
    ChatEventKind, ListMessages, ListModels, MessageStatus, SendMessage, StopGeneration,
};
use serde_json::json;
use uuid::Uuid;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_partial_json, body_string_contains, method, path},
};

use crate::helpers::{TestApp, user_ctx};

fn sse(events: &[serde_json::Value]) -> ResponseTemplate {
    let body: String = events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
        .collect();
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/event-stream")
        .set_body_string(body)
}

fn start(model: &str) -> serde_json::Value {
    json!({"type": "message_start", "message": {"id": "m", "model": model, "usage": {"input_tokens": 20, "output_tokens": 1}}})
}

fn text(index: u64, text: &str) -> serde_json::Value {
    json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}})
}

fn stop(reason: &str, tokens: u64) -> Vec<serde_json::Value> {
    vec![
        json!({"type": "message_delta", "delta": {"stop_reason": reason}, "usage": {"output_tokens": tokens}}),
        json!({"type": "message_stop"}),
    ]
}

async fn anthropic() -> (MockServer, TestApp) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "claude-test", "display_name": "Claude Test"},
            {"id": "claude-broken", "display_name": "Broken"},
            {"id": "claude-cut", "display_name": "Cut"},
            {"id": "claude-slow", "display_name": "Slow"}]})))
        .mount(&server)
        .await;
    // Round two: the tool's answer came back.
    let mut answer = vec![
        start("claude-test"),
        text(0, "AAPL is at "),
        text(0, "200."),
    ];
    answer.extend(stop("end_turn", 9));
    Mock::given(path("/v1/messages"))
        .and(body_partial_json(json!({"model": "claude-test"})))
        .and(body_string_contains("tool_result"))
        .respond_with(sse(&answer))
        .with_priority(1)
        .mount(&server)
        .await;
    let mut first = vec![
        start("claude-test"),
        text(0, "Let me look."),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_quote", "input": {}}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"symbol\": "}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"AAPL\"}"}}),
        json!({"type": "content_block_stop", "index": 1}),
    ];
    first.extend(stop("tool_use", 12));
    Mock::given(path("/v1/messages"))
        .and(body_partial_json(json!({"model": "claude-test"})))
        .respond_with(sse(&first))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(path("/v1/messages"))
        .and(body_partial_json(json!({"model": "claude-broken"})))
        .respond_with(sse(&[
            start("claude-broken"),
            text(0, "Half an"),
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        ]))
        .mount(&server)
        .await;
    Mock::given(path("/v1/messages"))
        .and(body_partial_json(json!({"model": "claude-cut"})))
        .respond_with(sse(&[start("claude-cut"), text(0, "Cut off")]))
        .mount(&server)
        .await;
    Mock::given(path("/v1/messages"))
        .and(body_partial_json(json!({"model": "claude-slow"})))
        .respond_with(sse(&[start("claude-slow")]).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let config = assistant::Config {
        anthropic_api_key: Some("test-key".into()),
        anthropic_url: server.uri(),
        ..assistant::Config::default()
    };
    let app = TestApp::with(config).await;
    (server, app)
}

fn ask(model: &str, content: &str) -> SendMessage {
    SendMessage {
        conversation_id: None,
        content: content.into(),
        model: Some(model.into()),
        parent_id: None,
    }
}

#[tokio::test]
async fn an_anthropic_reply_calls_a_tool_then_answers_from_it() {
    let (_server, app) = anthropic().await;
    let user = Uuid::now_v7();
    app.holding(user, 1, 150, 200).await;
    let models = app
        .bus
        .request(&user_ctx(user), &ListModels {})
        .await
        .unwrap();
    let ids: Vec<&str> = models.models.iter().map(|m| m.id.as_str()).collect();
    assert!(
        ids.contains(&"claude-test") && ids.contains(&"bourse-local"),
        "{ids:?}"
    );
    // The first model of the configured provider is the default.
    assert_eq!(models.default_model, "claude-test");

    let mut events = app.chat_events().await;
    let started = app
        .bus
        .request(&user_ctx(user), &ask("claude-test", "What is AAPL at?"))
        .await
        .unwrap();
    let told = events.reply(&started).await;
    assert_eq!(told.text, "Let me look.AAPL is at 200.");
    let result = told
        .kinds
        .iter()
        .find_map(|k| match k {
            ChatEventKind::ToolResult {
                name,
                output,
                is_error,
                ..
            } => Some((name, output, is_error)),
            _ => None,
        })
        .unwrap();
    assert_eq!(result.0, "get_quote");
    assert_eq!(result.1["price"], "200");
    assert!(!result.2);
    let Some(ChatEventKind::Completed { status, usage }) = told.kinds.last() else {
        panic!()
    };
    assert_eq!(*status, MessageStatus::Complete);
    // Two rounds: 20 + 20 in, 12 + 9 out.
    assert_eq!((usage.input_tokens, usage.output_tokens), (40, 21));
}

#[tokio::test]
async fn a_provider_error_or_a_cut_stream_is_saved_as_failed_never_as_an_answer() {
    let (_server, app) = anthropic().await;
    let user = Uuid::now_v7();
    for (model, reason) in [
        ("claude-broken", "Overloaded"),
        ("claude-cut", "message_stop"),
    ] {
        let mut events = app.chat_events().await;
        let started = app
            .bus
            .request(&user_ctx(user), &ask(model, "hello"))
            .await
            .unwrap();
        let told = events.reply(&started).await;
        let Some(ChatEventKind::Failed { reason: said }) = told.kinds.last() else {
            panic!("{:?}", told.kinds)
        };
        assert!(said.contains(reason), "{said}");
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
        assert_eq!(messages[1].status, MessageStatus::Failed);
        assert!(
            messages[1]
                .failure
                .as_deref()
                .unwrap_or_default()
                .contains(reason)
        );
    }
}

#[tokio::test]
async fn a_stopped_reply_is_kept_as_stopped() {
    let (_server, app) = anthropic().await;
    let user = Uuid::now_v7();
    let mut events = app.chat_events().await;
    let started = app
        .bus
        .request(&user_ctx(user), &ask("claude-slow", "hello"))
        .await
        .unwrap();
    let stop = StopGeneration {
        generation_id: started.generation_id.clone(),
    };
    let stopped = app
        .bus
        .request_routed(&user_ctx(user), &stop)
        .await
        .unwrap();
    assert_eq!(stopped.generation_id, started.generation_id);
    let told = events.reply(&started).await;
    assert!(matches!(
        told.kinds.last(),
        Some(ChatEventKind::Completed {
            status: MessageStatus::Stopped,
            ..
        })
    ));
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
    assert_eq!(messages[1].status, MessageStatus::Stopped);
}

#[tokio::test]
async fn an_openai_compatible_server_streams_through_the_same_events() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": "llama-test"}]})),
        )
        .mount(&server)
        .await;
    let chunks = [
        json!({"model": "llama-test", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]}),
        json!({"choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]}),
        json!({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}}),
    ];
    let mut body: String = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
    body.push_str("data: [DONE]\n\n");
    Mock::given(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(body),
        )
        .mount(&server)
        .await;
    let config = assistant::Config {
        openai_url: Some(server.uri()),
        ..assistant::Config::default()
    };
    let app = TestApp::with(config).await;
    let user = Uuid::now_v7();
    let mut events = app.chat_events().await;
    let started = app
        .bus
        .request(&user_ctx(user), &ask("llama-test", "hi"))
        .await
        .unwrap();
    let told = events.reply(&started).await;
    assert_eq!(told.text, "Hello");
    let Some(ChatEventKind::Completed { usage, .. }) = told.kinds.last() else {
        panic!()
    };
    assert_eq!((usage.input_tokens, usage.output_tokens), (5, 2));
}
