//! `/api/v1/stocks` and `/api/v1/stocks/{symbol}`: the symbol catalogue.

use axum::extract::State;
use contracts::{
    InvalidValue, Limit, Request,
    market::{CreateSymbol, GetSymbol, SearchQuery, SearchSymbols, Symbol, SymbolList},
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    app::AppState,
    context::Ctx,
    envelope::{Envelope, Reply},
    error::ApiResult,
    extract::{ApiJson, ApiQuery, SymbolPath},
    openapi::ErrorEnvelope,
};

/// Query of the catalogue search, as the client sent it; the rules are the contract's
/// ([`SearchQuery`], [`Limit`]).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchParams {
    /// Ticker prefix or part of the name, at most 64 characters; empty lists the catalogue.
    q: Option<String>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

impl TryFrom<SearchParams> for SearchSymbols {
    type Error = InvalidValue;

    fn try_from(params: SearchParams) -> Result<Self, InvalidValue> {
        let q = params.q.as_deref().map(SearchQuery::parse).transpose()?;
        Ok(Self {
            q: q.filter(|q| !q.as_str().is_empty()),
            limit: params.limit.map(Limit::new).transpose()?,
        })
    }
}

/// Search the symbol catalogue.
#[utoipa::path(
    get, path = "/api/v1/stocks", tag = "stocks", params(SearchParams),
    responses(
        (status = 200, description = "Matching symbols, in symbol order", body = Envelope<SymbolList>),
    )
)]
pub(crate) async fn search(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> ApiResult<Reply<SymbolList>> {
    let request = SearchSymbols::try_from(params)?;
    super::forward(&state, &ctx, &request).await
}

/// One symbol of the catalogue.
#[utoipa::path(
    get, path = "/api/v1/stocks/{symbol}", tag = "stocks",
    params(SymbolPath),
    responses(
        (status = 200, description = "The symbol", body = Envelope<Symbol>),
        (status = 404, description = "Unknown symbol", body = ErrorEnvelope),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    SymbolPath(symbol): SymbolPath,
) -> ApiResult<Reply<Symbol>> {
    super::forward(&state, &ctx, &GetSymbol { symbol }).await
}

/// Add a symbol to the catalogue (admins only: checked at the edge, `crate::auth::access`).
/// Every field is checked by its contract type, here and again by the market service.
#[utoipa::path(
    post, path = "/api/v1/stocks", tag = "stocks", request_body = CreateSymbol,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The symbol was added", body = Envelope<Symbol>),
        (status = 403, description = "Not an admin", body = ErrorEnvelope),
        (status = 409, description = "The symbol exists", body = ErrorEnvelope),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CreateSymbol>,
) -> ApiResult<Reply<Symbol>> {
    let symbol = super::call(&state, &ctx, &request).await?;
    Ok(Reply::created(CreateSymbol::service(), symbol))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: Option<&str>, limit: Option<u32>) -> SearchParams {
        SearchParams {
            q: q.map(str::to_owned),
            limit,
        }
    }

    #[test]
    fn a_blank_query_lists_the_catalogue_and_the_rules_are_the_contracts() {
        let request = SearchSymbols::try_from(params(Some("  "), None)).unwrap();
        assert!(request.q.is_none());
        let err = SearchSymbols::try_from(params(None, Some(0))).unwrap_err();
        assert_eq!(err.field, "limit");
        let err = SearchSymbols::try_from(params(Some(&"x".repeat(65)), None)).unwrap_err();
        assert_eq!(err.field, "q");
    }
}
