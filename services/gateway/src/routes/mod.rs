//! The REST API under `/api/v1`: one file per resource, every handler a typed request over the
//! bus to the service that owns the resource. Who may call which route: `crate::auth::access`. Each handler carries its `#[utoipa::path]`, and
//! [`api`] registers handler and documentation together, so `openapi.json` cannot drift from
//! the routes that exist.

mod chat;
mod files;
mod history;
mod portfolios;
mod quotes;
mod session;
mod stocks;
mod terminal;
mod trades;
mod users;
mod workspace;

use bus::RequestContext;
use contracts::{
    Request, Routed, assistant::SendMessage, identity::Login, market::GetQuote,
    portfolio::ListPortfolios, terminal::CreateSession, workspace::ListProjects,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    app::AppState,
    envelope::Reply,
    error::{ApiError, ApiResult},
};

/// The services the routes forward to (market: `/api/v1/stocks`; identity: `/api/v1/auth`,
/// `/api/v1/users`; portfolio: `/api/v1/portfolios`, `/trades`, `/positions`, `/performance`,
/// `/export`; terminal: `/api/v1/terminal`; assistant: `/api/v1/chat`; workspace:
/// `/api/v1/workspace`, `/api/v1/files`, `/api/v1/git`): what `/health/all` expects when no
/// list is configured.
pub(crate) fn services() -> Vec<&'static str> {
    vec![
        Login::service(),
        GetQuote::service(),
        ListPortfolios::service(),
        CreateSession::service(),
        SendMessage::service(),
        ListProjects::service(),
    ]
}

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
        .routes(routes!(portfolios::list, portfolios::create))
        .routes(routes!(
            portfolios::get,
            portfolios::update,
            portfolios::delete
        ))
        .routes(routes!(portfolios::activities, portfolios::record))
        .routes(routes!(portfolios::delete_activity))
        .routes(routes!(portfolios::import))
        .routes(routes!(trades::execute, trades::list))
        .routes(routes!(trades::positions, trades::open))
        .routes(routes!(trades::performance))
        .routes(routes!(trades::series))
        .routes(routes!(trades::export))
        .routes(routes!(terminal::list, terminal::create))
        .routes(routes!(terminal::get, terminal::close))
        .routes(routes!(terminal::write))
        .routes(routes!(terminal::resize))
        .routes(routes!(terminal::history))
        .routes(routes!(terminal::commands))
        .routes(routes!(terminal::overview))
        .routes(routes!(chat::list, chat::create))
        .routes(routes!(chat::get, chat::update, chat::delete))
        .routes(routes!(chat::messages))
        .routes(routes!(chat::regenerate))
        .routes(routes!(chat::export))
        .routes(routes!(chat::send))
        .routes(routes!(chat::stop))
        .routes(routes!(chat::models))
        .routes(routes!(chat::folders, chat::create_folder))
        .routes(routes!(chat::update_folder, chat::delete_folder))
        .routes(routes!(chat::search))
        .routes(routes!(workspace::list, workspace::create))
        .routes(routes!(workspace::clone))
        .routes(routes!(
            workspace::get,
            workspace::update,
            workspace::delete
        ))
        .routes(routes!(workspace::stats))
        .routes(routes!(files::get, files::create))
        .merge(files::by_path())
        .routes(routes!(workspace::status))
        .routes(routes!(workspace::diff))
        .routes(routes!(workspace::log))
        .routes(routes!(workspace::branches, workspace::create_branch))
        .routes(routes!(workspace::checkout))
        .routes(routes!(workspace::commit))
        .routes(routes!(workspace::push))
        .routes(routes!(workspace::pull))
}

/// Sends `request` to its service for the caller: the answer, or the failure as the service
/// (or the gateway, for a transport failure) gave it.
pub(crate) async fn call<R: Request>(
    state: &AppState,
    ctx: &RequestContext,
    request: &R,
) -> ApiResult<R::Reply> {
    state
        .bus
        .request(ctx, request)
        .await
        .map_err(ApiError::from_bus::<R>)
}

/// [`call`] for a request that only the instance holding its object answers (a terminal
/// session): a gone instance is `not_found`.
pub(crate) async fn call_routed<R: Routed>(
    state: &AppState,
    ctx: &RequestContext,
    request: &R,
) -> ApiResult<R::Reply> {
    state
        .bus
        .request_routed(ctx, request)
        .await
        .map_err(ApiError::from_bus::<R>)
}

/// [`call`], the answer wrapped in the envelope naming the service: the body of nearly every
/// handler.
pub(crate) async fn forward<R: Request>(
    state: &AppState,
    ctx: &RequestContext,
    request: &R,
) -> ApiResult<Reply<R::Reply>> {
    let reply = call(state, ctx, request).await?;
    Ok(Reply::ok(R::service(), reply))
}
