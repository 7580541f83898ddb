//! A market service on real NATS and Postgres, under a test prefix.

use bus::{Bus, RequestContext};
use contracts::{Request, market::Ticker};
use sqlx::PgPool;
use testkit::TestEnv;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub(crate) struct TestMarket {
    pub(crate) bus: Bus,
    pub(crate) pool: PgPool,
    pub(crate) shutdown: CancellationToken,
    pub(crate) task: Option<JoinHandle<anyhow::Result<()>>>,
    // Last, so the servers are cleaned up after the service stopped.
    pub(crate) env: TestEnv,
}

pub(crate) async fn spawn_market(config: market::Config) -> TestMarket {
    let env = TestEnv::new().await;
    let bus = env.provisioned_bus().await;
    let pool =
        bus::pg::connect_and_migrate(&env.database_url, market::SCHEMA, &market::MIGRATOR, 5)
            .await
            .unwrap();
    let app = market::App::build(config, bus.clone(), pool.clone())
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    TestMarket {
        bus,
        pool,
        shutdown,
        task: Some(task),
        env,
    }
}

impl TestMarket {
    pub(crate) async fn call<R: Request>(&self, request: R) -> Result<R::Reply, bus::BusError> {
        self.bus.request(&RequestContext::new(), &request).await
    }

    pub(crate) async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestMarket {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub(crate) fn ticker(symbol: &str) -> Ticker {
    Ticker::parse(symbol).unwrap()
}
