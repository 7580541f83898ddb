//! `/api/v1/terminal…`: the caller's terminal sessions (terminal service). Every route needs a
//! token; another user's session is 404. Requests about one session go to the instance that
//! holds it; live output and input go over the WebSocket (`attach`).

use axum::extract::State;
use contracts::{
    Request as _,
    terminal::{
        CloseSession, CommandList, CreateSession, GetHistory, GetOverview, GetSession, History,
        ListCommands, ListSessions, ResizeSession, SessionList, TerminalOverview, TerminalSession,
        WriteSession, Written,
    },
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    app::AppState,
    context::Ctx,
    envelope::{Envelope, Reply},
    error::ApiResult,
    extract::{ApiJson, ApiQuery, SessionPath},
    openapi::ErrorEnvelope,
};

use super::{call, call_routed};

/// Your terminal sessions on every instance, oldest first.
#[utoipa::path(
    get, path = "/api/v1/terminal", tag = "terminal", security(("bearer" = [])),
    responses((status = 200, description = "Your sessions", body = Envelope<SessionList>))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
) -> ApiResult<Reply<SessionList>> {
    super::forward(&state, &ctx, &ListSessions {}).await
}

/// Start a session: an allowed command (default: the login shell) in your workspace directory.
#[utoipa::path(
    post, path = "/api/v1/terminal", tag = "terminal", security(("bearer" = [])),
    request_body = CreateSession,
    responses(
        (status = 201, description = "The session, running", body = Envelope<TerminalSession>),
        (status = 409, description = "You have as many sessions as allowed", body = ErrorEnvelope),
        (status = 503, description = "The instance holds as many sessions as it may", body = ErrorEnvelope),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CreateSession>,
) -> ApiResult<Reply<TerminalSession>> {
    let session = call(&state, &ctx, &request).await?;
    Ok(Reply::created(CreateSession::service(), session))
}

/// One of your sessions.
#[utoipa::path(
    get, path = "/api/v1/terminal/{id}", tag = "terminal", security(("bearer" = [])),
    params(SessionPath),
    responses(
        (status = 200, description = "The session", body = Envelope<TerminalSession>),
        (status = 404, description = "No session of yours has this id (or its instance is gone)", body = ErrorEnvelope),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    SessionPath(session_id): SessionPath,
) -> ApiResult<Reply<TerminalSession>> {
    let session = call_routed(&state, &ctx, &GetSession { session_id }).await?;
    Ok(Reply::ok(GetSession::service(), session))
}

/// Close a session: SIGHUP, then SIGKILL after a grace period. Answers it as it was.
#[utoipa::path(
    delete, path = "/api/v1/terminal/{id}", tag = "terminal", security(("bearer" = [])),
    params(SessionPath),
    responses(
        (status = 200, description = "The session, closing", body = Envelope<TerminalSession>),
        (status = 404, description = "No session of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn close(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    SessionPath(session_id): SessionPath,
) -> ApiResult<Reply<TerminalSession>> {
    let session = call_routed(&state, &ctx, &CloseSession { session_id }).await?;
    Ok(Reply::ok(CloseSession::service(), session))
}

/// Input: UTF-8 text or base64, exactly one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Input {
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    data_base64: Option<String>,
}

/// Type into a session (`\r` is Enter, `\u0003` Ctrl-C).
#[utoipa::path(
    post, path = "/api/v1/terminal/{id}/write", tag = "terminal", security(("bearer" = [])),
    params(SessionPath), request_body = Input,
    responses(
        (status = 200, description = "Written", body = Envelope<Written>),
        (status = 404, description = "No session of yours has this id", body = ErrorEnvelope),
        (status = 409, description = "The session has exited", body = ErrorEnvelope),
    )
)]
pub(crate) async fn write(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    SessionPath(session_id): SessionPath,
    ApiJson(input): ApiJson<Input>,
) -> ApiResult<Reply<Written>> {
    let request = WriteSession {
        session_id,
        data: input.data,
        data_base64: input.data_base64,
    };
    let written = call_routed(&state, &ctx, &request).await?;
    Ok(Reply::ok(WriteSession::service(), written))
}

/// A terminal size.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Size {
    /// 1 to 1000.
    cols: u16,
    /// 1 to 1000.
    rows: u16,
}

/// Resize a session's terminal (the program gets SIGWINCH).
#[utoipa::path(
    post, path = "/api/v1/terminal/{id}/resize", tag = "terminal", security(("bearer" = [])),
    params(SessionPath), request_body = Size,
    responses(
        (status = 200, description = "The session at its new size", body = Envelope<TerminalSession>),
        (status = 404, description = "No session of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn resize(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    SessionPath(session_id): SessionPath,
    ApiJson(size): ApiJson<Size>,
) -> ApiResult<Reply<TerminalSession>> {
    let request = ResizeSession {
        session_id,
        cols: size.cols,
        rows: size.rows,
    };
    let session = call_routed(&state, &ctx, &request).await?;
    Ok(Reply::ok(ResizeSession::service(), session))
}

/// Where to read the scrollback from.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryParams {
    /// The offset to read from; default: the oldest the session still holds.
    from_offset: Option<u64>,
    /// At most this many bytes (1 to 524288, the default).
    #[param(minimum = 1, maximum = 524288)]
    max_bytes: Option<u32>,
}

/// A session's output from an offset (base64), and where the next page starts.
#[utoipa::path(
    get, path = "/api/v1/terminal/{id}/history", tag = "terminal", security(("bearer" = [])),
    params(SessionPath, HistoryParams),
    responses(
        (status = 200, description = "Output from the offset; `truncated` when older bytes were dropped", body = Envelope<History>),
        (status = 404, description = "No session of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn history(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    SessionPath(session_id): SessionPath,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> ApiResult<Reply<History>> {
    let request = GetHistory {
        session_id,
        from_offset: params.from_offset,
        max_bytes: params.max_bytes,
    };
    let history = call_routed(&state, &ctx, &request).await?;
    Ok(Reply::ok(GetHistory::service(), history))
}

/// The input lines a session received, oldest first.
#[utoipa::path(
    get, path = "/api/v1/terminal/{id}/commands", tag = "terminal", security(("bearer" = [])),
    params(SessionPath),
    responses(
        (status = 200, description = "The lines typed, split at Enter", body = Envelope<CommandList>),
        (status = 404, description = "No session of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn commands(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    SessionPath(session_id): SessionPath,
) -> ApiResult<Reply<CommandList>> {
    let commands = call_routed(&state, &ctx, &ListCommands { session_id }).await?;
    Ok(Reply::ok(ListCommands::service(), commands))
}

/// Sessions on every instance, per user, bytes in and out, sockets attached (admins).
#[utoipa::path(
    get, path = "/api/v1/terminal/stats/overview", tag = "terminal", security(("bearer" = [])),
    responses(
        (status = 200, description = "The overview", body = Envelope<TerminalOverview>),
        (status = 403, description = "Not an administrator", body = ErrorEnvelope),
    )
)]
pub(crate) async fn overview(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
) -> ApiResult<Reply<TerminalOverview>> {
    super::forward(&state, &ctx, &GetOverview {}).await
}
