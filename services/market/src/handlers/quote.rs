//! `market.v1.quote.get`: the latest quote, from the KV bucket `quotes` the feed keeps.

use bus::RequestContext;
use contracts::market::{GetQuote, Quote};

use crate::{app::AppState, error::MarketError, handlers::symbol::require};

#[tracing::instrument(name = "market.quote.get", skip_all, fields(symbol = %req.symbol))]
pub async fn get(
    state: &AppState,
    _ctx: RequestContext,
    req: GetQuote,
) -> Result<Quote, MarketError> {
    // The hot path is memory; then the bucket (the book is empty while its watch is down);
    // the catalogue is only consulted to tell "unknown symbol" from "no price yet".
    if let Some(quote) = state.quote_book.get(&req.symbol) {
        return Ok(quote);
    }
    match state.quotes.get(&req.symbol).await? {
        Some(quote) => Ok(quote),
        None => {
            require(state, &req.symbol).await?;
            Err(MarketError::NoQuote(req.symbol))
        }
    }
}
