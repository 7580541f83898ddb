//! Building and running the terminal service through the service kit: the same code runs in
//! its own binary, in `bourse dev`, in the bench and in tests.

use std::sync::Arc;

use anyhow::Context;
use bus::{
    RunningService,
    kit::{Deps, Service},
};
use contracts::{Event, terminal::TerminalExited};
use tokio_util::sync::CancellationToken;

use crate::{config::Config, handlers, sessions::Sessions};

/// A started terminal service.
pub struct App {
    service: RunningService,
    sessions: Arc<Sessions>,
}

impl Service for App {
    const NAME: &'static str = "terminal";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "PTY sessions on the server whose output streams through NATS to any number of sockets";
    type Config = Config;

    fn check(config: &Config) -> anyhow::Result<()> {
        anyhow::ensure!(
            config.terminal_scrollback >= 4096,
            "BOURSE_TERMINAL_SCROLLBACK must be at least 4096 bytes"
        );
        anyhow::ensure!(
            config.terminal_max_per_user >= 1 && config.terminal_max_per_instance >= 1,
            "the terminal session limits must be at least 1"
        );
        Ok(())
    }

    async fn build(config: Config, deps: Deps) -> anyhow::Result<Self> {
        deps.bus
            .stream(TerminalExited::STREAM)
            .await
            .context("the stream TERMINAL is missing; provision the streams")?;
        let sessions = Arc::new(
            Sessions::new(&config, deps.bus.clone(), deps.clock.clone())
                .await
                .context("cannot prepare the terminal sessions")?,
        );
        // Listed before it answers, so a list right after the start finds it.
        sessions.heartbeat().await;
        let instance = sessions.instance.clone();
        let service = deps
            .service::<Self>()
            .state(sessions.clone())
            .endpoint(handlers::create)
            .endpoint(handlers::list)
            .endpoint(handlers::overview)
            .routed_endpoint(&instance, handlers::list_here)
            .routed_endpoint(&instance, handlers::stats_here)
            .routed_endpoint(&instance, handlers::get)
            .routed_endpoint(&instance, handlers::close)
            .routed_endpoint(&instance, handlers::write)
            .routed_endpoint(&instance, handlers::resize)
            .routed_endpoint(&instance, handlers::history)
            .routed_endpoint(&instance, handlers::commands)
            .routed_endpoint(&instance, handlers::attach)
            .routed_endpoint(&instance, handlers::detach)
            .start()
            .await?;
        tracing::info!(%instance, "terminal instance ready");
        Ok(Self { service, sessions })
    }

    /// Serves until `shutdown`; then stops taking requests, ends every session (their
    /// `exited` events are published) and leaves `terminal_instances`.
    async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.sessions.maintain(shutdown).await;
        self.service.stop(std::time::Duration::from_secs(5)).await;
        self.sessions.shut_down().await;
        Ok(())
    }
}

impl App {
    /// This instance's sessions.
    pub fn sessions(&self) -> &Arc<Sessions> {
        &self.sessions
    }
}
