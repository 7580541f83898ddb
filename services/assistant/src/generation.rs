//! Generations: a reply written by a provider, in a task of its own, until it ends or its owner
//! stops it. A client going away never stops one.
//!
//! Each step is an event on `CHAT` (`started`, `delta`, `tool_call`, `tool_result`, then
//! `completed` or `failed`), published in order from this instance; the reply is saved when it
//! ends: complete, `stopped` with the text so far, or `failed` with the reason (a provider's
//! error is never saved as a complete answer). Tool calls are run as the asking user, at most
//! [`MAX_ROUNDS`] rounds.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use async_nats::jetstream::context::PublishAckFuture;
use bus::{ErrorCode, RequestContext, ServiceError};
use contracts::assistant::{
    ChatEvent, ChatEventKind, GenerationId, Message, MessageRole, MessageStatus, TokenUsage,
    ToolUse,
};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use uuid::Uuid;

use crate::{
    app::AppState,
    provider::{ChatMessage, ChatRequest, ProviderEvent, StopReason},
    providers::Kind,
    store, tools,
};

/// Rounds of tool calls one reply may make.
pub const MAX_ROUNDS: usize = 8;
/// Events of one generation published and not yet acknowledged by the stream, at most.
const IN_FLIGHT: usize = 64;
/// Characters of the first question a conversation's title takes.
const TITLE_CHARS: usize = 60;

/// The generations running on this instance.
#[derive(Debug, Default)]
pub struct Generations {
    running: Mutex<HashMap<GenerationId, (Uuid, CancellationToken)>>,
    tasks: TaskTracker,
}

impl Generations {
    fn running(&self) -> MutexGuard<'_, HashMap<GenerationId, (Uuid, CancellationToken)>> {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The owner's generations running here.
    pub fn of(&self, owner: Uuid) -> usize {
        self.running().values().filter(|(o, _)| *o == owner).count()
    }

    /// Stops the owner's generation; `not_found` for another's or one not running here.
    pub fn stop(&self, owner: Uuid, id: &GenerationId) -> Result<(), ServiceError> {
        match self.running().get(id) {
            Some((o, cancel)) if *o == owner => {
                cancel.cancel();
                Ok(())
            }
            _ => Err(ServiceError::not_found(format!(
                "no generation {id} is running"
            ))),
        }
    }

    /// Stops every generation (shutdown) and waits for them to save what they wrote.
    pub async fn stop_all(&self) {
        for (_, cancel) in self.running().values() {
            cancel.cancel();
        }
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// What a generation writes: the reply to `question` in `conversation`.
pub struct Job {
    pub id: GenerationId,
    pub ctx: RequestContext,
    pub owner: Uuid,
    pub conversation_id: Uuid,
    pub reply_id: Uuid,
    pub model: String,
    pub kind: Kind,
    pub request: ChatRequest,
    /// The conversation's title is set from this first question when it has none.
    pub question: String,
}

/// Starts `job` in a task of its own.
pub fn spawn(state: Arc<AppState>, job: Job) {
    let cancel = CancellationToken::new();
    state
        .generations
        .running()
        .insert(job.id.clone(), (job.owner, cancel.clone()));
    let generations = state.clone();
    state.generations.tasks.spawn(async move {
        let id = job.id.clone();
        run(&generations, job, cancel).await;
        generations.generations.running().remove(&id);
    });
}

/// The reply as it is written.
struct Reply {
    text: String,
    tool_uses: Vec<ToolUse>,
    usage: TokenUsage,
}

/// How a generation ended.
enum End {
    Done(MessageStatus),
    Failed(String),
}

async fn run(state: &AppState, mut job: Job, cancel: CancellationToken) {
    let mut events = Publisher::new(state, &job);
    events
        .send(ChatEventKind::Started {
            model: job.model.clone(),
        })
        .await;
    let mut reply = Reply {
        text: String::new(),
        tool_uses: Vec::new(),
        usage: TokenUsage::default(),
    };
    let end = write(state, &mut job, &cancel, &mut events, &mut reply).await;
    let (status, failure) = match &end {
        End::Done(status) => (*status, None),
        End::Failed(reason) => (MessageStatus::Failed, Some(reason.as_str())),
    };
    if let Err(err) = save(state, &job, &reply, status, failure).await {
        tracing::error!(generation = %job.id, error = %err, "cannot save a reply");
    }
    let last = match end {
        End::Done(status) => ChatEventKind::Completed {
            status,
            usage: reply.usage,
        },
        End::Failed(reason) => ChatEventKind::Failed { reason },
    };
    events.send(last).await;
    events.flush().await;
}

/// Streams rounds from the provider, running tool calls between them, into `reply`.
async fn write(
    state: &AppState,
    job: &mut Job,
    cancel: &CancellationToken,
    events: &mut Publisher<'_>,
    reply: &mut Reply,
) -> End {
    for _ in 0..MAX_ROUNDS {
        let stream = tokio::select! {
            () = cancel.cancelled() => return End::Done(MessageStatus::Stopped),
            stream = state.providers.stream(job.kind, job.request.clone()) => stream,
        };
        let mut stream = match stream {
            Ok(stream) => stream,
            Err(err) => return End::Failed(err.to_string()),
        };
        let mut round_text = String::new();
        let mut calls = Vec::new();
        let mut stop = StopReason::EndTurn;
        loop {
            let item = tokio::select! {
                () = cancel.cancelled() => return End::Done(MessageStatus::Stopped),
                item = stream.next() => item,
            };
            match item {
                Some(Ok(ProviderEvent::TextDelta(text))) => {
                    round_text.push_str(&text);
                    reply.text.push_str(&text);
                    events.send(ChatEventKind::Delta { text }).await;
                }
                Some(Ok(ProviderEvent::ToolCall(call))) => {
                    events
                        .send(ChatEventKind::ToolCall {
                            call_id: call.id.clone(),
                            name: call.name.clone(),
                            input: call.input.clone(),
                        })
                        .await;
                    calls.push(call);
                }
                Some(Ok(ProviderEvent::Stop { reason, usage })) => {
                    reply.usage.input_tokens += usage.input_tokens;
                    reply.usage.output_tokens += usage.output_tokens;
                    stop = reason;
                }
                Some(Ok(ProviderEvent::Start { .. })) => {}
                Some(Err(err)) => return End::Failed(err.to_string()),
                None => break,
            }
        }
        if stop != StopReason::ToolUse || calls.is_empty() {
            return End::Done(MessageStatus::Complete);
        }
        job.request.messages.push(ChatMessage::Assistant {
            text: round_text,
            tool_calls: calls.clone(),
        });
        for call in calls {
            let answer = tools::run(&state.bus, &job.ctx, &call.name, &call.input).await;
            let (output, is_error) = match answer {
                Ok(output) => (output, false),
                Err(message) => (serde_json::Value::String(message), true),
            };
            events
                .send(ChatEventKind::ToolResult {
                    call_id: call.id.clone(),
                    name: call.name.clone(),
                    output: output.clone(),
                    is_error,
                })
                .await;
            job.request.messages.push(ChatMessage::ToolResult {
                call_id: call.id.clone(),
                content: output.to_string(),
                is_error,
            });
            reply.tool_uses.push(ToolUse {
                id: call.id,
                name: call.name,
                input: call.input,
                output: Some(output),
                is_error,
            });
        }
    }
    End::Failed(format!(
        "the model still called tools after {MAX_ROUNDS} rounds"
    ))
}

/// Saves the reply as it ended, counts its tokens, and titles a conversation that has none.
async fn save(
    state: &AppState,
    job: &Job,
    reply: &Reply,
    status: MessageStatus,
    failure: Option<&str>,
) -> Result<(), ServiceError> {
    let mut tx = state.db.begin().await?;
    store::message::finish(
        &mut tx,
        job.reply_id,
        &reply.text,
        status,
        failure,
        &reply.tool_uses,
        reply.usage,
    )
    .await?;
    let tokens = reply.usage.input_tokens + reply.usage.output_tokens;
    if tokens > 0 {
        let day = state.clock.now().date_naive();
        store::usage::add(
            &mut tx,
            job.owner,
            day,
            i64::try_from(tokens).unwrap_or(i64::MAX),
        )
        .await?;
    }
    if let Some(mut conversation) =
        store::conversation::get(&mut tx, job.owner, job.conversation_id).await?
        && conversation.title.is_empty()
    {
        conversation.title = title_from(&job.question);
        store::conversation::save(&mut tx, &conversation).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A title from the first question: its first line, at most [`TITLE_CHARS`] characters.
pub fn title_from(question: &str) -> String {
    let line = question.lines().next().unwrap_or_default().trim();
    let mut title: String = line.chars().take(TITLE_CHARS).collect();
    if line.chars().count() > TITLE_CHARS {
        title.push('…');
    }
    title
}

/// The provider's view of a branch: its messages, oldest first, up to the question.
pub fn history(branch: &[Message]) -> Vec<ChatMessage> {
    let mut messages = Vec::new();
    for message in branch {
        match message.role {
            MessageRole::User => messages.push(ChatMessage::User(message.content.clone())),
            MessageRole::Assistant => {
                // Only what was answered goes back: a failed reply is not the model's word.
                if message.status == MessageStatus::Failed {
                    continue;
                }
                let calls: Vec<_> = message
                    .tool_uses
                    .iter()
                    .map(|t| crate::provider::ToolCall {
                        id: t.id.clone(),
                        name: t.name.clone(),
                        input: t.input.clone(),
                    })
                    .collect();
                messages.push(ChatMessage::Assistant {
                    text: message.content.clone(),
                    tool_calls: calls,
                });
                for tool in &message.tool_uses {
                    messages.push(ChatMessage::ToolResult {
                        call_id: tool.id.clone(),
                        content: tool
                            .output
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                        is_error: tool.is_error,
                    });
                }
            }
        }
    }
    messages
}

/// Publishes a generation's events in order; their acks are awaited by a task of its own.
///
/// Not by the publisher itself: the JetStream context lets 5,000 acks be pending over all
/// generations, and a publisher that held its pending acks while waiting for room would wait
/// for itself. With 200 generations each holding 64, every one of them did.
struct Publisher<'a> {
    state: &'a AppState,
    ctx: RequestContext,
    owner: Uuid,
    conversation_id: Uuid,
    generation_id: GenerationId,
    message_id: Uuid,
    acks: mpsc::Sender<PublishAckFuture>,
    acker: tokio::task::JoinHandle<()>,
}

impl<'a> Publisher<'a> {
    fn new(state: &'a AppState, job: &Job) -> Self {
        let (acks, mut pending) = mpsc::channel::<PublishAckFuture>(IN_FLIGHT);
        let generation = job.id.clone();
        let acker = tokio::spawn(async move {
            while let Some(ack) = pending.recv().await {
                if let Err(err) = ack.await {
                    tracing::warn!(%generation, error = %err, "a chat event was not stored");
                }
            }
        });
        Self {
            state,
            ctx: job.ctx.clone(),
            owner: job.owner,
            conversation_id: job.conversation_id,
            generation_id: job.id.clone(),
            message_id: job.reply_id,
            acks,
            acker,
        }
    }

    async fn send(&mut self, kind: ChatEventKind) {
        let event = ChatEvent {
            event_id: contracts::new_id(),
            occurred_at: self.state.clock.now(),
            conversation_id: self.conversation_id,
            owner_id: self.owner,
            generation_id: self.generation_id.clone(),
            message_id: self.message_id,
            kind,
        };
        match self.state.bus.send_event(&self.ctx, &event).await {
            // Waits when IN_FLIGHT acks are pending: the acker frees room as they arrive.
            Ok(ack) => {
                let _ = self.acks.send(ack).await;
            }
            Err(err) => {
                tracing::warn!(generation = %self.generation_id, error = %err, "cannot publish a chat event");
            }
        }
    }

    /// Waits until every event is stored (or failed to be).
    async fn flush(self) {
        drop(self.acks);
        if let Err(err) = self.acker.await {
            tracing::warn!(error = %err, "the chat event acker failed");
        }
    }
}

/// A `rate_limited` refusal.
pub fn limited(message: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorCode::RateLimited, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_the_first_line_of_the_question() {
        assert_eq!(
            title_from("What is my portfolio worth?\nthanks"),
            "What is my portfolio worth?"
        );
        let long = "a".repeat(100);
        assert_eq!(title_from(&long).chars().count(), TITLE_CHARS + 1);
    }
}
