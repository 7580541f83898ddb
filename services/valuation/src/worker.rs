//! The loop that follows prices and portfolios and publishes valuations.
//!
//! One task owns the index and the prices, so nothing here locks. It reads four sources:
//!
//! - `evt.price.>` (an ordered consumer from now on): updates the symbol's price and marks the
//!   portfolios holding it;
//! - the KV bucket `quotes`: every symbol's latest quote at start, then the previous closes
//!   (what `evt.price` does not carry) as they change;
//! - the `PORTFOLIO` stream, from just before the index was loaded: an activity or a trade
//!   marks the portfolio stale (its holdings are read again from the portfolio service, which
//!   alone knows the average-cost rules' outcome), a deleted portfolio leaves the index;
//! - the partitions the leases took: all their portfolios are marked.
//!
//! The first mark of a batch sets a deadline `coalesce` away; at the deadline the stale
//! portfolios are read again (one request per 1,000) and every marked portfolio whose
//! partition this instance holds is valued and published. The publishes are pipelined: up to
//! [`IN_FLIGHT`] wait for their acks at once. A portfolio whose publish failed stays marked and
//! is tried again a second later.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use async_nats::jetstream::{
    consumer::{DeliverPolicy, pull},
    context::PublishAckFuture,
};
use bus::{Bus, BusError, RequestContext, kv::Change};
use chrono::{DateTime, Utc};
use contracts::{
    Event,
    market::{PriceUpdated, Quotes, Ticker},
    portfolio::{ListHoldings, PortfolioCreated, PortfolioHoldings},
    valuation::{PortfolioValued, ValuationCause, partition_of},
};
use futures::{Stream, StreamExt, future::join_all};
use rust_decimal::Decimal;
use tokio::{sync::mpsc, time::Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{app::Status, index::Index, leases::Shared};

/// Publishes awaiting their ack at once.
pub const IN_FLIGHT: usize = 2048;
/// Pause before trying again what failed (a request, a publish, a consumer).
const RETRY: Duration = Duration::from_secs(1);

/// A symbol's latest price.
#[derive(Debug, Clone, Copy)]
struct Price {
    price: Decimal,
    previous_close: Option<Decimal>,
    as_of: DateTime<Utc>,
}

type QuoteWatch = std::pin::Pin<Box<dyn Stream<Item = Result<Change<Quotes>, BusError>> + Send>>;

/// The sources the loop reads; one that ended is `None` until it is made again.
#[derive(Default)]
struct Sources {
    prices: Option<pull::Ordered>,
    portfolios: Option<pull::Ordered>,
    quotes: Option<QuoteWatch>,
}

pub struct Worker {
    bus: Bus,
    coalesce: Duration,
    leases: Arc<Shared>,
    status: Arc<Status>,
    index: Index,
    prices: HashMap<Ticker, Price>,
    /// Portfolios to value at the next flush, and why.
    marked: HashMap<Uuid, ValuationCause>,
    /// Portfolios whose holdings changed: read again at the next flush.
    stale: HashSet<Uuid>,
    /// When the next flush is due.
    due: Option<Instant>,
    /// The last `PORTFOLIO` sequence handled: a new consumer starts after it.
    portfolio_seq: u64,
}

impl Worker {
    pub fn new(bus: Bus, coalesce: Duration, leases: Arc<Shared>, status: Arc<Status>) -> Self {
        Self {
            bus,
            coalesce,
            leases,
            status,
            index: Index::default(),
            prices: HashMap::new(),
            marked: HashMap::new(),
            stale: HashSet::new(),
            due: None,
            portfolio_seq: 0,
        }
    }

    /// Runs until `shutdown`. Partitions the leases take arrive on `taken`.
    pub async fn run(
        mut self,
        mut taken: mpsc::UnboundedReceiver<Vec<u16>>,
        shutdown: CancellationToken,
    ) {
        let mut sources = Sources::default();
        // Prices first, so no tick falls between the quotes read at start and the feed.
        loop {
            match self.start(&mut sources).await {
                Ok(()) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot load the portfolios' holdings yet; trying again");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(RETRY) => {}
                    }
                }
            }
        }
        // Every partition held by now is taken over: valued in full.
        while taken.try_recv().is_ok() {}
        let held = self.leases.snapshot();
        self.take_over(|partition| held[usize::from(partition)]);
        let mut retry = tokio::time::interval(RETRY);
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let due = self.due;
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(partitions) = taken.recv() => {
                    self.take_over(|partition| partitions.contains(&partition));
                }
                Some(message) = next(&mut sources.prices) => match message {
                    Ok(message) => self.on_price(&message.payload),
                    Err(err) => tracing::debug!(error = %err, "price consumer hiccup"),
                },
                Some(message) = next(&mut sources.portfolios) => match message {
                    Ok(message) => self.on_portfolio_event(&message),
                    Err(err) => tracing::debug!(error = %err, "portfolio consumer hiccup"),
                },
                Some(change) = next(&mut sources.quotes) => self.on_quote(change),
                () = sleep_until(due), if due.is_some() => self.flush().await,
                _ = retry.tick() => self.restart(&mut sources).await,
            }
        }
    }

    /// Opens the sources and loads every portfolio's holdings.
    async fn start(&mut self, sources: &mut Sources) -> Result<(), BusError> {
        sources.prices = Some(self.price_feed().await?);
        sources.quotes = Some(self.quote_watch().await?);
        let position = self
            .bus
            .stream_info(PortfolioCreated::STREAM)
            .await?
            .state
            .last_sequence;
        self.portfolio_seq = position;
        sources.portfolios = Some(self.portfolio_feed().await?);
        let ctx = RequestContext::new();
        let mut after = None;
        let mut index = Index::default();
        loop {
            let page = self
                .bus
                .request(
                    &ctx,
                    &ListHoldings {
                        portfolio_ids: None,
                        after,
                        limit: Some(ListHoldings::MAX),
                    },
                )
                .await?;
            let now = Utc::now();
            for holdings in page.portfolios {
                index.put(holdings, now);
            }
            match page.next_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        self.index = index;
        self.count();
        self.status.set_ready();
        tracing::info!(
            portfolios = self.index.len(),
            symbols = self.index.symbols(),
            position,
            "holdings loaded"
        );
        Ok(())
    }

    /// Makes again a source that ended (NATS restarted, its stream was recreated).
    async fn restart(&mut self, sources: &mut Sources) {
        if sources.prices.is_none() {
            sources.prices = self.price_feed().await.ok();
        }
        if sources.quotes.is_none() {
            sources.quotes = self.quote_watch().await.ok();
        }
        if sources.portfolios.is_none() {
            sources.portfolios = self.portfolio_feed().await.ok();
        }
    }

    async fn price_feed(&self) -> Result<pull::Ordered, BusError> {
        self.bus
            .ordered_messages(
                PriceUpdated::STREAM,
                &PriceUpdated::wildcard(),
                DeliverPolicy::New,
            )
            .await
    }

    async fn portfolio_feed(&self) -> Result<pull::Ordered, BusError> {
        self.bus
            .ordered_messages(
                PortfolioCreated::STREAM,
                contracts::portfolio::ALL_SUBJECTS,
                DeliverPolicy::ByStartSequence {
                    start_sequence: self.portfolio_seq + 1,
                },
            )
            .await
    }

    async fn quote_watch(&self) -> Result<QuoteWatch, BusError> {
        let quotes = self.bus.bucket::<Quotes>().await?;
        Ok(Box::pin(quotes.watch_all().await?))
    }

    fn on_price(&mut self, payload: &[u8]) {
        let tick: PriceUpdated = match serde_json::from_slice(payload) {
            Ok(tick) => tick,
            Err(err) => {
                tracing::warn!(error = %err, "a price event that does not decode; skipped");
                return;
            }
        };
        let price = self.prices.entry(tick.symbol.clone()).or_insert(Price {
            price: tick.price,
            previous_close: None,
            as_of: tick.occurred_at,
        });
        if tick.occurred_at < price.as_of {
            return;
        }
        price.price = tick.price;
        price.as_of = tick.occurred_at;
        let holders: Vec<Uuid> = self.index.holders(&tick.symbol).collect();
        for id in holders {
            self.mark(id, ValuationCause::Price);
        }
    }

    /// A quote from the bucket: the previous close, and the price when it is newer than the
    /// last tick (at start). The tick itself comes as `evt.price`, which marks the holders.
    fn on_quote(&mut self, change: Result<Change<Quotes>, BusError>) {
        match change {
            Ok(Change::Put(symbol, quote)) => {
                let price = self.prices.entry(symbol).or_insert(Price {
                    price: quote.price,
                    previous_close: quote.previous_close,
                    as_of: quote.as_of,
                });
                price.previous_close = quote.previous_close;
                if quote.as_of > price.as_of {
                    price.price = quote.price;
                    price.as_of = quote.as_of;
                }
            }
            Ok(Change::Deleted(symbol) | Change::Undecodable(symbol, _)) => {
                self.prices.remove(&symbol);
            }
            Err(err) => tracing::debug!(error = %err, "quote watch hiccup"),
        }
    }

    fn on_portfolio_event(&mut self, message: &async_nats::jetstream::Message) {
        if let Ok(info) = message.info() {
            self.portfolio_seq = info.stream_sequence;
        }
        let subject = message.subject.as_str();
        let subject = self.bus.prefix().strip(subject).unwrap_or(subject);
        let Some((id, event)) = contracts::portfolio::portfolio_event_of(subject) else {
            return;
        };
        let Ok(id) = Uuid::parse_str(id) else {
            return;
        };
        match event {
            "deleted" => {
                self.index.remove(id);
                self.marked.remove(&id);
                self.stale.remove(&id);
                self.count();
            }
            "created" => match serde_json::from_slice::<PortfolioCreated>(&message.payload) {
                Ok(created) => {
                    let portfolio = created.portfolio;
                    self.index.put(
                        PortfolioHoldings {
                            portfolio_id: portfolio.id,
                            owner_id: portfolio.owner_id,
                            base_currency: portfolio.base_currency,
                            holdings: Vec::new(),
                        },
                        created.occurred_at,
                    );
                    self.count();
                }
                Err(err) => {
                    tracing::warn!(error = %err, "a created event that does not decode; reading the portfolio instead");
                    self.refetch(id);
                }
            },
            // An activity recorded or deleted, a trade executed, a renamed portfolio.
            _ => self.refetch(id),
        }
    }

    fn refetch(&mut self, id: Uuid) {
        self.stale.insert(id);
        self.schedule(self.coalesce);
    }

    fn mark(&mut self, id: Uuid, cause: ValuationCause) {
        self.marked
            .entry(id)
            .and_modify(|c| {
                if *c == ValuationCause::Price {
                    *c = cause;
                }
            })
            .or_insert(cause);
        self.schedule(self.coalesce);
    }

    /// Marks every portfolio of the partitions `taken` says.
    fn take_over(&mut self, taken: impl Fn(u16) -> bool) {
        let ids: Vec<Uuid> = self
            .index
            .ids()
            .filter(|id| taken(partition_of(*id)))
            .collect();
        for id in ids {
            self.marked.insert(id, ValuationCause::Takeover);
        }
        self.schedule(Duration::ZERO);
    }

    fn schedule(&mut self, within: Duration) {
        let at = Instant::now() + within;
        self.due = Some(self.due.map_or(at, |due| due.min(at)));
    }

    fn count(&self) {
        self.status
            .set_counts(self.index.len(), self.index.symbols());
    }

    /// Reads the stale portfolios again, then values and publishes every marked portfolio of
    /// the partitions held.
    async fn flush(&mut self) {
        self.due = None;
        self.refresh().await;
        if self.marked.is_empty() {
            return;
        }
        let held = self.leases.snapshot();
        let marked = std::mem::take(&mut self.marked);
        let ctx = RequestContext::new();
        let now = Utc::now();
        let mut acks: Vec<(Uuid, ValuationCause, PublishAckFuture)> = Vec::new();
        let mut failed: Vec<(Uuid, ValuationCause)> = Vec::new();
        for (id, cause) in marked {
            if !held[usize::from(partition_of(id))] {
                continue;
            }
            let Some(event) = self.valued(id, cause, now) else {
                continue;
            };
            match self.bus.send_event(&ctx, &event).await {
                Ok(ack) => acks.push((id, cause, ack)),
                Err(err) => {
                    tracing::debug!(error = %err, "publishing a valuation failed");
                    failed.push((id, cause));
                }
            }
            if acks.len() >= IN_FLIGHT {
                self.settle(&mut acks, &mut failed).await;
            }
        }
        self.settle(&mut acks, &mut failed).await;
        if !failed.is_empty() {
            tracing::warn!(
                portfolios = failed.len(),
                "valuations not acknowledged; trying again"
            );
            for (id, cause) in failed {
                self.marked.entry(id).or_insert(cause);
            }
            self.schedule(RETRY);
        }
    }

    async fn settle(
        &self,
        acks: &mut Vec<(Uuid, ValuationCause, PublishAckFuture)>,
        failed: &mut Vec<(Uuid, ValuationCause)>,
    ) {
        let results = join_all(
            acks.drain(..)
                .map(|(id, cause, ack)| async move { (id, cause, ack.await) }),
        )
        .await;
        let mut published = 0;
        for (id, cause, result) in results {
            match result {
                Ok(_) => published += 1,
                Err(_) => failed.push((id, cause)),
            }
        }
        self.status.add_published(published);
    }

    /// The valuation of `id` now.
    fn valued(
        &self,
        id: Uuid,
        cause: ValuationCause,
        now: DateTime<Utc>,
    ) -> Option<PortfolioValued> {
        let entry = self.index.get(id)?;
        let mut as_of = entry.read_at;
        let valuation = ledger::valuate(entry.holdings.iter().map(|(symbol, held)| {
            let mark = self.prices.get(symbol).map(|p| {
                as_of = as_of.max(p.as_of);
                ledger::Mark {
                    price: p.price,
                    previous_close: p.previous_close,
                }
            });
            (held, mark)
        }));
        Some(PortfolioValued {
            event_id: contracts::new_id(),
            occurred_at: now,
            portfolio_id: id,
            owner_id: entry.owner_id,
            currency: entry.currency.clone(),
            value: valuation.value,
            investment: valuation.investment,
            unrealized_gain: valuation.unrealized_gain,
            unrealized_gain_percentage: valuation.unrealized_gain_percentage,
            day_change: valuation.day_change,
            day_change_percentage: valuation.day_change_percentage,
            positions: u32::try_from(entry.holdings.len()).unwrap_or(u32::MAX),
            as_of,
            cause,
        })
    }

    /// Reads the stale portfolios' holdings again; a portfolio the service no longer has
    /// leaves the index. On failure they stay stale and the flush comes again.
    async fn refresh(&mut self) {
        if self.stale.is_empty() {
            return;
        }
        let ctx = RequestContext::new();
        let mut ids: Vec<Uuid> = self.stale.iter().copied().collect();
        ids.sort_unstable();
        for chunk in ids.chunks(ListHoldings::MAX as usize) {
            // A reply may be cut short (its size is bounded): ask again for the ids after it.
            let mut rest = chunk;
            while !rest.is_empty() {
                let request = ListHoldings {
                    portfolio_ids: Some(rest.to_vec()),
                    after: None,
                    limit: Some(ListHoldings::MAX),
                };
                let page = match self.bus.request(&ctx, &request).await {
                    Ok(page) => page,
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot read changed holdings; trying again");
                        self.count();
                        self.schedule(RETRY);
                        return;
                    }
                };
                let now = Utc::now();
                let mut found = HashSet::new();
                for holdings in page.portfolios {
                    let id = holdings.portfolio_id;
                    found.insert(id);
                    self.index.put(holdings, now);
                    self.marked.insert(id, ValuationCause::Activity);
                }
                let answered = match page.next_after {
                    // At least one, so a reply against the contract cannot loop forever.
                    Some(last) => rest.partition_point(|id| *id <= last).max(1),
                    None => rest.len(),
                };
                for id in &rest[..answered] {
                    self.stale.remove(id);
                    if !found.contains(id) {
                        // Not there any more: deleted.
                        self.index.remove(*id);
                        self.marked.remove(id);
                    }
                }
                rest = &rest[answered..];
            }
        }
        self.count();
    }
}

/// The next item of a source; a source that ended becomes `None` (the retry tick makes it
/// again), and a missing one never yields.
async fn next<S: Stream + Unpin>(source: &mut Option<S>) -> Option<S::Item> {
    let Some(stream) = source.as_mut() else {
        return std::future::pending().await;
    };
    let item = stream.next().await;
    if item.is_none() {
        tracing::warn!("a source ended; making it again");
        *source = None;
        return std::future::pending().await;
    }
    item
}

async fn sleep_until(due: Option<Instant>) {
    tokio::time::sleep_until(due.unwrap_or_else(Instant::now)).await;
}
