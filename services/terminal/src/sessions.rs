//! The sessions of this instance: creating them under the limits and the security rules,
//! finding them for their owner, reaping children, closing idle sessions and forgetting
//! exited ones, and gathering what every instance holds.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use bus::{Actor, Bus, Clock, ErrorCode, RequestContext, ServiceError, kv::Kv};
use chrono::{DateTime, Utc};
use contracts::terminal::{
    CreateSession, ExitCause, GetInstanceStats, ListInstanceSessions, SessionId, SessionStatus,
    TerminalInstance, TerminalInstances, TerminalOverview, TerminalSession, TerminalStarted,
    UserSessions,
};
use futures::future::join_all;
use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use uuid::Uuid;

use crate::{
    config::Config,
    pty::{Pty, Spawn},
    session::{About, Session, pump},
    stats::Counters,
    workspace,
};

/// Columns and rows a terminal may have.
const SIZES: std::ops::RangeInclusive<u16> = 1..=1000;
/// How often this instance renews its key in `terminal_instances`.
pub const HEARTBEAT: Duration = Duration::from_secs(3);
/// Bytes an environment value may have.
const ENV_VALUE: usize = 4096;

/// What sessions may be and do, from the configuration.
#[derive(Debug)]
struct Policy {
    /// Allow-list entries as written, with their argv.
    commands: Vec<(String, Vec<String>)>,
    /// The variables every session gets from the service's environment, read at start.
    passed: Vec<(String, String)>,
    allowed: HashSet<String>,
    root: PathBuf,
    scrollback: usize,
    max_per_user: u32,
    max_per_instance: u32,
    idle: Duration,
    retention: Duration,
    grace: Duration,
}

impl Policy {
    fn new(config: &Config) -> anyhow::Result<Self> {
        let mut commands: Vec<(String, Vec<String>)> = config
            .terminal_commands
            .iter()
            .map(|entry| entry.trim())
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let argv = entry.split_whitespace().map(str::to_owned).collect();
                (entry.to_owned(), argv)
            })
            .collect();
        if commands.is_empty() {
            let shell = login_shell();
            commands.push((shell.clone(), vec![shell]));
        }
        std::fs::create_dir_all(&config.workspace_root)?;
        let root = config.workspace_root.canonicalize()?;
        let passed = config
            .terminal_env_pass
            .iter()
            .filter_map(|name| std::env::var(name).ok().map(|value| (name.clone(), value)))
            .collect();
        Ok(Self {
            commands,
            passed,
            allowed: config.terminal_env_allow.iter().cloned().collect(),
            root,
            scrollback: config.terminal_scrollback,
            max_per_user: config.terminal_max_per_user,
            max_per_instance: config.terminal_max_per_instance,
            idle: config.terminal_idle_timeout,
            retention: config.terminal_exited_retention,
            grace: config.terminal_close_grace,
        })
    }

    /// The allow-list entry asked for (the first when none), and its argv.
    fn command(&self, asked: Option<&str>) -> Result<&(String, Vec<String>), ServiceError> {
        let Some(asked) = asked.map(str::trim) else {
            return self
                .commands
                .first()
                .ok_or_else(|| ServiceError::internal("no terminal command is configured"));
        };
        self.commands
            .iter()
            .find(|(entry, _)| entry == asked)
            .ok_or_else(|| {
                let allowed: Vec<&str> = self.commands.iter().map(|(e, _)| e.as_str()).collect();
                ServiceError::validation(format!(
                    "command {:?} is not allowed here; allowed: {}",
                    asked.chars().take(100).collect::<String>(),
                    allowed.join(", ")
                ))
            })
    }

    /// The child's whole environment: the passed variables, the terminal's own, then the
    /// client's (names on the allow-list only).
    fn environment(
        &self,
        home: &std::path::Path,
        asked: Option<&BTreeMap<String, String>>,
    ) -> Result<Vec<(String, String)>, ServiceError> {
        let mut env: BTreeMap<String, String> = self.passed.iter().cloned().collect();
        env.insert("TERM".into(), "xterm-256color".into());
        env.insert("COLORTERM".into(), "truecolor".into());
        env.insert("HOME".into(), home.to_string_lossy().into_owned());
        for (name, value) in asked.into_iter().flatten() {
            if !self.allowed.contains(name) {
                let mut allowed: Vec<&str> = self.allowed.iter().map(String::as_str).collect();
                allowed.sort_unstable();
                return Err(ServiceError::validation(format!(
                    "environment variable {:?} may not be set; allowed: {}",
                    name.chars().take(100).collect::<String>(),
                    allowed.join(", ")
                )));
            }
            if value.len() > ENV_VALUE || value.contains('\0') {
                return Err(ServiceError::validation(format!(
                    "environment variable {name} must be at most {ENV_VALUE} bytes without NUL"
                )));
            }
            env.insert(name.clone(), value.clone());
        }
        Ok(env.into_iter().collect())
    }
}

/// The login shell of the user the service runs as; `/bin/sh` when it has none.
fn login_shell() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|user| user.shell.to_string_lossy().into_owned())
        .filter(|shell| !shell.is_empty() && std::path::Path::new(shell).exists())
        .unwrap_or_else(|| "/bin/sh".into())
}

pub struct Sessions {
    pub instance: String,
    policy: Policy,
    bus: Bus,
    clock: Clock,
    map: Mutex<HashMap<SessionId, Arc<Session>>>,
    counters: Arc<Counters>,
    /// The pumps, and the kills after a grace period.
    tasks: TaskTracker,
    started_at: DateTime<Utc>,
    instances: Kv<TerminalInstances>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

fn actor(ctx: &RequestContext) -> Result<&Actor, ServiceError> {
    ctx.signed_in("use terminals")
}

impl Sessions {
    pub async fn new(config: &Config, bus: Bus, clock: Clock) -> anyhow::Result<Self> {
        let instances = bus.bucket::<TerminalInstances>().await?;
        let started_at = clock.now();
        Ok(Self {
            instance: contracts::terminal::new_instance_id(),
            policy: Policy::new(config)?,
            bus,
            clock,
            map: Mutex::new(HashMap::new()),
            counters: Arc::new(Counters::default()),
            tasks: TaskTracker::new(),
            started_at,
            instances,
        })
    }

    fn map(&self) -> MutexGuard<'_, HashMap<SessionId, Arc<Session>>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn all(&self) -> Vec<Arc<Session>> {
        self.map().values().cloned().collect()
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The caller's session `id`; another user's is `not_found`, exactly like a missing one.
    pub fn owned(
        &self,
        ctx: &RequestContext,
        id: &SessionId,
    ) -> Result<Arc<Session>, ServiceError> {
        let actor = actor(ctx)?;
        self.map()
            .get(id)
            .filter(|session| session.owner == actor.user_id)
            .cloned()
            .ok_or_else(|| ServiceError::not_found(format!("no terminal session {id}")))
    }

    pub async fn create(
        &self,
        ctx: &RequestContext,
        request: CreateSession,
    ) -> Result<TerminalSession, ServiceError> {
        let owner = actor(ctx)?.user_id;
        let cols = request.cols.unwrap_or(80);
        let rows = request.rows.unwrap_or(24);
        if !SIZES.contains(&cols) || !SIZES.contains(&rows) {
            return Err(ServiceError::validation(
                "cols and rows must be between 1 and 1000",
            ));
        }
        let (command, argv) = self.policy.command(request.command.as_deref())?.clone();
        let home = workspace::user_dir(&self.policy.root, owner)?;
        let (cwd, shown_cwd) = workspace::resolve_cwd(&home, request.cwd.as_deref())?;
        let env = self.policy.environment(&home, request.env.as_ref())?;
        if self.map().len() >= self.policy.max_per_instance as usize {
            return Err(ServiceError::unavailable(
                format!(
                    "this terminal instance holds {} sessions, its limit; try again later",
                    self.policy.max_per_instance
                ),
                "the instance is full",
            ));
        }
        let held = self.list_everywhere(ctx).await?.len();
        if held >= self.policy.max_per_user as usize {
            return Err(ServiceError::conflict(format!(
                "you have {held} terminal sessions, the most allowed ({}); close one first",
                self.policy.max_per_user
            )));
        }
        let spawn = Spawn {
            argv,
            cwd,
            env,
            cols,
            rows,
        };
        let (pty, output) = Pty::spawn(&spawn)
            .map_err(|err| ServiceError::internal(format!("cannot start {command}: {err:#}")))?;
        let id = SessionId::new(&self.instance);
        let now = self.clock.now();
        let about = About {
            id: id.clone(),
            owner,
            command: command.clone(),
            cwd: shown_cwd.clone(),
            created_at: now,
        };
        let session = Arc::new(Session::new(
            about,
            pty,
            self.policy.scrollback,
            (cols, rows),
        ));
        self.map().insert(id.clone(), session.clone());
        self.tasks.spawn(pump(
            session.clone(),
            output,
            self.bus.clone(),
            self.clock.clone(),
            self.counters.clone(),
        ));
        tracing::info!(session = %id, user_id = %owner, %command, cwd = %shown_cwd, "terminal session started");
        let started = TerminalStarted {
            event_id: contracts::new_id(),
            occurred_at: now,
            session_id: id,
            owner_id: owner,
            command,
            cwd: shown_cwd,
        };
        if let Err(err) = self.bus.publish_event(ctx, &started).await {
            tracing::warn!(error = %err, "cannot publish that a terminal session started");
        }
        Ok(session.view())
    }

    /// Hangs the session up; SIGKILL follows after the grace period. A closed session is
    /// forgotten once its child exited.
    pub fn close(&self, session: &Arc<Session>, cause: ExitCause) {
        session.hang_up(cause);
        let (session, grace) = (session.clone(), self.policy.grace);
        self.tasks.spawn(async move {
            tokio::time::sleep(grace).await;
            if session.is_running() {
                tracing::info!(session = %session.id, "terminal session still running after SIGHUP; killing it");
                session.pty.signal_all(Signal::SIGKILL);
            }
        });
    }

    /// The actor's sessions on this instance, oldest first.
    pub fn list_here(&self, ctx: &RequestContext) -> Result<Vec<TerminalSession>, ServiceError> {
        let owner = actor(ctx)?.user_id;
        let mut sessions: Vec<TerminalSession> = self
            .all()
            .into_iter()
            .filter(|session| session.owner == owner)
            .map(|session| session.view())
            .collect();
        sessions.sort_by(|a, b| (a.created_at, a.id.as_str()).cmp(&(b.created_at, b.id.as_str())));
        Ok(sessions)
    }

    /// The other live instances, from `terminal_instances` (none when the bucket cannot be
    /// read: this instance still answers for itself).
    async fn others(&self) -> Vec<String> {
        match self.instances.keys().await {
            Ok(keys) => keys.into_iter().filter(|i| *i != self.instance).collect(),
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the terminal instances; answering for this one only");
                Vec::new()
            }
        }
    }

    /// The actor's sessions on every live instance, oldest first.
    pub async fn list_everywhere(
        &self,
        ctx: &RequestContext,
    ) -> Result<Vec<TerminalSession>, ServiceError> {
        let mut sessions = self.list_here(ctx)?;
        let others = self.others().await;
        let asks = others.into_iter().map(|instance| async move {
            self.bus
                .request_routed(ctx, &ListInstanceSessions { instance })
                .await
        });
        for answer in join_all(asks).await {
            match answer {
                Ok(list) => sessions.extend(list.sessions),
                // Gone since its last heartbeat: it holds nothing any more.
                Err(err) if err.code() == ErrorCode::NotFound => {}
                Err(err) => return Err(err.into()),
            }
        }
        sessions.sort_by(|a, b| (a.created_at, a.id.as_str()).cmp(&(b.created_at, b.id.as_str())));
        Ok(sessions)
    }

    /// This instance's figures.
    pub fn stats_here(&self) -> TerminalOverview {
        let mut users: BTreeMap<Uuid, UserSessions> = BTreeMap::new();
        let mut overview = TerminalOverview {
            instances: 1,
            bytes_in: self.counters.bytes_in(),
            bytes_out: self.counters.bytes_out(),
            ..TerminalOverview::default()
        };
        for session in self.all() {
            let view = session.view();
            let user = users.entry(session.owner).or_insert_with(|| UserSessions {
                user_id: session.owner,
                ..UserSessions::default()
            });
            match view.status {
                SessionStatus::Running => {
                    overview.running += 1;
                    user.running += 1;
                }
                SessionStatus::Exited => {
                    overview.exited += 1;
                    user.exited += 1;
                }
            }
            overview.attached += view.attached;
        }
        overview.users = users.into_values().collect();
        overview
    }

    /// Every live instance's figures, summed.
    pub async fn overview(&self, ctx: &RequestContext) -> Result<TerminalOverview, ServiceError> {
        let mut total = self.stats_here();
        let asks = self.others().await.into_iter().map(|instance| async move {
            self.bus
                .request_routed(ctx, &GetInstanceStats { instance })
                .await
        });
        let mut users: BTreeMap<Uuid, UserSessions> =
            total.users.drain(..).map(|u| (u.user_id, u)).collect();
        for answer in join_all(asks).await {
            let part = match answer {
                Ok(part) => part,
                Err(err) if err.code() == ErrorCode::NotFound => continue,
                Err(err) => return Err(err.into()),
            };
            total.instances += part.instances;
            total.running += part.running;
            total.exited += part.exited;
            total.attached += part.attached;
            total.bytes_in += part.bytes_in;
            total.bytes_out += part.bytes_out;
            for user in part.users {
                let entry = users.entry(user.user_id).or_insert_with(|| UserSessions {
                    user_id: user.user_id,
                    ..UserSessions::default()
                });
                entry.running += user.running;
                entry.exited += user.exited;
            }
        }
        total.users = users.into_values().collect();
        Ok(total)
    }

    /// Renews this instance's key in `terminal_instances`.
    pub async fn heartbeat(&self) {
        let running = self.all().iter().filter(|s| s.is_running()).count();
        let value = TerminalInstance {
            instance: self.instance.clone(),
            started_at: self.started_at,
            running: u32::try_from(running).unwrap_or(u32::MAX),
        };
        if let Err(err) = self.instances.put(&self.instance, &value).await {
            tracing::warn!(error = %err, "cannot renew this terminal instance's key");
        }
    }

    /// Reaps children (on SIGCHLD and on a tick), ends what exited children left behind,
    /// closes idle sessions, forgets exited ones after the retention and renews the heartbeat,
    /// until `shutdown`.
    pub async fn maintain(&self, shutdown: CancellationToken) {
        let mut children = match signal(SignalKind::child()) {
            Ok(children) => Some(children),
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGCHLD; children are reaped on the tick only");
                None
            }
        };
        let tick = (self.policy.idle.min(self.policy.retention) / 4)
            .clamp(Duration::from_millis(50), Duration::from_secs(1));
        let mut ticks = tokio::time::interval(tick);
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = heartbeat.tick() => self.heartbeat().await,
                Some(()) = async { children.as_mut()?.recv().await } => self.reap(),
                _ = ticks.tick() => {
                    self.reap();
                    self.tidy();
                }
            }
        }
    }

    fn reap(&self) {
        for session in self.all() {
            if session.is_running() && session.reap() && session.exited_but_open() {
                // The child is gone; what it left behind keeps the terminal open.
                session.pty.signal_all(Signal::SIGKILL);
            }
        }
    }

    fn tidy(&self) {
        for session in self.all() {
            if session.is_idle(self.policy.idle) {
                tracing::info!(session = %session.id, "terminal session idle; closing it");
                self.close(&session, ExitCause::Idle);
            }
        }
        let retention = self.policy.retention;
        self.map().retain(|_, session| {
            let closed = session.closing() == Some(ExitCause::Closed) && !session.is_running();
            !closed && !session.is_expired(retention)
        });
    }

    /// Ends every session (SIGHUP, SIGKILL after the grace period), waits for their exit
    /// events, and leaves `terminal_instances`.
    pub async fn shut_down(&self) {
        for session in self.all() {
            if session.is_running() {
                self.close(&session, ExitCause::Shutdown);
            }
        }
        self.tasks.close();
        let reaping = async {
            loop {
                self.reap();
                if self.all().iter().all(|s| !s.is_running()) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let deadline = self.policy.grace + Duration::from_secs(2);
        if tokio::time::timeout(deadline, async {
            reaping.await;
            self.tasks.wait().await;
        })
        .await
        .is_err()
        {
            tracing::warn!("terminal sessions still running at shutdown");
        }
        if let Err(err) = self.instances.delete(&self.instance).await {
            tracing::debug!(error = %err, "cannot remove this terminal instance's key");
        }
    }
}
