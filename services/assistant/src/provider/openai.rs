//! OpenAI-compatible chat completions, streamed: `data:` lines of `chat.completion.chunk`s,
//! then `data: [DONE]`. Text comes as `choices[0].delta.content`; tool calls as
//! `delta.tool_calls[]` pieces gathered by `index` (the first names the call, the rest add to
//! its `arguments`); the usage in a last chunk whose `choices` is empty or null
//! (`stream_options.include_usage`). Read leniently: servers differ in what they leave out.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    ChatMessage, ChatRequest, EventStream, ModelInfo, Provider, ProviderError, ProviderEvent,
    SseParser, StopReason, ToolCall, Usage, read_json, refusal, sse_events,
};

#[derive(Debug, Clone)]
pub struct OpenAi {
    http: reqwest::Client,
    /// Without `/v1`.
    base_url: String,
    api_key: Option<contracts::Secret>,
}

impl OpenAi {
    pub fn new(http: reqwest::Client, base_url: &str, api_key: Option<contracts::Secret>) -> Self {
        Self {
            http,
            base_url: base_url
                .trim_end_matches('/')
                .trim_end_matches("/v1")
                .to_owned(),
            api_key,
        }
    }

    fn authorized(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(key) => builder.bearer_auth(key.expose()),
            None => builder,
        }
    }
}

/// The request body of a streamed generation.
pub fn body(request: &ChatRequest) -> Value {
    let mut messages = Vec::new();
    if let Some(system) = &request.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    messages.extend(request.messages.iter().map(message));
    let mut body = json!({
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|tool| {
                json!({"type": "function", "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.input_schema,
                }})
            })
            .collect();
    }
    body
}

fn message(message: &ChatMessage) -> Value {
    match message {
        ChatMessage::User(text) => json!({"role": "user", "content": text}),
        ChatMessage::Assistant { text, tool_calls } => {
            let mut value = json!({"role": "assistant", "content": text});
            if !tool_calls.is_empty() {
                value["tool_calls"] = tool_calls
                    .iter()
                    .map(|call| {
                        json!({"id": call.id, "type": "function", "function": {
                            "name": call.name, "arguments": call.input.to_string(),
                        }})
                    })
                    .collect();
            }
            value
        }
        ChatMessage::ToolResult {
            call_id, content, ..
        } => json!({"role": "tool", "tool_call_id": call_id, "content": content}),
    }
}

impl Provider for OpenAi {
    async fn stream(&self, request: ChatRequest) -> Result<EventStream, ProviderError> {
        let builder = self
            .http
            .post(format!("{}/v1/chat/completions", self.base_url))
            .json(&body(&request));
        let response = self
            .authorized(builder)
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
            #[serde(default)]
            data: Vec<Model>,
        }
        #[derive(Deserialize)]
        struct Model {
            id: String,
        }
        let request = self.authorized(self.http.get(format!("{}/v1/models", self.base_url)));
        let page: Page = read_json(request).await?;
        Ok(page
            .data
            .into_iter()
            .map(|m| ModelInfo {
                name: m.id.clone(),
                id: m.id,
            })
            .collect())
    }
}

/// A tool call whose arguments are still arriving.
#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

#[derive(Debug, Default)]
pub(crate) struct Parser {
    started: bool,
    calls: BTreeMap<u64, PartialCall>,
    stop: Option<StopReason>,
    usage: Usage,
    finished: bool,
}

impl Parser {
    /// The tool calls gathered so far, whole, in index order.
    fn take_calls(&mut self) -> Result<Vec<ProviderEvent>, ProviderError> {
        std::mem::take(&mut self.calls)
            .into_values()
            .map(|call| {
                let input = if call.arguments.trim().is_empty() {
                    json!({})
                } else {
                    serde_json::from_str(&call.arguments).map_err(|err| {
                        ProviderError::Broken(format!(
                            "the arguments of tool call {} are not JSON: {err}",
                            call.id
                        ))
                    })?
                };
                Ok(ProviderEvent::ToolCall(ToolCall {
                    id: call.id,
                    name: call.name,
                    input,
                }))
            })
            .collect()
    }
}

impl SseParser for Parser {
    fn on_event(&mut self, _event: &str, data: &str) -> Result<Vec<ProviderEvent>, ProviderError> {
        let data = data.trim();
        if data == "[DONE]" {
            self.finished = true;
            let mut events = self.take_calls()?;
            events.push(ProviderEvent::Stop {
                reason: self.stop.unwrap_or(StopReason::EndTurn),
                usage: self.usage,
            });
            return Ok(events);
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|err| ProviderError::Broken(format!("a chunk is not JSON: {err}")))?;
        if let Some(message) = chunk["error"]["message"].as_str() {
            return Err(ProviderError::Stream(message.to_owned()));
        }
        let mut events = Vec::new();
        if !self.started {
            self.started = true;
            let model = chunk["model"].as_str().unwrap_or_default().to_owned();
            events.push(ProviderEvent::Start { model });
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage.input_tokens = usage["prompt_tokens"].as_u64().unwrap_or(0);
            self.usage.output_tokens = usage["completion_tokens"].as_u64().unwrap_or(0);
        }
        // `choices` may be missing, null or empty (the usage chunk).
        let Some(choice) = chunk["choices"].as_array().and_then(|c| c.first()) else {
            return Ok(events);
        };
        let delta = &choice["delta"];
        if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
            events.push(ProviderEvent::TextDelta(text.to_owned()));
        }
        for piece in delta["tool_calls"].as_array().into_iter().flatten() {
            let index = piece["index"].as_u64().unwrap_or(0);
            let call = self.calls.entry(index).or_default();
            if let Some(id) = piece["id"].as_str() {
                call.id = id.to_owned();
            }
            if let Some(name) = piece["function"]["name"].as_str() {
                call.name.push_str(name);
            }
            if let Some(arguments) = piece["function"]["arguments"].as_str() {
                call.arguments.push_str(arguments);
            }
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            self.stop = Some(match reason {
                "stop" => StopReason::EndTurn,
                "tool_calls" | "function_call" => StopReason::ToolUse,
                "length" => StopReason::MaxTokens,
                _ => StopReason::Other,
            });
        }
        Ok(events)
    }

    fn finished(&self) -> bool {
        self.finished
    }

    fn end_marker(&self) -> &'static str {
        "data: [DONE]"
    }
}
