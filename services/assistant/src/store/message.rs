//! `assistant.message`: a conversation's messages, a tree through `parent_id`.

use chrono::{DateTime, Utc};
use contracts::assistant::{Message, MessageRole, MessageStatus, TokenUsage, ToolUse};
use sqlx::PgConnection;
use uuid::Uuid;

struct Row {
    message_id: Uuid,
    conversation_id: Uuid,
    parent_id: Option<Uuid>,
    role: String,
    content: String,
    status: String,
    failure: Option<String>,
    model: Option<String>,
    tool_uses: serde_json::Value,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    created_at: DateTime<Utc>,
}

fn status_name(status: MessageStatus) -> &'static str {
    match status {
        MessageStatus::Complete => "complete",
        MessageStatus::Streaming => "streaming",
        MessageStatus::Stopped => "stopped",
        MessageStatus::Failed => "failed",
    }
}

impl From<Row> for Message {
    fn from(row: Row) -> Self {
        let status = match row.status.as_str() {
            "streaming" => MessageStatus::Streaming,
            "stopped" => MessageStatus::Stopped,
            "failed" => MessageStatus::Failed,
            _ => MessageStatus::Complete,
        };
        let usage = match (row.input_tokens, row.output_tokens) {
            (Some(input), Some(output)) => Some(TokenUsage {
                input_tokens: u64::try_from(input).unwrap_or(0),
                output_tokens: u64::try_from(output).unwrap_or(0),
            }),
            _ => None,
        };
        Self {
            id: row.message_id,
            conversation_id: row.conversation_id,
            parent_id: row.parent_id,
            role: if row.role == "user" {
                MessageRole::User
            } else {
                MessageRole::Assistant
            },
            content: row.content,
            status,
            failure: row.failure,
            model: row.model,
            tool_uses: serde_json::from_value(row.tool_uses).unwrap_or_default(),
            usage,
            created_at: row.created_at,
        }
    }
}

pub async fn insert(db: &mut PgConnection, message: &Message) -> sqlx::Result<()> {
    let role = match message.role {
        MessageRole::User => "user",
        MessageRole::Assistant => "assistant",
    };
    let tool_uses = serde_json::to_value(&message.tool_uses).unwrap_or_default();
    sqlx::query!(
        r#"insert into assistant.message
               (message_id, conversation_id, parent_id, role, content, status, failure, model,
                tool_uses, created_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"#,
        message.id,
        message.conversation_id,
        message.parent_id,
        role,
        message.content,
        status_name(message.status),
        message.failure,
        message.model,
        tool_uses,
        message.created_at,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Saves a reply as it ended.
pub async fn finish(
    db: &mut PgConnection,
    id: Uuid,
    content: &str,
    status: MessageStatus,
    failure: Option<&str>,
    tool_uses: &[ToolUse],
    usage: TokenUsage,
) -> sqlx::Result<()> {
    let tool_uses = serde_json::to_value(tool_uses).unwrap_or_default();
    sqlx::query!(
        r#"update assistant.message
           set content = $2, status = $3, failure = $4, tool_uses = $5, input_tokens = $6,
               output_tokens = $7
           where message_id = $1"#,
        id,
        content,
        status_name(status),
        failure,
        tool_uses,
        i64::try_from(usage.input_tokens).unwrap_or(i64::MAX),
        i64::try_from(usage.output_tokens).unwrap_or(i64::MAX),
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The message of a conversation.
pub async fn get(
    db: &mut PgConnection,
    conversation: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<Message>> {
    let row = sqlx::query_as!(
        Row,
        r#"select message_id, conversation_id, parent_id, role, content, status, failure, model,
                  tool_uses, input_tokens, output_tokens, created_at
           from assistant.message where conversation_id = $1 and message_id = $2"#,
        conversation,
        id,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(Into::into))
}

/// The branch from the root to `leaf`, oldest first.
pub async fn branch(
    db: &mut PgConnection,
    conversation: Uuid,
    leaf: Uuid,
) -> sqlx::Result<Vec<Message>> {
    let rows = sqlx::query_as!(
        Row,
        r#"with recursive branch as (
               select m.*, 0 as depth from assistant.message m
               where m.conversation_id = $1 and m.message_id = $2
               union all
               select m.*, b.depth + 1 from assistant.message m
               join branch b on m.message_id = b.parent_id
           )
           select message_id as "message_id!", conversation_id as "conversation_id!", parent_id,
                  role as "role!", content as "content!", status as "status!", failure, model,
                  tool_uses as "tool_uses!", input_tokens, output_tokens,
                  created_at as "created_at!"
           from branch order by depth desc"#,
        conversation,
        leaf,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Replies left `streaming` by an instance that went away: saved as failed.
pub async fn fail_abandoned(db: &mut PgConnection, before: DateTime<Utc>) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        r#"update assistant.message
           set status = 'failed', failure = 'the assistant instance writing it stopped'
           where status = 'streaming' and created_at < $1"#,
        before,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
