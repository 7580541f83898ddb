//! `portfolio.v1.holding.list`: every portfolio's holdings, for services (valuation).

use std::collections::HashMap;

use bus::RequestContext;
use contracts::portfolio::{Holding, HoldingsPage, ListHoldings, PortfolioHoldings};
use ledger::PriceBook;
use uuid::Uuid;

use crate::{app::AppState, domain, error::PortfolioError, store};

/// Portfolios per page when the caller does not say.
const DEFAULT_LIMIT: u32 = 200;

#[tracing::instrument(name = "portfolio.holding.list", skip_all)]
pub async fn list(
    state: &AppState,
    ctx: RequestContext,
    req: ListHoldings,
) -> Result<HoldingsPage, PortfolioError> {
    // The gateway stamps a user on everything it forwards (and has no route here): a request
    // acting for a user is not a service's.
    if ctx.actor.is_some() {
        return Err(PortfolioError::Forbidden(
            "holdings of all portfolios are for services, not users",
        ));
    }
    let limit = req
        .limit
        .unwrap_or(DEFAULT_LIMIT)
        .clamp(1, ListHoldings::MAX);
    if req
        .portfolio_ids
        .as_ref()
        .is_some_and(|ids| ids.len() > ListHoldings::MAX as usize)
    {
        return Err(PortfolioError::invalid(
            "portfolio_ids",
            format!("at most {} portfolios at once", ListHoldings::MAX),
        ));
    }
    let mut conn = state.db.acquire().await?;
    let portfolios = store::portfolio::any_owner(
        &mut conn,
        req.portfolio_ids.as_deref(),
        req.after,
        i64::from(limit),
    )
    .await?;
    let ids: Vec<Uuid> = portfolios.iter().map(|p| p.id).collect();
    let mut histories: HashMap<Uuid, Vec<_>> = HashMap::new();
    for activity in store::activity::histories(&mut conn, &ids).await? {
        histories
            .entry(activity.portfolio_id)
            .or_default()
            .push(activity);
    }
    let today = state.clock.now().date_naive();
    let full_page = req.portfolio_ids.is_none() && portfolios.len() == limit as usize;
    let mut next_after = if full_page { ids.last().copied() } else { None };
    let mut page = Vec::with_capacity(portfolios.len());
    let mut size = 0;
    for portfolio in portfolios {
        let activities = histories.remove(&portfolio.id).unwrap_or_default();
        let history = domain::activity::history(&activities).map_err(|err| {
            PortfolioError::Corrupt(format!("a stored history does not hold: {err}"))
        })?;
        // Without prices, positions are valued at their last trade price.
        let holdings = ledger::positions(&history, &PriceBook::new(), today)
            .into_iter()
            .map(|position| Holding {
                symbol: position.symbol,
                quantity: position.quantity,
                investment: position.investment,
                last_trade_price: position.market_price,
            })
            .collect();
        let holdings = PortfolioHoldings {
            portfolio_id: portfolio.id,
            owner_id: portfolio.owner_id,
            base_currency: portfolio.base_currency,
            holdings,
        };
        let encoded = serde_json::to_vec(&holdings)
            .map_err(|err| PortfolioError::Corrupt(format!("holdings do not encode: {err}")))?
            .len();
        if !page.is_empty() && size + encoded > ListHoldings::REPLY_BUDGET {
            // The rest comes in the next page: ids are in order, so it starts after the last.
            next_after = page.last().map(|p: &PortfolioHoldings| p.portfolio_id);
            break;
        }
        size += encoded;
        page.push(holdings);
    }
    let portfolios = page;
    Ok(HoldingsPage {
        portfolios,
        next_after,
    })
}
