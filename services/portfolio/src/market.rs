//! What the portfolio service asks of market: daily closes and latest quotes to value
//! holdings, the quote a trade executes at, and manual symbols for tickers market does not
//! know (an import of 30 holdings must not fail on one exotic ticker).
//!
//! Daily closes are kept in memory ([`ClosesCache`]): a performance request over ten years of
//! twenty symbols would otherwise fetch and decode 70,000 closes from market every time. Past
//! closes change only when history is imported or backfilled, and market announces each such
//! change (`evt.price.<SYMBOL>.history_changed`), which [`Market::follow_history`] turns into
//! dropping that symbol's closes. Latest quotes are never cached: they are read from the
//! `quotes` bucket on every valuation.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_nats::jetstream::consumer::DeliverPolicy;
use bus::{Bus, BusError, ErrorCode, RequestContext, kv::Kv};
use chrono::NaiveDate;
use contracts::{
    DateRange, Event,
    market::{
        EnsureSymbols, GetPriceHistory, ManualSymbol, PriceHistoryChanged, Quote, Quotes, Ticker,
    },
};
use futures::{StreamExt, TryStreamExt, stream};
use ledger::PriceBook;
use rust_decimal::Decimal;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::PortfolioError;

/// A symbol's daily closes, oldest first.
type Closes = Arc<[(NaiveDate, Decimal)]>;

/// A symbol's daily closes and latest quote.
type SymbolPrices = (Ticker, Closes, Option<Quote>);

/// Symbols whose closes stay in memory; the least recently used goes first. Ten years of
/// closes are about 120 KB, so this bounds the cache near 250 MB at worst.
const CACHED_SYMBOLS: usize = 2_000;
/// How long cached closes are trusted without news from market: the bound on staleness should
/// an announcement be lost (market could not publish it, or this service was not following).
const CACHE_TTL: Duration = Duration::from_secs(600);

struct Cached {
    /// Closes from this date on (all of them when `None`).
    from: Option<NaiveDate>,
    closes: Closes,
    read_at: Instant,
    used_at: Instant,
}

/// Daily closes per symbol, dropped when market announces a change.
#[derive(Default)]
pub struct ClosesCache {
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    entries: HashMap<Ticker, Cached>,
    /// Bumped by every drop: a read that began before one is not kept (it may predate the
    /// change).
    epoch: u64,
}

impl ClosesCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        // Plain map updates: a panic elsewhere cannot leave one half done.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The closes of `symbol` from `from` on, when held and fresh; with the epoch to pass to
    /// [`ClosesCache::put`] after a read from market.
    fn get(&self, symbol: &Ticker, from: Option<NaiveDate>) -> (Option<Closes>, u64) {
        let mut state = self.lock();
        let epoch = state.epoch;
        let Some(cached) = state.entries.get_mut(symbol) else {
            return (None, epoch);
        };
        let covers = match (cached.from, from) {
            (None, _) => true,
            (Some(held), Some(wanted)) => held <= wanted,
            (Some(_), None) => false,
        };
        if !covers || cached.read_at.elapsed() >= CACHE_TTL {
            return (None, epoch);
        }
        cached.used_at = Instant::now();
        (Some(cached.closes.clone()), epoch)
    }

    /// Keeps closes read from market, unless something was dropped since the read began.
    fn put(&self, symbol: &Ticker, from: Option<NaiveDate>, closes: Closes, epoch: u64) {
        let mut state = self.lock();
        if state.epoch != epoch {
            return;
        }
        if state.entries.len() >= CACHED_SYMBOLS
            && !state.entries.contains_key(symbol)
            && let Some(oldest) = state
                .entries
                .iter()
                .min_by_key(|(_, cached)| cached.used_at)
                .map(|(symbol, _)| symbol.clone())
        {
            state.entries.remove(&oldest);
        }
        let now = Instant::now();
        state.entries.insert(
            symbol.clone(),
            Cached {
                from,
                closes,
                read_at: now,
                used_at: now,
            },
        );
    }

    fn forget(&self, symbol: &Ticker) {
        let mut state = self.lock();
        state.epoch += 1;
        state.entries.remove(symbol);
    }

    fn clear(&self) {
        let mut state = self.lock();
        state.epoch += 1;
        state.entries.clear();
    }
}

/// History requests in flight at once for one valuation.
const CONCURRENT_HISTORIES: usize = 16;

#[derive(Clone)]
pub struct Market {
    bus: Bus,
    quotes: Kv<Quotes>,
    closes: Arc<ClosesCache>,
}

impl Market {
    pub fn new(bus: Bus, quotes: Kv<Quotes>) -> Self {
        Self {
            bus,
            quotes,
            closes: Arc::default(),
        }
    }

    /// Drops a symbol's cached closes when market announces they changed, until `shutdown`.
    /// Whenever it (re)starts following, everything cached is dropped: announcements made
    /// while it was not following are unknown.
    pub async fn follow_history(self, shutdown: CancellationToken) {
        let filter = PriceHistoryChanged::wildcard();
        loop {
            match self
                .bus
                .ordered_messages(PriceHistoryChanged::STREAM, &filter, DeliverPolicy::New)
                .await
            {
                Ok(mut changes) => {
                    self.closes.clear();
                    loop {
                        let next = tokio::select! {
                            () = shutdown.cancelled() => return,
                            next = changes.next() => next,
                        };
                        match next {
                            Some(Ok(message)) => {
                                match serde_json::from_slice::<PriceHistoryChanged>(
                                    &message.payload,
                                ) {
                                    Ok(changed) => self.closes.forget(&changed.symbol),
                                    Err(err) => {
                                        tracing::warn!(error = %err, "an undecodable history announcement; dropping every cached close");
                                        self.closes.clear();
                                    }
                                }
                            }
                            Some(Err(err)) => {
                                tracing::debug!(error = %err, "history announcements hiccup")
                            }
                            None => break,
                        }
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cannot follow price history announcements; trying again");
                }
            }
            // Not following: nothing cached can be trusted.
            self.closes.clear();
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// The latest quote of `symbol`, if market has one.
    pub async fn quote(&self, symbol: &Ticker) -> Result<Option<Quote>, PortfolioError> {
        Ok(self.quotes.get(symbol).await?)
    }

    /// Daily closes of `symbols` from `from` on, and their latest quotes: what valuing a
    /// history needs. A symbol market has no history for is valued at its trade prices.
    pub async fn prices(
        &self,
        ctx: &RequestContext,
        symbols: &[&Ticker],
        from: Option<NaiveDate>,
    ) -> Result<PriceBook, PortfolioError> {
        let range = DateRange::new(from, None)?;
        let fetches: Vec<_> = symbols
            .iter()
            .map(|symbol| {
                self.clone()
                    .symbol_prices(ctx.clone(), (*symbol).clone(), range)
            })
            .collect();
        let fetched: Vec<SymbolPrices> = stream::iter(fetches)
            .buffer_unordered(CONCURRENT_HISTORIES)
            .try_collect()
            .await?;
        let mut book = PriceBook::new();
        for (symbol, closes, quote) in fetched {
            book.add_closes(&symbol, closes.iter().copied());
            if let Some(quote) = quote {
                book.add_quote(&symbol, quote.as_of.date_naive(), quote.price);
            }
        }
        Ok(book)
    }

    /// One symbol's closes in `range` (from memory when held) and its latest quote; it owns
    /// what it uses, so many run at once.
    async fn symbol_prices(
        self,
        ctx: RequestContext,
        symbol: Ticker,
        range: DateRange,
    ) -> Result<SymbolPrices, PortfolioError> {
        let (cached, epoch) = self.closes.get(&symbol, range.from());
        let closes = match cached {
            Some(closes) => closes,
            None => {
                let request = GetPriceHistory {
                    symbol: symbol.clone(),
                    range,
                };
                let closes: Closes = match self.bus.request(&ctx, &request).await {
                    Ok(history) => history
                        .closes
                        .into_iter()
                        .map(|close| (close.date, close.close))
                        .collect(),
                    Err(BusError::Service {
                        code: ErrorCode::NotFound,
                        ..
                    }) => Arc::from([]),
                    Err(err) => return Err(PortfolioError::Market(err)),
                };
                self.closes
                    .put(&symbol, range.from(), closes.clone(), epoch);
                closes
            }
        };
        let quote = self.quote(&symbol).await?;
        Ok((symbol, closes, quote))
    }

    /// Adds the symbols market does not know as manual ones, for the user on `ctx`; answers
    /// those it added.
    pub async fn ensure_symbols(
        &self,
        ctx: &RequestContext,
        symbols: Vec<ManualSymbol>,
    ) -> Result<Vec<Ticker>, PortfolioError> {
        let mut created = Vec::new();
        for chunk in symbols.chunks(EnsureSymbols::MAX) {
            let request = EnsureSymbols {
                symbols: chunk.to_vec(),
            };
            created.extend(self.bus.request(ctx, &request).await?.created);
        }
        Ok(created)
    }
}
