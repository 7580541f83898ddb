//! `bourse dev`: the whole system in one process (DESIGN.md §6).
//!
//! Each service runs exactly as its own binary would: its own NATS connection (named after it),
//! its own Postgres pool on its own schema, the same `App::build` / `run_until_stopped`. They
//! meet only over NATS. Before that, NATS and Postgres are made reachable
//! ([`LocalServers`]), the database is created when missing, every service's migrations run and
//! the streams and buckets are provisioned. The first Ctrl-C (or SIGTERM) stops the services
//! gracefully, then the servers this command started.

use std::{future::Future, net::SocketAddr, path::PathBuf};

use anyhow::Context;
use bus::{NatsArgs, provision};
use tokio_util::sync::CancellationToken;

use crate::{
    DEFAULT_DATABASE_URL, database, local_servers::LocalServers, migrate, shutdown::Signals,
};

/// Connections per service pool; `bourse dev` serves one developer.
const POOL_SIZE: u32 = 5;

/// Runs the gateway and every service in one process.
#[derive(Debug, clap::Args)]
pub(crate) struct DevArgs {
    /// Postgres URL; each service gets its own schema in this database, which is created when
    /// missing. A local server is started when nothing answers at a local address.
    #[arg(long, env = "BOURSE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,

    /// Where locally started NATS and Postgres keep their data and logs.
    #[arg(long, env = "BOURSE_DATA_DIR", default_value = ".data")]
    data_dir: PathBuf,

    #[command(flatten, next_help_heading = "NATS")]
    nats: NatsArgs,

    #[command(flatten)]
    services: ServiceConfigs,
}

/// The flags of every service, as its own binary has them, and the access-token flags once,
/// shared by identity (which signs) and the gateway (which verifies).
#[derive(Debug, Clone)]
struct ServiceConfigs {
    gateway: gateway::Config,
    identity: identity::Config,
    market: market::Config,
    token: auth::TokenConfig,
}

impl clap::FromArgMatches for ServiceConfigs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Ok(Self {
            gateway: gateway::Config::from_arg_matches(matches)?,
            identity: identity::Config::from_arg_matches(matches)?,
            market: market::Config::from_arg_matches(matches)?,
            token: auth::TokenConfig::from_arg_matches(matches)?,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.gateway.update_from_arg_matches(matches)?;
        self.identity.update_from_arg_matches(matches)?;
        self.market.update_from_arg_matches(matches)?;
        self.token.update_from_arg_matches(matches)
    }
}

impl clap::Args for ServiceConfigs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let cmd = flatten_service::<gateway::Config>(cmd, "gateway", "Gateway");
        let cmd = flatten_service::<identity::Config>(cmd, "identity", "Identity");
        let cmd = flatten_service::<auth::TokenConfig>(cmd, "jwt", "Access tokens");
        flatten_service::<market::Config>(cmd, "market", "Market")
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// Adds a service's `Config` flags under their own help heading. Every service calls its struct
/// `Config`, and clap's derive names a struct's argument group after it, so two flattened
/// configs would clash on the group `Config`: each is renamed after its service as it comes in.
fn flatten_service<T: clap::Args>(
    cmd: clap::Command,
    service: &'static str,
    heading: &'static str,
) -> clap::Command {
    let cmd = T::augment_args(cmd.next_help_heading(heading));
    let cmd = if cmd.get_groups().any(|group| group.get_id() == "Config") {
        cmd.mut_group("Config", |group| group.id(service))
    } else {
        cmd
    };
    // Flags declared after the services' go back under the default heading.
    cmd.next_help_heading(Option::<&'static str>::None)
}

pub(crate) async fn run(args: DevArgs) -> anyhow::Result<()> {
    let signals = Signals::install();
    let local = tokio::select! {
        local = LocalServers::ensure(&args.nats.nats_url, &args.database_url, &args.data_dir) => local?,
        () = signals.graceful.cancelled() => return Ok(()),
    };
    let result = run_services(&args, &signals).await;
    local.stop().await;
    result
}

/// The started services, ready to run.
struct Started {
    identity: identity::App,
    market: market::App,
    gateway: gateway::App,
}

async fn run_services(args: &DevArgs, signals: &Signals) -> anyhow::Result<()> {
    let started = tokio::select! {
        started = start(args) => started?,
        () = signals.graceful.cancelled() => return Ok(()),
    };
    let http_addr = started.gateway.local_addr();
    print_banner(http_addr, &args.nats);

    let shutdown = signals.graceful.clone();
    let all = async {
        tokio::join!(
            supervise(
                "identity",
                started.identity.run_until_stopped(shutdown.clone()),
                &shutdown
            ),
            supervise(
                "market",
                started.market.run_until_stopped(shutdown.clone()),
                &shutdown
            ),
            supervise(
                "gateway",
                started.gateway.run_until_stopped(shutdown.clone()),
                &shutdown
            ),
        )
    };
    let (identity, market, gateway) = tokio::select! {
        results = all => results,
        () = signals.force.cancelled() => return Ok(()),
    };
    identity.and(market).and(gateway)
}

/// Provisions, migrates and builds every service, each with its own connection and pool.
async fn start(args: &DevArgs) -> anyhow::Result<Started> {
    database::ensure_database(&args.database_url).await?;
    let admin = args.nats.connect("bourse-dev").await?;
    provision::ensure_all(&admin, args.nats.replicas())
        .await
        .context("cannot provision streams and buckets")?;
    migrate::migrate_all(&args.database_url).await?;

    let token = dev_token(args.services.token.clone())?;
    let identity = {
        let bus = args.nats.connect("identity").await?;
        let pool = bus::pg::connect_and_migrate(
            &args.database_url,
            identity::SCHEMA,
            &identity::MIGRATOR,
            POOL_SIZE,
        )
        .await
        .context("identity")?;
        let config = identity::Config {
            token: token.clone(),
            // So that a newcomer's first account can try everything (admin routes included).
            first_user_admin: true,
            ..args.services.identity.clone()
        };
        identity::App::build(config, bus, pool)
            .await
            .context("cannot start identity")?
    };
    let market = {
        let bus = args.nats.connect("market").await?;
        let pool = bus::pg::connect_and_migrate(
            &args.database_url,
            market::SCHEMA,
            &market::MIGRATOR,
            POOL_SIZE,
        )
        .await
        .context("market")?;
        market::App::build(args.services.market.clone(), bus, pool)
            .await
            .context("cannot start market")?
    };
    let gateway = {
        let bus = args.nats.connect("gateway").await?;
        let config = gateway::Config {
            token,
            ..args.services.gateway.clone()
        };
        gateway::App::build(config, bus)
            .await
            .context("cannot start the gateway")?
    };
    Ok(Started {
        identity,
        market,
        gateway,
    })
}

/// The token keys of `bourse dev`. Without a configured secret (and with HS256), a random one is
/// made for this run and given to identity and the gateway alike: unlike the public
/// `TokenConfig::DEV_SECRET`, nobody can forge tokens for a dev server reachable on a network,
/// and no flag that weakens the rules is needed. The price: access tokens do not outlive the
/// run — clients refresh (refresh tokens live in Postgres) or log in again. Set
/// `BOURSE_JWT_SECRET` to keep tokens across restarts.
fn dev_token(mut token: auth::TokenConfig) -> anyhow::Result<auth::TokenConfig> {
    let unset = token
        .jwt_secret
        .as_ref()
        .is_none_or(|secret| secret.expose().is_empty());
    if token.jwt_algorithm == auth::TokenAlgorithm::Hs256 && unset {
        let secret = auth::RefreshToken::generate().context("cannot make a JWT secret")?;
        token.jwt_secret = Some(contracts::identity::Secret::new(secret.into_string()));
        println!(
            "JWT secret: a random one for this run (set BOURSE_JWT_SECRET to keep tokens across restarts)"
        );
    }
    Ok(token)
}

/// Runs one service; when it stops on its own (an error, or an unexpected end) it takes the
/// others down with it, so `bourse dev` never limps on half-started.
async fn supervise(
    name: &str,
    run: impl Future<Output = anyhow::Result<()>>,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let result = run.await;
    if !shutdown.is_cancelled() {
        match &result {
            Ok(()) => eprintln!("{name} stopped on its own; shutting everything down"),
            Err(err) => eprintln!("{name} failed: {err:#}; shutting everything down"),
        }
        shutdown.cancel();
    } else if result.is_ok() {
        println!("{name} stopped");
    }
    result.with_context(|| format!("{name} failed"))
}

fn print_banner(http_addr: SocketAddr, nats: &NatsArgs) {
    println!("{}", banner(http_addr, nats));
}

/// What is running and how to look at it.
fn banner(http_addr: SocketAddr, nats: &NatsArgs) -> String {
    // A wildcard listen address is reachable on loopback; that is what a curl on this box uses.
    let shown = if http_addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], http_addr.port()))
    } else {
        http_addr
    };
    let prefix = &nats.subject_prefix;
    let (prefix_note, svc_flag) = if prefix.is_empty() {
        (String::new(), String::new())
    } else {
        (
            format!(" (subject prefix {prefix})"),
            format!(" --subject-prefix {prefix}"),
        )
    };
    let first_server = nats.nats_url.split(',').next().unwrap_or_default().trim();
    let server = if first_server == "nats://127.0.0.1:4222" {
        String::new()
    } else {
        format!(" --server {first_server}")
    };
    let price_subject =
        prefix.subject(&<contracts::market::PriceUpdated as contracts::Event>::wildcard());
    format!(
        "\nBourse is running: gateway + identity + market\n\
         \x20 HTTP   http://{shown}\n\
         \x20 NATS   {url}{prefix_note}\n\
         \n\
         \x20 curl http://{shown}/api/v1/stocks/AAPL/price\n\
         \x20 curl -H 'content-type: application/json' -d '{{\"email\":\"me@example.com\",\"password\":\"a long passphrase\",\"name\":\"Me\"}}' http://{shown}/api/v1/auth/register   (the first account is admin)\n\
         \x20 nats{server} sub '{price_subject}'\n\
         \x20 bourse svc ls{svc_flag}\n\
         \x20 bourse events tail 'evt.price.>'{svc_flag}\n\
         \n\
         Ctrl-C stops everything.",
        url = nats.nats_url,
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        dev: DevArgs,
    }

    #[test]
    fn banner_shows_address_nats_and_hints_with_the_prefix() {
        let cli = Cli::parse_from([
            "dev",
            "--nats-url",
            "nats://127.0.0.1:4333",
            "--subject-prefix",
            "demo",
        ]);
        let out = banner(SocketAddr::from(([0, 0, 0, 0], 8080)), &cli.dev.nats);
        assert!(out.contains("http://127.0.0.1:8080"), "{out}");
        assert!(
            out.contains("curl http://127.0.0.1:8080/api/v1/stocks/AAPL/price"),
            "{out}"
        );
        assert!(
            out.contains("nats://127.0.0.1:4333 (subject prefix demo)"),
            "{out}"
        );
        assert!(
            out.contains("nats --server nats://127.0.0.1:4333 sub 'demo.evt.price.*'"),
            "{out}"
        );
        assert!(out.contains("bourse svc ls --subject-prefix demo"), "{out}");
    }

    #[test]
    fn without_a_secret_dev_makes_a_strong_random_one_per_run() {
        let a = dev_token(auth::TokenConfig::default()).unwrap();
        let b = dev_token(auth::TokenConfig::default()).unwrap();
        let secret = a.jwt_secret.as_ref().unwrap().expose().to_owned();
        assert_ne!(secret, b.jwt_secret.unwrap().expose());
        assert!(auth::config::secret_weakness(secret.as_bytes()).is_none());
        assert!(auth::TokenKeys::signing(&a).is_ok());
        let mine = dev_token(auth::TokenConfig::hs256("mine")).unwrap();
        assert_eq!(mine.jwt_secret.unwrap().expose(), "mine");
    }

    #[test]
    fn service_flags_are_available_on_dev() {
        let cli = Cli::parse_from([
            "dev",
            "--http-addr",
            "127.0.0.1:0",
            "--feed-interval",
            "250ms",
        ]);
        assert_eq!(cli.dev.services.gateway.http_addr.port(), 0);
        assert_eq!(
            cli.dev.services.market.feed_interval,
            std::time::Duration::from_millis(250)
        );
    }
}
