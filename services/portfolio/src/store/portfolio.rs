//! `portfolio.portfolio`: portfolios and their owners.

use chrono::{DateTime, Utc};
use contracts::{
    Currency,
    portfolio::{Note, Portfolio, PortfolioName},
};
use sqlx::PgConnection;
use uuid::Uuid;

use super::parse;
use crate::error::PortfolioError;

struct PortfolioRow {
    portfolio_id: Uuid,
    owner_id: Uuid,
    name: String,
    description: Option<String>,
    base_currency: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl PortfolioRow {
    fn into_portfolio(self) -> Result<Portfolio, PortfolioError> {
        Ok(Portfolio {
            id: self.portfolio_id,
            owner_id: self.owner_id,
            name: parse("name", &self.name, |raw| PortfolioName::parse(raw).ok())?,
            description: self
                .description
                .map(|raw| parse("description", &raw, |raw| Note::parse(raw).ok()))
                .transpose()?,
            base_currency: parse("currency", &self.base_currency, |raw| {
                Currency::parse(raw).ok()
            })?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn all(rows: Vec<PortfolioRow>) -> Result<Vec<Portfolio>, PortfolioError> {
    rows.into_iter().map(PortfolioRow::into_portfolio).collect()
}

pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    owner_id: Uuid,
    name: &PortfolioName,
    description: Option<&Note>,
    base_currency: &Currency,
) -> Result<Portfolio, PortfolioError> {
    sqlx::query_as!(
        PortfolioRow,
        r#"insert into portfolio.portfolio (portfolio_id, owner_id, name, description, base_currency)
           values ($1, $2, $3, $4, $5)
           returning portfolio_id, owner_id, name, description, base_currency, created_at, updated_at"#,
        id,
        owner_id,
        name.as_str(),
        description.map(Note::as_str),
        base_currency.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?
    .into_portfolio()
}

/// How many portfolios `owner_id` has.
pub async fn count_owned(conn: &mut PgConnection, owner_id: Uuid) -> Result<i64, PortfolioError> {
    let count = sqlx::query_scalar!(
        r#"select count(*) as "count!" from portfolio.portfolio where owner_id = $1"#,
        owner_id
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(count)
}

/// A page of `owner_id`'s portfolios, oldest first, and how many there are in all.
pub async fn list(
    conn: &mut PgConnection,
    owner_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Portfolio>, u64), PortfolioError> {
    let rows = sqlx::query_as!(
        PortfolioRow,
        r#"select portfolio_id, owner_id, name, description, base_currency, created_at, updated_at
           from portfolio.portfolio where owner_id = $1
           order by created_at, portfolio_id limit $2 offset $3"#,
        owner_id,
        limit,
        offset,
    )
    .fetch_all(&mut *conn)
    .await?;
    let total = count_owned(conn, owner_id).await?;
    Ok((all(rows)?, u64::try_from(total).unwrap_or(0)))
}

/// The portfolios `ids`, whoever owns them, locked for this transaction: in id order, so
/// that writers locking several never wait on each other in a cycle.
pub async fn lock_many(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<Vec<Portfolio>, PortfolioError> {
    let rows = sqlx::query_as!(
        PortfolioRow,
        r#"select portfolio_id, owner_id, name, description, base_currency, created_at, updated_at
           from portfolio.portfolio where portfolio_id = any($1)
           order by portfolio_id for update"#,
        ids,
    )
    .fetch_all(&mut *conn)
    .await?;
    all(rows)
}

/// `id` when `owner_id` owns it; with `lock`, the row stays locked until the transaction ends,
/// so changes to one portfolio's history happen one at a time.
pub async fn get(
    conn: &mut PgConnection,
    owner_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<Portfolio>, PortfolioError> {
    let row = if lock {
        sqlx::query_as!(
            PortfolioRow,
            r#"select portfolio_id, owner_id, name, description, base_currency, created_at, updated_at
               from portfolio.portfolio where portfolio_id = $1 and owner_id = $2 for update"#,
            id,
            owner_id,
        )
        .fetch_optional(&mut *conn)
        .await?
    } else {
        sqlx::query_as!(
            PortfolioRow,
            r#"select portfolio_id, owner_id, name, description, base_currency, created_at, updated_at
               from portfolio.portfolio where portfolio_id = $1 and owner_id = $2"#,
            id,
            owner_id,
        )
        .fetch_optional(&mut *conn)
        .await?
    };
    row.map(PortfolioRow::into_portfolio).transpose()
}

/// Writes every field of `portfolio` but its ids and times.
pub async fn update(
    conn: &mut PgConnection,
    portfolio: &Portfolio,
) -> Result<Portfolio, PortfolioError> {
    sqlx::query_as!(
        PortfolioRow,
        r#"update portfolio.portfolio set name = $2, description = $3, base_currency = $4
           where portfolio_id = $1
           returning portfolio_id, owner_id, name, description, base_currency, created_at, updated_at"#,
        portfolio.id,
        portfolio.name.as_str(),
        portfolio.description.as_ref().map(Note::as_str),
        portfolio.base_currency.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?
    .into_portfolio()
}

/// Deletes a portfolio with its activities and trades.
pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<(), PortfolioError> {
    sqlx::query!(
        "delete from portfolio.portfolio where portfolio_id = $1",
        id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Every portfolio of `owner_id`, locked for deletion.
pub async fn lock_owned(
    conn: &mut PgConnection,
    owner_id: Uuid,
) -> Result<Vec<Portfolio>, PortfolioError> {
    let rows = sqlx::query_as!(
        PortfolioRow,
        r#"select portfolio_id, owner_id, name, description, base_currency, created_at, updated_at
           from portfolio.portfolio where owner_id = $1 order by portfolio_id for update"#,
        owner_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    all(rows)
}

/// Portfolios of any owner: those in `ids`, or the `limit` after `after` in id order.
pub async fn any_owner(
    conn: &mut PgConnection,
    ids: Option<&[Uuid]>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Portfolio>, PortfolioError> {
    let rows = match ids {
        Some(ids) => {
            sqlx::query_as!(
                PortfolioRow,
                r#"select portfolio_id, owner_id, name, description, base_currency, created_at, updated_at
                   from portfolio.portfolio where portfolio_id = any($1) order by portfolio_id"#,
                ids,
            )
            .fetch_all(&mut *conn)
            .await?
        }
        None => {
            sqlx::query_as!(
                PortfolioRow,
                r#"select portfolio_id, owner_id, name, description, base_currency, created_at, updated_at
                   from portfolio.portfolio where portfolio_id > coalesce($1, '00000000-0000-0000-0000-000000000000'::uuid)
                   order by portfolio_id limit $2"#,
                after,
                limit,
            )
            .fetch_all(&mut *conn)
            .await?
        }
    };
    all(rows)
}
