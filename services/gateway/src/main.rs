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
    #[command(flatten, next_help_heading = "Access tokens")]
    token: auth::TokenConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init("info", telemetry::LogFormat::from_env());
    let config = Config {
        token: cli.token,
        ..cli.gateway
    };
    // A missing or weak JWT secret fails here, before anything is connected.
    auth::TokenKeys::verifying(&config.token)
        .map_err(|err| anyhow::anyhow!("cannot verify access tokens: {err}"))?;
    let bus = cli.nats.connect("gateway").await?;
    let app = App::build(config, bus).await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(bus::shutdown_on_signal(shutdown.clone()));
    app.run_until_stopped(shutdown).await
}
