//! Building and running the market service: the same code runs in its own binary, in
//! `bourse dev` and in tests.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use async_nats::jetstream::kv;
use bus::{Bus, RunningService};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    alpha_vantage::{AlphaVantage, AlphaVantageConfig},
    config::{Config, FeedKind},
    feed::{alpha_vantage::AlphaVantageFeed, simulated::SimulatedFeed},
    handlers,
    quote_book::QuoteBook,
};

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub bus: Bus,
    /// The KV bucket `quotes`: latest quote per symbol.
    pub quotes: kv::Store,
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

impl App {
    /// Registers the `market` service on the bus. `pool` must be migrated with
    /// [`crate::MIGRATOR`]; the streams and the `quotes` bucket must be provisioned.
    pub async fn build(config: Config, bus: Bus, pool: PgPool) -> anyhow::Result<Self> {
        let quotes = bus
            .kv("quotes")
            .await
            .context("the KV bucket `quotes` is missing; provision the streams")?;
        let alpha_vantage = match &config.alpha_vantage_api_key {
            Some(key) => {
                let mut av = AlphaVantageConfig::new(key.clone());
                av.base_url = config.alpha_vantage_url.clone();
                av.requests_per_minute = config.alpha_vantage_requests_per_minute;
                Some(Arc::new(
                    AlphaVantage::new(av).context("Alpha Vantage client")?,
                ))
            }
            None => None,
        };
        let state = AppState {
            db: pool,
            bus: bus.clone(),
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
            (FeedKind::AlphaVantage, None) => {
                anyhow::bail!("--price-feed alpha-vantage needs ALPHA_VANTAGE_API_KEY")
            }
            (FeedKind::Off | FeedKind::Auto, _) => None,
        };
        let service = register(&bus, state.clone()).await?;
        Ok(Self {
            service,
            feed,
            state,
        })
    }

    /// Answers requests and runs the feed until `shutdown`, then stops both gracefully.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
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

async fn register(bus: &Bus, state: AppState) -> anyhow::Result<RunningService> {
    let s = state;
    let service = bus
        .service(
            "market",
            env!("CARGO_PKG_VERSION"),
            "Symbols, latest quotes, daily price history and the price feed",
        )
        .endpoint({
            let s = s.clone();
            move |ctx, req| handlers::symbol::search(s.clone(), ctx, req)
        })
        .endpoint({
            let s = s.clone();
            move |ctx, req| handlers::symbol::get(s.clone(), ctx, req)
        })
        .endpoint({
            let s = s.clone();
            move |ctx, req| handlers::symbol::create(s.clone(), ctx, req)
        })
        .endpoint({
            let s = s.clone();
            move |ctx, req| handlers::quote::get(s.clone(), ctx, req)
        })
        .endpoint({
            let s = s.clone();
            move |ctx, req| handlers::history::get(s.clone(), ctx, req)
        })
        .endpoint(move |ctx, req| handlers::history::import(s.clone(), ctx, req))
        .start()
        .await?;
    Ok(service)
}
