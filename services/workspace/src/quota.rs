//! A user's disk use against their quota: everything under `<root>/<user id>`, `.git` and
//! files made in terminals included, because it is all on the same disk.
//!
//! Counting walks the directory; the figure is kept for a moment ([`FRESH`]) and moved by
//! the service's own writes meanwhile, so a burst of writes walks once. A write that would
//! pass the quota is refused before anything is written.

use std::{
    collections::HashMap,
    path::Path,
    sync::Mutex,
    time::{Duration, Instant},
};

use bus::{ErrorCode, ServiceError};
use contracts::workspace::Usage;
use uuid::Uuid;

/// How long a counted figure is used before the directory is walked again.
const FRESH: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub struct Quota {
    max_bytes: u64,
    max_files: u64,
    counted: Mutex<HashMap<Uuid, (Instant, u64, u64)>>,
}

impl Quota {
    pub fn new(max_bytes: u64, max_files: u64) -> Self {
        Self {
            max_bytes,
            max_files,
            counted: Mutex::default(),
        }
    }

    /// The user's use now (`dir` is their workspace directory). Blocking.
    pub fn usage(&self, user: Uuid, dir: &Path) -> Usage {
        let now = Instant::now();
        let cached = self
            .counted
            .lock()
            .ok()
            .and_then(|counted| counted.get(&user).copied())
            .filter(|(at, _, _)| now.duration_since(*at) < FRESH);
        let (bytes, files) = match cached {
            Some((_, bytes, files)) => (bytes, files),
            None => {
                let (bytes, files) = count(dir);
                if let Ok(mut counted) = self.counted.lock() {
                    counted.insert(user, (now, bytes, files));
                }
                (bytes, files)
            }
        };
        Usage {
            bytes,
            files,
            max_bytes: self.max_bytes,
            max_files: self.max_files,
        }
    }

    /// Refuses a write of `adding` bytes over `replacing` bytes (and `new_files` more
    /// entries) that would pass the quota; otherwise counts it. Blocking.
    pub fn reserve(
        &self,
        user: Uuid,
        dir: &Path,
        adding: u64,
        replacing: u64,
        new_files: u64,
    ) -> Result<(), ServiceError> {
        let usage = self.usage(user, dir);
        let bytes = (usage.bytes + adding).saturating_sub(replacing);
        let files = usage.files + new_files;
        if adding > replacing && bytes > self.max_bytes {
            return Err(ServiceError::new(
                ErrorCode::QuotaExceeded,
                format!(
                    "this would use {bytes} bytes of your {} byte quota (you use {}); delete files first",
                    self.max_bytes, usage.bytes
                ),
            )
            .with_details(serde_json::to_value(&usage).unwrap_or_default()));
        }
        if new_files > 0 && files > self.max_files {
            return Err(ServiceError::new(
                ErrorCode::QuotaExceeded,
                format!(
                    "your workspace may hold {} files and holds {}; delete files first",
                    self.max_files, usage.files
                ),
            )
            .with_details(serde_json::to_value(&usage).unwrap_or_default()));
        }
        if let Ok(mut counted) = self.counted.lock()
            && let Some(entry) = counted.get_mut(&user)
        {
            entry.1 = bytes;
            entry.2 = files;
        }
        Ok(())
    }

    /// Refuses when the user's directory already holds more than the quota allows (after a
    /// clone or a pull put files there). Blocking.
    pub fn check(&self, user: Uuid, dir: &Path) -> Result<(), ServiceError> {
        let usage = self.usage(user, dir);
        if usage.bytes > self.max_bytes || usage.files > self.max_files {
            return Err(ServiceError::new(
                ErrorCode::QuotaExceeded,
                format!(
                    "this would leave {} bytes in {} files in your workspace; your quota is {} bytes in {} files",
                    usage.bytes, usage.files, self.max_bytes, self.max_files
                ),
            )
            .with_details(serde_json::to_value(&usage).unwrap_or_default()));
        }
        Ok(())
    }

    /// Refuses when `adding` more bytes would pass the quota, without counting them. Blocking.
    pub fn check_adding(&self, user: Uuid, dir: &Path, adding: u64) -> Result<(), ServiceError> {
        let usage = self.usage(user, dir);
        if usage.bytes + adding > self.max_bytes {
            return Err(ServiceError::new(
                ErrorCode::QuotaExceeded,
                format!(
                    "this upload would pass your {} byte quota (you use {}); delete files first",
                    self.max_bytes, usage.bytes
                ),
            )
            .with_details(serde_json::to_value(&usage).unwrap_or_default()));
        }
        Ok(())
    }

    /// Forgets the counted figure (after a deletion, a clone), so the next check walks.
    pub fn forget(&self, user: Uuid) {
        if let Ok(mut counted) = self.counted.lock() {
            counted.remove(&user);
        }
    }
}

/// Bytes and entries (files and directories) under a user's `dir`, not following symlinks.
/// Blocking.
pub fn count(dir: &Path) -> (u64, u64) {
    walk(dir, false)
}

/// Files (not directories) and their bytes in a project, `.git` and the service's temporary
/// files left out. Blocking.
pub fn count_outside_git(project: &Path) -> (u64, u64) {
    walk(project, true)
}

/// Bytes and entries under `dir`; for a project, only files, and not `.git` nor temporary ones.
fn walk(dir: &Path, project: bool) -> (u64, u64) {
    let (mut bytes, mut entries) = (0, 0);
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(listed) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in listed.flatten() {
            if project && crate::sandbox::hidden(&entry.file_name().to_string_lossy()) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
                entries += u64::from(!project);
            } else {
                entries += 1;
                bytes += meta.len();
            }
        }
    }
    (bytes, entries)
}
