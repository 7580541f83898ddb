//! The partition leases: which instance revalues which partition of the portfolios.
//!
//! Every [`RENEW_EVERY`], an instance
//! 1. writes its member key (`member.<id>`), and counts the member keys: the live instances;
//! 2. renews each lease it holds with a compare-and-set on the revision it last wrote (a lease
//!    whose renewal fails is dropped at once: someone else may hold it now);
//! 3. aims at a fair share, `⌈partitions ÷ members⌉`: it releases leases above it and creates
//!    free ones (create fails on a key that holds a value) up to it.
//!
//! A lease counts as held only until its last successful write plus the bucket's TTL minus
//! [`MARGIN`]: the server expires the key no sooner, so two instances never both count one
//! partition as theirs, even when one stops hearing from NATS. Keys of an instance that died
//! expire after the TTL; the others take its partitions at their next round.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use bus::{Bus, kv::Kv};
use chrono::Utc;
use contracts::valuation::Lease;
use contracts::valuation::{LeaseKey, PARTITIONS, ValuationLeases};
use futures::future::join_all;
use tokio::{sync::mpsc, time::Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long a key lives after its last write (the bucket's `max_age`,
/// `nats/kv/valuation_leases.json`).
pub const TTL: Duration = Duration::from_secs(10);
/// How often leases are renewed and shares rebalanced.
pub const RENEW_EVERY: Duration = Duration::from_secs(2);
/// How long before the server could expire a lease this instance stops counting it as held:
/// room for a revaluation under way to finish publishing.
pub const MARGIN: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy)]
struct Held {
    revision: u64,
    valid_until: Instant,
}

#[derive(Debug, Default)]
struct State {
    held: BTreeMap<u16, Held>,
    members: u32,
}

/// What this instance holds, shared with the worker and the status endpoint.
#[derive(Debug, Default)]
pub struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the map half-written: plain inserts.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every lease on the books, valid or not (the keeper's working copy).
    fn held(&self) -> Vec<(u16, Held)> {
        self.lock().held.iter().map(|(p, h)| (*p, *h)).collect()
    }

    /// The partitions held now (each valid for a while yet), as a lookup table.
    pub fn snapshot(&self) -> [bool; PARTITIONS as usize] {
        let now = Instant::now();
        let mut held = [false; PARTITIONS as usize];
        for (partition, lease) in &self.lock().held {
            held[usize::from(*partition)] = lease.valid_until > now;
        }
        held
    }

    /// The partitions held now, in order.
    pub fn partitions(&self) -> Vec<u16> {
        let now = Instant::now();
        self.lock()
            .held
            .iter()
            .filter(|(_, lease)| lease.valid_until > now)
            .map(|(partition, _)| *partition)
            .collect()
    }

    /// Live instances, as last counted.
    pub fn members(&self) -> u32 {
        self.lock().members
    }
}

/// The lease keeper of one instance.
pub struct Leases {
    kv: Kv<ValuationLeases>,
    instance: Uuid,
    since: chrono::DateTime<Utc>,
    shared: Arc<Shared>,
}

impl Leases {
    pub async fn new(bus: &Bus, instance: Uuid) -> Result<Self, bus::BusError> {
        Ok(Self {
            kv: bus.bucket::<ValuationLeases>().await?,
            instance,
            since: Utc::now(),
            shared: Arc::default(),
        })
    }

    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    fn lease(&self) -> Lease {
        Lease {
            instance: self.instance,
            since: self.since,
        }
    }

    /// Keeps the leases until `shutdown`, sending each batch of newly taken partitions to
    /// `taken`; then releases them all, so another instance takes them at once.
    pub async fn run(self, taken: mpsc::UnboundedSender<Vec<u16>>, shutdown: CancellationToken) {
        let mut every = tokio::time::interval(RENEW_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = every.tick() => {
                    let fresh = self.round().await;
                    if !fresh.is_empty() && taken.send(fresh).is_err() {
                        break;
                    }
                }
            }
        }
        self.release_all().await;
    }

    /// One round: membership, renewals, rebalancing. Returns the partitions taken.
    async fn round(&self) -> Vec<u16> {
        let me = LeaseKey::Member(self.instance);
        if let Err(err) = self.kv.put(&me, &self.lease()).await {
            tracing::warn!(error = %err, "cannot write this instance's member key");
        }
        let members = match self.kv.keys().await {
            Ok(keys) => keys
                .iter()
                .filter(|k| matches!(k, LeaseKey::Member(_)))
                .count(),
            Err(err) => {
                tracing::warn!(error = %err, "cannot count the valuation instances");
                self.shared.lock().members as usize
            }
        }
        .max(1);
        self.renew().await;
        let target = usize::from(PARTITIONS).div_ceil(members);
        let held = self.shared.held();
        self.shared.lock().members = u32::try_from(members).unwrap_or(u32::MAX);
        if held.len() > target {
            self.release(&held[target..]).await;
            return Vec::new();
        }
        self.take(target - held.len()).await
    }

    /// Renews every lease held, each with its last revision.
    async fn renew(&self) {
        let held = self.shared.held();
        let lease = self.lease();
        let renewals = held.iter().map(|(partition, h)| {
            let lease = &lease;
            async move {
                let started = Instant::now();
                let key = LeaseKey::Partition(*partition);
                (
                    *partition,
                    started,
                    self.kv.update(&key, lease, h.revision).await,
                )
            }
        });
        for (partition, started, renewed) in join_all(renewals).await {
            let mut state = self.shared.lock();
            match renewed {
                Ok(revision) => {
                    state.held.insert(
                        partition,
                        Held {
                            revision,
                            valid_until: started + TTL - MARGIN,
                        },
                    );
                }
                Err(err) => {
                    state.held.remove(&partition);
                    tracing::info!(partition, error = %err, "lost the lease of a partition");
                }
            }
        }
    }

    /// Creates up to `wanted` free leases, starting at a place of this instance's own so that
    /// instances starting together do not all race for the same keys.
    async fn take(&self, wanted: usize) -> Vec<u16> {
        if wanted == 0 {
            return Vec::new();
        }
        let start = self.instance.as_u128() as u16 % PARTITIONS;
        let lease = self.lease();
        let mut taken = Vec::new();
        for step in 0..PARTITIONS {
            if taken.len() == wanted {
                break;
            }
            let partition = (start + step) % PARTITIONS;
            if self.shared.lock().held.contains_key(&partition) {
                continue;
            }
            let started = Instant::now();
            if let Ok(revision) = self
                .kv
                .create(&LeaseKey::Partition(partition), &lease)
                .await
            {
                self.shared.lock().held.insert(
                    partition,
                    Held {
                        revision,
                        valid_until: started + TTL - MARGIN,
                    },
                );
                taken.push(partition);
            }
        }
        if !taken.is_empty() {
            tracing::info!(partitions = ?taken, "took partitions");
        }
        taken
    }

    /// Stops counting `leases` as held, then deletes their keys (only if still ours).
    async fn release(&self, leases: &[(u16, Held)]) {
        {
            let mut state = self.shared.lock();
            for (partition, _) in leases {
                state.held.remove(partition);
            }
        }
        let deletions = leases.iter().map(|(partition, h)| async move {
            self.kv
                .delete_at(&LeaseKey::Partition(*partition), h.revision)
                .await
        });
        for deleted in join_all(deletions).await {
            if let Err(err) = deleted {
                tracing::debug!(error = %err, "releasing a lease failed; it expires instead");
            }
        }
        let released: Vec<u16> = leases.iter().map(|(p, _)| *p).collect();
        tracing::info!(partitions = ?released, "released partitions to other instances");
    }

    async fn release_all(&self) {
        let held = self.shared.held();
        if !held.is_empty() {
            self.release(&held).await;
        }
        if let Err(err) = self.kv.delete(&LeaseKey::Member(self.instance)).await {
            tracing::debug!(error = %err, "deleting the member key failed; it expires instead");
        }
    }
}
