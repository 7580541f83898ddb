//! Each provider against a local server speaking its documented wire format.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assistant::provider::{
    ChatMessage, ChatRequest, ModelInfo, Provider, ProviderError, ProviderEvent, StopReason,
    ToolCall, ToolSpec, Usage, anthropic::Anthropic, openai::OpenAi,
};
use futures::StreamExt;
use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_partial_json, header, method, path},
};

fn request() -> ChatRequest {
    ChatRequest {
        model: "model-1".into(),
        system: Some("Be brief.".into()),
        messages: vec![ChatMessage::User("What is AAPL at?".into())],
        tools: vec![ToolSpec {
            name: "get_quote".into(),
            description: "The latest quote of a symbol".into(),
            input_schema: json!({"type": "object", "properties": {"symbol": {"type": "string"}}}),
        }],
        max_tokens: 512,
    }
}

fn sse(events: &[(&str, serde_json::Value)]) -> String {
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

fn event_stream(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/event-stream")
        .set_body_string(body)
}

/// Every item of a stream: the events, then the error it ended with, if any.
async fn drain(
    mut stream: assistant::provider::EventStream,
) -> (Vec<ProviderEvent>, Option<ProviderError>) {
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(event) => events.push(event),
            Err(err) => {
                assert!(stream.next().await.is_none(), "nothing after an error");
                return (events, Some(err));
            }
        }
    }
    (events, None)
}

fn anthropic_events(last: bool) -> String {
    let mut events = vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": "model-1", "stop_reason": null, "usage": {"input_tokens": 25, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Let me "}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "check."}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_quote", "input": {}}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"sym"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "bol\": \"AAPL\"}"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 1}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 10}}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {}, "usage": {"output_tokens": 17}}),
        ),
    ];
    if last {
        events.push(("message_stop", json!({"type": "message_stop"})));
    }
    sse(&events)
}

#[tokio::test]
async fn anthropic_streams_text_and_a_tool_call_built_from_json_deltas() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", "key-1"))
        .and(header("anthropic-version", "2023-06-01"))
        .and(body_partial_json(
            json!({"model": "model-1", "stream": true, "system": "Be brief.",
            "messages": [{"role": "user", "content": "What is AAPL at?"}],
            "tools": [{"name": "get_quote"}]}),
        ))
        .respond_with(event_stream(anthropic_events(true)))
        .expect(1)
        .mount(&server)
        .await;
    let provider = Anthropic::new(
        reqwest::Client::new(),
        &server.uri(),
        contracts::Secret::new("key-1"),
    );
    let (events, error) = drain(provider.stream(request()).await.unwrap()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events,
        vec![
            ProviderEvent::Start {
                model: "model-1".into()
            },
            ProviderEvent::TextDelta("Let me ".into()),
            ProviderEvent::TextDelta("check.".into()),
            ProviderEvent::ToolCall(ToolCall {
                id: "toolu_1".into(),
                name: "get_quote".into(),
                input: json!({"symbol": "AAPL"}),
            }),
            ProviderEvent::Stop {
                reason: StopReason::ToolUse,
                // The last, cumulative output count.
                usage: Usage {
                    input_tokens: 25,
                    output_tokens: 17
                },
            },
        ]
    );
}

#[tokio::test]
async fn anthropic_errors_mid_stream_and_cut_streams_are_failures() {
    let server = MockServer::start().await;
    let overloaded = sse(&[
        (
            "message_start",
            json!({"type": "message_start", "message": {"model": "model-1", "usage": {"input_tokens": 3}}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Part"}}),
        ),
        (
            "error",
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        ),
    ]);
    Mock::given(path("/v1/messages"))
        .and(body_partial_json(json!({"model": "overloaded"})))
        .respond_with(event_stream(overloaded))
        .mount(&server)
        .await;
    Mock::given(path("/v1/messages"))
        .and(body_partial_json(json!({"model": "cut"})))
        .respond_with(event_stream(anthropic_events(false)))
        .mount(&server)
        .await;
    Mock::given(path("/v1/messages"))
        .and(body_partial_json(json!({"model": "refused"})))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
        ))
        .mount(&server)
        .await;
    let provider = Anthropic::new(
        reqwest::Client::new(),
        &server.uri(),
        contracts::Secret::new("k"),
    );
    let ask = |model: &str| ChatRequest {
        model: model.into(),
        ..request()
    };

    let (events, error) = drain(provider.stream(ask("overloaded")).await.unwrap()).await;
    assert_eq!(
        events.last(),
        Some(&ProviderEvent::TextDelta("Part".into()))
    );
    assert!(
        matches!(error, Some(ProviderError::Stream(ref m)) if m == "Overloaded"),
        "{error:?}"
    );

    let (events, error) = drain(provider.stream(ask("cut")).await.unwrap()).await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ProviderEvent::Stop { .. }))
    );
    assert!(
        matches!(error, Some(ProviderError::Broken(ref m)) if m.contains("message_stop")),
        "{error:?}"
    );

    let Err(err) = provider.stream(ask("refused")).await else {
        panic!("accepted")
    };
    assert!(
        matches!(err, ProviderError::Refused { status: 401, ref message } if message == "invalid x-api-key"),
        "{err:?}"
    );
}

fn openai_chunks(done: bool) -> String {
    let mut chunks = vec![
        json!({"id": "c1", "object": "chat.completion.chunk", "model": "model-1", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]}),
        json!({"id": "c1", "choices": [{"index": 0, "delta": {"content": "Checking"}, "finish_reason": null}]}),
        json!({"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_quote", "arguments": ""}}]}, "finish_reason": null}]}),
        json!({"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_quote", "arguments": "{\"symbol\":"}}]}, "finish_reason": null}]}),
        json!({"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"symbol\": \"AAPL\"}"}}]}, "finish_reason": null}]}),
        json!({"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 1, "function": {"arguments": " \"MSFT\"}"}}]}, "finish_reason": null}]}),
        json!({"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
        // Servers differ: an empty list, or null, in the usage chunk.
        json!({"id": "c1", "choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52}}),
        json!({"id": "c1", "choices": null}),
    ];
    let mut body: String = chunks.drain(..).map(|c| format!("data: {c}\n\n")).collect();
    if done {
        body.push_str("data: [DONE]\n\n");
    }
    body
}

#[tokio::test]
async fn openai_compatible_streams_gather_tool_calls_by_index() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer key-2"))
        .and(body_partial_json(json!({"model": "model-1", "stream": true,
            "stream_options": {"include_usage": true},
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is AAPL at?"}],
            "tools": [{"type": "function", "function": {"name": "get_quote"}}]})))
        .respond_with(event_stream(openai_chunks(true)))
        .mount(&server)
        .await;
    Mock::given(path("/v1/chat/completions"))
        .and(body_partial_json(json!({"model": "cut"})))
        .respond_with(event_stream(openai_chunks(false)))
        .mount(&server)
        .await;
    // A base URL given with its `/v1` works the same.
    let base = format!("{}/v1", server.uri());
    let provider = OpenAi::new(
        reqwest::Client::new(),
        &base,
        Some(contracts::Secret::new("key-2")),
    );
    let (events, error) = drain(provider.stream(request()).await.unwrap()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events,
        vec![
            ProviderEvent::Start {
                model: "model-1".into()
            },
            ProviderEvent::TextDelta("Checking".into()),
            ProviderEvent::ToolCall(ToolCall {
                id: "call_a".into(),
                name: "get_quote".into(),
                input: json!({"symbol": "AAPL"})
            }),
            ProviderEvent::ToolCall(ToolCall {
                id: "call_b".into(),
                name: "get_quote".into(),
                input: json!({"symbol": "MSFT"})
            }),
            ProviderEvent::Stop {
                reason: StopReason::ToolUse,
                usage: Usage {
                    input_tokens: 40,
                    output_tokens: 12
                }
            },
        ]
    );
    let cut = ChatRequest {
        model: "cut".into(),
        ..request()
    };
    let (events, error) = drain(provider.stream(cut).await.unwrap()).await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ProviderEvent::Stop { .. }))
    );
    assert!(
        matches!(error, Some(ProviderError::Broken(ref m)) if m.contains("[DONE]")),
        "{error:?}"
    );
}

#[tokio::test]
async fn models_are_what_each_provider_lists() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header("anthropic-version", "2023-06-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"type": "model", "id": "claude-x", "display_name": "Claude X", "created_at": "2026-01-01T00:00:00Z"}],
            "has_more": false, "first_id": "claude-x", "last_id": "claude-x"})))
        .mount(&server)
        .await;
    let anthropic = Anthropic::new(
        reqwest::Client::new(),
        &server.uri(),
        contracts::Secret::new("k"),
    );
    assert_eq!(
        anthropic.models().await.unwrap(),
        vec![ModelInfo {
            id: "claude-x".into(),
            name: "Claude X".into()
        }]
    );
    let other = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "data": [{"id": "llama3.1:8b", "object": "model", "owned_by": "library"}]})))
        .mount(&other)
        .await;
    let openai = OpenAi::new(reqwest::Client::new(), &other.uri(), None);
    assert_eq!(
        openai.models().await.unwrap(),
        vec![ModelInfo {
            id: "llama3.1:8b".into(),
            name: "llama3.1:8b".into()
        }]
    );
}
