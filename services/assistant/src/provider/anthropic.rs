//! Anthropic's Messages API, streamed (`anthropic-version: 2023-06-01`).
//!
//! Events: `message_start` (the model, input tokens), `content_block_start` (a text block, or a
//! `tool_use` block with its id and name), `content_block_delta` (`text_delta`, or
//! `input_json_delta` pieces of a tool's input), `content_block_stop` (a tool call is whole),
//! `message_delta` (the stop reason and the cumulative output tokens), `message_stop` (the
//! end), `ping`, and `error`.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    ChatMessage, ChatRequest, EventStream, ModelInfo, Provider, ProviderError, ProviderEvent,
    SseParser, StopReason, ToolCall, Usage, read_json, refusal, sse_events,
};

pub const VERSION: &str = "2023-06-01";

#[derive(Debug, Clone)]
pub struct Anthropic {
    http: reqwest::Client,
    /// Without `/v1`.
    base_url: String,
    api_key: contracts::Secret,
}

impl Anthropic {
    pub fn new(http: reqwest::Client, base_url: &str, api_key: contracts::Secret) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
        }
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base_url))
            .header("x-api-key", self.api_key.expose())
            .header("anthropic-version", VERSION)
    }
}

/// The request body of a streamed generation.
pub fn body(request: &ChatRequest) -> Value {
    let messages: Vec<Value> = request.messages.iter().map(message).collect();
    let mut body = json!({
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": messages,
        "stream": true,
    });
    if let Some(system) = &request.system {
        body["system"] = system.as_str().into();
    }
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.input_schema,
                })
            })
            .collect();
    }
    body
}

fn message(message: &ChatMessage) -> Value {
    match message {
        ChatMessage::User(text) => json!({"role": "user", "content": text}),
        ChatMessage::Assistant { text, tool_calls } => {
            let mut content = Vec::new();
            if !text.is_empty() {
                content.push(json!({"type": "text", "text": text}));
            }
            for call in tool_calls {
                content.push(json!({
                    "type": "tool_use", "id": call.id, "name": call.name, "input": call.input,
                }));
            }
            json!({"role": "assistant", "content": content})
        }
        ChatMessage::ToolResult {
            call_id,
            content,
            is_error,
        } => json!({
            "role": "user",
            "content": [{
                "type": "tool_result", "tool_use_id": call_id, "content": content,
                "is_error": is_error,
            }],
        }),
    }
}

impl Provider for Anthropic {
    async fn stream(&self, request: ChatRequest) -> Result<EventStream, ProviderError> {
        let response = self
            .post("/v1/messages")
            .json(&body(&request))
            .send()
            .await
            .map_err(|err| ProviderError::Unreachable(err.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(refusal(status.as_u16(), &text));
        }
        Ok(sse_events(response, Parser::default()))
    }

    async fn models(&self) -> Result<Vec<ModelInfo>, ProviderError> {
        #[derive(Deserialize)]
        struct Page {
            data: Vec<Model>,
        }
        #[derive(Deserialize)]
        struct Model {
            id: String,
            #[serde(default)]
            display_name: Option<String>,
        }
        let request = self
            .http
            .get(format!("{}/v1/models?limit=1000", self.base_url))
            .header("x-api-key", self.api_key.expose())
            .header("anthropic-version", VERSION);
        let page: Page = read_json(request).await?;
        Ok(page
            .data
            .into_iter()
            .map(|m| ModelInfo {
                name: m.display_name.unwrap_or_else(|| m.id.clone()),
                id: m.id,
            })
            .collect())
    }
}

/// A tool call whose input is still arriving.
#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    json: String,
}

#[derive(Debug, Default)]
pub(crate) struct Parser {
    calls: HashMap<u64, PartialCall>,
    usage: Usage,
    stop: Option<StopReason>,
    finished: bool,
}

impl SseParser for Parser {
    fn on_event(&mut self, _event: &str, data: &str) -> Result<Vec<ProviderEvent>, ProviderError> {
        let value: Value = serde_json::from_str(data)
            .map_err(|err| ProviderError::Broken(format!("an event is not JSON: {err}")))?;
        let index = value["index"].as_u64().unwrap_or(0);
        match value["type"].as_str().unwrap_or_default() {
            "message_start" => {
                let message = &value["message"];
                self.usage.input_tokens = message["usage"]["input_tokens"].as_u64().unwrap_or(0);
                self.usage.output_tokens = message["usage"]["output_tokens"].as_u64().unwrap_or(0);
                let model = message["model"].as_str().unwrap_or_default().to_owned();
                Ok(vec![ProviderEvent::Start { model }])
            }
            "content_block_start" => {
                let block = &value["content_block"];
                if block["type"] == "tool_use" {
                    self.calls.insert(
                        index,
                        PartialCall {
                            id: block["id"].as_str().unwrap_or_default().to_owned(),
                            name: block["name"].as_str().unwrap_or_default().to_owned(),
                            json: String::new(),
                        },
                    );
                }
                match block["text"].as_str() {
                    Some(text) if !text.is_empty() => {
                        Ok(vec![ProviderEvent::TextDelta(text.to_owned())])
                    }
                    _ => Ok(Vec::new()),
                }
            }
            "content_block_delta" => {
                let delta = &value["delta"];
                match delta["type"].as_str().unwrap_or_default() {
                    "text_delta" => Ok(vec![ProviderEvent::TextDelta(
                        delta["text"].as_str().unwrap_or_default().to_owned(),
                    )]),
                    "input_json_delta" => {
                        let call = self.calls.get_mut(&index).ok_or_else(|| {
                            ProviderError::Broken(format!("input for no tool block {index}"))
                        })?;
                        call.json
                            .push_str(delta["partial_json"].as_str().unwrap_or_default());
                        Ok(Vec::new())
                    }
                    // Thinking and signatures are not shown.
                    _ => Ok(Vec::new()),
                }
            }
            "content_block_stop" => match self.calls.remove(&index) {
                Some(call) => {
                    let input = if call.json.trim().is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(&call.json).map_err(|err| {
                            ProviderError::Broken(format!(
                                "the input of tool call {} is not JSON: {err}",
                                call.id
                            ))
                        })?
                    };
                    Ok(vec![ProviderEvent::ToolCall(ToolCall {
                        id: call.id,
                        name: call.name,
                        input,
                    })])
                }
                None => Ok(Vec::new()),
            },
            "message_delta" => {
                if let Some(tokens) = value["usage"]["output_tokens"].as_u64() {
                    // Cumulative: the latest count is the count.
                    self.usage.output_tokens = tokens;
                }
                if let Some(reason) = value["delta"]["stop_reason"].as_str() {
                    self.stop = Some(match reason {
                        "end_turn" => StopReason::EndTurn,
                        "tool_use" => StopReason::ToolUse,
                        "max_tokens" => StopReason::MaxTokens,
                        _ => StopReason::Other,
                    });
                }
                Ok(Vec::new())
            }
            "message_stop" => {
                self.finished = true;
                Ok(vec![ProviderEvent::Stop {
                    reason: self.stop.unwrap_or(StopReason::EndTurn),
                    usage: self.usage,
                }])
            }
            "error" => Err(ProviderError::Stream(
                value["error"]["message"]
                    .as_str()
                    .unwrap_or("an error without a message")
                    .to_owned(),
            )),
            // `ping`, and event types added later.
            _ => Ok(Vec::new()),
        }
    }

    fn finished(&self) -> bool {
        self.finished
    }

    fn end_marker(&self) -> &'static str {
        "message_stop"
    }
}
