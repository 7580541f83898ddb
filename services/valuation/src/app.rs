//! Building and running the valuation worker through the service kit: the same code runs in
//! its own binary, in `bourse dev`, in the bench and in tests.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

use anyhow::Context;
use bus::{
    RequestContext, RunningService, ServiceError,
    kit::{Deps, Service},
};
use contracts::{
    Event,
    portfolio::PortfolioCreated,
    valuation::{GetValuationStatus, PortfolioValued, ValuationStatus},
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    config::Config,
    leases::{Leases, Shared},
    worker::Worker,
};

/// What the answering instance does, for `valuation.v1.status.get` and tests.
#[derive(Debug)]
pub struct Status {
    instance: Uuid,
    leases: Arc<Shared>,
    ready: AtomicBool,
    portfolios: AtomicU64,
    symbols: AtomicU64,
    published: AtomicU64,
}

impl Status {
    pub(crate) fn set_ready(&self) {
        self.ready.store(true, Ordering::Relaxed);
    }

    pub(crate) fn set_counts(&self, portfolios: usize, symbols: usize) {
        self.portfolios.store(portfolios as u64, Ordering::Relaxed);
        self.symbols.store(symbols as u64, Ordering::Relaxed);
    }

    pub(crate) fn add_published(&self, n: u64) {
        self.published.fetch_add(n, Ordering::Relaxed);
    }

    /// This instance's id (its member key and lease values name it).
    pub fn instance(&self) -> Uuid {
        self.instance
    }

    /// The partitions this instance holds now.
    pub fn partitions(&self) -> Vec<u16> {
        self.leases.partitions()
    }

    pub fn report(&self) -> ValuationStatus {
        ValuationStatus {
            instance: self.instance,
            ready: self.ready.load(Ordering::Relaxed),
            members: self.leases.members(),
            partitions: self.leases.partitions(),
            portfolios: self.portfolios.load(Ordering::Relaxed),
            symbols: self.symbols.load(Ordering::Relaxed),
            published: self.published.load(Ordering::Relaxed),
        }
    }
}

/// `valuation.v1.status.get`.
async fn report_status(
    status: &Status,
    _ctx: RequestContext,
    _req: GetValuationStatus,
) -> Result<ValuationStatus, ServiceError> {
    Ok(status.report())
}

/// A started valuation worker.
pub struct App {
    service: RunningService,
    leases: Leases,
    worker: Worker,
    status: Arc<Status>,
}

impl Service for App {
    const NAME: &'static str = "valuation";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "Revalues every portfolio as prices tick and activities change holdings";
    type Config = Config;

    fn check(config: &Config) -> anyhow::Result<()> {
        anyhow::ensure!(
            config.valuation_coalesce <= std::time::Duration::from_secs(60),
            "BOURSE_VALUATION_COALESCE must be at most 60s"
        );
        Ok(())
    }

    async fn build(config: Config, deps: Deps) -> anyhow::Result<Self> {
        for stream in [PortfolioValued::STREAM, PortfolioCreated::STREAM] {
            deps.bus.stream(stream).await.with_context(|| {
                format!("the stream {stream} is missing; provision the streams")
            })?;
        }
        let instance = contracts::new_id();
        let leases = Leases::new(&deps.bus, instance)
            .await
            .context("the KV bucket `valuation_leases` is missing; provision the streams")?;
        let status = Arc::new(Status {
            instance,
            leases: leases.shared(),
            ready: AtomicBool::new(false),
            portfolios: AtomicU64::new(0),
            symbols: AtomicU64::new(0),
            published: AtomicU64::new(0),
        });
        let worker = Worker::new(
            deps.bus.clone(),
            config.valuation_coalesce,
            leases.shared(),
            status.clone(),
        );
        let service = deps
            .service::<Self>()
            .state(status.clone())
            .endpoint(report_status)
            .start()
            .await?;
        Ok(Self {
            service,
            leases,
            worker,
            status,
        })
    }

    /// Keeps the leases and values portfolios until `shutdown`; then the worker stops first
    /// and the leases are released after, so nothing is published for a partition this
    /// instance no longer holds and another instance takes them at once.
    ///
    /// Nothing is spawned: dropping this future (a crash, in tests) stops everything without
    /// releasing anything, and the leases expire.
    async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let (taken_tx, taken_rx) = mpsc::unbounded_channel();
        let release = CancellationToken::new();
        let worker = async {
            self.worker.run(taken_rx, shutdown.clone()).await;
            release.cancel();
        };
        tokio::join!(self.leases.run(taken_tx, release.clone()), worker);
        self.service.stop(std::time::Duration::from_secs(5)).await;
        Ok(())
    }
}

impl App {
    /// What this instance does.
    pub fn status(&self) -> &Arc<Status> {
        &self.status
    }
}
