//! One file per resource. Every handler acts for the user on the request and finds
//! portfolios by owner, so another user's portfolio is `not_found` like a missing one.

pub mod activity;
pub mod holding;
pub mod performance;
pub mod portfolio;
pub mod trade;
pub mod transfer;
pub mod user;

use bus::RequestContext;
use contracts::{Limit, Page, portfolio::Portfolio};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{error::PortfolioError, store};

/// The user a request acts for.
pub(crate) fn owner(ctx: &RequestContext) -> Result<Uuid, PortfolioError> {
    ctx.actor
        .as_ref()
        .map(|actor| actor.user_id)
        .ok_or(PortfolioError::Unauthenticated)
}

/// The portfolio `id` of `owner`; `lock` holds its row until the transaction ends.
pub(crate) async fn owned(
    conn: &mut PgConnection,
    owner: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Portfolio, PortfolioError> {
    store::portfolio::get(conn, owner, id, lock)
        .await?
        .ok_or(PortfolioError::NotFound("portfolio"))
}

/// A page's limit and offset, as the queries take them.
pub(crate) fn window(page: Option<Page>, limit: Option<Limit>) -> (Page, Limit, i64, i64) {
    let (page, limit) = (page.unwrap_or_default(), limit.unwrap_or_default());
    (page, limit, i64::from(limit.get()), page.offset(limit))
}
