//! `bourse dev`: the whole system in one process (DESIGN.md §6).
//!
//! Every service of [`SERVICES`] runs exactly as its own binary would: started by the service
//! kit (`bus::kit::start`: its own NATS connection named after it, streams provisioned, its own
//! Postgres pool on its own schema, migrated), with the flags its binary has. They meet only
//! over NATS. Before that, NATS and Postgres are made reachable ([`LocalServers`]) and the
//! database is created when missing. The first Ctrl-C (or SIGTERM) stops the services
//! gracefully, then the servers this command started.
//!
//! Defaults that differ from the binaries': each service's `DEV_DEFAULTS` (identity makes the
//! first account an admin), a random JWT secret per run when none is set ([`random_jwt_secret`]),
//! and the gateway's `/health/all` expects every service of the list.

use std::{future::Future, net::SocketAddr, path::PathBuf};

use anyhow::Context;
use bus::{
    NatsArgs,
    kit::{Platform, Started},
};
use clap::{ArgMatches, Command, parser::ValueSource};
use tokio_util::sync::CancellationToken;

use crate::{
    DEFAULT_DATABASE_URL, database,
    local_servers::LocalServers,
    services::{self, SERVICES},
    shutdown::Signals,
};

/// Connections per service pool; `bourse dev` serves one developer.
const POOL_SIZE: u32 = 5;

/// The id of the JWT secret flag (`auth::TokenConfig`), shared by identity and the gateway.
const JWT_SECRET_ARG: &str = "jwt_secret";

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
    services: ServiceFlags,
}

/// The flags of every service of [`SERVICES`], as its own binary has them, each under its
/// service's heading; a flag two services share (the `--jwt-*` flags of identity and the
/// gateway) is declared once and read by both.
#[derive(Debug, Clone)]
struct ServiceFlags(ArgMatches);

impl clap::FromArgMatches for ServiceFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(Self(matches.clone()))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0 = matches.clone();
        Ok(())
    }
}

impl clap::Args for ServiceFlags {
    fn augment_args(cmd: Command) -> Command {
        let mut cmd = cmd;
        for service in SERVICES {
            let own = service.augment_args(Command::new(service.name));
            let heading = capitalized(service.name);
            for arg in own.get_arguments() {
                if cmd
                    .get_arguments()
                    .any(|known| known.get_id() == arg.get_id())
                {
                    continue;
                }
                let arg = match arg.get_help_heading() {
                    Some(_) => arg.clone(),
                    None => arg.clone().help_heading(heading.clone()),
                };
                cmd = cmd.arg(arg);
            }
        }
        dev_defaults(cmd)
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// What differs from the binaries: the services' `DEV_DEFAULTS`, and a random JWT secret.
fn dev_defaults(mut cmd: Command) -> Command {
    let defaults = SERVICES.iter().flat_map(|service| service.dev_defaults);
    for (id, value) in defaults {
        if cmd.get_arguments().any(|arg| arg.get_id() == *id) {
            cmd = cmd.mut_arg(*id, |arg| arg.default_value(*value));
        }
    }
    if cmd
        .get_arguments()
        .any(|arg| arg.get_id() == JWT_SECRET_ARG)
    {
        let secret = random_jwt_secret();
        cmd = cmd.mut_arg(JWT_SECRET_ARG, |arg| {
            arg.default_value(secret).hide_default_value(true)
        });
    }
    cmd
}

fn capitalized(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
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

async fn run_services(args: &DevArgs, signals: &Signals) -> anyhow::Result<()> {
    let started = tokio::select! {
        started = start(args) => started?,
        () = signals.graceful.cancelled() => return Ok(()),
    };
    let http_addr = started.iter().find_map(|(_, service)| service.http_addr());
    if args.services.0.value_source(JWT_SECRET_ARG) == Some(ValueSource::DefaultValue) {
        println!(
            "JWT secret: a random one for this run (set BOURSE_JWT_SECRET to keep tokens across restarts)"
        );
    }
    print_banner(http_addr, &args.nats);

    let shutdown = signals.graceful.clone();
    let all =
        futures::future::join_all(
            started.into_iter().map(|(name, service)| {
                let shutdown = shutdown.clone();
                async move {
                    supervise(name, service.run_until_stopped(shutdown.clone()), &shutdown).await
                }
            }),
        );
    let results = tokio::select! {
        results = all => results,
        () = signals.force.cancelled() => return Ok(()),
    };
    results.into_iter().collect()
}

/// Starts every service of the list, in order, each through the kit.
async fn start(args: &DevArgs) -> anyhow::Result<Vec<(&'static str, Box<dyn Started>)>> {
    database::ensure_database(&args.database_url).await?;
    let platform = Platform {
        pool_size: POOL_SIZE,
        services: services::names(),
        ..Platform::new(args.nats.clone(), &args.database_url)
    };
    let mut started = Vec::with_capacity(SERVICES.len());
    for service in SERVICES {
        let running = service.start(&platform, &args.services.0).await?;
        started.push((service.name, running));
    }
    Ok(started)
}

/// The JWT secret `bourse dev` signs and verifies with when none is configured: a random one
/// per run, given to identity and the gateway alike. Unlike the public
/// `TokenConfig::DEV_SECRET`, nobody can forge tokens for a dev server reachable on a network,
/// and no flag that weakens the rules is needed. The price: access tokens do not outlive the
/// run — clients refresh (refresh tokens live in Postgres) or log in again. Set
/// `BOURSE_JWT_SECRET` to keep tokens across restarts. (With `--jwt-algorithm eddsa` the
/// secret is not used.)
fn random_jwt_secret() -> String {
    // Without the OS's randomness nothing is signed anyway; the empty default then makes
    // identity refuse to start with a clear error instead of using a guessable secret.
    auth::RefreshToken::generate()
        .map(auth::RefreshToken::into_string)
        .unwrap_or_default()
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

fn print_banner(http_addr: Option<SocketAddr>, nats: &NatsArgs) {
    println!("{}", banner(http_addr, nats));
}

/// What is running and how to look at it.
fn banner(http_addr: Option<SocketAddr>, nats: &NatsArgs) -> String {
    let http_addr = http_addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
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
        "\nBourse is running: {running}\n\
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
        running = services::names().join(" + "),
    )
}

#[cfg(test)]
mod tests {
    use clap::{FromArgMatches, Parser};

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        dev: DevArgs,
    }

    fn parse(args: &[&str]) -> ArgMatches {
        Cli::parse_from(std::iter::once("dev").chain(args.iter().copied()))
            .dev
            .services
            .0
    }

    #[test]
    fn banner_names_every_service_and_shows_address_nats_and_hints_with_the_prefix() {
        let cli = Cli::parse_from([
            "dev",
            "--nats-url",
            "nats://127.0.0.1:4333",
            "--subject-prefix",
            "demo",
        ]);
        let out = banner(Some(SocketAddr::from(([0, 0, 0, 0], 8080))), &cli.dev.nats);
        assert!(
            out.contains(
                "Bourse is running: market + identity + portfolio + valuation + terminal + assistant + workspace + gateway"
            ),
            "{out}"
        );
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
        let a = auth::TokenConfig::from_arg_matches(&parse(&[])).unwrap();
        let b = auth::TokenConfig::from_arg_matches(&parse(&[])).unwrap();
        let secret = a.jwt_secret.as_ref().unwrap().expose().to_owned();
        assert_ne!(secret, b.jwt_secret.unwrap().expose());
        assert!(auth::config::secret_weakness(secret.as_bytes()).is_none());
        assert!(auth::TokenKeys::signing(&a).is_ok());
        let mine = auth::TokenConfig::from_arg_matches(&parse(&["--jwt-secret", "mine"])).unwrap();
        assert_eq!(mine.jwt_secret.unwrap().expose(), "mine");
    }

    #[test]
    fn every_services_flags_are_available_on_dev_and_shared_ones_reach_both() {
        let matches = parse(&[
            "--http-addr",
            "127.0.0.1:0",
            "--feed-interval",
            "250ms",
            "--jwt-issuer",
            "me",
        ]);
        let gateway = gateway::Config::from_arg_matches(&matches).unwrap();
        let market = market::Config::from_arg_matches(&matches).unwrap();
        let identity = identity::Config::from_arg_matches(&matches).unwrap();
        assert_eq!(gateway.http_addr.port(), 0);
        assert_eq!(market.feed_interval, std::time::Duration::from_millis(250));
        assert_eq!(
            (
                gateway.token.jwt_issuer.as_str(),
                identity.token.jwt_issuer.as_str()
            ),
            ("me", "me")
        );
        assert_eq!(
            gateway.token.jwt_secret, identity.token.jwt_secret,
            "one secret for both"
        );
    }

    #[test]
    fn the_services_dev_defaults_apply() {
        let identity = identity::Config::from_arg_matches(&parse(&[])).unwrap();
        assert!(identity.first_user_admin, "identity's DEV_DEFAULTS");
        let launcher = SERVICES.iter().find(|s| s.name == "identity").unwrap();
        let own = launcher
            .augment_args(Command::new("identity"))
            .get_matches_from(["identity"]);
        let standalone = identity::Config::from_arg_matches(&own).unwrap();
        assert!(!standalone.first_user_admin, "only under bourse dev");
    }

    #[test]
    fn a_flag_two_services_declare_is_the_same_flag_in_both() {
        let mut seen: std::collections::HashMap<String, (&str, String)> = Default::default();
        for service in SERVICES {
            for arg in service
                .augment_args(Command::new(service.name))
                .get_arguments()
            {
                let definition = format!(
                    "{:?} {:?} {:?}",
                    arg.get_long(),
                    arg.get_env(),
                    arg.get_help()
                );
                let id = arg.get_id().to_string();
                if let Some((first, known)) = seen.get(&id) {
                    assert_eq!(
                        known, &definition,
                        "{id}: {first} and {} differ",
                        service.name
                    );
                } else {
                    seen.insert(id, (service.name, definition));
                }
            }
        }
    }
}
