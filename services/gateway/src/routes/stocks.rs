//! `/api/v1/stocks` and `/api/v1/stocks/{symbol}`: the symbol catalogue.

use axum::extract::State;
use contracts::market::{CreateSymbol, GetSymbol, SearchSymbols, Symbol, SymbolList};
use serde::Deserialize;
use utoipa::IntoParams;

use super::MARKET;
use crate::{
    app::AppState,
    context::Ctx,
    envelope::{Envelope, Reply},
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiQuery, SymbolPath},
    openapi::ErrorEnvelope,
};

/// Query of the catalogue search.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchParams {
    /// Ticker prefix or part of the name; empty lists the catalogue.
    q: Option<String>,
    /// 1 to 100, default 20.
    limit: Option<u32>,
}

/// Search the symbol catalogue.
#[utoipa::path(
    get, path = "/api/v1/stocks", tag = "stocks", params(SearchParams),
    responses(
        (status = 200, description = "Matching symbols, in symbol order", body = Envelope<SymbolList>),
        (status = 400, description = "The query string does not parse", body = ErrorEnvelope),
        (status = 422, description = "`q` or `limit` out of range", body = ErrorEnvelope),
        (status = 503, description = "The market service is not running", body = ErrorEnvelope),
        (status = 504, description = "The market service did not answer in time", body = ErrorEnvelope),
    )
)]
pub(crate) async fn search(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> ApiResult<Reply<SymbolList>> {
    let q = params
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());
    if q.as_ref()
        .is_some_and(|q| q.chars().count() > SearchSymbols::MAX_QUERY_LEN)
    {
        return Err(ApiError::validation(format!(
            "q is longer than {} characters",
            SearchSymbols::MAX_QUERY_LEN
        )));
    }
    if params
        .limit
        .is_some_and(|limit| !(1..=SearchSymbols::MAX_LIMIT).contains(&limit))
    {
        return Err(ApiError::validation(format!(
            "limit must be between 1 and {}",
            SearchSymbols::MAX_LIMIT
        )));
    }
    let request = SearchSymbols {
        q,
        limit: params.limit,
    };
    super::forward(&state, &ctx, MARKET, &request).await
}

/// One symbol of the catalogue.
#[utoipa::path(
    get, path = "/api/v1/stocks/{symbol}", tag = "stocks",
    params(("symbol" = String, Path, description = "Ticker, e.g. AAPL (case-insensitive)")),
    responses(
        (status = 200, description = "The symbol", body = Envelope<Symbol>),
        (status = 404, description = "Unknown symbol", body = ErrorEnvelope),
        (status = 422, description = "Not a valid ticker", body = ErrorEnvelope),
        (status = 503, description = "The market service is not running", body = ErrorEnvelope),
        (status = 504, description = "The market service did not answer in time", body = ErrorEnvelope),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    SymbolPath(symbol): SymbolPath,
) -> ApiResult<Reply<Symbol>> {
    super::forward(&state, &ctx, MARKET, &GetSymbol { symbol }).await
}

/// Add a symbol to the catalogue (admins only: checked at the edge, `crate::auth::access`).
#[utoipa::path(
    post, path = "/api/v1/stocks", tag = "stocks", request_body = CreateSymbol,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The symbol was added", body = Envelope<Symbol>),
        (status = 401, description = "No valid access token", body = ErrorEnvelope),
        (status = 403, description = "Not an admin", body = ErrorEnvelope),
        (status = 400, description = "Malformed JSON", body = ErrorEnvelope),
        (status = 409, description = "The symbol exists", body = ErrorEnvelope),
        (status = 413, description = "The body is over the limit", body = ErrorEnvelope),
        (status = 415, description = "The body is not application/json", body = ErrorEnvelope),
        (status = 422, description = "A field is missing or invalid", body = ErrorEnvelope),
        (status = 503, description = "The market service is not running", body = ErrorEnvelope),
        (status = 504, description = "The market service did not answer in time", body = ErrorEnvelope),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CreateSymbol>,
) -> ApiResult<Reply<Symbol>> {
    validate_create(&request)?;
    let reply = state
        .bus
        .request(&ctx, &request)
        .await
        .map_err(ApiError::from_bus(MARKET))?;
    Ok(Reply::created(MARKET, reply))
}

/// The edge's checks; the market service checks again (DESIGN.md §4).
fn validate_create(request: &CreateSymbol) -> Result<(), ApiError> {
    let field = |name: &str, message: String| {
        ApiError::validation(message).with_details(serde_json::json!({ "field": name }))
    };
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > CreateSymbol::MAX_NAME_LEN {
        return Err(field(
            "name",
            format!(
                "name must have 1 to {} characters",
                CreateSymbol::MAX_NAME_LEN
            ),
        ));
    }
    let exchange = request.exchange.trim();
    if exchange.is_empty() || exchange.chars().count() > CreateSymbol::MAX_EXCHANGE_LEN {
        return Err(field(
            "exchange",
            format!(
                "exchange must have 1 to {} characters",
                CreateSymbol::MAX_EXCHANGE_LEN
            ),
        ));
    }
    let currency = request.currency.trim();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(field(
            "currency",
            "currency must be a 3-letter ISO 4217 code".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use contracts::market::{AssetType, Ticker};

    use super::*;

    fn request() -> CreateSymbol {
        CreateSymbol {
            symbol: Ticker::parse("NEWCO").unwrap(),
            name: "New Co".into(),
            exchange: "NASDAQ".into(),
            currency: "USD".into(),
            asset_type: AssetType::Stock,
        }
    }

    #[test]
    fn a_complete_symbol_passes_the_edge() {
        assert!(validate_create(&request()).is_ok());
    }

    #[test]
    fn blank_names_and_odd_currencies_are_refused_at_the_edge() {
        let blank = CreateSymbol {
            name: "  ".into(),
            ..request()
        };
        assert_eq!(
            validate_create(&blank).unwrap_err().code,
            bus::ErrorCode::ValidationFailed
        );
        let euro_sign = CreateSymbol {
            currency: "€".into(),
            ..request()
        };
        assert!(validate_create(&euro_sign).is_err());
    }
}
