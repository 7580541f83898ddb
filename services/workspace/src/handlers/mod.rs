//! The endpoints, one file per resource, and the consumer of user deletions. Every handler
//! reads the caller from the request (`Bourse-User-Id`) and finds the project among the
//! caller's own: another user's project is `not_found`, exactly like a missing one.

pub mod file;
pub mod git;
pub mod project;
pub mod user;

use std::{path::PathBuf, sync::Arc};

use bus::{RequestContext, ServiceError};
use contracts::workspace::{WorkspaceEvent, WorkspaceEventKind};
use uuid::Uuid;

use crate::{app::AppState, store::project::Owned};

/// What every endpoint is given.
#[derive(Debug, Clone)]
pub struct Handlers(pub Arc<AppState>);

pub(crate) fn owner(ctx: &RequestContext) -> Result<Uuid, ServiceError> {
    ctx.signed_in("use the workspace").map(|a| a.user_id)
}

/// A project of the caller's, with its directories.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub owned: Owned,
    /// `<root>/<owner>`.
    pub home: PathBuf,
    /// `<root>/<owner>/<name>`.
    pub dir: PathBuf,
}

impl Located {
    pub(crate) fn id(&self) -> Uuid {
        self.owned.project.id
    }

    pub(crate) fn owner(&self) -> Uuid {
        self.owned.owner_id
    }
}

pub(crate) fn project_not_found(id: Uuid) -> ServiceError {
    ServiceError::not_found(format!("no project {id}"))
}

/// The caller's project `id`.
pub(crate) async fn locate(
    state: &AppState,
    ctx: &RequestContext,
    id: Uuid,
) -> Result<Located, ServiceError> {
    let owner = owner(ctx)?;
    let owned = crate::store::project::get(&mut *state.db.acquire().await?, owner, id)
        .await?
        .ok_or_else(|| project_not_found(id))?;
    Ok(place(state, owned))
}

pub(crate) fn place(state: &AppState, owned: Owned) -> Located {
    let home = state.root.join(owned.owner_id.to_string());
    let dir = home.join(owned.project.name.as_str());
    Located { owned, home, dir }
}

/// Runs filesystem or git work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ServiceError::internal)?
}

/// Runs `work` holding the project's lock (see `AppState::lock`), off the async threads.
pub(crate) async fn locked<T: Send + 'static>(
    state: &AppState,
    project: Uuid,
    work: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    let lock = state.lock(project);
    blocking(move || {
        let _held = lock
            .lock()
            .map_err(|_| ServiceError::internal("a project lock was poisoned"))?;
        work()
    })
    .await
}

/// Publishes a git event of `project` and waits for the stream to store it. What it reports
/// has happened already, so a failure here is logged, not answered.
pub(crate) async fn publish(
    state: &AppState,
    ctx: &RequestContext,
    project: &Located,
    kind: WorkspaceEventKind,
) {
    let event = WorkspaceEvent {
        event_id: contracts::new_id(),
        occurred_at: state.clock.now(),
        project_id: project.id(),
        owner_id: project.owner(),
        kind,
    };
    if let Err(err) = state.bus.publish_event(ctx, &event).await {
        tracing::warn!(project = %project.id(), error = %err, "a git event was not stored");
    }
}
