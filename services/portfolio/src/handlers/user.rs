//! `evt.identity.user.<id>.deleted`: a deleted user's portfolios go; their events stay in the
//! stream. Idempotent: a redelivery finds nothing left to delete and writes nothing.

use bus::consumer::{Delivery, HandlerError};
use contracts::identity::UserDeleted;

use super::portfolio::remove;
use crate::{app::AppState, error::PortfolioError, store};

pub async fn deleted(
    state: &AppState,
    delivery: Delivery<UserDeleted>,
) -> Result<(), HandlerError> {
    let user_id = delivery.event.user_id;
    let removed = async {
        let mut tx = state.db.begin().await?;
        let portfolios = store::portfolio::lock_owned(&mut tx, user_id).await?;
        for portfolio in &portfolios {
            remove(&mut tx, &delivery.ctx, portfolio).await?;
        }
        tx.commit().await?;
        Ok::<_, PortfolioError>(portfolios.len())
    };
    match removed.await {
        Ok(0) => Ok(()),
        Ok(count) => {
            tracing::info!(%user_id, portfolios = count, "a deleted user's portfolios removed");
            Ok(())
        }
        Err(err) => Err(HandlerError::Retry(err.to_string())),
    }
}
