//! `/api/v1/stocks/{symbol}/price`: the latest quote of a symbol.

use axum::extract::State;
use contracts::market::{GetQuote, Quote};

use super::MARKET;
use crate::{
    app::AppState,
    context::Ctx,
    envelope::{Envelope, Reply},
    error::ApiResult,
    extract::SymbolPath,
    openapi::ErrorEnvelope,
};

/// The latest price of a symbol.
#[utoipa::path(
    get, path = "/api/v1/stocks/{symbol}/price", tag = "stocks",
    params(("symbol" = String, Path, description = "Ticker, e.g. AAPL (case-insensitive)")),
    responses(
        (status = 200, description = "The latest quote", body = Envelope<Quote>),
        (status = 404, description = "Unknown symbol, or no price yet", body = ErrorEnvelope),
        (status = 422, description = "Not a valid ticker", body = ErrorEnvelope),
        (status = 503, description = "The market service is not running", body = ErrorEnvelope),
        (status = 504, description = "The market service did not answer in time", body = ErrorEnvelope),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    SymbolPath(symbol): SymbolPath,
) -> ApiResult<Reply<Quote>> {
    super::forward(&state, &ctx, MARKET, &GetQuote { symbol }).await
}
