//! Market, portfolio and an assistant under one test prefix; a follower of chat events.

use std::time::Duration;

use bus::{Actor, Bus, RequestContext};
use chrono::Utc;
use contracts::{
    Currency,
    assistant::{ChatEvent, ChatEventKind, Started},
    market::{Quote, QuoteSource, Quotes, Ticker},
    portfolio::{
        ActivityType, CreatePortfolio, NewActivity, Portfolio, PortfolioName, RecordActivities,
    },
};
use futures::StreamExt;
use rust_decimal::Decimal;
use testkit::{Running, TestEnv};
use uuid::Uuid;

pub(crate) struct TestApp {
    _env: TestEnv,
    pub(crate) bus: Bus,
    _running: Vec<Running>,
}

pub(crate) fn user_ctx(user: Uuid) -> RequestContext {
    RequestContext::new().with_actor(Some(Actor {
        user_id: user,
        roles: vec!["user".into()],
    }))
}

impl TestApp {
    pub(crate) async fn new() -> Self {
        Self::with(assistant::Config::default()).await
    }

    pub(crate) async fn with(config: assistant::Config) -> Self {
        let env = TestEnv::new().await;
        let market = env.start::<market::App>(market::Config::default()).await;
        let portfolio = env
            .start::<portfolio::App>(portfolio::Config::default())
            .await;
        let assistant = env.start::<assistant::App>(config).await;
        let bus = env.bus().await;
        Self {
            _running: vec![
                testkit::run(market),
                testkit::run(portfolio),
                testkit::run(assistant),
            ],
            bus,
            _env: env,
        }
    }

    /// A portfolio of `user` holding `quantity` AAPL bought at `cost`, AAPL quoted at `price`.
    pub(crate) async fn holding(
        &self,
        user: Uuid,
        quantity: i64,
        cost: i64,
        price: i64,
    ) -> Portfolio {
        let ctx = user_ctx(user);
        let usd = Currency::parse("USD").unwrap();
        let portfolio = self
            .bus
            .request(
                &ctx,
                &CreatePortfolio {
                    name: PortfolioName::parse("Main").unwrap(),
                    description: None,
                    base_currency: usd.clone(),
                },
            )
            .await
            .unwrap();
        let activity = NewActivity {
            kind: ActivityType::Buy,
            date: Utc::now().date_naive(),
            symbol: Some(Ticker::parse("AAPL").unwrap()),
            quantity: Decimal::from(quantity),
            unit_price: Decimal::from(cost),
            fee: Decimal::ZERO,
            currency: usd.clone(),
            note: None,
        };
        self.bus
            .request(
                &ctx,
                &RecordActivities {
                    portfolio_id: portfolio.id,
                    activities: vec![activity],
                },
            )
            .await
            .unwrap();
        let quote = Quote {
            symbol: Ticker::parse("AAPL").unwrap(),
            price: Decimal::from(price),
            currency: usd,
            previous_close: None,
            change: None,
            change_percent: None,
            as_of: Utc::now(),
            source: QuoteSource::Simulated,
        };
        let quotes = self.bus.bucket::<Quotes>().await.unwrap();
        quotes
            .put(&Ticker::parse("AAPL").unwrap(), &quote)
            .await
            .unwrap();
        portfolio
    }

    /// A follower of every chat event under this test's prefix.
    pub(crate) async fn chat_events(&self) -> ChatEvents {
        ChatEvents(testkit::listen(&self.bus, "evt.chat.>").await)
    }
}

pub(crate) struct ChatEvents(async_nats::Subscriber);

/// A reply as its events told it.
#[derive(Debug, Default)]
pub(crate) struct Told {
    pub(crate) text: String,
    pub(crate) kinds: Vec<ChatEventKind>,
}

impl ChatEvents {
    /// The events of `started`'s reply until `completed` or `failed`.
    pub(crate) async fn reply(&mut self, started: &Started) -> Told {
        let mut told = Told::default();
        loop {
            let message = tokio::time::timeout(Duration::from_secs(15), self.0.next())
                .await
                .expect("the reply goes on within 15 s")
                .expect("the subscription is open");
            let event: ChatEvent = serde_json::from_slice(&message.payload).unwrap();
            if event.generation_id != started.generation_id {
                continue;
            }
            assert_eq!(event.message_id, started.reply_id);
            assert!(
                message.subject.ends_with(event.kind.name()),
                "{}",
                message.subject
            );
            if let ChatEventKind::Delta { text } = &event.kind {
                told.text.push_str(text);
            }
            let last = matches!(
                event.kind,
                ChatEventKind::Completed { .. } | ChatEventKind::Failed { .. }
            );
            told.kinds.push(event.kind);
            if last {
                return told;
            }
        }
    }
}
