//! Directory listings kept for a moment, so the pages of one listing are one snapshot and the
//! later pages cost no second read of the directory and its git status.
//!
//! A page after the first is answered from the listing the first page made when it is at most
//! [`FRESH`] old and the directory has not gained or lost an entry since (its modification
//! time is unchanged). The first page is always read afresh.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use contracts::workspace::DirEntry;
use uuid::Uuid;

/// How long a listing serves its later pages.
const FRESH: Duration = Duration::from_secs(2);

/// Listings kept at most (the oldest goes first).
const KEPT: usize = 64;

/// A project and a directory in it ("" for the project's own).
type Key = (Uuid, String);

#[derive(Debug, Clone)]
struct Kept {
    at: Instant,
    /// The directory's modification time when it was read.
    stamp: String,
    entries: Arc<Vec<DirEntry>>,
}

#[derive(Debug, Default)]
pub struct Listings {
    kept: Mutex<HashMap<Key, Kept>>,
}

impl Listings {
    /// The listing of `dir` made at most [`FRESH`] ago while the directory was `stamp`.
    pub fn get(&self, project: Uuid, dir: &str, stamp: &str) -> Option<Arc<Vec<DirEntry>>> {
        let kept = self.kept.lock().ok()?;
        let found = kept.get(&(project, dir.to_owned()))?;
        (found.at.elapsed() < FRESH && found.stamp == stamp).then(|| found.entries.clone())
    }

    pub fn put(&self, project: Uuid, dir: &str, stamp: String, entries: Arc<Vec<DirEntry>>) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        kept.retain(|_, k| k.at.elapsed() < FRESH);
        if kept.len() >= KEPT
            && let Some(oldest) = kept
                .iter()
                .min_by_key(|(_, k)| k.at)
                .map(|(key, _)| key.clone())
        {
            kept.remove(&oldest);
        }
        kept.insert(
            (project, dir.to_owned()),
            Kept {
                at: Instant::now(),
                stamp,
                entries,
            },
        );
    }
}
