//! [`App`]: the gateway, built from its dependencies (config and bus) so that its own binary,
//! `bourse dev` and the tests all start the very same thing.

use std::{future::IntoFuture, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{Router, extract::FromRef};
use bus::{Bus, RunningService, ServiceError};
use chrono::{DateTime, Utc};
use contracts::gateway::GetGatewayHealth;
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{auth::Verifier, config::Config, health, metrics::Metrics, ratelimit::Limits, router};

/// How often rate-limit state of quiet clients is dropped.
const FORGET_IDLE_EVERY: Duration = Duration::from_secs(60);

/// What every handler can reach.
#[derive(Clone, FromRef)]
pub(crate) struct AppState {
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
}

/// A built gateway: listening, registered with NATS, not serving yet.
pub struct App {
    listener: TcpListener,
    router: Router,
    state: AppState,
    service: RunningService,
}

impl App {
    /// Binds the HTTP listener and registers the ADR-32 service `gateway`
    /// (endpoint `gateway.v1.health.get`), so discovery lists the gateway.
    pub async fn build(config: Config, bus: Bus) -> anyhow::Result<App> {
        anyhow::ensure!(config.ws_buffer >= 1, "BOURSE_WS_BUFFER must be at least 1");
        // Before anything else: no usable token key, no gateway.
        let verifier = Verifier::new(&config.token).context("cannot verify access tokens")?;
        let limits = Limits::new(&config);
        let listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.http_addr))?;
        let local_addr = listener
            .local_addr()
            .context("the listener has no local address")?;
        let state = AppState {
            bus: bus.clone(),
            config: Arc::new(config),
            metrics: Arc::new(Metrics::new()),
            local_addr,
            started_at: Utc::now(),
            sessions: CancellationToken::new(),
            ws_tasks: TaskTracker::new(),
            verifier: Arc::new(verifier),
            limits: Arc::new(limits),
        };
        let router = router::build(state.clone())?;
        let endpoint_state = state.clone();
        let service = bus
            .service(
                "gateway",
                env!("CARGO_PKG_VERSION"),
                "HTTP and WebSocket edge of Bourse",
            )
            .endpoint(move |_ctx, _request: GetGatewayHealth| {
                let health = health::own_health(&endpoint_state);
                async move { Ok::<_, ServiceError>(health) }
            })
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

    pub fn local_addr(&self) -> SocketAddr {
        self.state.local_addr
    }

    /// Serves until `shutdown`, then stops taking connections, closes WebSocket sessions
    /// (code 1001), lets requests in flight finish within the grace period and deregisters.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let App {
            listener,
            router,
            state,
            service,
        } = self;
        let grace = state.config.shutdown_grace;
        let sessions = state.sessions.clone();
        let signal = shutdown.clone();
        let forget = tokio::spawn(forget_idle(state.limits.clone(), shutdown.clone()));
        // The peer address is the client IP of the per-IP rate limits.
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            signal.cancelled().await;
            sessions.cancel();
        })
        .into_future();
        // Draining may not outlast the grace period once shutdown has begun.
        let served = async {
            tokio::pin!(served);
            tokio::select! {
                result = &mut served => result,
                () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                    tracing::warn!("HTTP requests still running after the grace period");
                    Ok(())
                }
            }
        };
        let result = served.await.context("the HTTP server failed");
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
        result
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
