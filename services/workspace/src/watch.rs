//! File events for every project, whoever changed the files: the API, a terminal, git.
//!
//! Each project's directory is watched (inotify through `notify`, symlinks not followed) and
//! indexed: path → kind, size, modification time, inode. Paths that changed are gathered until
//! the project has been quiet for the debounce interval (at most a second of a steady stream),
//! then compared with the index through the project's directory handle (so a symlink leading
//! out is never read), and the differences are published: `file_created`, `file_updated`,
//! `file_deleted`. A file written through a temporary file and a rename is one `file_updated`;
//! `.git` and the service's temporary files are not events.
//!
//! Event ids are derived from what changed (project, path, kind, size, time, inode), not drawn
//! at random, so two instances watching the same volume publish the same id for the same
//! change and JetStream's duplicate window keeps one.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use bus::{Bus, Clock, RequestContext};
use cap_std::{
    ambient_authority,
    fs::{Dir, Metadata, MetadataExt},
};
use contracts::workspace::{EntryKind, WorkspaceEvent, WorkspaceEventKind};
use notify::{Config as NotifyConfig, RecommendedWatcher, RecursiveMode, Watcher as _};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::sandbox::{hidden, kind_of};

/// The longest a steady stream of changes delays its events.
const MAX_DELAY: Duration = Duration::from_secs(1);

/// What the index knows of one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    kind: EntryKind,
    size: u64,
    mtime_ns: i128,
    ino: u64,
}

impl Seen {
    fn of(meta: &Metadata) -> Self {
        Self {
            kind: kind_of(meta),
            size: if meta.is_dir() { 0 } else { meta.len() },
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ino: meta.ino(),
        }
    }
}

#[derive(Debug)]
struct Watched {
    owner: Uuid,
    dir: PathBuf,
    /// By path, so a directory and everything under it is one range.
    index: BTreeMap<String, Seen>,
}

#[derive(Debug, Default)]
struct State {
    projects: HashMap<Uuid, Watched>,
    /// Project directories, for finding the project of a changed path.
    by_dir: BTreeMap<PathBuf, Uuid>,
}

/// The watcher of every project this instance knows.
pub struct Watcher {
    bus: Bus,
    clock: Clock,
    debounce: Duration,
    state: Mutex<State>,
    notify: Mutex<RecommendedWatcher>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("debounce", &self.debounce)
            .finish()
    }
}

type Changes = mpsc::UnboundedReceiver<notify::Result<notify::Event>>;

impl Watcher {
    /// A watcher watching nothing yet, and the changes it will see (for [`Watcher::run`]).
    pub fn new(bus: Bus, clock: Clock, debounce: Duration) -> anyhow::Result<(Arc<Self>, Changes)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let notify = RecommendedWatcher::new(
            move |event| {
                let _ = tx.send(event);
            },
            NotifyConfig::default().with_follow_symlinks(false),
        )?;
        let watcher = Arc::new(Self {
            bus,
            clock,
            debounce,
            state: Mutex::default(),
            notify: Mutex::new(notify),
        });
        Ok((watcher, rx))
    }

    /// Starts watching a project at `dir` (its index is built now, without events). Blocking.
    pub fn watch(&self, project: Uuid, owner: Uuid, dir: &Path) {
        if dir
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            tracing::warn!(%project, "a project's directory is a symlink; not watched");
            return;
        }
        let Ok(dir) = dir.canonicalize() else {
            tracing::warn!(%project, "a project's directory is missing; not watched");
            return;
        };
        let index = Dir::open_ambient_dir(&dir, ambient_authority())
            .map(|handle| scan(&handle, "").into_iter().collect())
            .unwrap_or_default();
        if let Ok(mut notify) = self.notify.lock()
            && let Err(err) = notify.watch(&dir, RecursiveMode::Recursive)
        {
            tracing::warn!(%project, error = %err, "cannot watch a project (raise fs.inotify.max_user_watches?)");
        }
        if let Ok(mut state) = self.state.lock() {
            if let Some(old) = state.projects.remove(&project) {
                state.by_dir.remove(&old.dir);
            }
            state.by_dir.insert(dir.clone(), project);
            state
                .projects
                .insert(project, Watched { owner, dir, index });
        }
    }

    /// Stops watching a project (before its directory is deleted or moved: no events for that).
    pub fn unwatch(&self, project: Uuid) {
        let removed = self.state.lock().ok().and_then(|mut state| {
            let watched = state.projects.remove(&project)?;
            state.by_dir.remove(&watched.dir);
            Some(watched.dir)
        });
        if let (Some(dir), Ok(mut notify)) = (removed, self.notify.lock()) {
            let _ = notify.unwatch(&dir);
        }
    }

    /// Watches exactly `projects` (id, owner, directory): new ones are added, gone or moved ones
    /// dropped. How an instance learns of projects another instance made. Blocking.
    pub fn sync(&self, projects: &[(Uuid, Uuid, PathBuf)]) {
        let known: HashMap<Uuid, PathBuf> = self
            .state
            .lock()
            .map(|s| {
                s.projects
                    .iter()
                    .map(|(id, w)| (*id, w.dir.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let wanted: HashMap<Uuid, PathBuf> = projects
            .iter()
            .map(|(id, _, dir)| (*id, dir.canonicalize().unwrap_or_else(|_| dir.clone())))
            .collect();
        for (id, dir) in &known {
            if wanted.get(id) != Some(dir) {
                self.unwatch(*id);
            }
        }
        for (id, owner, dir) in projects {
            if known.get(id) != wanted.get(id) {
                self.watch(*id, *owner, dir);
            }
        }
    }

    /// Gathers changes and publishes their events until `shutdown`.
    pub async fn run(self: Arc<Self>, mut changes: Changes, shutdown: CancellationToken) {
        let mut dirty: HashMap<Uuid, BTreeSet<String>> = HashMap::new();
        let mut quiet_at = tokio::time::Instant::now();
        let mut first_at = quiet_at;
        loop {
            let due = quiet_at.min(first_at + MAX_DELAY);
            tokio::select! {
                change = changes.recv() => {
                    let Some(change) = change else { break };
                    if dirty.is_empty() {
                        first_at = tokio::time::Instant::now();
                    }
                    self.record(change, &mut dirty);
                    quiet_at = tokio::time::Instant::now() + self.debounce;
                }
                () = tokio::time::sleep_until(due), if !dirty.is_empty() => {
                    let batch = std::mem::take(&mut dirty);
                    // A shutdown does not wait for a large batch; a restart indexes afresh.
                    tokio::select! {
                        () = self.clone().publish(batch) => {}
                        () = shutdown.cancelled() => break,
                    }
                }
                () = shutdown.cancelled() => break,
            }
        }
    }

    /// Notes the project paths a change touched ("" for the whole project).
    fn record(
        &self,
        change: notify::Result<notify::Event>,
        dirty: &mut HashMap<Uuid, BTreeSet<String>>,
    ) {
        let Ok(state) = self.state.lock() else { return };
        let event = match change {
            Ok(event) => event,
            Err(err) => {
                tracing::warn!(error = %err, "watching the projects failed; rescanning them");
                for id in state.projects.keys() {
                    dirty.entry(*id).or_default().insert(String::new());
                }
                return;
            }
        };
        if event.need_rescan() {
            for id in state.projects.keys() {
                dirty.entry(*id).or_default().insert(String::new());
            }
            return;
        }
        for path in &event.paths {
            let Some((dir, id)) = state.by_dir.range(..=path.clone()).next_back() else {
                continue;
            };
            let Ok(rel) = path.strip_prefix(dir) else {
                continue;
            };
            let rel = rel.to_string_lossy();
            if rel.split('/').any(hidden) {
                continue;
            }
            dirty.entry(*id).or_default().insert(rel.into_owned());
        }
    }

    /// Compares the changed paths with the index and publishes the differences.
    async fn publish(self: Arc<Self>, batch: HashMap<Uuid, BTreeSet<String>>) {
        let this = self.clone();
        let events = tokio::task::spawn_blocking(move || this.reconcile(batch))
            .await
            .unwrap_or_default();
        if events.is_empty() {
            return;
        }
        let ctx = RequestContext::new();
        let mut acks = Vec::with_capacity(events.len());
        for event in &events {
            match self.bus.send_event(&ctx, event).await {
                Ok(ack) => acks.push(ack),
                Err(err) => tracing::warn!(error = %err, "a file event was not published"),
            }
        }
        for ack in acks {
            if let Err(err) = ack.await {
                tracing::warn!(error = %err, "a file event was not stored");
            }
        }
    }

    fn reconcile(&self, batch: HashMap<Uuid, BTreeSet<String>>) -> Vec<WorkspaceEvent> {
        let mut events = Vec::new();
        let Ok(mut state) = self.state.lock() else {
            return events;
        };
        let now = self.clock.now();
        for (project, paths) in batch {
            let Some(watched) = state.projects.get_mut(&project) else {
                continue;
            };
            let Ok(handle) = Dir::open_ambient_dir(&watched.dir, ambient_authority()) else {
                continue;
            };
            // A path under one already in the batch is covered by it (its ancestors are
            // looked up, so a batch of n paths costs n times their depth, not n squared).
            let mut done: HashSet<&str> = HashSet::new();
            for rel in &paths {
                let mut ancestors = std::iter::successors(Some(rel.as_str()), |p| {
                    p.rsplit_once('/').map(|(d, _)| d)
                });
                if done.contains("") || ancestors.any(|ancestor| done.contains(ancestor)) {
                    continue;
                }
                done.insert(rel);
                for (path, change) in diff(&mut watched.index, &handle, rel) {
                    events.push(event(project, watched.owner, now, path, change));
                }
            }
        }
        events
    }
}

/// A change of one path: what it is now (`None`: gone) and what it was.
type Change = (Option<Seen>, Option<Seen>);

/// What the index holds of `rel` and everything under it (all of it for "").
fn indexed<'a>(index: &'a BTreeMap<String, Seen>, rel: &str) -> Vec<(&'a String, &'a Seen)> {
    if rel.is_empty() {
        return index.iter().collect();
    }
    // Everything under `rel/` sorts between `rel/` and `rel0` ('0' follows '/').
    let (from, to) = (format!("{rel}/"), format!("{rel}0"));
    index
        .get_key_value(rel)
        .into_iter()
        .chain(index.range(from..to))
        .collect()
}

/// Brings the index of `rel` (and all under it) up to date with the disk; the differences.
fn diff(index: &mut BTreeMap<String, Seen>, handle: &Dir, rel: &str) -> Vec<(String, Change)> {
    let now = scan(handle, rel);
    let mut changes: Vec<(String, Change)> = indexed(index, rel)
        .into_iter()
        .filter(|(path, _)| !now.contains_key(*path))
        .map(|(path, was)| (path.clone(), (None, Some(*was))))
        .collect();
    for (path, seen) in &now {
        match index.get(path) {
            None => changes.push((path.clone(), (Some(*seen), None))),
            Some(was) if was != seen => {
                // A directory whose time changed is not an event; its entries are.
                if !(was.kind == EntryKind::Directory && seen.kind == EntryKind::Directory) {
                    changes.push((path.clone(), (Some(*seen), Some(*was))));
                }
            }
            Some(_) => {}
        }
    }
    for (path, _) in changes.iter().filter(|(_, (seen, _))| seen.is_none()) {
        index.remove(path);
    }
    index.extend(now);
    // Deletions first, children before parents; then the rest, parents before children.
    changes.sort_by(
        |(a, (a_now, _)), (b, (b_now, _))| match (a_now.is_none(), b_now.is_none()) {
            (true, true) => b.cmp(a),
            (false, false) => a.cmp(b),
            (true, false) => std::cmp::Ordering::Less,
            (false, true) => std::cmp::Ordering::Greater,
        },
    );
    changes
}

/// `rel` (the project for "") and everything under it, not following symlinks; nothing if it
/// does not exist or leads out of the project.
fn scan(handle: &Dir, rel: &str) -> HashMap<String, Seen> {
    let mut found = HashMap::new();
    let mut stack = Vec::new();
    if rel.is_empty() {
        stack.push(String::new());
    } else if let Ok(meta) = handle.symlink_metadata(rel) {
        found.insert(rel.to_owned(), Seen::of(&meta));
        if meta.is_dir() {
            stack.push(rel.to_owned());
        }
    }
    while let Some(dir) = stack.pop() {
        let entries = if dir.is_empty() {
            handle.entries()
        } else {
            handle.read_dir(&dir)
        };
        let Ok(entries) = entries else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if hidden(&name) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            let path = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            if meta.is_dir() {
                stack.push(path.clone());
            }
            found.insert(path, Seen::of(&meta));
        }
    }
    found
}

fn event(
    project: Uuid,
    owner: Uuid,
    now: chrono::DateTime<chrono::Utc>,
    path: String,
    (seen, was): Change,
) -> WorkspaceEvent {
    let (kind, basis, name) = match (seen, was) {
        (Some(seen), Some(was)) if seen.kind == was.kind => (
            WorkspaceEventKind::FileUpdated {
                path: path.clone(),
                size: seen.size,
            },
            seen,
            "updated",
        ),
        (Some(seen), _) => (
            WorkspaceEventKind::FileCreated {
                path: path.clone(),
                entry: seen.kind,
                size: seen.size,
            },
            seen,
            "created",
        ),
        (None, Some(was)) => (
            WorkspaceEventKind::FileDeleted {
                path: path.clone(),
                entry: was.kind,
            },
            was,
            "deleted",
        ),
        (None, None) => unreachable_change(&path),
    };
    WorkspaceEvent {
        event_id: derived_id(project, &path, name, basis),
        occurred_at: now,
        project_id: project,
        owner_id: owner,
        kind,
    }
}

/// A change is always of something that is or was; kept total without a panic.
fn unreachable_change(path: &str) -> (WorkspaceEventKind, Seen, &'static str) {
    (
        WorkspaceEventKind::FileDeleted {
            path: path.to_owned(),
            entry: EntryKind::File,
        },
        Seen {
            kind: EntryKind::File,
            size: 0,
            mtime_ns: 0,
            ino: 0,
        },
        "deleted",
    )
}

/// A UUIDv7 from what changed: its time is the file's, its random bits a hash of the change.
fn derived_id(project: Uuid, path: &str, change: &str, seen: Seen) -> Uuid {
    let mut hash = Sha256::new();
    hash.update(project.as_bytes());
    hash.update(path.as_bytes());
    hash.update([0]);
    hash.update(change.as_bytes());
    hash.update(seen.size.to_be_bytes());
    hash.update(seen.mtime_ns.to_be_bytes());
    hash.update(seen.ino.to_be_bytes());
    let digest = hash.finalize();
    let mut random = [0u8; 10];
    random.copy_from_slice(&digest[..10]);
    let millis = u64::try_from(seen.mtime_ns / 1_000_000).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}
