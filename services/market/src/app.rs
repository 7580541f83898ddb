//! Building and running the market service through the service kit: the same code runs in its
//! own binary, in `bourse dev`, in the bench and in tests.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use bus::{
    Bus, RunningService,
    kit::{Database, Deps, Service},
    kv::Kv,
};
use contracts::market::Quotes;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    alpha_vantage::{AlphaVantage, AlphaVantageConfig},
    config::{Config, FeedKind},
    feed::{alpha_vantage::AlphaVantageFeed, simulated::SimulatedFeed},
    handlers,
    quote_book::QuoteBook,
};

/// What every handler and feed gets.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub bus: Bus,
    /// The KV bucket `quotes`: latest quote per symbol.
    pub quotes: Kv<Quotes>,
    /// Present when an Alpha Vantage key is configured.
    pub alpha_vantage: Option<Arc<AlphaVantage>>,
    /// The bucket's contents in memory; the fast path of `quote.get`.
    pub quote_book: Arc<QuoteBook>,
}

enum Feed {
    // Boxed: the two feeds differ in size and are built once.
    Simulated(Box<SimulatedFeed>),
    AlphaVantage(Box<AlphaVantageFeed>),
}

/// A started market service.
pub struct App {
    service: RunningService,
    feed: Option<Feed>,
    state: AppState,
}

impl Service for App {
    const NAME: &'static str = "market";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "Symbols, latest quotes, daily price history and the price feed";
    const DATABASE: Option<Database> = Some(Database {
        schema: crate::SCHEMA,
        migrator: &crate::MIGRATOR,
    });
    type Config = Config;

    fn check(config: &Config) -> anyhow::Result<()> {
        if config.effective_feed() == FeedKind::AlphaVantage
            && config.alpha_vantage_api_key.is_none()
        {
            anyhow::bail!("--price-feed alpha-vantage needs ALPHA_VANTAGE_API_KEY");
        }
        Ok(())
    }

    /// Registers the `market` service on the bus and prepares the feed.
    async fn build(config: Config, deps: Deps) -> anyhow::Result<Self> {
        let quotes = deps
            .bus
            .bucket::<Quotes>()
            .await
            .context("the KV bucket `quotes` is missing; provision the streams")?;
        let alpha_vantage = match &config.alpha_vantage_api_key {
            Some(key) => {
                let mut av = AlphaVantageConfig::new(key.expose());
                av.base_url = config.alpha_vantage_url.clone();
                av.requests_per_minute = config.alpha_vantage_requests_per_minute;
                Some(Arc::new(
                    AlphaVantage::new(av).context("Alpha Vantage client")?,
                ))
            }
            None => None,
        };
        let state = AppState {
            db: deps.db()?,
            bus: deps.bus.clone(),
            quotes,
            alpha_vantage,
            quote_book: Arc::default(),
        };
        let feed = match (config.effective_feed(), &state.alpha_vantage) {
            (FeedKind::Simulated, _) => Some(Feed::Simulated(Box::new(SimulatedFeed::new(
                state.clone(),
                config.feed_interval,
                config.feed_seed,
            )))),
            (FeedKind::AlphaVantage, Some(provider)) => Some(Feed::AlphaVantage(Box::new(
                AlphaVantageFeed::new(state.clone(), provider.clone()),
            ))),
            (FeedKind::AlphaVantage | FeedKind::Off | FeedKind::Auto, _) => None,
        };
        let service = deps
            .service::<Self>()
            .state(Arc::new(state.clone()))
            .endpoint(handlers::symbol::search)
            .endpoint(handlers::symbol::get)
            .endpoint(handlers::symbol::create)
            .endpoint(handlers::symbol::ensure)
            .endpoint(handlers::quote::get)
            .endpoint(handlers::history::get)
            .endpoint(handlers::history::import)
            .start()
            .await?;
        Ok(Self {
            service,
            feed,
            state,
        })
    }

    /// Answers requests and runs the feed until `shutdown`, then stops both gracefully.
    async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let feed = self.feed.map(|feed| {
            let token = shutdown.child_token();
            match feed {
                Feed::Simulated(feed) => tokio::spawn((*feed).run(token)),
                Feed::AlphaVantage(feed) => tokio::spawn((*feed).run(token)),
            }
        });
        let book = tokio::spawn(
            self.state
                .quote_book
                .clone()
                .follow(self.state.quotes.clone(), shutdown.child_token()),
        );
        shutdown.cancelled().await;
        self.service.stop(Duration::from_secs(5)).await;
        book.await.context("the quote book task failed")?;
        if let Some(feed) = feed {
            feed.await.context("the price feed task failed")?;
        }
        Ok(())
    }
}

impl App {
    /// What the handlers share: tests and the bench drive a feed step by step with it.
    pub fn state(&self) -> &AppState {
        &self.state
    }
}
