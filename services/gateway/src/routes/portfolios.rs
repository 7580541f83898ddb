//! `/api/v1/portfolios…`: a user's portfolios and their activities (portfolio service). Every
//! route needs a token; the service answers another user's portfolio as 404.

use axum::extract::{FromRequest, Path, Request, State};
use bus::ServiceError;
use chrono::NaiveDate;
use contracts::{
    Currency, InvalidValue, Limit, Page, Request as _,
    market::Ticker,
    portfolio::{
        Activity, ActivityPage, CreatePortfolio, DeleteActivity, DeletePortfolio, DeletedActivity,
        DeletedPortfolio, FileFormat, GetPortfolio, ImportActivities, ImportedActivities,
        ListActivities, ListPortfolios, NewActivity, Note, Portfolio, PortfolioName, PortfolioPage,
        RecordActivities, UpdatePortfolio,
    },
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    app::AppState,
    context::Ctx,
    envelope::{Envelope, Reply},
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiQuery, IdPath, Upload, upload, utf8},
    openapi::ErrorEnvelope,
};

/// A page of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageParams {
    /// From 1; default 1.
    #[param(minimum = 1)]
    page: Option<u32>,
    /// 1 to 100; default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

impl PageParams {
    pub(crate) fn new(page: Option<u32>, limit: Option<u32>) -> Self {
        Self { page, limit }
    }

    pub(crate) fn parts(&self) -> Result<(Option<Page>, Option<Limit>), InvalidValue> {
        Ok((
            self.page.map(Page::new).transpose()?,
            self.limit.map(Limit::new).transpose()?,
        ))
    }
}

/// Your portfolios, oldest first.
#[utoipa::path(
    get, path = "/api/v1/portfolios", tag = "portfolios", security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "A page of your portfolios", body = Envelope<PortfolioPage>))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Reply<PortfolioPage>> {
    let (page, limit) = params.parts()?;
    let reply = super::call(&state, &ctx, &ListPortfolios { page, limit }).await?;
    let pagination = reply.pagination;
    Ok(Reply::ok(ListPortfolios::service(), reply).with_pagination(pagination))
}

/// Create a portfolio.
#[utoipa::path(
    post, path = "/api/v1/portfolios", tag = "portfolios", security(("bearer" = [])),
    request_body = CreatePortfolio,
    responses(
        (status = 201, description = "The portfolio", body = Envelope<Portfolio>),
        (status = 409, description = "You have as many portfolios as allowed", body = ErrorEnvelope),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CreatePortfolio>,
) -> ApiResult<Reply<Portfolio>> {
    let portfolio = super::call(&state, &ctx, &request).await?;
    Ok(Reply::created(CreatePortfolio::service(), portfolio))
}

/// One of your portfolios.
#[utoipa::path(
    get, path = "/api/v1/portfolios/{id}", tag = "portfolios", security(("bearer" = [])),
    params(IdPath),
    responses(
        (status = 200, description = "The portfolio", body = Envelope<Portfolio>),
        (status = 404, description = "No portfolio of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(portfolio_id): IdPath,
) -> ApiResult<Reply<Portfolio>> {
    super::forward(&state, &ctx, &GetPortfolio { portfolio_id }).await
}

/// What a portfolio update may change; absent fields stay, an empty description clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PortfolioChanges {
    #[serde(default)]
    name: Option<PortfolioName>,
    #[serde(default)]
    description: Option<Note>,
    #[serde(default)]
    base_currency: Option<Currency>,
}

/// Change one of your portfolios.
#[utoipa::path(
    put, path = "/api/v1/portfolios/{id}", tag = "portfolios", security(("bearer" = [])),
    params(IdPath), request_body = PortfolioChanges,
    responses(
        (status = 200, description = "The portfolio as it is now", body = Envelope<Portfolio>),
        (status = 404, description = "No portfolio of yours has this id", body = ErrorEnvelope),
        (status = 409, description = "The base currency cannot change while activities are in it", body = ErrorEnvelope),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(portfolio_id): IdPath,
    ApiJson(changes): ApiJson<PortfolioChanges>,
) -> ApiResult<Reply<Portfolio>> {
    let request = UpdatePortfolio {
        portfolio_id,
        name: changes.name,
        description: changes.description,
        base_currency: changes.base_currency,
    };
    super::forward(&state, &ctx, &request).await
}

/// Delete one of your portfolios with its activities; its events stay in the audit log.
#[utoipa::path(
    delete, path = "/api/v1/portfolios/{id}", tag = "portfolios", security(("bearer" = [])),
    params(IdPath),
    responses(
        (status = 200, description = "Deleted", body = Envelope<DeletedPortfolio>),
        (status = 404, description = "No portfolio of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(portfolio_id): IdPath,
) -> ApiResult<Reply<DeletedPortfolio>> {
    super::forward(&state, &ctx, &DeletePortfolio { portfolio_id }).await
}

/// Filters of the activity list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ActivityParams {
    /// Only this symbol's.
    symbol: Option<String>,
    /// From this day, `YYYY-MM-DD`.
    from: Option<NaiveDate>,
    /// Up to this day, `YYYY-MM-DD`.
    to: Option<NaiveDate>,
    #[param(minimum = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// A portfolio's activities, newest first.
#[utoipa::path(
    get, path = "/api/v1/portfolios/{id}/activities", tag = "portfolios", security(("bearer" = [])),
    params(IdPath, ActivityParams),
    responses(
        (status = 200, description = "A page of activities", body = Envelope<ActivityPage>),
        (status = 404, description = "No portfolio of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn activities(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(portfolio_id): IdPath,
    ApiQuery(params): ApiQuery<ActivityParams>,
) -> ApiResult<Reply<ActivityPage>> {
    let (page, limit) = PageParams::new(params.page, params.limit).parts()?;
    let request = ListActivities {
        portfolio_id,
        symbol: params.symbol.as_deref().map(Ticker::parse).transpose()?,
        from: params.from,
        to: params.to,
        page,
        limit,
    };
    request.range()?;
    let reply = super::call(&state, &ctx, &request).await?;
    let pagination = reply.pagination;
    Ok(Reply::ok(ListActivities::service(), reply).with_pagination(pagination))
}

/// The body of a record: one activity, or `{"activities": [...]}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActivityList {
    activities: Vec<NewActivity>,
}

/// Record one activity, or many at once (all or nothing).
#[utoipa::path(
    post, path = "/api/v1/portfolios/{id}/activities", tag = "portfolios", security(("bearer" = [])),
    params(IdPath),
    request_body(content((NewActivity = "application/json"), (ActivityList = "application/json"))),
    responses(
        (status = 201, description = "The activities as recorded", body = Envelope<Vec<Activity>>),
        (status = 404, description = "No portfolio of yours has this id", body = ErrorEnvelope),
        (status = 422, description = "An activity is invalid, in another currency, or sells more than held", body = ErrorEnvelope),
    )
)]
pub(crate) async fn record(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(portfolio_id): IdPath,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<Reply<Vec<Activity>>> {
    let activities = if body.get("activities").is_some() {
        serde_json::from_value::<ActivityList>(body).map(|list| list.activities)
    } else {
        serde_json::from_value::<NewActivity>(body).map(|one| vec![one])
    }
    .map_err(|err| ServiceError::validation(err.to_string()))?;
    for activity in &activities {
        activity.check()?;
    }
    let request = RecordActivities {
        portfolio_id,
        activities,
    };
    let recorded = super::call(&state, &ctx, &request).await?;
    Ok(Reply::created(
        RecordActivities::service(),
        recorded.activities,
    ))
}

/// `{id}` and `{activity_id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct ActivityPath {
    /// The portfolio.
    id: Uuid,
    /// The activity.
    activity_id: Uuid,
}

/// Delete an activity; refused when a later sale needs it.
#[utoipa::path(
    delete, path = "/api/v1/portfolios/{id}/activities/{activity_id}", tag = "portfolios",
    security(("bearer" = [])),
    params(ActivityPath),
    responses(
        (status = 200, description = "Deleted", body = Envelope<DeletedActivity>),
        (status = 404, description = "No such activity in a portfolio of yours", body = ErrorEnvelope),
        (status = 409, description = "A later SELL would then sell more than held", body = ErrorEnvelope),
    )
)]
pub(crate) async fn delete_activity(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    path: Result<Path<ActivityPath>, axum::extract::rejection::PathRejection>,
) -> ApiResult<Reply<DeletedActivity>> {
    let Path(path) = path.map_err(|_| InvalidValue::new("id", "the ids are not UUIDs"))?;
    let request = DeleteActivity {
        portfolio_id: path.id,
        activity_id: path.activity_id,
    };
    super::forward(&state, &ctx, &request).await
}

/// Import a Ghostfolio export (all or nothing): `text/csv`, or its JSON as `application/json`.
#[utoipa::path(
    post, path = "/api/v1/portfolios/{id}/import", tag = "portfolios", security(("bearer" = [])),
    params(IdPath),
    request_body(
        description = "Ghostfolio CSV (`Date,Code,DataSource,Currency,Price,Quantity,Action,Fee,Note` and its aliases) or JSON export",
        content(
            (String = "text/csv", example = "Date,Code,Currency,Price,Quantity,Action,Fee\n2024-01-02,AAPL,USD,185.5,10,buy,1\n"),
            (GhostfolioFile = "application/json"),
        ),
    ),
    responses(
        (status = 200, description = "Imported", body = Envelope<ImportedActivities>),
        (status = 404, description = "No portfolio of yours has this id", body = ErrorEnvelope),
        (status = 415, description = "Neither text/csv nor application/json", body = ErrorEnvelope),
        (status = 422, description = "A row is invalid (its line or index and field are named)", body = ErrorEnvelope),
    )
)]
pub(crate) async fn import(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(portfolio_id): IdPath,
    ImportBody(format, content): ImportBody,
) -> ApiResult<Reply<ImportedActivities>> {
    let request = ImportActivities {
        portfolio_id,
        format,
        content,
    };
    super::forward(&state, &ctx, &request).await
}

/// Ghostfolio's JSON export, as far as an import reads it (documentation only: the service
/// reads the text itself, so amounts stay exact).
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "documentation only; the body is forwarded as text"
)]
pub(crate) struct GhostfolioFile {
    activities: Vec<GhostfolioActivity>,
}

/// One activity of a Ghostfolio export.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[expect(dead_code, reason = "documentation only")]
pub(crate) struct GhostfolioActivity {
    /// BUY, SELL, DIVIDEND or FEE.
    #[schema(rename = "type")]
    kind: String,
    /// `YYYY-MM-DD` or ISO 8601.
    date: String,
    symbol: Option<String>,
    /// JSON numbers; the service reads their digits exactly, never through a float.
    quantity: Option<f64>,
    unit_price: Option<f64>,
    fee: Option<f64>,
    currency: Option<String>,
    comment: Option<String>,
}

/// An import's body and its format, by content type (checked before the body is read).
#[derive(Debug)]
pub(crate) struct ImportBody(FileFormat, String);

impl<S: Send + Sync> FromRequest<S> for ImportBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (kind, body) = upload(request, state, "the export").await?;
        let format = match kind {
            Upload::Csv => FileFormat::Csv,
            Upload::Json => FileFormat::Json,
        };
        Ok(Self(format, utf8(body)?))
    }
}
