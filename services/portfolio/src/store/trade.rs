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

/// The unique constraint a retried order meets.
pub const CLIENT_ORDER_ID_KEY: &str = "trade_client_order_id_key";

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

/// Inserts `trade`; `Ok(false)` when its client order id is taken (a concurrent retry won).
pub async fn insert(conn: &mut PgConnection, trade: &Trade) -> Result<bool, PortfolioError> {
    let inserted = sqlx::query!(
        r#"insert into portfolio.trade
               (trade_id, portfolio_id, client_order_id, side, symbol, quantity, price,
                limit_price, currency, activity_id, executed_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           on conflict on constraint trade_client_order_id_key do nothing"#,
        trade.id,
        trade.portfolio_id,
        trade.client_order_id.as_str(),
        trade.side.as_str(),
        trade.symbol.as_str(),
        trade.quantity,
        trade.price,
        trade.limit_price,
        trade.currency.as_str(),
        trade.activity_id,
        trade.executed_at,
    )
    .execute(&mut *conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// The trade a client order id already executed.
pub async fn by_client_order_id(
    conn: &mut PgConnection,
    portfolio_id: Uuid,
    client_order_id: &ClientOrderId,
) -> Result<Option<Trade>, PortfolioError> {
    sqlx::query_as!(
        TradeRow,
        r#"select trade_id, portfolio_id, client_order_id, side, symbol, quantity, price,
                  limit_price, currency, activity_id, executed_at
           from portfolio.trade where portfolio_id = $1 and client_order_id = $2"#,
        portfolio_id,
        client_order_id.as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(TradeRow::into_trade)
    .transpose()
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
