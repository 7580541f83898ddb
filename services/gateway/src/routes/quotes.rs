//! `/api/v1/stocks/{symbol}/price`: the latest quote of a symbol.

use axum::extract::State;
use contracts::market::{GetQuote, Quote};

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
    params(SymbolPath),
    responses(
        (status = 200, description = "The latest quote", body = Envelope<Quote>),
        (status = 404, description = "Unknown symbol, or no price yet", body = ErrorEnvelope),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    SymbolPath(symbol): SymbolPath,
) -> ApiResult<Reply<Quote>> {
    super::forward(&state, &ctx, &GetQuote { symbol }).await
}
