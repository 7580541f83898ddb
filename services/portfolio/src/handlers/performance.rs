//! `portfolio.v1.position.list`, `portfolio.v1.performance.get|series`: figures from the
//! ledger, over the stored history and market's prices.

use bus::RequestContext;
use chrono::{Days, NaiveDate};
use contracts::portfolio::{
    GetPerformance, GetPerformanceSeries, ListPositions, PerformanceSeries, Portfolio,
    PortfolioPerformance, Positions,
};
use ledger::{History, PriceBook};
use uuid::Uuid;

use super::{owned, owner};
use crate::{app::AppState, error::PortfolioError, store};

/// A portfolio of the caller with its history and the prices to value it.
async fn valued(
    state: &AppState,
    ctx: &RequestContext,
    portfolio_id: Uuid,
) -> Result<(Portfolio, History, PriceBook), PortfolioError> {
    let owner = owner(ctx)?;
    let (portfolio, activities) = {
        let mut conn = state.db.acquire().await?;
        let portfolio = owned(&mut conn, owner, portfolio_id, false).await?;
        let activities = store::activity::ledger_history(&mut conn, portfolio.id).await?;
        (portfolio, activities)
    };
    let history = History::new(activities)
        .map_err(|err| PortfolioError::Corrupt(format!("a stored history does not hold: {err}")))?;
    let prices = state
        .market
        .prices(ctx, &history.symbols(), history.first_date())
        .await?;
    Ok((portfolio, history, prices))
}

/// `day`, refused when it is after today.
fn not_future(
    field: &'static str,
    day: NaiveDate,
    today: NaiveDate,
) -> Result<NaiveDate, PortfolioError> {
    if day > today {
        return Err(PortfolioError::invalid(
            field,
            format!("{field} {day} is in the future"),
        ));
    }
    Ok(day)
}

#[tracing::instrument(name = "portfolio.position.list", skip_all, fields(portfolio_id = %req.portfolio_id))]
pub async fn positions(
    state: &AppState,
    ctx: RequestContext,
    req: ListPositions,
) -> Result<Positions, PortfolioError> {
    let today = state.clock.now().date_naive();
    let (portfolio, history, prices) = valued(state, &ctx, req.portfolio_id).await?;
    Ok(Positions {
        portfolio_id: portfolio.id,
        base_currency: portfolio.base_currency,
        as_of: today,
        positions: ledger::positions(&history, &prices, today),
    })
}

#[tracing::instrument(name = "portfolio.performance.get", skip_all, fields(portfolio_id = %req.portfolio_id))]
pub async fn performance(
    state: &AppState,
    ctx: RequestContext,
    req: GetPerformance,
) -> Result<PortfolioPerformance, PortfolioError> {
    let today = state.clock.now().date_naive();
    let as_of = not_future("as_of", req.as_of.unwrap_or(today), today)?;
    let (portfolio, history, prices) = valued(state, &ctx, req.portfolio_id).await?;
    Ok(PortfolioPerformance {
        portfolio_id: portfolio.id,
        base_currency: portfolio.base_currency,
        performance: ledger::performance(&history, &prices, as_of, req.range.unwrap_or_default()),
    })
}

#[tracing::instrument(name = "portfolio.performance.series", skip_all, fields(portfolio_id = %req.portfolio_id))]
pub async fn series(
    state: &AppState,
    ctx: RequestContext,
    req: GetPerformanceSeries,
) -> Result<PerformanceSeries, PortfolioError> {
    let today = state.clock.now().date_naive();
    let to = not_future("to", req.to.unwrap_or(today), today)?;
    if let Some(from) = req.from
        && from > to
    {
        return Err(PortfolioError::invalid(
            "from",
            format!("from ({from}) is after to ({to})"),
        ));
    }
    let (portfolio, history, prices) = valued(state, &ctx, req.portfolio_id).await?;
    let from = req.from.or(history.first_date()).unwrap_or(to).min(to);
    let longest = to.checked_sub_days(Days::new(GetPerformanceSeries::MAX_DAYS as u64 - 1));
    if longest.is_some_and(|earliest| from < earliest) {
        return Err(PortfolioError::invalid(
            "from",
            format!(
                "a series has at most {} days",
                GetPerformanceSeries::MAX_DAYS
            ),
        ));
    }
    Ok(PerformanceSeries {
        portfolio_id: portfolio.id,
        base_currency: portfolio.base_currency,
        points: ledger::series(&history, &prices, from, to),
    })
}
