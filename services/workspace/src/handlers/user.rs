//! `evt.identity.user.<id>.deleted`: a deleted user's projects go, rows and files, and their
//! whole workspace directory with them (files made in terminals too). Idempotent: a redelivery
//! finds nothing left.

use bus::consumer::{Delivery, HandlerError};
use contracts::identity::UserDeleted;

use crate::app::AppState;

pub async fn deleted(
    state: &AppState,
    delivery: Delivery<UserDeleted>,
) -> Result<(), HandlerError> {
    let user = delivery.event.user_id;
    let removed = async {
        let mut db = state.db.acquire().await?;
        for owned in crate::store::project::list(&mut db, user).await? {
            state.watcher.unwatch(owned.project.id);
        }
        let mut tx = state.db.begin().await?;
        let count = crate::store::project::delete_owned(&mut tx, user).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(count)
    };
    let count = removed
        .await
        .map_err(|err| HandlerError::Retry(err.to_string()))?;
    let home = state.root.join(user.to_string());
    let gone = tokio::task::spawn_blocking(move || match std::fs::remove_dir_all(&home) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    })
    .await
    .map_err(|err| HandlerError::Retry(err.to_string()))?;
    gone.map_err(|err| {
        HandlerError::Retry(format!("cannot remove the workspace directory: {err}"))
    })?;
    state.quota.forget(user);
    tracing::info!(%user, projects = count, "a deleted user's workspace removed");
    Ok(())
}
