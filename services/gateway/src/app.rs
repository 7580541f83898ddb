//! [`App`]: the gateway as the service kit starts it (`bus::kit::Service`), so that its own
//! binary, `bourse dev`, the bench and the tests all start the very same thing.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{Router, extract::FromRef};
use bus::{
    Bus, RunningService,
    kit::{Deps, Service},
};
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    auth::Verifier,
    config::Config,
    error::GATEWAY,
    health,
    metrics::Metrics,
    ratelimit::Limits,
    router,
    ws::{caps::SocketCaps, hub::Hub},
};

/// How often rate-limit state of quiet clients is dropped.
const FORGET_IDLE_EVERY: Duration = Duration::from_secs(60);

/// What every handler can reach: one `Arc`, so that the copy each middleware layer and each
/// handler takes per request is one reference count, not one per field (cloning and dropping
/// the fields one by one was 16 % of the gateway's CPU per request in the bench profile).
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

impl AppState {
    pub(crate) fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}

/// The gateway's state, behind [`AppState`].
pub(crate) struct Shared {
    pub(crate) bus: Bus,
    pub(crate) config: Arc<Config>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) local_addr: SocketAddr,
    pub(crate) started_at: DateTime<Utc>,
    /// Cancelled at shutdown: every WebSocket session watches it.
    pub(crate) sessions: CancellationToken,
    /// The WebSocket sessions, which outlive their HTTP request.
    pub(crate) ws_tasks: TaskTracker,
    /// Verifies access tokens (HTTP and WebSocket).
    pub(crate) verifier: Arc<Verifier>,
    pub(crate) limits: Arc<Limits>,
    /// What `/health/all` expects to find running.
    pub(crate) expected_services: Arc<[String]>,
    /// When a WebSocket's sign-in ends is read from it.
    pub(crate) clock: bus::Clock,
    /// The shared live feeds every WebSocket session joins.
    pub(crate) hub: Arc<Hub>,
    /// Open WebSockets per IP and per user.
    pub(crate) socket_caps: Arc<SocketCaps>,
}

/// A built gateway: listening, registered with NATS, not serving yet.
pub struct App {
    listener: TcpListener,
    router: Router,
    state: AppState,
    service: RunningService,
}

impl Service for App {
    const NAME: &'static str = GATEWAY;
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "HTTP and WebSocket edge of Bourse";
    type Config = Config;

    /// A missing or weak JWT secret fails here, before anything is connected.
    fn check(config: &Config) -> anyhow::Result<()> {
        anyhow::ensure!(config.ws_buffer >= 1, "BOURSE_WS_BUFFER must be at least 1");
        auth::TokenKeys::verifying(&config.token).context("cannot verify access tokens")?;
        Ok(())
    }

    /// Binds the HTTP listener and registers the ADR-32 service `gateway`
    /// (endpoint `gateway.v1.health.get`), so discovery lists the gateway.
    async fn build(config: Config, deps: Deps) -> anyhow::Result<App> {
        let verifier = Verifier::new(&config.token).context("cannot verify access tokens")?;
        let limits = Limits::new(&config);
        let expected_services =
            health::expected_services(&config.expected_services, &deps.services);
        let listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.http_addr))?;
        let local_addr = listener
            .local_addr()
            .context("the listener has no local address")?;
        let sessions = CancellationToken::new();
        let hub = Hub::new(deps.bus.clone(), config.ws_buffer, sessions.clone());
        let socket_caps = Arc::new(SocketCaps::new(
            config.ws_max_per_ip,
            config.ws_max_per_user,
        ));
        let state = AppState::new(Shared {
            bus: deps.bus.clone(),
            config: Arc::new(config),
            metrics: Arc::new(Metrics::new()),
            local_addr,
            started_at: deps.clock.now(),
            sessions,
            ws_tasks: TaskTracker::new(),
            verifier: Arc::new(verifier),
            limits: Arc::new(limits),
            expected_services: expected_services.into(),
            clock: deps.clock.clone(),
            hub: Arc::new(hub),
            socket_caps,
        });
        let router = router::build(state.clone())?;
        let service = deps
            .service::<Self>()
            .state(Arc::new(state.clone()))
            .endpoint(health::own_health_endpoint)
            .start()
            .await
            .context("cannot register the gateway service with NATS")?;
        tracing::info!(%local_addr, "gateway listening");
        Ok(App {
            listener,
            router,
            state,
            service,
        })
    }

    async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.serve(shutdown).await
    }

    fn http_addr(&self) -> Option<SocketAddr> {
        Some(self.state.local_addr)
    }
}

impl App {
    pub fn local_addr(&self) -> SocketAddr {
        self.state.local_addr
    }

    /// Serves until `shutdown`, then stops taking connections, closes WebSocket sessions
    /// (code 1001), lets requests in flight finish within the grace period and deregisters.
    async fn serve(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let App {
            listener,
            router,
            state,
            service,
        } = self;
        let grace = state.config.shutdown_grace;
        let forget = tokio::spawn(forget_idle(state.limits.clone(), shutdown.clone()));
        let served = async {
            tokio::join!(
                crate::serve::serve(
                    listener,
                    router,
                    state.config.header_read_timeout,
                    state.config.max_connections,
                    state.metrics.clone(),
                    shutdown.clone()
                ),
                // WebSocket sessions are told to close (1001) as soon as shutdown begins.
                async {
                    shutdown.cancelled().await;
                    state.sessions.cancel();
                },
            )
        };
        // Draining may not outlast the grace period once shutdown has begun.
        tokio::select! {
            _ = served => {}
            () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!("HTTP requests still running after the grace period");
            }
        }
        state.sessions.cancel();
        state.ws_tasks.close();
        if tokio::time::timeout(grace, state.ws_tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("WebSocket sessions still open after the grace period");
        }
        service.stop(grace.min(Duration::from_secs(5))).await;
        forget.abort();
        tracing::info!("gateway stopped");
        Ok(())
    }
}

/// Drops the rate-limit state of clients that went quiet, until `stop`.
async fn forget_idle(limits: Arc<Limits>, stop: CancellationToken) {
    let mut every = tokio::time::interval(FORGET_IDLE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = every.tick() => limits.forget_idle(),
        }
    }
}
