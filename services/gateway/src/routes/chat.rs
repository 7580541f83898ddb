//! `/api/v1/chat…`: the caller's conversations with the assistant (assistant service). Every
//! route needs a token; another user's conversation, folder or generation is 404. Replies are
//! written in the service whatever the client does: follow them on the WebSocket (`chat`
//! topic), or ask `POST /api/v1/chat/message` for `text/event-stream`.

use std::convert::Infallible;

use async_nats::jetstream::consumer::DeliverPolicy;
use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, header},
    response::{
        IntoResponse, Response,
        sse::{Event as SseEvent, KeepAlive, Sse},
    },
};
use contracts::{
    Event as _, Request as _,
    assistant::{
        ChatEvent, ChatEventKind, Conversation, ConversationPage, CreateConversation, CreateFolder,
        DeleteConversation, DeleteFolder, DeletedConversation, DeletedFolder, ExportConversation,
        ExportFormat, Folder, FolderList, GetConversation, ListConversations, ListFolders,
        ListMessages, ListModels, MessageList, ModelList, RegenerateReply, SearchConversations,
        SearchPage, SendMessage, Started, StopGeneration, StoppedGeneration, Title,
        UpdateConversation, UpdateFolder,
    },
};
use futures::StreamExt;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{call, call_routed, portfolios::PageParams};
use crate::{
    app::AppState,
    context::Ctx,
    envelope::{Envelope, Reply},
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiQuery, IdPath},
    openapi::ErrorEnvelope,
};

/// Which conversations to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Only those in this folder.
    folder_id: Option<Uuid>,
    #[param(minimum = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// Your conversations, pinned first, then newest first.
#[utoipa::path(
    get, path = "/api/v1/chat/sessions", tag = "chat", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "A page of your conversations", body = Envelope<ConversationPage>))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Reply<ConversationPage>> {
    let (page, limit) = PageParams::new(params.page, params.limit).parts()?;
    let request = ListConversations {
        folder_id: params.folder_id,
        page,
        limit,
    };
    let reply = call(&state, &ctx, &request).await?;
    let pagination = reply.pagination;
    Ok(Reply::ok(ListConversations::service(), reply).with_pagination(pagination))
}

/// Start a conversation (a first message starts one too).
#[utoipa::path(
    post, path = "/api/v1/chat/sessions", tag = "chat", security(("bearer" = [])),
    request_body = CreateConversation,
    responses(
        (status = 201, description = "The conversation", body = Envelope<Conversation>),
        (status = 404, description = "No folder of yours has the folder_id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CreateConversation>,
) -> ApiResult<Reply<Conversation>> {
    let conversation = call(&state, &ctx, &request).await?;
    Ok(Reply::created(CreateConversation::service(), conversation))
}

/// One of your conversations.
#[utoipa::path(
    get, path = "/api/v1/chat/sessions/{id}", tag = "chat", security(("bearer" = [])),
    params(IdPath),
    responses(
        (status = 200, description = "The conversation", body = Envelope<Conversation>),
        (status = 404, description = "No conversation of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(conversation_id): IdPath,
) -> ApiResult<Reply<Conversation>> {
    super::forward(&state, &ctx, &GetConversation { conversation_id }).await
}

/// What an update may change: absent fields stay; `folder_id: null` takes it out of its
/// folder, `system_prompt: null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConversationChanges {
    #[serde(default)]
    title: Option<Title>,
    #[serde(default, deserialize_with = "contracts::assistant::double_option")]
    #[schema(value_type = Option<Uuid>)]
    folder_id: Option<Option<Uuid>>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default, deserialize_with = "contracts::assistant::double_option")]
    #[schema(value_type = Option<String>)]
    system_prompt: Option<Option<String>>,
    #[serde(default)]
    pinned: Option<bool>,
    #[serde(default)]
    archived: Option<bool>,
}

/// Change one of your conversations.
#[utoipa::path(
    put, path = "/api/v1/chat/sessions/{id}", tag = "chat", security(("bearer" = [])),
    params(IdPath), request_body = ConversationChanges,
    responses(
        (status = 200, description = "The conversation as it is now", body = Envelope<Conversation>),
        (status = 404, description = "No conversation (or folder) of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(conversation_id): IdPath,
    ApiJson(changes): ApiJson<ConversationChanges>,
) -> ApiResult<Reply<Conversation>> {
    let request = UpdateConversation {
        conversation_id,
        title: changes.title,
        folder_id: changes.folder_id,
        model: changes.model,
        system_prompt: changes.system_prompt,
        pinned: changes.pinned,
        archived: changes.archived,
    };
    super::forward(&state, &ctx, &request).await
}

/// Delete one of your conversations and its messages.
#[utoipa::path(
    delete, path = "/api/v1/chat/sessions/{id}", tag = "chat", security(("bearer" = [])),
    params(IdPath),
    responses(
        (status = 200, description = "Deleted", body = Envelope<DeletedConversation>),
        (status = 404, description = "No conversation of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(conversation_id): IdPath,
) -> ApiResult<Reply<DeletedConversation>> {
    super::forward(&state, &ctx, &DeleteConversation { conversation_id }).await
}

/// Which branch to read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct BranchParams {
    /// The last message of the branch; default: the current leaf.
    leaf_id: Option<Uuid>,
}

/// A conversation's current branch (or a given leaf's), oldest first.
#[utoipa::path(
    get, path = "/api/v1/chat/sessions/{id}/messages", tag = "chat", security(("bearer" = [])),
    params(IdPath, BranchParams),
    responses(
        (status = 200, description = "The branch", body = Envelope<MessageList>),
        (status = 404, description = "No conversation of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn messages(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(conversation_id): IdPath,
    ApiQuery(params): ApiQuery<BranchParams>,
) -> ApiResult<Reply<MessageList>> {
    let request = ListMessages {
        conversation_id,
        leaf_id: params.leaf_id,
    };
    super::forward(&state, &ctx, &request).await
}

/// Answer a reply again, as a sibling of it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Regenerate {
    /// The reply to write again.
    message_id: Uuid,
    #[serde(default)]
    model: Option<String>,
}

/// Write a reply again: a new branch beside the old one.
#[utoipa::path(
    post, path = "/api/v1/chat/sessions/{id}/regenerate", tag = "chat", security(("bearer" = [])),
    params(IdPath), request_body = Regenerate,
    responses(
        (status = 201, description = "The new reply is on its way", body = Envelope<Started>),
        (status = 404, description = "No such reply in a conversation of yours", body = ErrorEnvelope),
        (status = 429, description = "Over a limit (replies at once, tokens today)", body = ErrorEnvelope),
    )
)]
pub(crate) async fn regenerate(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(conversation_id): IdPath,
    ApiJson(body): ApiJson<Regenerate>,
) -> ApiResult<Reply<Started>> {
    let request = RegenerateReply {
        conversation_id,
        message_id: body.message_id,
        model: body.model,
    };
    let started = call(&state, &ctx, &request).await?;
    Ok(Reply::created(RegenerateReply::service(), started))
}

/// Say something: records your message and starts the reply. Answered at once with the
/// conversation, your message and the `generation_id`; with `Accept: text/event-stream`, the
/// reply streams as server-sent events instead (`accepted`, then one event per step, named
/// like the chat events, until `completed` or `failed`).
#[utoipa::path(
    post, path = "/api/v1/chat/message", tag = "chat", security(("bearer" = [])),
    request_body = SendMessage,
    responses(
        (status = 201, description = "The reply is on its way", body = Envelope<Started>),
        (status = 200, description = "With Accept: text/event-stream: the reply as it is written", content_type = "text/event-stream"),
        (status = 404, description = "No conversation of yours has this id", body = ErrorEnvelope),
        (status = 429, description = "Over a limit (replies at once, tokens today)", body = ErrorEnvelope),
    )
)]
pub(crate) async fn send(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    ApiJson(request): ApiJson<SendMessage>,
) -> ApiResult<Response> {
    let streams = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if !streams {
        let started = call(&state, &ctx, &request).await?;
        return Ok(Reply::created(SendMessage::service(), started).into_response());
    }
    // Where the stream ends before the message: the reply's events all come after it.
    let unavailable = |err| ApiError::from_bus::<SendMessage>(err);
    let last = state
        .bus
        .stream_info(ChatEvent::STREAM)
        .await
        .map_err(unavailable)?
        .state
        .last_sequence;
    let started = call(&state, &ctx, &request).await?;
    let filter = ChatEvent::conversation_subjects(started.conversation.id);
    let messages = state
        .bus
        .ordered_messages(
            ChatEvent::STREAM,
            &filter,
            DeliverPolicy::ByStartSequence {
                start_sequence: last + 1,
            },
        )
        .await
        .map_err(unavailable)?;
    let accepted = SseEvent::default()
        .event("accepted")
        .json_data(&started)
        .unwrap_or_default();
    let generation = started.generation_id.clone();
    let steps = futures::stream::unfold((messages, false), move |(mut messages, done)| {
        let generation = generation.clone();
        async move {
            if done {
                return None;
            }
            loop {
                let message = match messages.next().await {
                    Some(Ok(message)) => message,
                    Some(Err(err)) => {
                        tracing::warn!(error = %err, "a chat stream for server-sent events broke");
                        return None;
                    }
                    None => return None,
                };
                let Ok(event) = serde_json::from_slice::<ChatEvent>(&message.payload) else {
                    continue;
                };
                if event.generation_id != generation {
                    continue;
                }
                let last = matches!(
                    event.kind,
                    ChatEventKind::Completed { .. } | ChatEventKind::Failed { .. }
                );
                let seq = message
                    .info()
                    .map(|i| i.stream_sequence)
                    .unwrap_or_default();
                let sse = SseEvent::default()
                    .event(event.kind.name())
                    .id(seq.to_string())
                    .json_data(&event)
                    .unwrap_or_default();
                return Some((Ok::<_, Infallible>(sse), (messages, last)));
            }
        }
    });
    let stream = futures::stream::once(async move { Ok(accepted) }).chain(steps);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// Stop a reply being written; what it said so far is kept, marked `stopped`.
#[utoipa::path(
    post, path = "/api/v1/chat/generations/{id}/stop", tag = "chat", security(("bearer" = [])),
    params(("id" = String, Path, description = "The generation id")),
    responses(
        (status = 200, description = "Stopped", body = Envelope<StoppedGeneration>),
        (status = 404, description = "No reply of yours is being written under this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn stop(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> ApiResult<Reply<StoppedGeneration>> {
    let generation_id = contracts::assistant::GenerationId::parse(&raw)?;
    let stopped = call_routed(&state, &ctx, &StopGeneration { generation_id }).await?;
    Ok(Reply::ok(StopGeneration::service(), stopped))
}

/// Every configured provider's models, and the offline `bourse-local`.
#[utoipa::path(
    get, path = "/api/v1/chat/models", tag = "chat", security(("bearer" = [])),
    responses((status = 200, description = "The models", body = Envelope<ModelList>))
)]
pub(crate) async fn models(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
) -> ApiResult<Reply<ModelList>> {
    super::forward(&state, &ctx, &ListModels {}).await
}

/// Your folders.
#[utoipa::path(
    get, path = "/api/v1/chat/folders", tag = "chat", security(("bearer" = [])),
    responses((status = 200, description = "Your folders", body = Envelope<FolderList>))
)]
pub(crate) async fn folders(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
) -> ApiResult<Reply<FolderList>> {
    super::forward(&state, &ctx, &ListFolders {}).await
}

/// Create a folder (inside another with `parent_id`).
#[utoipa::path(
    post, path = "/api/v1/chat/folders", tag = "chat", security(("bearer" = [])),
    request_body = CreateFolder,
    responses(
        (status = 201, description = "The folder", body = Envelope<Folder>),
        (status = 404, description = "No folder of yours is the parent", body = ErrorEnvelope),
    )
)]
pub(crate) async fn create_folder(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CreateFolder>,
) -> ApiResult<Reply<Folder>> {
    let folder = call(&state, &ctx, &request).await?;
    Ok(Reply::created(CreateFolder::service(), folder))
}

/// A folder's new name or place; `parent_id: null` makes it top-level.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FolderChanges {
    #[serde(default)]
    name: Option<Title>,
    #[serde(default, deserialize_with = "contracts::assistant::double_option")]
    #[schema(value_type = Option<Uuid>)]
    parent_id: Option<Option<Uuid>>,
}

/// Rename or move a folder.
#[utoipa::path(
    put, path = "/api/v1/chat/folders/{id}", tag = "chat", security(("bearer" = [])),
    params(IdPath), request_body = FolderChanges,
    responses(
        (status = 200, description = "The folder", body = Envelope<Folder>),
        (status = 404, description = "No folder of yours has this id", body = ErrorEnvelope),
        (status = 409, description = "It would move into itself", body = ErrorEnvelope),
    )
)]
pub(crate) async fn update_folder(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(folder_id): IdPath,
    ApiJson(changes): ApiJson<FolderChanges>,
) -> ApiResult<Reply<Folder>> {
    let request = UpdateFolder {
        folder_id,
        name: changes.name,
        parent_id: changes.parent_id,
    };
    super::forward(&state, &ctx, &request).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CascadeParams {
    /// Delete its conversations too (default: they move out of it).
    cascade: Option<bool>,
}

/// Delete a folder and the folders inside it; its conversations move out (or go, with
/// `cascade=true`).
#[utoipa::path(
    delete, path = "/api/v1/chat/folders/{id}", tag = "chat", security(("bearer" = [])),
    params(IdPath, CascadeParams),
    responses(
        (status = 200, description = "Deleted", body = Envelope<DeletedFolder>),
        (status = 404, description = "No folder of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn delete_folder(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(folder_id): IdPath,
    ApiQuery(params): ApiQuery<CascadeParams>,
) -> ApiResult<Reply<DeletedFolder>> {
    let request = DeleteFolder {
        folder_id,
        cascade: params.cascade.unwrap_or(false),
    };
    super::forward(&state, &ctx, &request).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchParams {
    /// Words to find (web search syntax: `"exact phrase"`, `-not`, `or`).
    q: String,
    #[param(minimum = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// Full-text search over your conversations' titles and messages, with highlighted snippets.
#[utoipa::path(
    get, path = "/api/v1/chat/search", tag = "chat", security(("bearer" = [])),
    params(SearchParams),
    responses((status = 200, description = "Matches, best first", body = Envelope<SearchPage>))
)]
pub(crate) async fn search(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> ApiResult<Reply<SearchPage>> {
    let (page, limit) = PageParams::new(params.page, params.limit).parts()?;
    let request = SearchConversations {
        q: params.q,
        page,
        limit,
    };
    let reply = call(&state, &ctx, &request).await?;
    let pagination = reply.pagination;
    Ok(Reply::ok(SearchConversations::service(), reply).with_pagination(pagination))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportParams {
    /// `json` or `md`.
    #[param(inline)]
    format: ExportFormat,
}

/// A conversation's current branch as a file (not an envelope).
#[utoipa::path(
    get, path = "/api/v1/chat/sessions/{id}/export", tag = "chat", security(("bearer" = [])),
    params(IdPath, ExportParams),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/markdown"),
            (String = "application/json"),
        )),
        (status = 404, description = "No conversation of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn export(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(conversation_id): IdPath,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let request = ExportConversation {
        conversation_id,
        format: params.format,
    };
    let file = call(&state, &ctx, &request).await?;
    let content_type =
        HeaderValue::from_str(&file.content_type).unwrap_or(HeaderValue::from_static("text/plain"));
    let mut response = ([(header::CONTENT_TYPE, content_type)], file.content).into_response();
    if let Ok(disposition) =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file.file_name))
    {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}
