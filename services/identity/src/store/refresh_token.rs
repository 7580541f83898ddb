//! `identity.refresh_token`: refresh tokens by the hash of their value, grouped in families (one
//! family per login).

use auth::RefreshTokenHash;
use chrono::{DateTime, Utc};
use contracts::identity::ClientInfo;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::IdentityError;

/// A token to store.
pub struct NewRefreshToken<'a> {
    pub hash: &'a RefreshTokenHash,
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub client: &'a ClientInfo,
}

/// A stored token's state.
pub struct StoredRefreshToken {
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn insert(
    conn: &mut PgConnection,
    new: &NewRefreshToken<'_>,
) -> Result<(), IdentityError> {
    // inet has no sqlx type without an extra crate; the address goes in as text and Postgres
    // parses it (it is an IpAddr already, so it always parses).
    sqlx::query!(
        r#"insert into identity.refresh_token (token_hash, family_id, user_id, expires_at, ip, user_agent)
           values ($1, $2, $3, $4, $5::text::inet, $6)"#,
        new.hash.as_bytes().as_slice(),
        new.family_id,
        new.user_id,
        new.expires_at,
        new.client.ip.map(|ip| ip.to_string()),
        new.client.user_agent,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The token with this hash, locked until the transaction ends: two refreshes with the same
/// token run one after the other, and the second sees the first's `used_at`.
pub async fn get_for_update(
    conn: &mut PgConnection,
    hash: &RefreshTokenHash,
) -> Result<Option<StoredRefreshToken>, IdentityError> {
    let row = sqlx::query_as!(
        StoredRefreshToken,
        r#"select family_id, user_id, expires_at, used_at, revoked_at
           from identity.refresh_token where token_hash = $1 for update"#,
        hash.as_bytes().as_slice(),
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

/// Marks a token exchanged for its successor.
pub async fn mark_used(
    conn: &mut PgConnection,
    hash: &RefreshTokenHash,
    replaced_by: &RefreshTokenHash,
) -> Result<(), IdentityError> {
    sqlx::query!(
        "update identity.refresh_token set used_at = now(), replaced_by = $2 where token_hash = $1",
        hash.as_bytes().as_slice(),
        replaced_by.as_bytes().as_slice(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Revokes every token of a family; answers how many were still live.
pub async fn revoke_family(conn: &mut PgConnection, family_id: Uuid) -> Result<u64, IdentityError> {
    let done = sqlx::query!(
        "update identity.refresh_token set revoked_at = now() where family_id = $1 and revoked_at is null",
        family_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Revokes the family of the token with this hash, if there is one.
pub async fn revoke_family_of(
    conn: &mut PgConnection,
    hash: &RefreshTokenHash,
) -> Result<u64, IdentityError> {
    let done = sqlx::query!(
        r#"update identity.refresh_token set revoked_at = now()
           where revoked_at is null
             and family_id = (select family_id from identity.refresh_token where token_hash = $1)"#,
        hash.as_bytes().as_slice(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Revokes every family of a user (a password change ends every session).
pub async fn revoke_all_of_user(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<u64, IdentityError> {
    let done = sqlx::query!(
        "update identity.refresh_token set revoked_at = now() where user_id = $1 and revoked_at is null",
        user_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes tokens that expired before `before`: they can never be exchanged again.
pub async fn delete_expired(
    conn: &mut PgConnection,
    before: DateTime<Utc>,
) -> Result<u64, IdentityError> {
    let done = sqlx::query!(
        "delete from identity.refresh_token where expires_at < $1",
        before
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}
