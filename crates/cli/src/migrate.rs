//! `bourse migrate`: every service's migrations, each in its own schema, then the streams and
//! KV buckets. Services run the same on start-up; this is for deployments that migrate first.
//!
//! Which services have a schema comes from the one list of services ([`crate::services`]).

use std::collections::HashSet;

use anyhow::Context;
use bus::{NatsArgs, provision};
use sqlx::{ConnectOptions, migrate::Migrator, postgres::PgConnectOptions};

use crate::{DEFAULT_DATABASE_URL, database, services::SERVICES};

/// One service's share of Postgres.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServiceDb {
    pub(crate) service: &'static str,
    pub(crate) schema: &'static str,
    pub(crate) migrator: &'static Migrator,
}

/// Every service that owns a Postgres schema, in the order of the list.
pub(crate) fn service_dbs() -> Vec<ServiceDb> {
    SERVICES
        .iter()
        .filter_map(|service| {
            service.database.map(|db| ServiceDb {
                service: service.name,
                schema: db.schema,
                migrator: db.migrator,
            })
        })
        .collect()
}

/// Runs every service's migrations, then provisions streams and buckets.
#[derive(Debug, clap::Args)]
pub(crate) struct MigrateArgs {
    /// Postgres URL; every service gets its own schema in this database, which is created when missing.
    #[arg(long, env = "BOURSE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub(crate) database_url: String,

    /// Leave NATS alone: migrate Postgres only, provision no streams or buckets.
    #[arg(long, env = "BOURSE_MIGRATE_NO_STREAMS")]
    pub(crate) no_streams: bool,

    #[command(flatten, next_help_heading = "NATS")]
    pub(crate) nats: NatsArgs,
}

pub(crate) async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    database::ensure_database(&args.database_url).await?;
    migrate_all(&args.database_url).await?;
    if args.no_streams {
        return Ok(());
    }
    let bus = args.nats.connect("bourse-migrate").await?;
    provision::ensure_all(&bus, args.nats.replicas())
        .await
        .context("cannot provision streams and buckets")?;
    let prefix = bus.prefix();
    let streams: Vec<String> = provision::STREAMS
        .iter()
        .map(|(name, _)| prefix.stream(name))
        .collect();
    let buckets: Vec<String> = provision::BUCKETS
        .iter()
        .map(|(name, _)| prefix.bucket(name))
        .collect();
    println!(
        "streams ready ({} replica(s)): {}\nKV buckets ready: {}",
        args.nats.stream_replicas,
        streams.join(", "),
        buckets.join(", ")
    );
    Ok(())
}

/// Migrates every service of [`service_dbs`], printing what ran.
async fn migrate_all(database_url: &str) -> anyhow::Result<()> {
    for db in service_dbs() {
        let ran = migrate_service(database_url, &db).await?;
        println!("{}", describe(&db, &ran));
    }
    Ok(())
}

/// A migration that this run applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Applied {
    pub(crate) version: i64,
    pub(crate) description: String,
}

/// Runs one service's migrator through `bus::pg::connect_and_migrate` (exactly as the service
/// does at start-up) and tells which migrations were new.
async fn migrate_service(database_url: &str, db: &ServiceDb) -> anyhow::Result<Vec<Applied>> {
    let before = applied_versions(database_url, db.schema).await?;
    let pool = bus::pg::connect_and_migrate(database_url, db.schema, db.migrator, 2)
        .await
        .with_context(|| format!("{}: migration failed", db.service))?;
    pool.close().await;
    Ok(db
        .migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !before.contains(&m.version))
        .map(|m| Applied {
            version: m.version,
            description: m.description.to_string(),
        })
        .collect())
}

/// The versions already applied in `schema` (none when it was never migrated).
async fn applied_versions(database_url: &str, schema: &str) -> anyhow::Result<HashSet<i64>> {
    let options: PgConnectOptions = database_url
        .parse()
        .with_context(|| format!("invalid database URL {}", bus::pg::redact(database_url)))?;
    // With the schema as search path, the unqualified name finds that schema's bookkeeping only.
    let mut conn = options
        .options([("search_path", schema)])
        .connect()
        .await
        .with_context(|| {
            format!(
                "cannot connect to Postgres at {}",
                bus::pg::redact(database_url)
            )
        })?;
    let exists: bool = sqlx::query_scalar("select to_regclass('_sqlx_migrations') is not null")
        .fetch_one(&mut conn)
        .await?;
    if !exists {
        return Ok(HashSet::new());
    }
    let versions: Vec<i64> =
        sqlx::query_scalar("select version from _sqlx_migrations where success")
            .fetch_all(&mut conn)
            .await?;
    Ok(versions.into_iter().collect())
}

/// `market: applied 0001 symbol, 0002 daily close` or `market: up to date (3 migrations)`.
fn describe(db: &ServiceDb, ran: &[Applied]) -> String {
    if ran.is_empty() {
        let total = db
            .migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .count();
        return format!(
            "{} (schema {}): up to date ({total} migrations)",
            db.service, db.schema
        );
    }
    let list: Vec<String> = ran
        .iter()
        .map(|m| format!("{:04} {}", m.version, m.description))
        .collect();
    format!(
        "{} (schema {}): applied {}",
        db.service,
        db.schema,
        list.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_has_a_distinct_schema_that_connect_and_migrate_accepts() {
        let mut seen = HashSet::new();
        let dbs = service_dbs();
        assert!(dbs.len() >= 2, "market and identity have schemas");
        for db in &dbs {
            assert!(seen.insert(db.schema), "{} is used twice", db.schema);
            assert!(
                db.schema
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_'),
                "{}",
                db.schema
            );
            assert!(
                db.migrator.iter().next().is_some(),
                "{} has no migrations",
                db.service
            );
        }
    }

    #[test]
    fn describe_lists_what_ran() {
        let db = &service_dbs()[0];
        let ran = [
            Applied {
                version: 1,
                description: "symbol".into(),
            },
            Applied {
                version: 2,
                description: "daily close".into(),
            },
        ];
        assert_eq!(
            describe(db, &ran),
            format!(
                "{} (schema {}): applied 0001 symbol, 0002 daily close",
                db.service, db.schema
            )
        );
        assert!(describe(db, &[]).contains("up to date"));
    }
}
