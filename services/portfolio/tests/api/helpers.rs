//! The portfolio service with the market service it asks, on real NATS and Postgres, under a
//! test prefix, each started by the service kit as its binary is.

use bus::{Actor, Bus, BusError, ErrorCode, RequestContext, kv::Kv};
use chrono::{NaiveDate, Utc};
use contracts::{
    Currency, Request,
    market::{DailyClose, HistoryData, ImportPriceHistory, Quote, QuoteSource, Quotes, Ticker},
    portfolio::{
        ActivityType, CreatePortfolio, NewActivity, Portfolio, PortfolioName, RecordActivities,
        RecordedActivities,
    },
};
use rust_decimal::Decimal;
use sqlx::PgPool;
use testkit::{Running, TestEnv};
use uuid::Uuid;

pub(crate) struct TestApp {
    pub(crate) bus: Bus,
    pub(crate) pool: PgPool,
    pub(crate) quotes: Kv<Quotes>,
    pub(crate) portfolio: Option<Running>,
    pub(crate) market: Running,
    // Last, so the servers are cleaned up after the services stopped.
    _env: TestEnv,
}

/// A signed-in user, as the gateway stamps one on a request.
#[derive(Clone)]
pub(crate) struct User(pub(crate) Uuid);

impl User {
    pub(crate) fn new() -> Self {
        Self(Uuid::now_v7())
    }

    pub(crate) fn ctx(&self) -> RequestContext {
        RequestContext::new().with_actor(Some(Actor {
            user_id: self.0,
            roles: vec!["user".into()],
        }))
    }
}

pub(crate) async fn spawn_app() -> TestApp {
    let (mut app, portfolio) = spawn_built().await;
    app.portfolio = Some(testkit::run(portfolio));
    app
}

/// The services built but the portfolio service not run: it answers requests, and its relay
/// and consumers are the test's to drive.
pub(crate) async fn spawn_built() -> (TestApp, portfolio::App) {
    let env = TestEnv::new().await;
    let market = env.start::<market::App>(market::Config::default()).await;
    let portfolio = env
        .start::<portfolio::App>(portfolio::Config {
            portfolios_per_user: 5,
        })
        .await;
    let bus = env.bus().await;
    let quotes = bus.bucket::<Quotes>().await.unwrap();
    let app = TestApp {
        pool: env.pool::<portfolio::App>().await,
        bus,
        quotes,
        portfolio: None,
        market: testkit::run(market),
        _env: env,
    };
    (app, portfolio)
}

impl TestApp {
    pub(crate) async fn call<R: Request>(
        &self,
        user: &User,
        request: R,
    ) -> Result<R::Reply, BusError> {
        self.bus.request(&user.ctx(), &request).await
    }

    /// A raw JSON body to `R`'s subject: the service's own checks, past the client-side types.
    pub(crate) async fn call_raw<R: Request>(
        &self,
        user: &User,
        body: serde_json::Value,
    ) -> Result<R::Reply, BusError> {
        self.bus
            .request_body::<R>(&user.ctx(), &body, self.bus.request_timeout())
            .await
    }

    pub(crate) async fn portfolio(&self, user: &User, currency: &str) -> Portfolio {
        self.call(
            user,
            CreatePortfolio {
                name: PortfolioName::parse("Main").unwrap(),
                description: None,
                base_currency: Currency::parse(currency).unwrap(),
            },
        )
        .await
        .unwrap()
    }

    pub(crate) async fn record(
        &self,
        user: &User,
        portfolio: &Portfolio,
        activities: Vec<NewActivity>,
    ) -> Result<RecordedActivities, BusError> {
        self.call(
            user,
            RecordActivities {
                portfolio_id: portfolio.id,
                activities,
            },
        )
        .await
    }

    /// Daily closes of `symbol` in market (the symbol is added as a manual one when unknown).
    pub(crate) async fn closes(&self, symbol: &str, closes: &[(&str, Decimal)]) {
        let request = ImportPriceHistory {
            symbol: ticker(symbol),
            data: HistoryData::Closes {
                closes: closes
                    .iter()
                    .map(|(date, close)| DailyClose {
                        date: day(date),
                        close: *close,
                    })
                    .collect(),
            },
        };
        self.bus
            .request(&RequestContext::new(), &request)
            .await
            .unwrap();
    }

    /// `symbol`'s latest quote in the `quotes` bucket, as the feed puts it.
    pub(crate) async fn quote(&self, symbol: &str, price: Decimal, currency: &str) {
        let quote = Quote {
            symbol: ticker(symbol),
            price,
            currency: Currency::parse(currency).unwrap(),
            previous_close: None,
            change: None,
            change_percent: None,
            as_of: Utc::now(),
            source: QuoteSource::Simulated,
        };
        self.quotes.put(&ticker(symbol), &quote).await.unwrap();
    }

    pub(crate) async fn stop(mut self) {
        if let Some(portfolio) = self.portfolio.take() {
            portfolio.stop().await;
        }
        self.market.stop().await;
    }
}

pub(crate) fn ticker(symbol: &str) -> Ticker {
    Ticker::parse(symbol).unwrap()
}

pub(crate) fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

pub(crate) fn activity(
    kind: ActivityType,
    date: &str,
    symbol: &str,
    quantity: Decimal,
    unit_price: Decimal,
) -> NewActivity {
    NewActivity {
        kind,
        date: day(date),
        symbol: (kind != ActivityType::Fee).then(|| ticker(symbol)),
        quantity,
        unit_price,
        fee: Decimal::ZERO,
        currency: Currency::parse("USD").unwrap(),
        note: None,
    }
}

pub(crate) fn buy(date: &str, symbol: &str, quantity: Decimal, price: Decimal) -> NewActivity {
    activity(ActivityType::Buy, date, symbol, quantity, price)
}

pub(crate) fn sell(date: &str, symbol: &str, quantity: Decimal, price: Decimal) -> NewActivity {
    activity(ActivityType::Sell, date, symbol, quantity, price)
}

/// The catalogue code of a failed call.
pub(crate) fn code<T: std::fmt::Debug>(result: Result<T, BusError>) -> ErrorCode {
    result.unwrap_err().code()
}
