//! The database named in `--database-url`: created on a reachable server when it is missing,
//! so `bourse dev` and `bourse migrate` work on a fresh Postgres.

use anyhow::Context;
use sqlx::{
    ConnectOptions, Connection, Executor,
    postgres::{PgConnectOptions, PgDatabaseError},
};

use crate::endpoint::quote_ident;

/// `invalid_catalog_name`: the database does not exist.
const DATABASE_MISSING: &str = "3D000";
/// `duplicate_database`: someone else created it meanwhile.
const DATABASE_EXISTS: &str = "42P04";

/// Creates the database of `url` when the server does not have it. Returns whether it did.
pub(crate) async fn ensure_database(url: &str) -> anyhow::Result<bool> {
    let options: PgConnectOptions = url
        .parse()
        .with_context(|| format!("invalid database URL {}", bus::pg::redact(url)))?;
    let Some(database) = options.get_database().map(str::to_owned) else {
        return Ok(false);
    };
    // Connecting is the cheapest check, and needs no rights on any other database.
    match options.connect().await {
        Ok(conn) => {
            conn.close().await.ok();
            return Ok(false);
        }
        Err(err) if sql_state(&err) == Some(DATABASE_MISSING) => {}
        Err(err) => {
            return Err(err).with_context(|| {
                format!("cannot connect to Postgres at {}", bus::pg::redact(url))
            });
        }
    }
    let maintenance = options.clone().database("postgres");
    let mut conn = maintenance.connect().await.with_context(|| {
        format!("cannot connect to the `postgres` database to create {database:?}")
    })?;
    // `create database` takes no bind parameters; the name is quoted as an identifier instead.
    let create = format!("create database {}", quote_ident(&database));
    let created = match conn.execute(create.as_str()).await {
        Ok(_) => true,
        Err(err) if sql_state(&err) == Some(DATABASE_EXISTS) => false,
        Err(err) => {
            return Err(err).with_context(|| format!("cannot create database {database:?}"));
        }
    };
    conn.close().await.ok();
    if created {
        println!("created database {database:?}");
    }
    Ok(created)
}

fn sql_state(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<PgDatabaseError>()
            .map(PgDatabaseError::code),
        _ => None,
    }
}
