//! `bourse user create`: makes an account straight in identity's database — how the first admin
//! of a deployment is made (`--admin`), since nobody can grant a role before an admin exists.
//!
//! It goes through `identity::create_user`: the same checks, argon2id hashing and
//! `UserRegistered` event (written to identity's outbox in the same transaction) as a
//! registration. The event is published by the identity service's outbox relay; this command
//! also drains the outbox once itself when NATS answers, so the event is out before it returns.
//!
//! The password never is a plain flag (it would show in `ps` and the shell history): it is read
//! from stdin with `--password-stdin`, else from `BOURSE_USER_PASSWORD`.

use std::io::BufRead;

use anyhow::{Context, bail};
use bus::{NatsArgs, RequestContext, outbox::Relay};
use contracts::{
    Secret,
    identity::{RegisterUser, Role},
};

use crate::{DEFAULT_DATABASE_URL, database};

/// The environment variable a password may come from.
const PASSWORD_ENV: &str = "BOURSE_USER_PASSWORD";

#[derive(Debug, clap::Subcommand)]
pub(crate) enum UserCommand {
    /// Create an account (with `--admin`, an administrator).
    Create(CreateArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    /// The account's email.
    #[arg(long, env = "BOURSE_USER_EMAIL")]
    email: String,

    /// The account's display name.
    #[arg(long, env = "BOURSE_USER_NAME")]
    name: String,

    /// Make the account an administrator.
    #[arg(long, env = "BOURSE_USER_ADMIN", value_parser = clap::builder::FalseyValueParser::new())]
    admin: bool,

    /// Read the password from the first line of stdin. Without it the password comes from
    /// BOURSE_USER_PASSWORD; it is never a flag of its own.
    #[arg(long, env = "BOURSE_USER_PASSWORD_STDIN", value_parser = clap::builder::FalseyValueParser::new())]
    password_stdin: bool,

    /// Postgres URL of identity's database (schema `identity`, migrated when needed).
    #[arg(long, env = "BOURSE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,

    #[command(flatten, next_help_heading = "NATS")]
    nats: NatsArgs,
}

pub(crate) async fn run(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create(args) => create(args).await,
    }
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    let password = password(args.password_stdin)?;
    database::ensure_database(&args.database_url).await?;
    let pool =
        bus::pg::connect_and_migrate(&args.database_url, identity::SCHEMA, &identity::MIGRATOR, 2)
            .await
            .context("cannot open identity's database")?;
    let roles: &[Role] = if args.admin { &[Role::Admin] } else { &[] };
    let request = RegisterUser {
        email: args.email,
        password,
        name: args.name,
    };
    let ctx = RequestContext::new();
    let user = identity::create_user(&pool, &ctx, request, roles)
        .await
        .map_err(|err| anyhow::anyhow!("cannot create the account: {err}"))?;
    let roles: Vec<&str> = user.roles.iter().map(|r| r.as_str()).collect();
    println!(
        "created {} ({}) with roles {}",
        user.email,
        user.id,
        roles.join(",")
    );
    match publish_outbox(&pool, &args.nats).await {
        Ok(()) => println!("the registered event is published"),
        Err(err) => println!(
            "the registered event waits in identity's outbox; the identity service publishes it \
             when it runs ({err:#})"
        ),
    }
    pool.close().await;
    Ok(())
}

/// Drains identity's outbox once: what the identity service's relay would do.
async fn publish_outbox(pool: &sqlx::PgPool, nats: &NatsArgs) -> anyhow::Result<()> {
    let bus = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        nats.connect("bourse-user"),
    )
    .await
    .context("NATS did not answer")??;
    let relay = Relay::new(pool.clone(), bus);
    while relay.try_run_once().await.context("cannot publish")? > 0 {}
    Ok(())
}

/// The password: stdin's first line with `--password-stdin`, else `BOURSE_USER_PASSWORD`.
fn password(from_stdin: bool) -> anyhow::Result<Secret> {
    let raw = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        match std::env::var(PASSWORD_ENV) {
            Ok(value) => value,
            Err(_) => bail!(
                "no password: pipe it with --password-stdin, or set {PASSWORD_ENV} \
                 (a password is never a plain flag)"
            ),
        }
    };
    if raw.is_empty() {
        bail!("the password is empty");
    }
    Ok(Secret::new(raw))
}
