//! `bourse`: the Bourse command line.
//!
//! - [`dev`]: `bourse dev` runs the gateway and every service in one process, starting a local
//!   NATS and Postgres ([`local_servers`]) when none answers at a local URL.
//! - [`svc`]: `bourse svc ls|info|stats`, ADR-32 discovery rendered as [`table`]s.
//! - [`events`]: `bourse events tail|replay`, an ordered consumer on a stream.
//! - [`services`]: the one list of services that `dev` and `migrate` work from.
//! - [`migrate`]: `bourse migrate`, every service's migrations, then streams and buckets.
//! - [`user`]: `bourse user create [--admin]`, an account straight in identity's database.
//! - [`database`]: creates the database of `--database-url` when it is missing.
//! - [`endpoint`]: where a NATS or Postgres URL points (pure parsing).
//! - [`binaries`]: finds nats-server, initdb and pg_ctl.
//! - [`shutdown`]: Ctrl-C and SIGTERM.

mod binaries;
mod database;
mod dev;
mod endpoint;
mod events;
mod local_servers;
mod migrate;
mod services;
mod shutdown;
mod svc;
mod table;
mod user;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub(crate) use bus::kit::DEFAULT_DATABASE_URL;

const EXAMPLES: &str = "\
Examples:
  bourse dev                                     run everything here; Ctrl-C stops it
  bourse migrate                                 migrate every schema, provision streams and buckets
  bourse svc ls                                  services, versions and instances
  bourse svc info market                         a service's endpoints and their subjects
  bourse svc stats                               requests, errors and latency per endpoint
  bourse events tail 'evt.price.>'               follow price events as they happen
  bourse events tail 'evt.trade.>' --since 1h    the last hour of trades, then live
  bourse events replay 'evt.price.AAPL' --json   AAPL's price history as JSON lines, then exit
  bourse user create --email a@b.io --name Ada --admin --password-stdin < pw.txt

Each command has its own --help (e.g. `bourse dev --help`).";

/// Bourse: event-driven trading services over NATS.
///
/// Every flag has an environment fallback, shown as [env: …]. RUST_LOG sets the log filter,
/// BOURSE_LOG_FORMAT=json switches logs to JSON lines.
#[derive(Debug, Parser)]
#[command(name = "bourse", version, propagate_version = true, after_long_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway and every service in one process, starting local NATS and Postgres when
    /// none is running.
    Dev(Box<dev::DevArgs>),
    /// Inspect running services (ADR-32 discovery).
    #[command(subcommand)]
    Svc(svc::SvcCommand),
    /// Read events from the JetStream streams.
    #[command(subcommand)]
    Events(events::EventsCommand),
    /// Run every service's database migrations and provision the streams and KV buckets.
    Migrate(migrate::MigrateArgs),
    /// Manage accounts directly in identity's database (e.g. bootstrap an admin).
    #[command(subcommand)]
    User(user::UserCommand),
}

impl Command {
    /// `bourse dev` logs what the services do; the other commands print their answer, and logs
    /// only for trouble.
    fn default_log_filter(&self) -> &'static str {
        match self {
            Self::Dev(_) => "info,sqlx=warn,async_nats=warn",
            Self::Svc(_) | Self::Events(_) | Self::Migrate(_) | Self::User(_) => "warn",
        }
    }
}

/// mimalloc, not glibc's malloc: memory allocated on one runtime worker and freed on another
/// took an arena lock in glibc, ~6 futex calls per gateway request in the bench profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(
        cli.command.default_log_filter(),
        telemetry::LogFormat::from_env(),
    );
    let result = match cli.command {
        Command::Dev(args) => {
            bus::kit::raise_open_file_limit();
            dev::run(*args).await
        }
        Command::Svc(command) => svc::run(command).await,
        Command::Events(command) => events::run(command).await,
        Command::Migrate(args) => migrate::run(args).await,
        Command::User(command) => user::run(command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        // Catches clashing flag names between the flattened service configs, among others.
        Cli::command().debug_assert();
    }

    #[test]
    fn every_flag_is_documented() {
        fn check(command: &clap::Command, path: &str) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                assert!(arg.get_help().is_some(), "{path} {id} has no help text");
                if arg.get_long().is_some() {
                    assert!(
                        arg.get_env().is_some(),
                        "{path} --{id} has no environment fallback"
                    );
                }
            }
            for sub in command.get_subcommands() {
                check(sub, &format!("{path} {}", sub.get_name()));
            }
        }
        check(&Cli::command(), "bourse");
    }
}
