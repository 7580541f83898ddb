//! `assistant.conversation`.

use chrono::{DateTime, Utc};
use contracts::assistant::Conversation;
use sqlx::PgConnection;
use uuid::Uuid;

struct Row {
    conversation_id: Uuid,
    folder_id: Option<Uuid>,
    title: String,
    model: String,
    system_prompt: Option<String>,
    pinned: bool,
    archived: bool,
    current_leaf_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Row> for Conversation {
    fn from(row: Row) -> Self {
        Self {
            id: row.conversation_id,
            title: row.title,
            folder_id: row.folder_id,
            model: row.model,
            system_prompt: row.system_prompt,
            pinned: row.pinned,
            archived: row.archived,
            current_leaf_id: row.current_leaf_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// What a new conversation starts with.
pub struct New<'a> {
    pub id: Uuid,
    pub owner: Uuid,
    pub title: &'a str,
    pub folder_id: Option<Uuid>,
    pub model: &'a str,
    pub system_prompt: Option<&'a str>,
}

pub async fn insert(db: &mut PgConnection, new: New<'_>) -> sqlx::Result<Conversation> {
    let row = sqlx::query_as!(
        Row,
        r#"insert into assistant.conversation
               (conversation_id, owner_id, title, folder_id, model, system_prompt)
           values ($1, $2, $3, $4, $5, $6)
           returning conversation_id, folder_id, title, model, system_prompt, pinned, archived,
                     current_leaf_id, created_at, updated_at"#,
        new.id,
        new.owner,
        new.title,
        new.folder_id,
        new.model,
        new.system_prompt,
    )
    .fetch_one(db)
    .await?;
    Ok(row.into())
}

/// The owner's conversation, locked until the transaction ends.
pub async fn get(
    db: &mut PgConnection,
    owner: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<Conversation>> {
    let row = sqlx::query_as!(
        Row,
        r#"select conversation_id, folder_id, title, model, system_prompt, pinned, archived,
                  current_leaf_id, created_at, updated_at
           from assistant.conversation
           where conversation_id = $1 and owner_id = $2
           for update"#,
        id,
        owner,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(Into::into))
}

/// A page of the owner's conversations, newest first (pinned ones first), and the total.
pub async fn list(
    db: &mut PgConnection,
    owner: Uuid,
    folder: Option<Uuid>,
    offset: i64,
    limit: i64,
) -> sqlx::Result<(Vec<Conversation>, i64)> {
    let rows = sqlx::query_as!(
        Row,
        r#"select conversation_id, folder_id, title, model, system_prompt, pinned, archived,
                  current_leaf_id, created_at, updated_at
           from assistant.conversation
           where owner_id = $1 and ($2::uuid is null or folder_id = $2)
           order by pinned desc, updated_at desc, conversation_id desc
           offset $3 limit $4"#,
        owner,
        folder,
        offset,
        limit,
    )
    .fetch_all(&mut *db)
    .await?;
    let total = sqlx::query_scalar!(
        r#"select count(*) as "count!" from assistant.conversation
           where owner_id = $1 and ($2::uuid is null or folder_id = $2)"#,
        owner,
        folder,
    )
    .fetch_one(db)
    .await?;
    Ok((rows.into_iter().map(Into::into).collect(), total))
}

/// Writes every field of `conversation` (its owner's, checked by the caller).
pub async fn save(
    db: &mut PgConnection,
    conversation: &Conversation,
) -> sqlx::Result<Conversation> {
    let row = sqlx::query_as!(
        Row,
        r#"update assistant.conversation
           set title = $2, folder_id = $3, model = $4, system_prompt = $5, pinned = $6,
               archived = $7, current_leaf_id = $8
           where conversation_id = $1
           returning conversation_id, folder_id, title, model, system_prompt, pinned, archived,
                     current_leaf_id, created_at, updated_at"#,
        conversation.id,
        conversation.title,
        conversation.folder_id,
        conversation.model,
        conversation.system_prompt,
        conversation.pinned,
        conversation.archived,
        conversation.current_leaf_id,
    )
    .fetch_one(db)
    .await?;
    Ok(row.into())
}

pub async fn delete(db: &mut PgConnection, owner: Uuid, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "delete from assistant.conversation where conversation_id = $1 and owner_id = $2",
        id,
        owner,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes the owner's conversations in `folder`; answers how many.
pub async fn delete_in_folder(
    db: &mut PgConnection,
    owner: Uuid,
    folder: Uuid,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "delete from assistant.conversation where owner_id = $1 and folder_id = $2",
        owner,
        folder,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// How many of the owner's conversations are in `folder`.
pub async fn count_in_folder(
    db: &mut PgConnection,
    owner: Uuid,
    folder: Uuid,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from assistant.conversation where owner_id = $1 and folder_id = $2"#,
        owner,
        folder,
    )
    .fetch_one(db)
    .await
}

/// Everything of a deleted user; answers the conversations removed.
pub async fn delete_owned(db: &mut PgConnection, owner: Uuid) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "delete from assistant.conversation where owner_id = $1",
        owner
    )
    .execute(&mut *db)
    .await?;
    sqlx::query!("delete from assistant.folder where owner_id = $1", owner)
        .execute(&mut *db)
        .await?;
    sqlx::query!(
        "delete from assistant.token_usage where owner_id = $1",
        owner
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// A search hit's row.
pub struct Hit {
    pub conversation_id: Uuid,
    pub title: String,
    pub message_id: Option<Uuid>,
    pub snippet: String,
}

/// The owner's conversations whose title or a message matches `query` (websearch syntax),
/// best first, with a highlighted snippet; and how many there are.
pub async fn search(
    db: &mut PgConnection,
    owner: Uuid,
    query: &str,
    offset: i64,
    limit: i64,
) -> sqlx::Result<(Vec<Hit>, i64)> {
    let hits = sqlx::query_as!(
        Hit,
        r#"with q as (select websearch_to_tsquery('simple', $2) as query),
           matches as (
               select c.conversation_id, c.title, null::uuid as message_id,
                      ts_headline('simple', c.title, q.query,
                                  'StartSel=<b>, StopSel=</b>, MaxWords=20, MinWords=5') as snippet,
                      ts_rank(to_tsvector('simple', c.title), q.query) + 1 as rank,
                      c.updated_at as at
               from assistant.conversation c, q
               where c.owner_id = $1 and to_tsvector('simple', c.title) @@ q.query
               union all
               select c.conversation_id, c.title, m.message_id,
                      ts_headline('simple', m.content, q.query,
                                  'StartSel=<b>, StopSel=</b>, MaxWords=20, MinWords=5'),
                      ts_rank(to_tsvector('simple', m.content), q.query),
                      m.created_at
               from assistant.message m
               join assistant.conversation c using (conversation_id), q
               where c.owner_id = $1 and to_tsvector('simple', m.content) @@ q.query
           )
           select conversation_id as "conversation_id!", title as "title!", message_id,
                  snippet as "snippet!"
           from matches
           order by rank desc, at desc
           offset $3 limit $4"#,
        owner,
        query,
        offset,
        limit,
    )
    .fetch_all(&mut *db)
    .await?;
    let total = sqlx::query_scalar!(
        r#"with q as (select websearch_to_tsquery('simple', $2) as query)
           select (select count(*) from assistant.conversation c, q
                   where c.owner_id = $1 and to_tsvector('simple', c.title) @@ q.query)
                + (select count(*) from assistant.message m
                   join assistant.conversation c using (conversation_id), q
                   where c.owner_id = $1 and to_tsvector('simple', m.content) @@ q.query)
             as "count!""#,
        owner,
        query,
    )
    .fetch_one(db)
    .await?;
    Ok((hits, total))
}
