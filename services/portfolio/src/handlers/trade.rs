//! `portfolio.v1.trade.execute|list`: trades at the latest quote.

use bus::{RequestContext, outbox};
use contracts::{
    new_id,
    portfolio::{
        Activity, ActivitySource, ClientOrderId, ExecuteTrade, ListTrades, Trade, TradeExecuted,
        TradePage, TradeSide,
    },
};
use rust_decimal::Decimal;

use super::{activity::record_all, owned, owner, window};
use crate::{
    app::AppState,
    error::{PortfolioError, Row},
    store,
};

#[tracing::instrument(name = "portfolio.trade.execute", skip_all, fields(portfolio_id = %req.portfolio_id, symbol = %req.symbol))]
pub async fn execute(
    state: &AppState,
    ctx: RequestContext,
    req: ExecuteTrade,
) -> Result<Trade, PortfolioError> {
    let owner = owner(&ctx)?;
    req.check()?;
    let mut tx = state.db.begin().await?;
    // The row lock also serialises retries of one order: the second finds the first's trade.
    let portfolio = owned(&mut tx, owner, req.portfolio_id, true).await?;
    if let Some(id) = &req.client_order_id
        && let Some(first) = store::trade::by_client_order_id(&mut tx, portfolio.id, id).await?
    {
        return if same_order(&first, &req) {
            Ok(first)
        } else {
            Err(PortfolioError::Conflict(format!(
                "client_order_id {id} was already used for another order"
            )))
        };
    }
    let quote = state.market.quote(&req.symbol).await?.ok_or_else(|| {
        PortfolioError::invalid("symbol", format!("{} has no price yet", req.symbol))
    })?;
    if quote.currency != portfolio.base_currency {
        return Err(PortfolioError::invalid(
            "symbol",
            format!(
                "{} is quoted in {} but the portfolio is in {}",
                req.symbol, quote.currency, portfolio.base_currency
            ),
        ));
    }
    check_limit(req.side, req.limit_price, quote.price)?;
    let now = state.now();
    let activity = Activity {
        id: new_id(),
        portfolio_id: portfolio.id,
        kind: req.side.activity(),
        date: now.date_naive(),
        symbol: Some(req.symbol.clone()),
        quantity: req.quantity.normalize(),
        unit_price: quote.price,
        fee: Decimal::ZERO,
        currency: portfolio.base_currency.clone(),
        note: None,
        source: ActivitySource::Trade,
        created_at: now,
    };
    let trade_id = new_id();
    let trade = Trade {
        id: trade_id,
        portfolio_id: portfolio.id,
        client_order_id: match req.client_order_id {
            Some(id) => id,
            None => ClientOrderId::parse(&format!("auto-{trade_id}"))?,
        },
        side: req.side,
        symbol: req.symbol,
        quantity: activity.quantity,
        price: quote.price,
        limit_price: req.limit_price.map(|limit| limit.normalize()),
        currency: activity.currency.clone(),
        activity_id: activity.id,
        executed_at: now,
    };
    if !store::trade::insert(&mut tx, &trade).await? {
        return Err(PortfolioError::Conflict(format!(
            "client_order_id {} was already used",
            trade.client_order_id
        )));
    }
    let executed = outbox::Outgoing::of(&TradeExecuted {
        event_id: new_id(),
        occurred_at: now,
        owner_id: portfolio.owner_id,
        trade: trade.clone(),
    })?;
    // The activity's event, then the trade's, in one statement.
    record_all(
        state,
        &ctx,
        &mut tx,
        &portfolio,
        &[(Row::Index(0), activity)],
        vec![executed],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(trade_id = %trade.id, side = trade.side.as_str(), "trade executed");
    Ok(trade)
}

/// Whether a retry asks for the order `first` executed.
fn same_order(first: &Trade, req: &ExecuteTrade) -> bool {
    first.side == req.side
        && first.symbol == req.symbol
        && first.quantity == req.quantity.normalize()
        && first.limit_price == req.limit_price.map(|limit| limit.normalize())
}

/// A BUY executes at or below its limit, a SELL at or above it.
fn check_limit(
    side: TradeSide,
    limit: Option<Decimal>,
    price: Decimal,
) -> Result<(), PortfolioError> {
    match (side, limit) {
        (TradeSide::Buy, Some(limit)) if limit < price => Err(PortfolioError::invalid(
            "limit_price",
            format!("the quote {price} is above the BUY limit {limit}; nothing was executed"),
        )),
        (TradeSide::Sell, Some(limit)) if limit > price => Err(PortfolioError::invalid(
            "limit_price",
            format!("the quote {price} is below the SELL limit {limit}; nothing was executed"),
        )),
        _ => Ok(()),
    }
}

#[tracing::instrument(name = "portfolio.trade.list", skip_all, fields(portfolio_id = %req.portfolio_id))]
pub async fn list(
    state: &AppState,
    ctx: RequestContext,
    req: ListTrades,
) -> Result<TradePage, PortfolioError> {
    let owner = owner(&ctx)?;
    let (page, limit, rows, offset) = window(req.page, req.limit);
    let mut conn = state.db.acquire().await?;
    owned(&mut conn, owner, req.portfolio_id, false).await?;
    let (trades, total) = store::trade::list(&mut conn, req.portfolio_id, rows, offset).await?;
    Ok(TradePage {
        trades,
        pagination: page.pagination(limit, total),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_refuses_only_a_worse_price() {
        let price = Decimal::from(100);
        assert!(check_limit(TradeSide::Buy, Some(Decimal::from(100)), price).is_ok());
        assert!(check_limit(TradeSide::Buy, Some(Decimal::from(99)), price).is_err());
        assert!(check_limit(TradeSide::Sell, Some(Decimal::from(101)), price).is_err());
        assert!(check_limit(TradeSide::Sell, Some(Decimal::from(99)), price).is_ok());
        assert!(check_limit(TradeSide::Sell, None, price).is_ok());
    }
}
