//! `assistant.folder`.

use chrono::{DateTime, Utc};
use contracts::assistant::Folder;
use sqlx::PgConnection;
use uuid::Uuid;

struct Row {
    folder_id: Uuid,
    name: String,
    parent_id: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl From<Row> for Folder {
    fn from(row: Row) -> Self {
        Self {
            id: row.folder_id,
            name: row.name,
            parent_id: row.parent_id,
            created_at: row.created_at,
        }
    }
}

pub async fn insert(
    db: &mut PgConnection,
    owner: Uuid,
    id: Uuid,
    name: &str,
    parent: Option<Uuid>,
) -> sqlx::Result<Folder> {
    let row = sqlx::query_as!(
        Row,
        r#"insert into assistant.folder (folder_id, owner_id, name, parent_id)
           values ($1, $2, $3, $4)
           returning folder_id, name, parent_id, created_at"#,
        id,
        owner,
        name,
        parent,
    )
    .fetch_one(db)
    .await?;
    Ok(row.into())
}

/// The owner's folder, locked until the transaction ends.
pub async fn get(db: &mut PgConnection, owner: Uuid, id: Uuid) -> sqlx::Result<Option<Folder>> {
    let row = sqlx::query_as!(
        Row,
        r#"select folder_id, name, parent_id, created_at from assistant.folder
           where folder_id = $1 and owner_id = $2 for update"#,
        id,
        owner,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(Into::into))
}

pub async fn list(db: &mut PgConnection, owner: Uuid) -> sqlx::Result<Vec<Folder>> {
    let rows = sqlx::query_as!(
        Row,
        r#"select folder_id, name, parent_id, created_at from assistant.folder
           where owner_id = $1 order by name, folder_id"#,
        owner,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn save(db: &mut PgConnection, folder: &Folder) -> sqlx::Result<Folder> {
    let row = sqlx::query_as!(
        Row,
        r#"update assistant.folder set name = $2, parent_id = $3 where folder_id = $1
           returning folder_id, name, parent_id, created_at"#,
        folder.id,
        folder.name,
        folder.parent_id,
    )
    .fetch_one(db)
    .await?;
    Ok(row.into())
}

/// Whether `folder` is `ancestor` or lies inside it (a move there would make a cycle).
pub async fn is_within(db: &mut PgConnection, folder: Uuid, ancestor: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"with recursive up as (
               select folder_id, parent_id from assistant.folder where folder_id = $1
               union all
               select f.folder_id, f.parent_id from assistant.folder f join up on f.folder_id = up.parent_id
           )
           select exists(select 1 from up where folder_id = $2) as "within!""#,
        folder,
        ancestor,
    )
    .fetch_one(db)
    .await
}

/// The folder and every folder inside it.
pub async fn subtree(db: &mut PgConnection, folder: Uuid) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        r#"with recursive down as (
               select folder_id from assistant.folder where folder_id = $1
               union all
               select f.folder_id from assistant.folder f join down on f.parent_id = down.folder_id
           )
           select folder_id as "folder_id!" from down"#,
        folder,
    )
    .fetch_all(db)
    .await
}

pub async fn delete(db: &mut PgConnection, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!("delete from assistant.folder where folder_id = $1", id)
        .execute(db)
        .await?;
    Ok(())
}
