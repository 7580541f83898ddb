//! `portfolio.trade`: trades at market, as executed.

use chrono::{DateTime, Utc};
use contracts::{
    Currency,
    market::Ticker,
    portfolio::{ClientOrderId, Trade, TradeSide},
};
use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

use super::parse;
use crate::error::PortfolioError;

struct TradeRow {
    trade_id: Uuid,
    portfolio_id: Uuid,
    client_order_id: String,
    side: String,
    symbol: String,
    quantity: Decimal,
    price: Decimal,
    limit_price: Option<Decimal>,
    currency: String,
    activity_id: Uuid,
    executed_at: DateTime<Utc>,
}

impl TradeRow {
    fn into_trade(self) -> Result<Trade, PortfolioError> {
        Ok(Trade {
            id: self.trade_id,
            portfolio_id: self.portfolio_id,
            client_order_id: parse("client order id", &self.client_order_id, |raw| {
                ClientOrderId::parse(raw).ok()
            })?,
            side: parse("side", &self.side, TradeSide::parse)?,
            symbol: parse("symbol", &self.symbol, |raw| Ticker::parse(raw).ok())?,
            quantity: self.quantity.normalize(),
            price: self.price.normalize(),
            limit_price: self.limit_price.map(|limit| limit.normalize()),
            currency: parse("currency", &self.currency, |raw| Currency::parse(raw).ok())?,
            activity_id: self.activity_id,
            executed_at: self.executed_at,
        })
    }
}

/// Inserts `trades` in one statement; answers how many were written (fewer when a client
/// order id was taken).
pub async fn insert_many(conn: &mut PgConnection, trades: &[Trade]) -> Result<u64, PortfolioError> {
    let ids: Vec<Uuid> = trades.iter().map(|t| t.id).collect();
    let portfolios: Vec<Uuid> = trades.iter().map(|t| t.portfolio_id).collect();
    let client_order_ids: Vec<&str> = trades.iter().map(|t| t.client_order_id.as_str()).collect();
    let sides: Vec<&str> = trades.iter().map(|t| t.side.as_str()).collect();
    let symbols: Vec<&str> = trades.iter().map(|t| t.symbol.as_str()).collect();
    let quantities: Vec<Decimal> = trades.iter().map(|t| t.quantity).collect();
    let prices: Vec<Decimal> = trades.iter().map(|t| t.price).collect();
    let limits: Vec<Option<Decimal>> = trades.iter().map(|t| t.limit_price).collect();
    let currencies: Vec<&str> = trades.iter().map(|t| t.currency.as_str()).collect();
    let activities: Vec<Uuid> = trades.iter().map(|t| t.activity_id).collect();
    let executed: Vec<DateTime<Utc>> = trades.iter().map(|t| t.executed_at).collect();
    let inserted = sqlx::query!(
        r#"insert into portfolio.trade
               (trade_id, portfolio_id, client_order_id, side, symbol, quantity, price,
                limit_price, currency, activity_id, executed_at)
           select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],
                $6::numeric[], $7::numeric[], $8::numeric[], $9::text[], $10::uuid[],
                $11::timestamptz[])
           on conflict on constraint trade_client_order_id_key do nothing"#,
        &ids,
        &portfolios,
        &client_order_ids as &[&str],
        &sides as &[&str],
        &symbols as &[&str],
        &quantities,
        &prices,
        &limits as &[Option<Decimal>],
        &currencies as &[&str],
        &activities,
        &executed,
    )
    .execute(&mut *conn)
    .await?;
    Ok(inserted.rows_affected())
}

/// The trades already executed for any of the `(portfolio, client order id)` pairs.
pub async fn by_client_order_ids(
    conn: &mut PgConnection,
    portfolios: &[Uuid],
    client_order_ids: &[&str],
) -> Result<Vec<Trade>, PortfolioError> {
    let rows = sqlx::query_as!(
        TradeRow,
        r#"select t.trade_id, t.portfolio_id, t.client_order_id, t.side, t.symbol, t.quantity,
                  t.price, t.limit_price, t.currency, t.activity_id, t.executed_at
           from portfolio.trade t
           join unnest($1::uuid[], $2::text[]) as k(portfolio_id, client_order_id)
             on t.portfolio_id = k.portfolio_id and t.client_order_id = k.client_order_id"#,
        portfolios,
        client_order_ids as &[&str],
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(TradeRow::into_trade).collect()
}

/// A page of a portfolio's trades, newest first, and how many there are.
pub async fn list(
    conn: &mut PgConnection,
    portfolio_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Trade>, u64), PortfolioError> {
    let rows = sqlx::query_as!(
        TradeRow,
        r#"select trade_id, portfolio_id, client_order_id, side, symbol, quantity, price,
                  limit_price, currency, activity_id, executed_at
           from portfolio.trade where portfolio_id = $1
           order by executed_at desc, trade_id desc limit $2 offset $3"#,
        portfolio_id,
        limit,
        offset,
    )
    .fetch_all(&mut *conn)
    .await?;
    let total = sqlx::query_scalar!(
        r#"select count(*) as "count!" from portfolio.trade where portfolio_id = $1"#,
        portfolio_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let trades = rows
        .into_iter()
        .map(TradeRow::into_trade)
        .collect::<Result<_, _>>()?;
    Ok((trades, u64::try_from(total).unwrap_or(0)))
}
