//! Real NATS and real Postgres for tests, kept apart per test.
//!
//! [`TestEnv::new`] gives a test a unique subject prefix (so streams, buckets, services and
//! subjects of concurrent tests never meet on the shared server) and a fresh database; both are
//! removed when the `TestEnv` is dropped. Servers come from `BOURSE_TEST_NATS_URL` (default
//! `nats://127.0.0.1:4222`) and `BOURSE_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); `.ci/run` starts them when they are down.
//!
//! Services under test start through the kit, exactly as their binaries do: [`TestEnv::start`]
//! (the same `bus::kit::start`), then [`run`] keeps one running until it is stopped or dropped.
//!
//! [`wait_until`] replaces sleeps: it polls a condition with a deadline. [`listen`] subscribes
//! and returns once the server has the subscription, so a message sent next on another
//! connection cannot miss it.
// A test fixture that cannot set itself up has nothing better to do than fail the test loudly.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::{future::Future, time::Duration};

mod nats_server;
mod relay;
pub use nats_server::{NatsCluster, NatsServer, free_port};
pub use relay::Relay;

use bus::{
    Bus, BusConfig, NatsArgs, Prefix,
    kit::{Platform, Service},
    provision,
};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
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
        Self::on_nats(nats_url()).await
    }

    /// A test's share of another NATS server, e.g. a [`NatsServer`] of its own.
    pub async fn on_nats(nats_url: String) -> Self {
        telemetry::init_for_tests();
        let id = Uuid::now_v7().simple().to_string();
        // The tail of a v7 uuid is random; the head is the timestamp, alike across a run.
        let tag = &id[id.len() - 12..];
        let prefix = Prefix::new(&format!("t{tag}")).expect("valid prefix");
        let database = format!("bourse_test_{tag}");
        let database_url = bus::pg::create_scratch_database(&admin_database_url(), &database)
            .await
            .unwrap_or_else(|err| panic!("{err} (start Postgres, or run .ci/run)"));
        Self {
            prefix,
            nats_url,
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
        self.provisioned_bus_with(1).await
    }

    /// A connection with every stream and bucket provisioned with `replicas` (3 on a cluster).
    pub async fn provisioned_bus_with(&self, replicas: u8) -> Bus {
        let bus = self.bus().await;
        provision::ensure_all(&bus, provision::Replicas(usize::from(replicas)))
            .await
            .expect("provision streams");
        bus
    }

    /// Where services under test run: this test's prefix and database, one replica.
    pub fn platform(&self) -> Platform {
        let nats = NatsArgs {
            nats_url: self.nats_url.clone(),
            subject_prefix: self.prefix.clone(),
            stream_replicas: 1,
            request_timeout: Duration::from_secs(5),
        };
        Platform {
            pool_size: 5,
            ..Platform::new(nats, self.database_url.clone())
        }
    }

    /// Starts `S` on [`TestEnv::platform`] through the kit, as its binary would.
    pub async fn start<S: Service>(&self, config: S::Config) -> S {
        self.start_on(&self.platform(), config).await
    }

    /// Starts `S` on `platform` (e.g. [`TestEnv::platform`] with a shorter request timeout).
    pub async fn start_on<S: Service>(&self, platform: &Platform, config: S::Config) -> S {
        bus::kit::start::<S>(platform, config)
            .await
            .unwrap_or_else(|err| panic!("cannot start {}: {err:#}", S::NAME))
    }

    /// A pool of the test's own on `S`'s schema (migrated), for looking into the database.
    pub async fn pool<S: Service>(&self) -> PgPool {
        let db = S::DATABASE.unwrap_or_else(|| panic!("{} has no database", S::NAME));
        bus::pg::connect_and_migrate(&self.database_url, db.schema, db.migrator, 5)
            .await
            .unwrap_or_else(|err| panic!("cannot open the {} schema: {err}", db.schema))
    }
}

/// A service running on a task of its own, until [`Running::stop`] or drop.
pub struct Running {
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Runs a started service until it is stopped.
pub fn run<S: Service>(service: S) -> Running {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(service.run_until_stopped(shutdown.clone()));
    Running {
        shutdown,
        task: Some(task),
    }
}

impl Running {
    /// Stops the service gracefully and fails the test when it did not stop cleanly.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await
                .expect("the service task")
                .expect("the service stops cleanly");
        }
    }

    /// Ends the service as a crash would: its task is aborted where it stands, so nothing is
    /// drained, released or said goodbye to (its NATS connection stays open meanwhile, as a
    /// hung process's would).
    pub async fn kill(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// The token that stops it: cancel it to stop the service without waiting.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Subscribes `bus` to `subject` (prefixed) and returns once the server has registered the
/// subscription: what a test's own responder or listener needs, since `flush` proves nothing
/// about a message another connection sends next.
pub async fn listen(bus: &Bus, subject: &str) -> async_nats::Subscriber {
    let subscriber = bus
        .client()
        .subscribe(bus.prefix().subject(subject))
        .await
        .expect("subscribe");
    bus.sync().await.expect("the server has the subscription");
    subscriber
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
                let _ = bus::pg::drop_scratch_database(&admin_database_url(), &database).await;
                let Ok(servers) = bus::server_addrs(&nats_url) else {
                    return;
                };
                if let Ok(client) = async_nats::connect(servers.as_slice()).await {
                    let js = async_nats::jetstream::new(client);
                    let _ = provision::delete_all(&js, &[&prefix]).await;
                }
            });
        });
        let _ = cleanup.join();
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
