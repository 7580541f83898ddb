//! `assistant.v1.conversation.*`: conversations, their search and export.

use bus::{RequestContext, ServiceError};
use contracts::assistant::{
    Conversation, ConversationPage, CreateConversation, DeleteConversation, DeletedConversation,
    ExportConversation, ExportFormat, ExportedConversation, GetConversation, ListConversations,
    MessageRole, SearchConversations, SearchHit, SearchPage, UpdateConversation,
};

use super::{Handlers, conversation_not_found, owner, window};
use crate::{app::AppState, store};

pub async fn list(
    h: &Handlers,
    ctx: RequestContext,
    req: ListConversations,
) -> Result<ConversationPage, ServiceError> {
    let owner = owner(&ctx)?;
    let (page, limit, rows, offset) = window(req.page, req.limit);
    let mut db = h.0.db.acquire().await?;
    let (conversations, total) =
        store::conversation::list(&mut db, owner, req.folder_id, offset, rows).await?;
    Ok(ConversationPage {
        conversations,
        pagination: page.pagination(limit, u64::try_from(total).unwrap_or(0)),
    })
}

/// Checks that `folder` is the owner's.
pub(crate) async fn check_folder(
    db: &mut sqlx::PgConnection,
    owner: uuid::Uuid,
    folder: Option<uuid::Uuid>,
) -> Result<(), ServiceError> {
    if let Some(folder) = folder
        && store::folder::get(db, owner, folder).await?.is_none()
    {
        return Err(ServiceError::not_found(format!("no folder {folder}")));
    }
    Ok(())
}

/// Creates a conversation in the caller's transaction (also how a first message starts one).
pub(crate) async fn create_in(
    state: &AppState,
    db: &mut sqlx::PgConnection,
    owner: uuid::Uuid,
    req: CreateConversation,
) -> Result<Conversation, ServiceError> {
    if let Some(prompt) = &req.system_prompt {
        super::text("system_prompt", prompt, super::SYSTEM_PROMPT_CHARS)?;
    }
    check_folder(db, owner, req.folder_id).await?;
    let model = match req.model {
        Some(model) => {
            super::model(&model)?;
            state.providers.resolve(&model).await?;
            model
        }
        None => state.providers.default_model(),
    };
    let title = req.title.as_ref().map(|t| t.as_str()).unwrap_or_default();
    let new = store::conversation::New {
        id: contracts::new_id(),
        owner,
        title,
        folder_id: req.folder_id,
        model: &model,
        system_prompt: req.system_prompt.as_deref(),
    };
    Ok(store::conversation::insert(db, new).await?)
}

pub async fn create(
    h: &Handlers,
    ctx: RequestContext,
    req: CreateConversation,
) -> Result<Conversation, ServiceError> {
    let owner = owner(&ctx)?;
    let mut tx = h.0.db.begin().await?;
    let conversation = create_in(&h.0, &mut tx, owner, req).await?;
    tx.commit().await?;
    Ok(conversation)
}

pub async fn get(
    h: &Handlers,
    ctx: RequestContext,
    req: GetConversation,
) -> Result<Conversation, ServiceError> {
    let owner = owner(&ctx)?;
    let mut db = h.0.db.acquire().await?;
    store::conversation::get(&mut db, owner, req.conversation_id)
        .await?
        .ok_or_else(|| conversation_not_found(req.conversation_id))
}

pub async fn update(
    h: &Handlers,
    ctx: RequestContext,
    req: UpdateConversation,
) -> Result<Conversation, ServiceError> {
    let owner = owner(&ctx)?;
    let mut tx = h.0.db.begin().await?;
    let mut conversation = store::conversation::get(&mut tx, owner, req.conversation_id)
        .await?
        .ok_or_else(|| conversation_not_found(req.conversation_id))?;
    if let Some(title) = req.title {
        conversation.title = title.to_string();
    }
    if let Some(folder) = req.folder_id {
        check_folder(&mut tx, owner, folder).await?;
        conversation.folder_id = folder;
    }
    if let Some(model) = req.model {
        super::model(&model)?;
        h.0.providers.resolve(&model).await?;
        conversation.model = model;
    }
    if let Some(prompt) = req.system_prompt {
        if let Some(prompt) = &prompt {
            super::text("system_prompt", prompt, super::SYSTEM_PROMPT_CHARS)?;
        }
        conversation.system_prompt = prompt;
    }
    if let Some(pinned) = req.pinned {
        conversation.pinned = pinned;
    }
    if let Some(archived) = req.archived {
        conversation.archived = archived;
    }
    let saved = store::conversation::save(&mut tx, &conversation).await?;
    tx.commit().await?;
    Ok(saved)
}

pub async fn delete(
    h: &Handlers,
    ctx: RequestContext,
    req: DeleteConversation,
) -> Result<DeletedConversation, ServiceError> {
    let owner = owner(&ctx)?;
    let mut db = h.0.db.acquire().await?;
    if !store::conversation::delete(&mut db, owner, req.conversation_id).await? {
        return Err(conversation_not_found(req.conversation_id));
    }
    Ok(DeletedConversation {
        conversation_id: req.conversation_id,
    })
}

pub async fn search(
    h: &Handlers,
    ctx: RequestContext,
    req: SearchConversations,
) -> Result<SearchPage, ServiceError> {
    let owner = owner(&ctx)?;
    let q = req.q.trim();
    if q.is_empty() || q.chars().count() > 200 || q.contains('\0') {
        return Err(ServiceError::validation(
            "q must have 1 to 200 characters and no NUL",
        ));
    }
    let (page, limit, rows, offset) = window(req.page, req.limit);
    let mut db = h.0.db.acquire().await?;
    let (hits, total) = store::conversation::search(&mut db, owner, q, offset, rows).await?;
    Ok(SearchPage {
        hits: hits
            .into_iter()
            .map(|hit| SearchHit {
                conversation_id: hit.conversation_id,
                title: hit.title,
                message_id: hit.message_id,
                snippet: hit.snippet,
            })
            .collect(),
        pagination: page.pagination(limit, u64::try_from(total).unwrap_or(0)),
    })
}

pub async fn export(
    h: &Handlers,
    ctx: RequestContext,
    req: ExportConversation,
) -> Result<ExportedConversation, ServiceError> {
    let owner = owner(&ctx)?;
    let mut db = h.0.db.acquire().await?;
    let conversation = store::conversation::get(&mut db, owner, req.conversation_id)
        .await?
        .ok_or_else(|| conversation_not_found(req.conversation_id))?;
    let messages = match conversation.current_leaf_id {
        Some(leaf) => store::message::branch(&mut db, conversation.id, leaf).await?,
        None => Vec::new(),
    };
    let stem = format!("conversation-{}", conversation.id);
    Ok(match req.format {
        ExportFormat::Json => ExportedConversation {
            file_name: format!("{stem}.json"),
            content_type: "application/json".into(),
            content: serde_json::to_string_pretty(&serde_json::json!({
                "conversation": conversation,
                "messages": messages,
            }))
            .map_err(ServiceError::internal)?,
        },
        ExportFormat::Md => {
            let title = if conversation.title.is_empty() {
                "Conversation"
            } else {
                conversation.title.as_str()
            };
            let mut text = format!("# {title}\n");
            for message in &messages {
                let who = match message.role {
                    MessageRole::User => "You",
                    MessageRole::Assistant => "Assistant",
                };
                text.push_str(&format!(
                    "\n## {who} ({})\n\n{}\n",
                    message.created_at.format("%Y-%m-%d %H:%M UTC"),
                    message.content
                ));
                for tool in &message.tool_uses {
                    text.push_str(&format!(
                        "\n> tool `{}` {}\n",
                        tool.name,
                        serde_json::to_string(&tool.input).unwrap_or_default()
                    ));
                }
            }
            ExportedConversation {
                file_name: format!("{stem}.md"),
                content_type: "text/markdown; charset=utf-8".into(),
                content: text,
            }
        }
    })
}
