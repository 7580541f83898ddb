//! `assistant.v1.message.*` and `assistant.v1.generation.stop`: what the user says, and the
//! replies it starts.

use bus::{RequestContext, ServiceError};
use contracts::assistant::{
    CreateConversation, GenerationId, ListMessages, MAX_MESSAGE_CHARS, Message, MessageList,
    MessageRole, MessageStatus, RegenerateReply, SendMessage, Started, StopGeneration,
    StoppedGeneration,
};
use uuid::Uuid;

use super::{Handlers, conversation::create_in, conversation_not_found, owner};
use crate::{
    generation::{self, Job, limited},
    provider::ChatRequest,
    store, tools,
};

pub async fn list(
    h: &Handlers,
    ctx: RequestContext,
    req: ListMessages,
) -> Result<MessageList, ServiceError> {
    let owner = owner(&ctx)?;
    let mut db = h.0.db.acquire().await?;
    let conversation = store::conversation::get(&mut db, owner, req.conversation_id)
        .await?
        .ok_or_else(|| conversation_not_found(req.conversation_id))?;
    let Some(leaf) = req.leaf_id.or(conversation.current_leaf_id) else {
        return Ok(MessageList {
            messages: Vec::new(),
        });
    };
    let messages = store::message::branch(&mut db, conversation.id, leaf).await?;
    if messages.is_empty() {
        return Err(ServiceError::not_found(format!("no message {leaf}")));
    }
    Ok(MessageList { messages })
}

/// Refuses before any provider call: too long, too many replies at once, or the day's tokens
/// spent.
async fn check_limits(
    h: &Handlers,
    owner: Uuid,
    content: Option<&str>,
) -> Result<(), ServiceError> {
    if let Some(content) = content {
        let chars = content.chars().count();
        if content.trim().is_empty() || chars > MAX_MESSAGE_CHARS {
            return Err(ServiceError::validation(format!(
                "a message must have 1 to {MAX_MESSAGE_CHARS} characters"
            )));
        }
        super::text("content", content, MAX_MESSAGE_CHARS)?;
    }
    let state = &h.0;
    let running = state.generations.of(owner);
    if running >= state.config.assistant_concurrent as usize {
        return Err(limited(format!(
            "you have {running} replies being written, the most at once; wait for one or stop it"
        )));
    }
    let mut db = state.db.acquire().await?;
    let used = store::usage::used(&mut db, owner, state.clock.now().date_naive()).await?;
    if u64::try_from(used).unwrap_or(0) >= state.config.assistant_daily_tokens {
        return Err(limited(format!(
            "you used {used} tokens today, your daily budget of {}; it renews at midnight UTC",
            state.config.assistant_daily_tokens
        )));
    }
    Ok(())
}

pub async fn send(
    h: &Handlers,
    ctx: RequestContext,
    req: SendMessage,
) -> Result<Started, ServiceError> {
    let owner = owner(&ctx)?;
    check_limits(h, owner, Some(&req.content)).await?;
    let state = &h.0;
    let mut tx = state.db.begin().await?;
    let mut conversation = match req.conversation_id {
        Some(id) => store::conversation::get(&mut tx, owner, id)
            .await?
            .ok_or_else(|| conversation_not_found(id))?,
        None => {
            let new = CreateConversation {
                model: req.model.clone(),
                ..CreateConversation::default()
            };
            create_in(state, &mut tx, owner, new).await?
        }
    };
    let parent = match req.parent_id {
        // `null`: a new first message.
        Some(None) => None,
        Some(Some(parent)) => {
            let found = store::message::get(&mut tx, conversation.id, parent).await?;
            Some(
                found
                    .ok_or_else(|| ServiceError::not_found(format!("no message {parent}")))?
                    .id,
            )
        }
        None => conversation.current_leaf_id,
    };
    let question = Message {
        id: contracts::new_id(),
        conversation_id: conversation.id,
        parent_id: parent,
        role: MessageRole::User,
        content: req.content.clone(),
        status: MessageStatus::Complete,
        failure: None,
        model: None,
        tool_uses: Vec::new(),
        usage: None,
        created_at: state.now(),
    };
    store::message::insert(&mut tx, &question).await?;
    let model = req.model.unwrap_or_else(|| conversation.model.clone());
    start(h, &ctx, owner, tx, &mut conversation, question, model).await
}

pub async fn regenerate(
    h: &Handlers,
    ctx: RequestContext,
    req: RegenerateReply,
) -> Result<Started, ServiceError> {
    let owner = owner(&ctx)?;
    check_limits(h, owner, None).await?;
    let state = &h.0;
    let mut tx = state.db.begin().await?;
    let mut conversation = store::conversation::get(&mut tx, owner, req.conversation_id)
        .await?
        .ok_or_else(|| conversation_not_found(req.conversation_id))?;
    let missing = || ServiceError::not_found(format!("no reply {}", req.message_id));
    let reply = store::message::get(&mut tx, conversation.id, req.message_id)
        .await?
        .filter(|m| m.role == MessageRole::Assistant)
        .ok_or_else(missing)?;
    let question_id = reply.parent_id.ok_or_else(missing)?;
    let question = store::message::get(&mut tx, conversation.id, question_id)
        .await?
        .ok_or_else(missing)?;
    let model = req.model.unwrap_or_else(|| conversation.model.clone());
    start(h, &ctx, owner, tx, &mut conversation, question, model).await
}

/// Saves an empty reply to `question` (streaming), makes it the current leaf, commits, and
/// starts writing it.
async fn start(
    h: &Handlers,
    ctx: &RequestContext,
    owner: Uuid,
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    conversation: &mut contracts::assistant::Conversation,
    question: Message,
    model: String,
) -> Result<Started, ServiceError> {
    let state = &h.0;
    super::model(&model)?;
    let kind = state.providers.resolve(&model).await?;
    let reply = Message {
        id: contracts::new_id(),
        conversation_id: conversation.id,
        parent_id: Some(question.id),
        role: MessageRole::Assistant,
        content: String::new(),
        status: MessageStatus::Streaming,
        failure: None,
        model: Some(model.clone()),
        tool_uses: Vec::new(),
        usage: None,
        created_at: state.now(),
    };
    store::message::insert(&mut tx, &reply).await?;
    conversation.current_leaf_id = Some(reply.id);
    let saved = store::conversation::save(&mut tx, conversation).await?;
    let branch = store::message::branch(&mut tx, conversation.id, question.id).await?;
    let generation_id = GenerationId::new(&state.instance);
    let job = Job {
        id: generation_id.clone(),
        ctx: ctx.clone(),
        owner,
        conversation_id: conversation.id,
        reply_id: reply.id,
        model: model.clone(),
        kind,
        request: ChatRequest {
            model,
            system: conversation.system_prompt.clone(),
            messages: generation::history(&branch),
            tools: tools::specs(),
            max_tokens: state.config.assistant_max_tokens,
        },
        question: question.content.clone(),
    };
    // Committed first: the reply's events never name a message the database does not have.
    tx.commit().await?;
    generation::spawn(h.0.clone(), job);
    Ok(Started {
        conversation: saved,
        message: question,
        generation_id,
        reply_id: reply.id,
    })
}

pub async fn stop(
    h: &Handlers,
    ctx: RequestContext,
    req: StopGeneration,
) -> Result<StoppedGeneration, ServiceError> {
    let owner = owner(&ctx)?;
    h.0.generations.stop(owner, &req.generation_id)?;
    Ok(StoppedGeneration {
        generation_id: req.generation_id,
    })
}
