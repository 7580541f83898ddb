//! `/api/v1/users…`: accounts (identity service). Every route needs a token; identity decides
//! who may see or change which account (the user themself, or an admin) from the verified user
//! the gateway puts on the request.

use axum::extract::{Path, State};
use contracts::identity::{
    DeleteUser, DeletedUser, GetUser, ListUsers, Role, SetUserRoles, UpdateUser, User, UserChanges,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::IDENTITY;
use crate::{
    app::AppState,
    auth,
    context::Ctx,
    envelope::{Envelope, Reply},
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiQuery},
    openapi::ErrorEnvelope,
};

/// The `{id}` path parameter: a UUID, else 422 before anything goes to NATS.
fn user_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| {
        ApiError::validation("the user id is not a UUID")
            .with_details(serde_json::json!({ "field": "id" }))
    })
}

/// The signed-in user's account.
#[utoipa::path(
    get, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "Your account", body = Envelope<User>),
        (status = 401, description = "No valid access token", body = ErrorEnvelope),
    )
)]
pub(crate) async fn me(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    auth::User(claims): auth::User,
) -> ApiResult<Reply<User>> {
    let request = GetUser {
        user_id: claims.sub,
    };
    super::forward(&state, &ctx, IDENTITY, &request).await
}

/// One account: yours, or any for an admin.
#[utoipa::path(
    get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user id")),
    responses(
        (status = 200, description = "The account", body = Envelope<User>),
        (status = 401, description = "No valid access token", body = ErrorEnvelope),
        (status = 403, description = "Another user's account, and you are not an admin", body = ErrorEnvelope),
        (status = 404, description = "No such account", body = ErrorEnvelope),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    _user: auth::User,
    Path(id): Path<String>,
) -> ApiResult<Reply<User>> {
    let user_id = user_id(&id)?;
    super::forward(&state, &ctx, IDENTITY, &GetUser { user_id }).await
}

/// Change an account: yours, or any for an admin. `roles`, `id` and unknown fields are refused.
#[utoipa::path(
    put, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user id")),
    request_body = UserChanges,
    responses(
        (status = 200, description = "The changed account", body = Envelope<User>),
        (status = 401, description = "No valid access token, or a wrong current password", body = ErrorEnvelope),
        (status = 403, description = "Another user's account, and you are not an admin", body = ErrorEnvelope),
        (status = 409, description = "The new email is taken", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid or not changeable", body = ErrorEnvelope),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    _user: auth::User,
    Path(id): Path<String>,
    ApiJson(changes): ApiJson<UserChanges>,
) -> ApiResult<Reply<User>> {
    let user_id = user_id(&id)?;
    super::forward(&state, &ctx, IDENTITY, &UpdateUser { user_id, changes }).await
}

/// Delete an account and its sessions: yours, or any for an admin.
#[utoipa::path(
    delete, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user id")),
    responses(
        (status = 200, description = "The account is deleted", body = Envelope<DeletedUser>),
        (status = 401, description = "No valid access token", body = ErrorEnvelope),
        (status = 403, description = "Another user's account, and you are not an admin", body = ErrorEnvelope),
        (status = 404, description = "No such account", body = ErrorEnvelope),
    )
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    _user: auth::User,
    Path(id): Path<String>,
) -> ApiResult<Reply<DeletedUser>> {
    let user_id = user_id(&id)?;
    super::forward(&state, &ctx, IDENTITY, &DeleteUser { user_id }).await
}

/// Query of the account list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageParams {
    /// From 1; default 1.
    page: Option<u32>,
    /// 1 to 100; default 20.
    limit: Option<u32>,
}

/// Every account, a page at a time (admins only: refused at the edge, and identity checks too). The envelope's
/// `pagination` tells where the page sits.
#[utoipa::path(
    get, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of accounts; the envelope has `pagination`", body = Envelope<Vec<User>>),
        (status = 401, description = "No valid access token", body = ErrorEnvelope),
        (status = 403, description = "Not an admin", body = ErrorEnvelope),
        (status = 422, description = "`page` or `limit` out of range", body = ErrorEnvelope),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    _user: auth::User,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Reply<Vec<User>>> {
    if params
        .limit
        .is_some_and(|limit| !(1..=ListUsers::MAX_LIMIT).contains(&limit))
    {
        return Err(ApiError::validation(format!(
            "limit must be between 1 and {}",
            ListUsers::MAX_LIMIT
        )));
    }
    if params
        .page
        .is_some_and(|page| !(1..=ListUsers::MAX_PAGE).contains(&page))
    {
        return Err(ApiError::validation(format!(
            "page must be between 1 and {}",
            ListUsers::MAX_PAGE
        )));
    }
    let request = ListUsers {
        page: params.page,
        limit: params.limit,
    };
    let page = state
        .bus
        .request(&ctx, &request)
        .await
        .map_err(ApiError::from_bus(IDENTITY))?;
    Ok(Reply::ok(IDENTITY, page.users).with_pagination(page.pagination))
}

/// The body of a role change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RolesBody {
    /// The account's roles from now on (`user` is always kept).
    roles: Vec<Role>,
}

/// Set another account's roles (admins only; nobody changes their own). Takes effect with the
/// account's next access token.
#[utoipa::path(
    put, path = "/api/v1/users/{id}/roles", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user id")),
    request_body = RolesBody,
    responses(
        (status = 200, description = "The account with its new roles", body = Envelope<User>),
        (status = 401, description = "No valid access token", body = ErrorEnvelope),
        (status = 403, description = "Not an admin, or your own account", body = ErrorEnvelope),
        (status = 404, description = "No such account", body = ErrorEnvelope),
        (status = 422, description = "An unknown role", body = ErrorEnvelope),
    )
)]
pub(crate) async fn set_roles(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    _user: auth::User,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RolesBody>,
) -> ApiResult<Reply<User>> {
    let user_id = user_id(&id)?;
    let request = SetUserRoles {
        user_id,
        roles: body.roles,
    };
    super::forward(&state, &ctx, IDENTITY, &request).await
}
