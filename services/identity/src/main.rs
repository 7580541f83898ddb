//! The identity service as its own process.

use clap::Parser;
use tokio_util::sync::CancellationToken;

/// Bourse identity service: accounts, roles, sessions and the login audit.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    nats: bus::NatsArgs,
    /// Postgres URL; the service uses its own schema `identity` in it.
    #[arg(
        long,
        env = "BOURSE_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/bourse"
    )]
    database_url: String,
    #[command(flatten)]
    token: auth::TokenConfig,
    #[command(flatten)]
    identity: identity::Config,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init("info", telemetry::LogFormat::from_env());
    let config = identity::Config {
        token: cli.token,
        ..cli.identity
    };
    config.signing_keys()?;
    let bus = cli.nats.connect("identity").await?;
    bus::provision::ensure_all(&bus, cli.nats.replicas()).await?;
    let pool =
        bus::pg::connect_and_migrate(&cli.database_url, identity::SCHEMA, &identity::MIGRATOR, 10)
            .await?;
    let app = identity::App::build(config, bus, pool).await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(bus::shutdown_on_signal(shutdown.clone()));
    app.run_until_stopped(shutdown).await
}
