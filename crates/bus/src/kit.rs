//! The service kit: the one way a Bourse service is built and started.
//!
//! A service is a crate with a type that implements [`Service`]: its name, its Postgres schema
//! (if any), its flags ([`Service::Config`]), and how it builds from [`Deps`] and runs until a
//! token is cancelled. Everything around that is written here, once:
//!
//! - [`start`]: check the config, connect to NATS under the service's name, provision the
//!   streams and buckets, migrate the service's schema, build. The service's own binary, `bourse
//!   dev`, the bench and the tests all call it.
//! - [`main`]: the whole of a service's binary — flags with environment fallbacks (the
//!   shared NATS and database ones, then the service's), logging, [`start`], run until Ctrl-C or
//!   SIGTERM.
//! - [`Launcher`]: a service with its type erased, so that `bourse dev` and `bourse migrate`
//!   work from one list of services.
//!
//! Bootstrap code, so it speaks `anyhow`: what fails here is reported to an operator, not
//! matched on.

use std::{future::Future, net::SocketAddr, pin::Pin};

use anyhow::Context;
use clap::{ArgMatches, Args, Command, FromArgMatches};
use sqlx::{PgPool, migrate::Migrator};
use tokio_util::sync::CancellationToken;

use crate::{Bus, Clock, NatsArgs, ServiceBuilder, pg, provision, shutdown_on_signal};

/// The database of a local development setup; every binary's `--database-url` default.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/bourse";

/// A service's share of Postgres: its schema and the migrations of `migrations/<service>/`.
#[derive(Debug, Clone, Copy)]
pub struct Database {
    pub schema: &'static str,
    pub migrator: &'static Migrator,
}

/// One Bourse service, as the kit starts it.
pub trait Service: Sized + Send + 'static {
    /// The ADR-32 service name (the first token of its subjects), also its NATS connection name.
    const NAME: &'static str;
    /// SemVer; `env!("CARGO_PKG_VERSION")` of the service's crate.
    const VERSION: &'static str;
    /// One line for `$SRV.INFO` and `--help`.
    const DESCRIPTION: &'static str;
    /// The service's Postgres schema, migrated before [`Service::build`]; `None` for none.
    const DATABASE: Option<Database> = None;
    /// Flags `bourse dev` gives another default: `(argument id, value)`, e.g. identity makes the
    /// first account an admin there.
    const DEV_DEFAULTS: &'static [(&'static str, &'static str)] = &[];

    /// The service's own flags (the NATS and database flags are the kit's).
    type Config: Args + Send + 'static;

    /// Refuses a configuration that cannot work, before anything is connected.
    fn check(_config: &Self::Config) -> anyhow::Result<()> {
        Ok(())
    }

    /// Builds the service: registers its endpoints (so it answers once this returns) and
    /// prepares its workers.
    fn build(config: Self::Config, deps: Deps)
    -> impl Future<Output = anyhow::Result<Self>> + Send;

    /// Runs until `shutdown` is cancelled, then stops gracefully.
    fn run_until_stopped(
        self,
        shutdown: CancellationToken,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Where the service answers HTTP, for the ones that do (the gateway).
    fn http_addr(&self) -> Option<SocketAddr> {
        None
    }
}

/// What [`start`] hands a service to build from.
#[derive(Debug, Clone)]
pub struct Deps {
    /// A NATS connection of the service's own, named after it; streams provisioned.
    pub bus: Bus,
    /// A pool on the service's schema, migrated; `Some` exactly when it declares a [`Database`].
    pub db: Option<PgPool>,
    /// [`Platform::services`].
    pub services: Vec<&'static str>,
    /// [`Platform::clock`].
    pub clock: Clock,
}

impl Deps {
    /// The pool on the service's schema.
    pub fn db(&self) -> anyhow::Result<PgPool> {
        self.db
            .clone()
            .context("this service declares no database (Service::DATABASE)")
    }

    /// The ADR-32 service `S` declares, ready for its state and endpoints.
    pub fn service<S: Service>(&self) -> ServiceBuilder {
        self.bus.service(S::NAME, S::VERSION, S::DESCRIPTION)
    }
}

/// Where services run: how to reach NATS and Postgres, shared by every service started together.
#[derive(Debug, Clone)]
pub struct Platform {
    pub nats: NatsArgs,
    /// Each service with a [`Database`] uses its own schema in this database.
    pub database_url: String,
    /// Connections per service pool.
    pub pool_size: u32,
    /// Whether [`start`] provisions the streams and buckets (only tests of a missing stream
    /// turn it off).
    pub provision: bool,
    /// The services started together here (by `bourse dev`, from its list); empty when each
    /// runs on its own. The gateway's `/health/all` expects them.
    pub services: Vec<&'static str>,
    /// The time services read; the system clock, or a manual one in tests.
    pub clock: Clock,
}

impl Platform {
    pub fn new(nats: NatsArgs, database_url: impl Into<String>) -> Self {
        Self {
            nats,
            database_url: database_url.into(),
            pool_size: 10,
            provision: true,
            services: Vec::new(),
            clock: Clock::system(),
        }
    }
}

/// The database flag, given to the binaries of services with a [`Database`].
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Postgres URL; every service uses a schema of its own in this database.
    #[arg(long, env = "BOURSE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

/// Checks `config`, connects, provisions, migrates and builds `S`: the start path of every
/// service, wherever it runs.
pub async fn start<S: Service>(platform: &Platform, config: S::Config) -> anyhow::Result<S> {
    S::check(&config).with_context(|| format!("{} cannot start", S::NAME))?;
    let deps = connect::<S>(platform).await?;
    S::build(config, deps)
        .await
        .with_context(|| format!("cannot start {}", S::NAME))
}

/// The dependencies of `S`: its own NATS connection, provisioned, and its migrated pool.
async fn connect<S: Service>(platform: &Platform) -> anyhow::Result<Deps> {
    let bus = platform.nats.connect(S::NAME).await?;
    if platform.provision {
        provision::ensure_all(&bus, platform.nats.replicas())
            .await
            .context("cannot provision streams and buckets")?;
    }
    let db = match S::DATABASE {
        Some(db) => Some(
            pg::connect_and_migrate(
                &platform.database_url,
                db.schema,
                db.migrator,
                platform.pool_size,
            )
            .await
            .with_context(|| format!("{}: cannot open its database", S::NAME))?,
        ),
        None => None,
    };
    Ok(Deps {
        bus,
        db,
        services: platform.services.clone(),
        clock: platform.clock.clone(),
    })
}

/// The binary of service `S`: `fn main` is `bus::kit::main::<MyService>()`.
pub fn main<S: Service>() -> anyhow::Result<()> {
    let (platform, config) = parse::<S, _, _>(std::env::args_os()).unwrap_or_else(|err| err.exit());
    telemetry::init("info", telemetry::LogFormat::from_env());
    raise_open_file_limit();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let service = start::<S>(&platform, config).await?;
        let shutdown = CancellationToken::new();
        tokio::spawn(shutdown_on_signal(shutdown.clone()));
        service.run_until_stopped(shutdown).await
    })
}

/// The command line of `S`'s binary (the first of `args` is the program name), with
/// environment fallbacks: what [`main`] starts from, and what a service's config tests parse.
pub fn parse<S, I, T>(args: I) -> Result<(Platform, S::Config), clap::Error>
where
    S: Service,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut command = NatsArgs::augment_args(Command::new(S::NAME).next_help_heading("NATS"));
    if S::DATABASE.is_some() {
        command = DatabaseArgs::augment_args(command.next_help_heading("Postgres"));
    }
    command = S::Config::augment_args(command.next_help_heading(None::<&str>));
    // Last: a flattened struct's doc comment would otherwise become the binary's description.
    command = command
        .version(S::VERSION)
        .about(S::DESCRIPTION)
        .long_about(None::<&str>);
    let matches = command.try_get_matches_from(args)?;
    let nats = NatsArgs::from_arg_matches(&matches)?;
    let database_url = match S::DATABASE {
        Some(_) => DatabaseArgs::from_arg_matches(&matches)?.database_url,
        None => String::new(),
    };
    let config = S::Config::from_arg_matches(&matches)?;
    Ok((Platform::new(nats, database_url), config))
}

/// Raises the soft limit on open files to the hard limit, so that a gateway can hold 10,000
/// sockets where the soft default is 1,024; warns when it cannot. Every Bourse process calls
/// it at start (`main` here, and `bourse dev`); returns the soft limit in force after.
pub fn raise_open_file_limit() -> Option<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard {
        if let Err(err) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            tracing::warn!(soft, hard, error = %err, "cannot raise the open-file limit");
            return Some(soft);
        }
        tracing::debug!(from = soft, to = hard, "raised the open-file limit");
    }
    getrlimit(Resource::RLIMIT_NOFILE)
        .ok()
        .map(|(soft, _)| soft)
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Starts one type-erased service: what [`Launcher`] keeps of [`start`].
type StartFn = fn(Platform, ArgMatches) -> BoxFuture<anyhow::Result<Box<dyn Started>>>;

/// A built service of any type, ready to run.
pub trait Started: Send {
    fn http_addr(&self) -> Option<SocketAddr>;
    fn run_until_stopped(
        self: Box<Self>,
        shutdown: CancellationToken,
    ) -> BoxFuture<anyhow::Result<()>>;
}

impl<S: Service> Started for S {
    fn http_addr(&self) -> Option<SocketAddr> {
        Service::http_addr(self)
    }

    fn run_until_stopped(
        self: Box<Self>,
        shutdown: CancellationToken,
    ) -> BoxFuture<anyhow::Result<()>> {
        Box::pin(Service::run_until_stopped(*self, shutdown))
    }
}

/// A [`Service`] with its type erased: what a list of services holds.
#[derive(Clone, Copy)]
pub struct Launcher {
    pub name: &'static str,
    pub database: Option<Database>,
    pub dev_defaults: &'static [(&'static str, &'static str)],
    augment_args: fn(Command) -> Command,
    start: StartFn,
}

impl std::fmt::Debug for Launcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launcher")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Launcher {
    pub const fn of<S: Service>() -> Self {
        Self {
            name: S::NAME,
            database: S::DATABASE,
            dev_defaults: S::DEV_DEFAULTS,
            augment_args: <S::Config as Args>::augment_args,
            start: start_erased::<S>,
        }
    }

    /// Adds the service's own flags to `command`.
    pub fn augment_args(&self, command: Command) -> Command {
        (self.augment_args)(command)
    }

    /// [`start`], with the service's config read from `matches` (which must hold its flags).
    pub async fn start(
        &self,
        platform: &Platform,
        matches: &ArgMatches,
    ) -> anyhow::Result<Box<dyn Started>> {
        (self.start)(platform.clone(), matches.clone()).await
    }
}

fn start_erased<S: Service>(
    platform: Platform,
    matches: ArgMatches,
) -> BoxFuture<anyhow::Result<Box<dyn Started>>> {
    Box::pin(async move {
        let config = S::Config::from_arg_matches(&matches)
            .with_context(|| format!("the flags of {}", S::NAME))?;
        let service = start::<S>(&platform, config).await?;
        Ok(Box::new(service) as Box<dyn Started>)
    })
}

#[cfg(test)]
mod tests {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};

    use super::*;

    #[test]
    fn the_open_file_soft_limit_is_raised_to_the_hard_limit() {
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let low = hard.min(512);
        setrlimit(Resource::RLIMIT_NOFILE, low, hard).unwrap();
        assert_eq!(raise_open_file_limit(), Some(hard));
        assert_eq!(getrlimit(Resource::RLIMIT_NOFILE).unwrap(), (hard, hard));
    }
}
