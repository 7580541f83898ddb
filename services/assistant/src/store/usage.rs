//! `assistant.token_usage`: tokens per user and day, for the daily budget.

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

pub async fn used(db: &mut PgConnection, owner: Uuid, day: NaiveDate) -> sqlx::Result<i64> {
    let tokens = sqlx::query_scalar!(
        "select tokens from assistant.token_usage where owner_id = $1 and day = $2",
        owner,
        day,
    )
    .fetch_optional(db)
    .await?;
    Ok(tokens.unwrap_or(0))
}

pub async fn add(
    db: &mut PgConnection,
    owner: Uuid,
    day: NaiveDate,
    tokens: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"insert into assistant.token_usage (owner_id, day, tokens) values ($1, $2, $3)
           on conflict (owner_id, day) do update set tokens = token_usage.tokens + excluded.tokens"#,
        owner,
        day,
        tokens,
    )
    .execute(db)
    .await?;
    Ok(())
}
