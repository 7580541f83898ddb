//! `portfolio.v1.trade.execute|list`: trades at the latest quote.

use bus::RequestContext;
use contracts::portfolio::{ExecuteTrade, ListTrades, Trade, TradePage};

use super::{owned, owner, window};
use crate::{app::AppState, error::PortfolioError, store};

/// Executed by the trade desk, in a batch with the orders that arrive meanwhile (see
/// [`crate::desk`]).
#[tracing::instrument(name = "portfolio.trade.execute", skip_all, fields(portfolio_id = %req.portfolio_id, symbol = %req.symbol))]
pub async fn execute(
    state: &AppState,
    ctx: RequestContext,
    req: ExecuteTrade,
) -> Result<Trade, PortfolioError> {
    let owner = owner(&ctx)?;
    req.check()?;
    state.desk.execute(owner, ctx, req).await
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
