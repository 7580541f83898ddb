//! A market service on real NATS and Postgres, under a test prefix, started by the service kit
//! as its binary is.

use bus::{Bus, RequestContext};
use contracts::{Request, market::Ticker};
use sqlx::PgPool;
use testkit::{Running, TestEnv};

pub(crate) struct TestApp {
    /// The test's own connection.
    pub(crate) bus: Bus,
    /// The test's own pool on the market schema.
    pub(crate) pool: PgPool,
    /// The running service's state, to drive a feed step by step.
    pub(crate) state: market::AppState,
    pub(crate) running: Running,
    // Last, so the servers are cleaned up after the service stopped.
    pub(crate) env: TestEnv,
}

pub(crate) async fn spawn_app(config: market::Config) -> TestApp {
    let env = TestEnv::new().await;
    let app = env.start::<market::App>(config).await;
    let state = app.state().clone();
    TestApp {
        bus: env.bus().await,
        pool: env.pool::<market::App>().await,
        state,
        running: testkit::run(app),
        env,
    }
}

impl TestApp {
    pub(crate) async fn call<R: Request>(&self, request: R) -> Result<R::Reply, bus::BusError> {
        self.bus.request(&RequestContext::new(), &request).await
    }

    /// A raw JSON body to `R`'s subject: the service's own checks, past any client-side type.
    pub(crate) async fn call_raw<R: Request>(
        &self,
        body: serde_json::Value,
    ) -> Result<R::Reply, bus::BusError> {
        self.bus
            .request_body::<R>(&RequestContext::new(), &body, self.bus.request_timeout())
            .await
    }

    pub(crate) async fn stop(self) {
        self.running.stop().await;
    }
}

pub(crate) fn ticker(symbol: &str) -> Ticker {
    Ticker::parse(symbol).unwrap()
}
