//! `portfolio.v1.portfolio.*`: a user's portfolios.

use bus::{RequestContext, outbox};
use chrono::Utc;
use contracts::{
    new_id,
    portfolio::{
        CreatePortfolio, DeletePortfolio, DeletedPortfolio, GetPortfolio, ListPortfolios,
        Portfolio, PortfolioCreated, PortfolioDeleted, PortfolioPage, PortfolioUpdated,
        UpdatePortfolio,
    },
};

use super::{owned, owner, window};
use crate::{app::AppState, error::PortfolioError, store};

#[tracing::instrument(name = "portfolio.portfolio.create", skip_all)]
pub async fn create(
    state: &AppState,
    ctx: RequestContext,
    req: CreatePortfolio,
) -> Result<Portfolio, PortfolioError> {
    let owner = owner(&ctx)?;
    let mut tx = state.db.begin().await?;
    // Serialises one user's creations, so the cap holds under concurrent requests.
    store::portfolio::lock_owned(&mut tx, owner).await?;
    if store::portfolio::count_owned(&mut tx, owner).await? >= state.config.portfolios_per_user {
        return Err(PortfolioError::Conflict(format!(
            "a user may have at most {} portfolios",
            state.config.portfolios_per_user
        )));
    }
    let description = req.description.filter(|d| !d.as_str().is_empty());
    let portfolio = store::portfolio::insert(
        &mut tx,
        new_id(),
        owner,
        &req.name,
        description.as_ref(),
        &req.base_currency,
    )
    .await?;
    let event = PortfolioCreated {
        event_id: new_id(),
        occurred_at: Utc::now(),
        portfolio: portfolio.clone(),
    };
    outbox::enqueue(&mut tx, &ctx, &event).await?;
    tx.commit().await?;
    tracing::info!(portfolio_id = %portfolio.id, "portfolio created");
    Ok(portfolio)
}

#[tracing::instrument(name = "portfolio.portfolio.list", skip_all)]
pub async fn list(
    state: &AppState,
    ctx: RequestContext,
    req: ListPortfolios,
) -> Result<PortfolioPage, PortfolioError> {
    let owner = owner(&ctx)?;
    let (page, limit, rows, offset) = window(req.page, req.limit);
    let mut conn = state.db.acquire().await?;
    let (portfolios, total) = store::portfolio::list(&mut conn, owner, rows, offset).await?;
    Ok(PortfolioPage {
        portfolios,
        pagination: page.pagination(limit, total),
    })
}

#[tracing::instrument(name = "portfolio.portfolio.get", skip_all, fields(portfolio_id = %req.portfolio_id))]
pub async fn get(
    state: &AppState,
    ctx: RequestContext,
    req: GetPortfolio,
) -> Result<Portfolio, PortfolioError> {
    let owner = owner(&ctx)?;
    owned(
        &mut *state.db.acquire().await?,
        owner,
        req.portfolio_id,
        false,
    )
    .await
}

#[tracing::instrument(name = "portfolio.portfolio.update", skip_all, fields(portfolio_id = %req.portfolio_id))]
pub async fn update(
    state: &AppState,
    ctx: RequestContext,
    req: UpdatePortfolio,
) -> Result<Portfolio, PortfolioError> {
    let owner = owner(&ctx)?;
    let mut tx = state.db.begin().await?;
    let mut portfolio = owned(&mut tx, owner, req.portfolio_id, true).await?;
    let before = portfolio.clone();
    if let Some(name) = req.name {
        portfolio.name = name;
    }
    if let Some(description) = req.description {
        portfolio.description = Some(description).filter(|d| !d.as_str().is_empty());
    }
    if let Some(currency) = req.base_currency {
        if store::activity::any_in_other_currency(&mut tx, portfolio.id, &currency).await? {
            return Err(PortfolioError::Conflict(format!(
                "the portfolio has activities in {}; its base currency cannot become {currency}",
                portfolio.base_currency
            )));
        }
        portfolio.base_currency = currency;
    }
    if portfolio == before {
        return Ok(portfolio);
    }
    let portfolio = store::portfolio::update(&mut tx, &portfolio).await?;
    let event = PortfolioUpdated {
        event_id: new_id(),
        occurred_at: Utc::now(),
        portfolio: portfolio.clone(),
    };
    outbox::enqueue(&mut tx, &ctx, &event).await?;
    tx.commit().await?;
    Ok(portfolio)
}

#[tracing::instrument(name = "portfolio.portfolio.delete", skip_all, fields(portfolio_id = %req.portfolio_id))]
pub async fn delete(
    state: &AppState,
    ctx: RequestContext,
    req: DeletePortfolio,
) -> Result<DeletedPortfolio, PortfolioError> {
    let owner = owner(&ctx)?;
    let mut tx = state.db.begin().await?;
    let portfolio = owned(&mut tx, owner, req.portfolio_id, true).await?;
    remove(&mut tx, &ctx, &portfolio).await?;
    tx.commit().await?;
    tracing::info!(portfolio_id = %portfolio.id, "portfolio deleted");
    Ok(DeletedPortfolio {
        portfolio_id: portfolio.id,
    })
}

/// Deletes `portfolio` (activities and trades go with it) and records why in the audit log.
pub(crate) async fn remove(
    conn: &mut sqlx::PgConnection,
    ctx: &RequestContext,
    portfolio: &Portfolio,
) -> Result<(), PortfolioError> {
    store::portfolio::delete(conn, portfolio.id).await?;
    let event = PortfolioDeleted {
        event_id: new_id(),
        occurred_at: Utc::now(),
        portfolio_id: portfolio.id,
        owner_id: portfolio.owner_id,
    };
    outbox::enqueue(conn, ctx, &event).await?;
    Ok(())
}
