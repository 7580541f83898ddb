//! A Postgres pool bound to one service's schema.
//!
//! Each service owns a schema (`market`, `identity`, …) and migrates it with its own sqlx
//! migrator from `migrations/<service>/`. The pool's `search_path` is that schema, so the
//! migrator's bookkeeping table and the shared [`crate::outbox`] table live inside it; the
//! service's own queries name their tables with the schema anyway, which keeps compile-time
//! checking independent of the search path.

use std::time::Duration;

use sqlx::{
    Connection, Executor, PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("invalid database URL: {0}")]
    Url(#[source] sqlx::Error),
    #[error("cannot connect to Postgres at {url}: {source} (is PostgreSQL running?)")]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot migrate schema {schema}: {source}")]
    Migrate {
        schema: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("invalid schema name {0:?}")]
    Schema(String),
    #[error("invalid scratch database name {0:?}: use a-z, 0-9 and '_'")]
    Database(String),
    #[error("`{statement}` failed: {source}")]
    Statement {
        statement: String,
        source: sqlx::Error,
    },
}

/// How long a request waits for a connection before it is answered `unavailable`. Short: when
/// Postgres is down the pool keeps trying to connect for this long, and a caller is better
/// served by a quick 503 than by a gateway timeout (a healthy pool hands out a connection in
/// microseconds).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// Connects to `url` with `search_path` = `schema`, creates the schema when missing and runs
/// `migrator`. `max_connections` bounds the pool (a service needs few).
pub async fn connect_and_migrate(
    url: &str,
    schema: &str,
    migrator: &Migrator,
    max_connections: u32,
) -> Result<PgPool, PgError> {
    // The schema name is spliced into DDL below, so it must be a plain identifier.
    if schema.is_empty() || !schema.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
        return Err(PgError::Schema(schema.to_owned()));
    }
    let options: PgConnectOptions = url.parse().map_err(PgError::Url)?;
    let options = options.options([("search_path", schema)]);
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // sqlx pings every connection it hands out by default: one more round trip per
        // transaction (a trade is seven). A connection that broke meanwhile (Postgres
        // restarted) fails its next statement instead, and the pool drops it.
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(|source| PgError::Connect {
            url: redact(url),
            source,
        })?;
    let create = format!("create schema if not exists {schema}");
    pool.execute(create.as_str())
        .await
        .map_err(|source| PgError::Connect {
            url: redact(url),
            source,
        })?;
    migrator
        .run(&pool)
        .await
        .map_err(|source| PgError::Migrate {
            schema: schema.to_owned(),
            source,
        })?;
    Ok(pool)
}

/// `url` with its database swapped for `database`, keeping host, credentials and options.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(slash) if slash > base.find("://").map_or(0, |i| i + 2) => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// Creates `database` (a plain identifier: scratch names such as `bourse_test_<tag>`) through
/// `admin_url`, and returns its URL: the throwaway databases of tests and the bench.
pub async fn create_scratch_database(admin_url: &str, database: &str) -> Result<String, PgError> {
    scratch_ddl(admin_url, database, "create database {}").await?;
    Ok(with_database(admin_url, database))
}

/// Drops a database [`create_scratch_database`] made, whoever is still connected to it.
pub async fn drop_scratch_database(admin_url: &str, database: &str) -> Result<(), PgError> {
    scratch_ddl(
        admin_url,
        database,
        "drop database if exists {} with (force)",
    )
    .await
}

/// Runs `statement` with `{}` replaced by `database` through `admin_url`.
async fn scratch_ddl(admin_url: &str, database: &str, statement: &str) -> Result<(), PgError> {
    // Spliced into DDL (which takes no bind parameters), so a plain identifier only.
    if database.is_empty()
        || !database
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(PgError::Database(database.to_owned()));
    }
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .map_err(|source| PgError::Connect {
            url: redact(admin_url),
            source,
        })?;
    let statement = statement.replace("{}", database);
    conn.execute(statement.as_str())
        .await
        .map_err(|source| PgError::Statement { statement, source })?;
    conn.close().await.ok();
    Ok(())
}

/// The URL without its password, for error messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_keeps_host_and_options() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(
            redact("postgres://bourse:s3cret@db:5432/bourse"),
            "postgres://bourse:***@db:5432/bourse"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
    }
}
