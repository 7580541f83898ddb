//! `workspace.project`: who owns which project directory.

use chrono::{DateTime, Utc};
use contracts::workspace::{Project, ProjectName};
use sqlx::PgConnection;
use uuid::Uuid;

/// The unique constraint on a name per owner: its directory.
const NAME_KEY: &str = "project_owner_name_key";

/// A project and its owner: what a handler needs to find its directory.
#[derive(Debug, Clone)]
pub struct Owned {
    pub owner_id: Uuid,
    pub project: Project,
}

struct Row {
    project_id: Uuid,
    owner_id: Uuid,
    name: String,
    template: Option<String>,
    remote_url: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for Owned {
    type Error = sqlx::Error;

    fn try_from(row: Row) -> Result<Self, Self::Error> {
        // The table's check constraint is the same rule, so this holds for every stored row.
        let name = ProjectName::parse(&row.name).map_err(|err| sqlx::Error::Decode(err.into()))?;
        Ok(Self {
            owner_id: row.owner_id,
            project: Project {
                id: row.project_id,
                name,
                template: row.template.as_deref().and_then(crate::templates::parse),
                remote_url: row.remote_url,
                created_at: row.created_at,
                updated_at: row.updated_at,
            },
        })
    }
}

/// The name is taken by another of the owner's projects.
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    #[error("a project with this name exists")]
    NameTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn name_taken(err: sqlx::Error) -> InsertError {
    match err {
        sqlx::Error::Database(db) if db.constraint() == Some(NAME_KEY) => InsertError::NameTaken,
        other => InsertError::Db(other),
    }
}

pub async fn insert(
    db: &mut PgConnection,
    owner: Uuid,
    id: Uuid,
    name: &ProjectName,
    template: Option<&str>,
    remote_url: Option<&str>,
) -> Result<Owned, InsertError> {
    let row = sqlx::query_as!(
        Row,
        r#"insert into workspace.project (project_id, owner_id, name, template, remote_url)
           values ($1, $2, $3, $4, $5)
           returning project_id, owner_id, name, template, remote_url, created_at, updated_at"#,
        id,
        owner,
        name.as_str(),
        template,
        remote_url,
    )
    .fetch_one(db)
    .await
    .map_err(name_taken)?;
    Ok(Owned::try_from(row)?)
}

/// The owner's project; another user's is `None`, like a missing one.
pub async fn get(db: &mut PgConnection, owner: Uuid, id: Uuid) -> sqlx::Result<Option<Owned>> {
    let row = sqlx::query_as!(
        Row,
        r#"select project_id, owner_id, name, template, remote_url, created_at, updated_at
           from workspace.project where project_id = $1 and owner_id = $2"#,
        id,
        owner,
    )
    .fetch_optional(db)
    .await?;
    row.map(Owned::try_from).transpose()
}

/// The owner's projects, by name.
pub async fn list(db: &mut PgConnection, owner: Uuid) -> sqlx::Result<Vec<Owned>> {
    let rows = sqlx::query_as!(
        Row,
        r#"select project_id, owner_id, name, template, remote_url, created_at, updated_at
           from workspace.project where owner_id = $1 order by name"#,
        owner,
    )
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Owned::try_from).collect()
}

/// Every project, for the watcher.
pub async fn all(db: &mut PgConnection) -> sqlx::Result<Vec<Owned>> {
    let rows = sqlx::query_as!(
        Row,
        r#"select project_id, owner_id, name, template, remote_url, created_at, updated_at
           from workspace.project order by project_id"#,
    )
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Owned::try_from).collect()
}

/// New name and/or remote (`Some(None)` clears the remote).
pub async fn update(
    db: &mut PgConnection,
    owner: Uuid,
    id: Uuid,
    name: Option<&ProjectName>,
    remote_url: Option<Option<&str>>,
) -> Result<Option<Owned>, InsertError> {
    let row = sqlx::query_as!(
        Row,
        r#"update workspace.project
           set name = coalesce($3, name),
               remote_url = case when $4 then $5 else remote_url end,
               updated_at = now()
           where project_id = $1 and owner_id = $2
           returning project_id, owner_id, name, template, remote_url, created_at, updated_at"#,
        id,
        owner,
        name.map(ProjectName::as_str),
        remote_url.is_some(),
        remote_url.flatten(),
    )
    .fetch_optional(db)
    .await
    .map_err(name_taken)?;
    Ok(row.map(Owned::try_from).transpose()?)
}

pub async fn delete(db: &mut PgConnection, owner: Uuid, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "delete from workspace.project where project_id = $1 and owner_id = $2",
        id,
        owner,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Every project of a deleted user.
pub async fn delete_owned(db: &mut PgConnection, owner: Uuid) -> sqlx::Result<u64> {
    let done = sqlx::query!("delete from workspace.project where owner_id = $1", owner)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
