//! The gateway binary: parse the configuration, connect to NATS, serve until Ctrl-C/SIGTERM.

use bus::NatsArgs;
use clap::Parser;
use gateway::{App, Config};
use tokio_util::sync::CancellationToken;

/// Bourse gateway: the HTTP and WebSocket edge.
#[derive(Debug, Parser)]
#[command(name = "gateway", version)]
struct Cli {
    #[command(flatten)]
    nats: NatsArgs,
    #[command(flatten)]
    gateway: Config,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init("info", telemetry::LogFormat::from_env());
    let bus = cli.nats.connect("gateway").await?;
    let app = App::build(cli.gateway, bus).await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    app.run_until_stopped(shutdown).await
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = ctrl_c.await;
            return shutdown.cancel();
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
    shutdown.cancel();
}
