//! The Alpha Vantage feed: GLOBAL_QUOTE for each catalogue symbol in turn. The client's limiter
//! spaces the calls to the plan's rate; a "call frequency" answer pauses the feed a minute.

use std::time::Duration;

use bus::RequestContext;
use chrono::Utc;
use contracts::{
    Currency,
    market::{QuoteSource, Ticker},
};
use tokio_util::sync::CancellationToken;

use crate::{
    alpha_vantage::{AlphaVantage, AlphaVantageError},
    app::AppState,
    domain::quote_from_tick,
    error::MarketError,
    feed::publish_quote,
    store,
};

pub struct AlphaVantageFeed {
    state: AppState,
    provider: std::sync::Arc<AlphaVantage>,
    queue: Vec<(Ticker, Currency)>,
}

impl AlphaVantageFeed {
    pub fn new(state: AppState, provider: std::sync::Arc<AlphaVantage>) -> Self {
        Self {
            state,
            provider,
            queue: Vec::new(),
        }
    }

    /// Quotes the next symbol of the round. Returns the symbol, or `None` when the catalogue
    /// is empty.
    pub async fn try_run_once(&mut self) -> Result<Option<Ticker>, MarketError> {
        if self.queue.is_empty() {
            let mut conn = self.state.db.acquire().await?;
            let mut round: Vec<_> = store::symbol::for_feed(&mut conn)
                .await?
                .into_iter()
                .map(|s| (s.symbol, s.currency))
                .collect();
            round.reverse();
            self.queue = round;
        }
        let Some((symbol, currency)) = self.queue.pop() else {
            return Ok(None);
        };
        let quote = match self.provider.global_quote(&symbol).await {
            Ok(quote) => quote,
            Err(AlphaVantageError::NotFound { .. }) => {
                tracing::debug!(%symbol, "Alpha Vantage has no quote for this symbol");
                return Ok(Some(symbol));
            }
            Err(err) => return Err(err.into()),
        };
        let quote = quote_from_tick(
            symbol.clone(),
            quote.price,
            currency,
            Some(quote.previous_close),
            Utc::now(),
            QuoteSource::AlphaVantage,
        );
        publish_quote(&self.state, &RequestContext::new(), &quote).await?;
        Ok(Some(symbol))
    }

    pub async fn run(mut self, shutdown: CancellationToken) {
        tracing::info!("Alpha Vantage price feed started");
        loop {
            let pause = tokio::select! {
                () = shutdown.cancelled() => break,
                result = self.try_run_once() => match result {
                    Ok(Some(_)) => Duration::ZERO,
                    Ok(None) => Duration::from_secs(30),
                    Err(MarketError::AlphaVantage(AlphaVantageError::RateLimited(note))) => {
                        tracing::warn!(%note, "Alpha Vantage rate limit reached; pausing the feed");
                        Duration::from_secs(60)
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "Alpha Vantage quote failed");
                        Duration::from_secs(5)
                    }
                },
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!("Alpha Vantage price feed stopped");
    }
}
