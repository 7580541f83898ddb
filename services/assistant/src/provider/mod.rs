//! Language-model providers behind one trait, each normalised to one stream of
//! [`ProviderEvent`]s: a start, text deltas, whole tool calls, and a stop with the usage. A
//! provider's error, mid-stream or not, is an `Err` item; a stream that ends without its
//! provider's end marker is one too, so a cut connection is never taken for a complete answer.
//!
//! - [`anthropic`]: the Messages API (`POST /v1/messages`, `stream: true`).
//! - [`openai`]: OpenAI-compatible chat completions (`POST /v1/chat/completions`), which
//!   OpenAI, Ollama, vLLM and llama.cpp's server speak.

pub mod anthropic;
pub mod local;
pub mod openai;

use std::pin::Pin;

use futures::Stream;
use serde::{Deserialize, Serialize};

/// What a provider is asked: the conversation so far, the tools it may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    pub system: Option<String>,
    pub messages: Vec<ChatMessage>,
    pub tools: Vec<ToolSpec>,
    pub max_tokens: u32,
}

/// One turn of the conversation, as providers take it.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatMessage {
    User(String),
    Assistant {
        text: String,
        tool_calls: Vec<ToolCall>,
    },
    /// The answer to the assistant's tool call `call_id`.
    ToolResult {
        call_id: String,
        content: String,
        is_error: bool,
    },
}

/// A tool the model may call: its name, what it does, and a JSON Schema of its input.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub input_schema: serde_json::Value,
}

/// A call of a tool, its input complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub input: serde_json::Value,
}

/// Tokens a generation used, as the provider counted them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// It finished its answer.
    EndTurn,
    /// It wants its tool calls answered.
    ToolUse,
    /// It reached `max_tokens`.
    MaxTokens,
    /// Anything else the provider said (a stop sequence, a filter).
    Other,
}

/// One step of a streamed generation, the same whichever provider made it.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderEvent {
    Start { model: String },
    TextDelta(String),
    ToolCall(ToolCall),
    Stop { reason: StopReason, usage: Usage },
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused the request (bad key, unknown model, overloaded).
    #[error("the provider answered {status}: {message}")]
    Refused { status: u16, message: String },
    /// The provider reported an error in the stream.
    #[error("the provider failed mid-stream: {0}")]
    Stream(String),
    /// The stream broke off, or said something this client cannot read.
    #[error("the provider's stream broke: {0}")]
    Broken(String),
    #[error("the provider is unreachable: {0}")]
    Unreachable(String),
}

pub type EventStream = Pin<Box<dyn Stream<Item = Result<ProviderEvent, ProviderError>> + Send>>;

/// A model a provider offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub id: String,
    pub name: String,
}

/// A language-model provider.
pub trait Provider: Send + Sync {
    /// Starts a generation; the stream ends after [`ProviderEvent::Stop`] or an error.
    fn stream(
        &self,
        request: ChatRequest,
    ) -> impl Future<Output = Result<EventStream, ProviderError>> + Send;

    /// The models it offers now (its `/v1/models`).
    fn models(&self) -> impl Future<Output = Result<Vec<ModelInfo>, ProviderError>> + Send;
}

/// The JSON answer of a plain (not streamed) request, or why there is none.
pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
) -> Result<T, ProviderError> {
    let unreachable = |err: reqwest::Error| ProviderError::Unreachable(err.to_string());
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status();
    let text = response.text().await.map_err(unreachable)?;
    if !status.is_success() {
        return Err(refusal(status.as_u16(), &text));
    }
    serde_json::from_str(&text).map_err(|err| ProviderError::Broken(err.to_string()))
}

/// The message of a refusal: the provider's own `error.message` when the body has one.
pub(crate) fn refusal(status: u16, body: &str) -> ProviderError {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(300).collect());
    ProviderError::Refused { status, message }
}

/// Reads one provider's server-sent events into [`ProviderEvent`]s.
pub(crate) trait SseParser: Send + 'static {
    /// One event (`event:` name, possibly empty, and its `data:`).
    fn on_event(&mut self, event: &str, data: &str) -> Result<Vec<ProviderEvent>, ProviderError>;
    /// Whether the provider's end marker came.
    fn finished(&self) -> bool;
    /// What the provider should have sent last, for the error when it did not.
    fn end_marker(&self) -> &'static str;
}

/// A streamed response as [`ProviderEvent`]s, through `parser`. Ends after the end marker, at
/// the first error, or with an error when the body ends before the marker.
pub(crate) fn sse_events(response: reqwest::Response, parser: impl SseParser) -> EventStream {
    use std::collections::VecDeque;

    use eventsource_stream::Eventsource;
    use futures::StreamExt;

    let sse = response.bytes_stream().eventsource();
    let state = (Box::pin(sse), parser, VecDeque::new(), false);
    Box::pin(futures::stream::unfold(
        state,
        |(mut sse, mut parser, mut queue, mut done)| async move {
            loop {
                if let Some(event) = queue.pop_front() {
                    return Some((Ok(event), (sse, parser, queue, done)));
                }
                if done {
                    return None;
                }
                let failure = match sse.next().await {
                    Some(Ok(event)) => match parser.on_event(&event.event, &event.data) {
                        Ok(events) => {
                            queue.extend(events);
                            done = parser.finished();
                            continue;
                        }
                        Err(err) => err,
                    },
                    Some(Err(err)) => ProviderError::Broken(err.to_string()),
                    None => ProviderError::Broken(format!(
                        "the stream ended without {}",
                        parser.end_marker()
                    )),
                };
                return Some((Err(failure), (sse, parser, queue, true)));
            }
        },
    ))
}
