//! A Postgres pool bound to one service's schema.
//!
//! Each service owns a schema (`market`, `identity`, …) and migrates it with its own sqlx
//! migrator from `migrations/<service>/`. The pool's `search_path` is that schema, so the
//! migrator's bookkeeping table and the shared [`crate::outbox`] table live inside it; the
//! service's own queries name their tables with the schema anyway, which keeps compile-time
//! checking independent of the search path.

use std::time::Duration;

use sqlx::{
    Executor, PgPool,
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
}

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
        .acquire_timeout(Duration::from_secs(5))
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
