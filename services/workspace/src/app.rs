//! Building and running the workspace service through the service kit.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context;
use bus::{
    Bus, Clock, RunningService,
    consumer::{ConsumerSpec, DurableConsumer},
    kit::{Database, Deps, Service},
};
use contracts::{Event, identity::UserDeleted, workspace::WorkspaceEvent};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    config::Config,
    handlers::{self, Handlers},
    quota::Quota,
    watch::Watcher,
};

/// The durable consumer of user deletions.
const USERS_DURABLE: &str = "workspace-user-deleted";

/// How often the projects watched are compared with the database (projects made or removed by
/// another instance), and abandoned uploads swept.
const SYNC_EVERY: Duration = Duration::from_secs(5);

/// Staged uploads older than this are abandoned.
const UPLOAD_TTL: Duration = Duration::from_secs(3600);

/// What the handlers share.
#[derive(Debug)]
pub struct AppState {
    pub db: PgPool,
    pub bus: Bus,
    pub clock: Clock,
    pub config: Config,
    /// The workspace root, resolved.
    pub root: PathBuf,
    pub quota: Quota,
    pub watcher: Arc<Watcher>,
    pub listings: crate::listing::Listings,
    /// One lock per project: writes that check first (`If-Match`) and git operations on one
    /// project go one at a time on this instance.
    locks: Mutex<HashMap<Uuid, Arc<Mutex<()>>>>,
}

impl AppState {
    /// `<root>/<user id>`, created (owner-only) when missing.
    pub fn user_dir(&self, user: Uuid) -> Result<PathBuf, bus::ServiceError> {
        let dir = self.root.join(user.to_string());
        if !dir.is_dir() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(bus::ServiceError::internal)?;
        }
        Ok(dir)
    }

    /// Where staged uploads wait: beside the users' directories, never inside a project.
    pub fn staging_dir(&self) -> PathBuf {
        self.root.join(".uploads")
    }

    /// The lock of one project (see [`AppState::locks`]).
    pub fn lock(&self, project: Uuid) -> Arc<Mutex<()>> {
        self.locks
            .lock()
            .map(|mut locks| locks.entry(project).or_default().clone())
            .unwrap_or_default()
    }

    /// The directories of every project, for the watcher.
    pub async fn project_dirs(&self) -> sqlx::Result<Vec<(Uuid, Uuid, PathBuf)>> {
        let projects = crate::store::project::all(&mut *self.db.acquire().await?).await?;
        Ok(projects
            .into_iter()
            .map(|owned| {
                let dir = self
                    .root
                    .join(owned.owner_id.to_string())
                    .join(owned.project.name.as_str());
                (owned.project.id, owned.owner_id, dir)
            })
            .collect())
    }
}

pub struct App {
    service: RunningService,
    users: DurableConsumer<UserDeleted>,
    state: Arc<AppState>,
    changes: tokio::sync::mpsc::UnboundedReceiver<notify::Result<notify::Event>>,
}

impl Service for App {
    const NAME: &'static str = "workspace";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "Project files and git in each user's workspace directory, sandboxed, changes as events";
    const DATABASE: Option<Database> = Some(Database {
        schema: crate::SCHEMA,
        migrator: &crate::MIGRATOR,
    });
    type Config = Config;

    fn check(config: &Config) -> anyhow::Result<()> {
        anyhow::ensure!(
            config.workspace_quota_bytes >= 1024 && config.workspace_quota_files >= 1,
            "the workspace quota must allow at least 1 KiB and one file"
        );
        Ok(())
    }

    async fn build(config: Config, deps: Deps) -> anyhow::Result<Self> {
        deps.bus
            .stream(WorkspaceEvent::STREAM)
            .await
            .context("the stream WORKSPACE is missing; provision the streams")?;
        let root = prepare_root(&config.workspace_root)?;
        let (watcher, changes) = Watcher::new(
            deps.bus.clone(),
            deps.clock.clone(),
            config.workspace_debounce,
        )
        .context("cannot watch the workspace directories")?;
        let state = Arc::new(AppState {
            db: deps.db()?,
            bus: deps.bus.clone(),
            clock: deps.clock.clone(),
            quota: Quota::new(config.workspace_quota_bytes, config.workspace_quota_files),
            config,
            root,
            watcher,
            listings: crate::listing::Listings::default(),
            locks: Mutex::default(),
        });
        // Every project is watched before the service answers, so no change is missed.
        let projects = state.project_dirs().await?;
        let watcher = state.watcher.clone();
        tokio::task::spawn_blocking(move || watcher.sync(&projects))
            .await
            .context("indexing the projects failed")?;
        let users = DurableConsumer::bind(
            &deps.bus,
            ConsumerSpec::new(UserDeleted::STREAM, USERS_DURABLE, &UserDeleted::wildcard()),
        )
        .await
        .context("binding the consumer of user deletions")?;
        let service = deps
            .service::<Self>()
            .state(Arc::new(Handlers(state.clone())))
            .endpoint(handlers::project::list)
            .endpoint(handlers::project::create)
            .endpoint(handlers::project::clone)
            .endpoint(handlers::project::get)
            .endpoint(handlers::project::update)
            .endpoint(handlers::project::delete)
            .endpoint(handlers::project::stats)
            .endpoint(handlers::file::get)
            .endpoint(handlers::file::read)
            .endpoint(handlers::file::write)
            .endpoint(handlers::file::upload_chunk)
            .endpoint(handlers::file::upload_commit)
            .endpoint(handlers::file::mkdir)
            .endpoint(handlers::file::delete)
            .endpoint(handlers::file::rename)
            .endpoint(handlers::git::status)
            .endpoint(handlers::git::diff)
            .endpoint(handlers::git::log)
            .endpoint(handlers::git::branches)
            .endpoint(handlers::git::create_branch)
            .endpoint(handlers::git::checkout)
            .endpoint(handlers::git::commit)
            .endpoint(handlers::git::push)
            .endpoint(handlers::git::pull)
            .start()
            .await?;
        Ok(Self {
            service,
            users,
            state,
            changes,
        })
    }

    /// Serves, publishes file events and follows user deletions until `shutdown`.
    async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let background = CancellationToken::new();
        let state = self.state.clone();
        let users = tokio::spawn(self.users.run(
            move |delivery| {
                let state = state.clone();
                async move { handlers::user::deleted(&state, delivery).await }
            },
            background.clone(),
        ));
        let watcher = tokio::spawn(
            self.state
                .watcher
                .clone()
                .run(self.changes, background.clone()),
        );
        let mut tick = tokio::time::interval(SYNC_EVERY);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => maintain(&self.state).await,
            }
        }
        self.service.stop(Duration::from_secs(5)).await;
        background.cancel();
        let _ = watcher.await;
        users.await.context("the user-deletion consumer failed")?;
        Ok(())
    }
}

impl App {
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }
}

/// Follows projects made or removed elsewhere; sweeps abandoned uploads.
async fn maintain(state: &Arc<AppState>) {
    match state.project_dirs().await {
        Ok(projects) => {
            let watcher = state.watcher.clone();
            let _ = tokio::task::spawn_blocking(move || watcher.sync(&projects)).await;
        }
        Err(err) => tracing::warn!(error = %err, "cannot list the projects to watch"),
    }
    let staging = state.staging_dir();
    let _ = tokio::task::spawn_blocking(move || sweep(&staging, UPLOAD_TTL)).await;
}

/// Removes staged uploads older than `ttl`.
fn sweep(staging: &Path, ttl: Duration) {
    let Ok(entries) = std::fs::read_dir(staging) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|at| at.elapsed().ok())
            .is_some_and(|age| age > ttl);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The workspace root, created when missing, resolved, with its staging directory.
fn prepare_root(root: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(root.join(".uploads"))
        .with_context(|| format!("cannot create the workspace root {}", root.display()))?;
    root.canonicalize()
        .with_context(|| format!("cannot resolve the workspace root {}", root.display()))
}
