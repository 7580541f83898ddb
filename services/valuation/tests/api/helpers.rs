//! Market, portfolio and valuation instances under one test prefix, and a listener of
//! valuations.

use std::{collections::HashMap, time::Duration};

use bus::{Actor, Bus, RequestContext};
use chrono::Utc;
use contracts::{
    Currency,
    market::{PriceUpdated, Quote, QuoteSource, Quotes, Ticker},
    portfolio::{
        ActivityType, CreatePortfolio, NewActivity, Portfolio, PortfolioName, RecordActivities,
    },
    valuation::PortfolioValued,
};
use futures::StreamExt;
use rust_decimal::Decimal;
use testkit::{Running, TestEnv};
use uuid::Uuid;

pub(crate) struct TestApp {
    pub(crate) env: TestEnv,
    pub(crate) bus: Bus,
    pub(crate) running: Vec<Running>,
}

/// A signed-in user, as the gateway stamps one on a request.
pub(crate) fn user_ctx(user: Uuid) -> RequestContext {
    RequestContext::new().with_actor(Some(Actor {
        user_id: user,
        roles: vec!["user".into()],
    }))
}

impl TestApp {
    /// Market and portfolio, running; valuation instances are the test's to start.
    pub(crate) async fn new() -> Self {
        let env = TestEnv::new().await;
        let market = env.start::<market::App>(market::Config::default()).await;
        let portfolio = env
            .start::<portfolio::App>(portfolio::Config::default())
            .await;
        let bus = env.bus().await;
        Self {
            running: vec![testkit::run(market), testkit::run(portfolio)],
            bus,
            env,
        }
    }

    /// A valuation instance, built (not yet running).
    pub(crate) async fn valuation(&self) -> valuation::App {
        self.env
            .start::<valuation::App>(valuation::Config {
                valuation_coalesce: Duration::from_millis(20),
            })
            .await
    }

    /// A portfolio of a new user with `quantity` of `symbol` bought at `price`.
    pub(crate) async fn holding(
        &self,
        symbol: &str,
        quantity: Decimal,
        price: Decimal,
    ) -> Portfolio {
        let ctx = user_ctx(Uuid::now_v7());
        let portfolio = self
            .bus
            .request(
                &ctx,
                &CreatePortfolio {
                    name: PortfolioName::parse("Main").unwrap(),
                    description: None,
                    base_currency: usd(),
                },
            )
            .await
            .unwrap();
        self.bus
            .request(
                &ctx,
                &RecordActivities {
                    portfolio_id: portfolio.id,
                    activities: vec![activity(ActivityType::Buy, symbol, quantity, price)],
                },
            )
            .await
            .unwrap();
        portfolio
    }

    /// One tick of `symbol`, as the market feed makes it: the quote in the bucket, then the
    /// price event.
    pub(crate) async fn tick(&self, symbol: &str, price: Decimal, previous_close: Option<Decimal>) {
        let now = Utc::now();
        let quote = Quote {
            symbol: ticker(symbol),
            price,
            currency: usd(),
            previous_close,
            change: None,
            change_percent: None,
            as_of: now,
            source: QuoteSource::Simulated,
        };
        let quotes = self.bus.bucket::<Quotes>().await.unwrap();
        quotes.put(&ticker(symbol), &quote).await.unwrap();
        let event = PriceUpdated {
            event_id: contracts::new_id(),
            occurred_at: now,
            symbol: ticker(symbol),
            price,
            currency: usd(),
            source: QuoteSource::Simulated,
        };
        self.bus
            .publish_event(&RequestContext::new(), &event)
            .await
            .unwrap();
    }

    pub(crate) async fn valuations(&self) -> Valuations {
        Valuations(testkit::listen(&self.bus, "evt.valuation.*").await)
    }

    pub(crate) async fn stop(self) {
        for running in self.running.into_iter().rev() {
            running.stop().await;
        }
    }
}

/// Valuations as they are published.
pub(crate) struct Valuations(async_nats::Subscriber);

impl Valuations {
    /// The next valuation, within `wait`.
    pub(crate) async fn next(&mut self, wait: Duration) -> Option<PortfolioValued> {
        let message = tokio::time::timeout(wait, self.0.next()).await.ok()??;
        Some(serde_json::from_slice(&message.payload).expect("a valuation"))
    }

    /// Valuations until one of `portfolio` satisfies `wanted` (panics after 15 s).
    pub(crate) async fn until(
        &mut self,
        portfolio: Uuid,
        what: &str,
        wanted: impl Fn(&PortfolioValued) -> bool,
    ) -> PortfolioValued {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(valued) = self.next(left).await else {
                panic!("no valuation of {portfolio} with {what} within 15 s; saw {seen:#?}");
            };
            if valued.portfolio_id == portfolio && wanted(&valued) {
                return valued;
            }
            seen.push(valued);
        }
    }

    /// Every valuation until none came for `quiet`, counted per portfolio.
    pub(crate) async fn drain(&mut self, quiet: Duration) -> HashMap<Uuid, Vec<PortfolioValued>> {
        let mut seen: HashMap<Uuid, Vec<PortfolioValued>> = HashMap::new();
        while let Some(valued) = self.next(quiet).await {
            seen.entry(valued.portfolio_id).or_default().push(valued);
        }
        seen
    }
}

pub(crate) fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

pub(crate) fn ticker(symbol: &str) -> Ticker {
    Ticker::parse(symbol).unwrap()
}

pub(crate) fn activity(
    kind: ActivityType,
    symbol: &str,
    quantity: Decimal,
    price: Decimal,
) -> NewActivity {
    NewActivity {
        kind,
        date: Utc::now().date_naive(),
        symbol: Some(ticker(symbol)),
        quantity,
        unit_price: price,
        fee: Decimal::ZERO,
        currency: usd(),
        note: None,
    }
}
