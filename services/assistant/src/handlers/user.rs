//! `evt.identity.user.<id>.deleted`: a deleted user's conversations, folders and usage go.
//! Idempotent: a redelivery finds nothing left.

use bus::consumer::{Delivery, HandlerError};
use contracts::identity::UserDeleted;

use crate::app::AppState;

pub async fn deleted(
    state: &AppState,
    delivery: Delivery<UserDeleted>,
) -> Result<(), HandlerError> {
    let user_id = delivery.event.user_id;
    let removed = async {
        let mut tx = state.db.begin().await?;
        let count = crate::store::conversation::delete_owned(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(count)
    };
    match removed.await {
        Ok(0) => Ok(()),
        Ok(count) => {
            tracing::info!(%user_id, conversations = count, "a deleted user's conversations removed");
            Ok(())
        }
        Err(err) => Err(HandlerError::Retry(err.to_string())),
    }
}
