//! `/api/v1/trades`, `/api/v1/positions`, `/api/v1/performance`, `/api/v1/export`: trading,
//! holdings and figures of one of your portfolios (portfolio service), chosen by
//! `portfolio_id`.

use axum::{
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use chrono::NaiveDate;
use contracts::{
    Request,
    market::Ticker,
    portfolio::{
        ClientOrderId, ExecuteTrade, ExportActivities, FileFormat, GetPerformance,
        GetPerformanceSeries, ListPositions, ListTrades, PerformanceRange, PerformanceSeries,
        PortfolioPerformance, Positions, Trade, TradePage, TradeSide,
    },
};
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::portfolios::PageParams;
use crate::{
    app::AppState,
    context::Ctx,
    envelope::{Envelope, Reply},
    error::ApiResult,
    extract::{ApiJson, ApiQuery},
    openapi::ErrorEnvelope,
};

/// Execute a trade at the latest quote; a retry with the same `client_order_id` answers the
/// first trade.
#[utoipa::path(
    post, path = "/api/v1/trades", tag = "portfolios", security(("bearer" = [])),
    request_body = ExecuteTrade,
    responses(
        (status = 201, description = "The trade", body = Envelope<Trade>),
        (status = 404, description = "No portfolio of yours has this id", body = ErrorEnvelope),
        (status = 409, description = "The client_order_id was used for another order", body = ErrorEnvelope),
        (status = 422, description = "The limit is not met, there is no quote, or a SELL of more than held", body = ErrorEnvelope),
    )
)]
pub(crate) async fn execute(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<ExecuteTrade>,
) -> ApiResult<Reply<Trade>> {
    request.check()?;
    let trade = super::call(&state, &ctx, &request).await?;
    Ok(Reply::created(ExecuteTrade::service(), trade))
}

/// Which portfolio, and a page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TradeParams {
    portfolio_id: Uuid,
    #[param(minimum = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// A portfolio's trades, newest first.
#[utoipa::path(
    get, path = "/api/v1/trades", tag = "portfolios", security(("bearer" = [])),
    params(TradeParams),
    responses(
        (status = 200, description = "A page of trades", body = Envelope<TradePage>),
        (status = 404, description = "No portfolio of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiQuery(params): ApiQuery<TradeParams>,
) -> ApiResult<Reply<TradePage>> {
    let (page, limit) = PageParams::new(params.page, params.limit).parts()?;
    let request = ListTrades {
        portfolio_id: params.portfolio_id,
        page,
        limit,
    };
    let reply = super::call(&state, &ctx, &request).await?;
    let pagination = reply.pagination;
    Ok(Reply::ok(ListTrades::service(), reply).with_pagination(pagination))
}

/// Which portfolio.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PortfolioParam {
    portfolio_id: Uuid,
}

/// What a portfolio holds now, valued at the latest prices.
#[utoipa::path(
    get, path = "/api/v1/positions", tag = "portfolios", security(("bearer" = [])),
    params(PortfolioParam),
    responses(
        (status = 200, description = "The positions", body = Envelope<Positions>),
        (status = 404, description = "No portfolio of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn positions(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiQuery(params): ApiQuery<PortfolioParam>,
) -> ApiResult<Reply<Positions>> {
    let request = ListPositions {
        portfolio_id: params.portfolio_id,
    };
    super::forward(&state, &ctx, &request).await
}

/// A position to open: a BUY at market, with a trade's rules.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpenPosition {
    portfolio_id: Uuid,
    symbol: Ticker,
    #[schema(value_type = String, example = "10")]
    quantity: Decimal,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    limit_price: Option<Decimal>,
    #[serde(default)]
    client_order_id: Option<ClientOrderId>,
}

/// Open (or add to) a position: a BUY at the latest quote.
#[utoipa::path(
    post, path = "/api/v1/positions", tag = "portfolios", security(("bearer" = [])),
    request_body = OpenPosition,
    responses(
        (status = 201, description = "The trade that opened it", body = Envelope<Trade>),
        (status = 404, description = "No portfolio of yours has this id", body = ErrorEnvelope),
        (status = 409, description = "The client_order_id was used for another order", body = ErrorEnvelope),
        (status = 422, description = "The limit is not met, or there is no quote", body = ErrorEnvelope),
    )
)]
pub(crate) async fn open(
    state: State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<OpenPosition>,
) -> ApiResult<Reply<Trade>> {
    let request = ExecuteTrade {
        portfolio_id: body.portfolio_id,
        side: TradeSide::Buy,
        symbol: body.symbol,
        quantity: body.quantity,
        limit_price: body.limit_price,
        client_order_id: body.client_order_id,
    };
    execute(state, ctx, ApiJson(request)).await
}

/// Which portfolio, at which day, over which range.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PerformanceParams {
    portfolio_id: Uuid,
    /// Default today.
    as_of: Option<NaiveDate>,
    /// `1d`, `wtd`, `mtd`, `ytd`, `1y`, `5y` or `max` (default).
    #[param(inline)]
    range: Option<PerformanceRange>,
}

/// A portfolio's performance: value, investment, gross and net performance, fees, dividends,
/// TWR, IRR and each position's figures.
#[utoipa::path(
    get, path = "/api/v1/performance", tag = "portfolios", security(("bearer" = [])),
    params(PerformanceParams),
    responses(
        (status = 200, description = "The performance", body = Envelope<PortfolioPerformance>),
        (status = 404, description = "No portfolio of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn performance(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiQuery(params): ApiQuery<PerformanceParams>,
) -> ApiResult<Reply<PortfolioPerformance>> {
    let request = GetPerformance {
        portfolio_id: params.portfolio_id,
        as_of: params.as_of,
        range: params.range,
    };
    super::forward(&state, &ctx, &request).await
}

/// Which portfolio, from and to which day.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SeriesParams {
    portfolio_id: Uuid,
    /// Default: the first activity.
    from: Option<NaiveDate>,
    /// Default: today.
    to: Option<NaiveDate>,
}

/// A portfolio's daily series, for charts.
#[utoipa::path(
    get, path = "/api/v1/performance/series", tag = "portfolios", security(("bearer" = [])),
    params(SeriesParams),
    responses(
        (status = 200, description = "One point a day", body = Envelope<PerformanceSeries>),
        (status = 404, description = "No portfolio of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn series(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiQuery(params): ApiQuery<SeriesParams>,
) -> ApiResult<Reply<PerformanceSeries>> {
    let request = GetPerformanceSeries {
        portfolio_id: params.portfolio_id,
        from: params.from,
        to: params.to,
    };
    super::forward(&state, &ctx, &request).await
}

/// Which portfolio, in which format.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportParams {
    portfolio_id: Uuid,
    /// `csv` or `json`.
    #[param(inline)]
    format: FileFormat,
}

/// A portfolio's activities as a Ghostfolio file (the file itself, not an envelope).
#[utoipa::path(
    get, path = "/api/v1/export", tag = "portfolios", security(("bearer" = [])),
    params(ExportParams),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/csv"),
            (super::portfolios::GhostfolioFile = "application/json"),
        )),
        (status = 404, description = "No portfolio of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn export(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let request = ExportActivities {
        portfolio_id: params.portfolio_id,
        format: params.format,
    };
    let file = super::call(&state, &ctx, &request).await?;
    let content_type = match file.format {
        FileFormat::Csv => "text/csv; charset=utf-8",
        FileFormat::Json => "application/json",
    };
    let mut response = ([(header::CONTENT_TYPE, content_type)], file.content).into_response();
    if let Ok(disposition) =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file.filename))
    {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}
