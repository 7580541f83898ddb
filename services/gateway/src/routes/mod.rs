//! The REST API under `/api/v1`: one file per resource, every handler a typed request over the
//! bus to the service that owns the resource. Who may call which route: `crate::auth::access`. Each handler carries its `#[utoipa::path]`, and
//! [`api`] registers handler and documentation together, so `openapi.json` cannot drift from
//! the routes that exist.

mod history;
mod quotes;
mod session;
mod stocks;
mod users;

use bus::RequestContext;
use contracts::Request;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    app::AppState,
    envelope::Reply,
    error::{ApiError, ApiResult},
};

/// The market service answers everything under `/api/v1/stocks`.
pub(crate) const MARKET: &str = "market";

/// The identity service answers `/api/v1/auth` and `/api/v1/users`.
pub(crate) const IDENTITY: &str = "identity";

/// Every `/api/v1` route with its OpenAPI operation.
pub(crate) fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stocks::search, stocks::create))
        .routes(routes!(stocks::get))
        .routes(routes!(quotes::get))
        .routes(routes!(history::get, history::import))
        .routes(routes!(session::register))
        .routes(routes!(session::login))
        .routes(routes!(session::refresh))
        .routes(routes!(session::logout))
        .routes(routes!(session::validate))
        .routes(routes!(users::me))
        .routes(routes!(users::list))
        .routes(routes!(users::get, users::update, users::delete))
        .routes(routes!(users::set_roles))
}

/// Sends `request` to `service` for the caller and wraps the answer in the envelope: the body of
/// nearly every handler.
pub(crate) async fn forward<R: Request>(
    state: &AppState,
    ctx: &RequestContext,
    service: &'static str,
    request: &R,
) -> ApiResult<Reply<R::Reply>> {
    let reply = state
        .bus
        .request(ctx, request)
        .await
        .map_err(ApiError::from_bus(service))?;
    Ok(Reply::ok(service, reply))
}
