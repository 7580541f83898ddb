//! The price feed: every tick becomes a `PriceUpdated` event on `evt.price.<SYMBOL>` (stream
//! `PRICES`) and the symbol's entry in the KV bucket `quotes`.
//!
//! - [`simulated`]: a seeded random walk over the whole catalogue, every `feed_interval`.
//! - [`alpha_vantage`]: GLOBAL_QUOTE for one symbol after another, as fast as the plan allows.
//!
//! One feed runs per deployment (see [`crate::config::FeedKind`]).

pub mod alpha_vantage;
pub mod simulated;

use bus::RequestContext;
use chrono::Utc;
use contracts::market::{PriceUpdated, Quote};

use crate::{app::AppState, error::MarketError};

/// Publishes one price: the event first (acked by the stream), then the latest quote.
pub(crate) async fn publish_quote(
    state: &AppState,
    ctx: &RequestContext,
    quote: &Quote,
) -> Result<(), MarketError> {
    let event = PriceUpdated {
        event_id: contracts::new_id(),
        occurred_at: Utc::now(),
        symbol: quote.symbol.clone(),
        price: quote.price,
        currency: quote.currency.clone(),
        source: quote.source,
    };
    state.bus.publish_event(ctx, &event).await?;
    state.quotes.put(&quote.symbol, quote).await?;
    Ok(())
}
