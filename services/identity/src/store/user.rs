//! `identity.user`: accounts.

use chrono::{DateTime, Utc};
use contracts::identity::{Role, User};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::IdentityError;

/// The unique index on `lower(email)`; a violation means the email is taken.
const EMAIL_KEY: &str = "user_email_key";

/// Serialises "is this the first account?" decisions (`--first-user-admin`) across instances.
const FIRST_USER_LOCK: i64 = 0x6964_656e_7469_7479; // "identity"

struct UserRow {
    user_id: Uuid,
    email: String,
    name: String,
    roles: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl UserRow {
    /// Rows are checked by the table's constraints; one that still does not parse means the
    /// schema and the code disagree: an internal error, not a panic.
    fn into_user(self) -> Result<User, IdentityError> {
        let roles = self
            .roles
            .iter()
            .map(|r| Role::parse(r).ok_or_else(|| IdentityError::Corrupt(format!("role {r:?}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(User {
            id: self.user_id,
            email: self.email,
            name: self.name,
            roles,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// An account with its password hash, for checking a password.
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

struct CredentialsRow {
    user_id: Uuid,
    email: String,
    name: String,
    roles: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    password_hash: String,
}

impl CredentialsRow {
    fn into_credentials(self) -> Result<Credentials, IdentityError> {
        let user = UserRow {
            user_id: self.user_id,
            email: self.email,
            name: self.name,
            roles: self.roles,
            created_at: self.created_at,
            updated_at: self.updated_at,
        };
        Ok(Credentials {
            user: user.into_user()?,
            password_hash: self.password_hash,
        })
    }
}

/// What an update writes; `None` keeps the stored value.
#[derive(Default)]
pub struct UserUpdate {
    pub email: Option<String>,
    pub name: Option<String>,
    pub password_hash: Option<String>,
}

fn role_names(roles: &[Role]) -> Vec<String> {
    roles.iter().map(|r| r.as_str().to_owned()).collect()
}

fn map_email_taken(err: sqlx::Error) -> IdentityError {
    match err {
        sqlx::Error::Database(db) if db.constraint() == Some(EMAIL_KEY) => {
            IdentityError::EmailTaken
        }
        other => other.into(),
    }
}

/// Takes the transaction-scoped lock that makes "first account" decisions one at a time.
pub async fn lock_first_user_decision(conn: &mut PgConnection) -> Result<(), IdentityError> {
    sqlx::query!("select pg_advisory_xact_lock($1)", FIRST_USER_LOCK)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn any_exists(conn: &mut PgConnection) -> Result<bool, IdentityError> {
    let exists = sqlx::query_scalar!(r#"select exists (select 1 from identity.user) as "exists!""#)
        .fetch_one(&mut *conn)
        .await?;
    Ok(exists)
}

pub async fn email_taken(conn: &mut PgConnection, email: &str) -> Result<bool, IdentityError> {
    let taken = sqlx::query_scalar!(
        r#"select exists (select 1 from identity.user where lower(email) = lower($1)) as "taken!""#,
        email
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(taken)
}

/// Inserts an account; a taken email (any case) is [`IdentityError::EmailTaken`].
pub async fn insert(
    conn: &mut PgConnection,
    user_id: Uuid,
    email: &str,
    name: &str,
    password_hash: &str,
    roles: &[Role],
) -> Result<User, IdentityError> {
    let row = sqlx::query_as!(
        UserRow,
        r#"insert into identity.user (user_id, email, name, password_hash, roles)
           values ($1, $2, $3, $4, $5)
           returning user_id, email, name, roles, created_at, updated_at"#,
        user_id,
        email,
        name,
        password_hash,
        &role_names(roles),
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(map_email_taken)?;
    row.into_user()
}

pub async fn get(conn: &mut PgConnection, user_id: Uuid) -> Result<Option<User>, IdentityError> {
    let row = sqlx::query_as!(
        UserRow,
        "select user_id, email, name, roles, created_at, updated_at from identity.user where user_id = $1",
        user_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    row.map(UserRow::into_user).transpose()
}

/// An account and its password hash by id.
pub async fn credentials_by_id(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Option<Credentials>, IdentityError> {
    let row = sqlx::query_as!(
        CredentialsRow,
        r#"select user_id, email, name, roles, created_at, updated_at, password_hash
           from identity.user where user_id = $1"#,
        user_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    row.map(CredentialsRow::into_credentials).transpose()
}

/// An account and its password hash by email, whatever its case.
pub async fn credentials_by_email(
    conn: &mut PgConnection,
    email: &str,
) -> Result<Option<Credentials>, IdentityError> {
    let row = sqlx::query_as!(
        CredentialsRow,
        r#"select user_id, email, name, roles, created_at, updated_at, password_hash
           from identity.user where lower(email) = lower($1)"#,
        email
    )
    .fetch_optional(&mut *conn)
    .await?;
    row.map(CredentialsRow::into_credentials).transpose()
}

/// Writes the fields set in `update`; `None` when the account does not exist.
pub async fn update(
    conn: &mut PgConnection,
    user_id: Uuid,
    update: &UserUpdate,
) -> Result<Option<User>, IdentityError> {
    let row = sqlx::query_as!(
        UserRow,
        r#"update identity.user
           set email = coalesce($2, email), name = coalesce($3, name), password_hash = coalesce($4, password_hash)
           where user_id = $1
           returning user_id, email, name, roles, created_at, updated_at"#,
        user_id,
        update.email,
        update.name,
        update.password_hash,
    )
    .fetch_optional(&mut *conn)
    .await
    .map_err(map_email_taken)?;
    row.map(UserRow::into_user).transpose()
}

pub async fn set_roles(
    conn: &mut PgConnection,
    user_id: Uuid,
    roles: &[Role],
) -> Result<Option<User>, IdentityError> {
    let row = sqlx::query_as!(
        UserRow,
        r#"update identity.user set roles = $2 where user_id = $1
           returning user_id, email, name, roles, created_at, updated_at"#,
        user_id,
        &role_names(roles),
    )
    .fetch_optional(&mut *conn)
    .await?;
    row.map(UserRow::into_user).transpose()
}

/// Deletes an account (its refresh tokens go with it); `false` when there was none.
pub async fn delete(conn: &mut PgConnection, user_id: Uuid) -> Result<bool, IdentityError> {
    let done = sqlx::query!("delete from identity.user where user_id = $1", user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn count(conn: &mut PgConnection) -> Result<u64, IdentityError> {
    let total = sqlx::query_scalar!(r#"select count(*) as "total!" from identity.user"#)
        .fetch_one(&mut *conn)
        .await?;
    u64::try_from(total).map_err(|_| IdentityError::Unexpected("a negative count of accounts"))
}

/// One page of accounts in creation order.
pub async fn page(
    conn: &mut PgConnection,
    limit: i64,
    offset: i64,
) -> Result<Vec<User>, IdentityError> {
    let rows = sqlx::query_as!(
        UserRow,
        r#"select user_id, email, name, roles, created_at, updated_at from identity.user
           order by created_at, user_id limit $1 offset $2"#,
        limit,
        offset,
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(UserRow::into_user).collect()
}
