//! The simulated feed: a geometric random walk per symbol, seedable for tests.

use std::{collections::BTreeMap, time::Duration};

use bus::RequestContext;
use chrono::Utc;
use contracts::{
    Currency,
    market::{Quote, QuoteSource, Ticker},
};
use rust_decimal::Decimal;
use tokio_util::sync::CancellationToken;

use crate::{
    app::AppState,
    domain::{RandomWalk, quote_from_tick},
    error::MarketError,
    feed::publish_quote,
    store,
};

/// Annual volatility of every simulated symbol: lively enough to watch, tame enough to chart.
const ANNUAL_VOLATILITY: Decimal = Decimal::from_parts(35, 0, 0, false, 2);
/// Where a symbol with no history and no quote starts.
const DEFAULT_START: Decimal = Decimal::ONE_HUNDRED;
/// Ticks between two reloads of the catalogue (symbols added meanwhile join the feed).
const RELOAD_EVERY: u64 = 12;

struct Tracked {
    price: Decimal,
    previous_close: Option<Decimal>,
    currency: Currency,
}

pub struct SimulatedFeed {
    state: AppState,
    walk: RandomWalk,
    interval: Duration,
    symbols: BTreeMap<Ticker, Tracked>,
    ticks: u64,
}

impl SimulatedFeed {
    pub fn new(state: AppState, interval: Duration, seed: Option<u64>) -> Self {
        Self {
            state,
            walk: RandomWalk::new(seed, interval, ANNUAL_VOLATILITY),
            interval,
            symbols: BTreeMap::new(),
            ticks: 0,
        }
    }

    /// One tick: a new price for every symbol. Returns how many were published.
    pub async fn try_run_once(&mut self) -> Result<usize, MarketError> {
        if self.ticks.is_multiple_of(RELOAD_EVERY) {
            self.reload().await?;
        }
        self.ticks += 1;
        let ctx = RequestContext::new();
        let now = Utc::now();
        let mut published = 0;
        // BTreeMap order keeps a seeded run reproducible.
        for (symbol, tracked) in &mut self.symbols {
            tracked.price = self.walk.next_price(tracked.price);
            let quote = quote_from_tick(
                symbol.clone(),
                tracked.price,
                tracked.currency.clone(),
                tracked.previous_close,
                now,
                QuoteSource::Simulated,
            );
            publish_quote(&self.state, &ctx, &quote).await?;
            published += 1;
        }
        Ok(published)
    }

    pub async fn run(mut self, shutdown: CancellationToken) {
        tracing::info!(interval = ?self.interval, "simulated price feed started");
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = ticker.tick() => {
                    if let Err(err) = self.try_run_once().await {
                        tracing::warn!(error = %err, "price tick failed; trying again next tick");
                    }
                }
            }
        }
        tracing::info!("simulated price feed stopped");
    }

    /// Picks up symbols added to the catalogue. A new symbol continues from its last quote
    /// (so a restart does not jump), else its latest close, else a default.
    async fn reload(&mut self) -> Result<(), MarketError> {
        let mut conn = self.state.db.acquire().await?;
        let catalogue = store::symbol::for_feed(&mut conn).await?;
        drop(conn);
        for entry in catalogue {
            if self.symbols.contains_key(&entry.symbol) {
                continue;
            }
            let last_quote = self.last_quote(&entry.symbol).await;
            let price = last_quote
                .as_ref()
                .map(|q| q.price)
                .or(entry.last_close)
                .unwrap_or(DEFAULT_START);
            self.symbols.insert(
                entry.symbol,
                Tracked {
                    price,
                    previous_close: entry.last_close,
                    currency: entry.currency,
                },
            );
        }
        Ok(())
    }

    async fn last_quote(&self, symbol: &Ticker) -> Option<Quote> {
        self.state.quotes.get(symbol).await.ok()?
    }
}
