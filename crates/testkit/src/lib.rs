//! Real NATS and real Postgres for tests, kept apart per test.
//!
//! [`TestEnv::new`] gives a test a unique subject prefix (so streams, buckets, services and
//! subjects of concurrent tests never meet on the shared server) and a fresh database; both are
//! removed when the `TestEnv` is dropped. Servers come from `BOURSE_TEST_NATS_URL` (default
//! `nats://127.0.0.1:4222`) and `BOURSE_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); `.ci/run` starts them when they are down.
//!
//! [`wait_until`] replaces sleeps: it polls a condition with a deadline.
// A test fixture that cannot set itself up has nothing better to do than fail the test loudly.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::{future::Future, time::Duration};

use bus::{Bus, BusConfig, Prefix, provision};
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

pub fn nats_url() -> String {
    std::env::var("BOURSE_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

pub fn admin_database_url() -> String {
    std::env::var("BOURSE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// One test's share of the servers.
pub struct TestEnv {
    pub prefix: Prefix,
    pub nats_url: String,
    /// A fresh database of its own.
    pub database_url: String,
    database: String,
}

impl TestEnv {
    pub async fn new() -> Self {
        telemetry::init_for_tests();
        let id = Uuid::now_v7().simple().to_string();
        // The tail of a v7 uuid is random; the head is the timestamp, alike across a run.
        let tag = &id[id.len() - 12..];
        let prefix = Prefix::new(&format!("t{tag}")).expect("valid prefix");
        let database = format!("bourse_test_{tag}");
        let admin = admin_database_url();
        let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|err| {
            panic!("Postgres is not reachable at {admin}: {err} (start it, or run .ci/run)")
        });
        conn.execute(format!("create database {database}").as_str())
            .await
            .expect("create test database");
        let database_url = replace_database(&admin, &database);
        Self {
            prefix,
            nats_url: nats_url(),
            database_url,
            database,
        }
    }

    /// A connection under this test's prefix.
    pub async fn bus(&self) -> Bus {
        let config = BusConfig::new(&self.nats_url, self.prefix.clone(), "test");
        Bus::connect(config).await.unwrap_or_else(|err| {
            panic!("NATS is not reachable: {err} (start nats-server -js, or run .ci/run)")
        })
    }

    /// A connection with every stream and bucket provisioned.
    pub async fn provisioned_bus(&self) -> Bus {
        let bus = self.bus().await;
        provision::ensure_all(&bus, provision::Replicas(1))
            .await
            .expect("provision streams");
        bus
    }
}

impl Drop for TestEnv {
    /// Drops the database and this prefix's streams. Drop cannot be async and may run inside a
    /// runtime, so the clean-up gets a thread and a small runtime of its own.
    fn drop(&mut self) {
        let database = self.database.clone();
        let prefix = self.prefix.clone();
        let nats_url = self.nats_url.clone();
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&admin_database_url()).await {
                    let _ = conn
                        .execute(
                            format!("drop database if exists {database} with (force)").as_str(),
                        )
                        .await;
                }
                if let Ok(client) = async_nats::connect(nats_url).await {
                    let js = async_nats::jetstream::new(client);
                    for (name, _) in provision::STREAMS {
                        let _ = js.delete_stream(prefix.stream(name)).await;
                    }
                    for (name, _) in provision::BUCKETS {
                        let _ = js.delete_key_value(prefix.bucket(name)).await;
                    }
                }
            });
        });
        let _ = cleanup.join();
    }
}

fn replace_database(url: &str, database: &str) -> String {
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

/// Polls `condition` every 20 ms until it is true or `timeout` passes; panics with `what` then.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if condition().await {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_database_keeps_host_and_options() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
