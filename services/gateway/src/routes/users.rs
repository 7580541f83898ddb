//! `/api/v1/users…`: accounts (identity service). Every route needs a token; identity decides
//! who may see or change which account (the user themself, or an admin) from the verified user
//! the gateway puts on the request.

use axum::extract::State;
use contracts::{
    InvalidValue, Limit, Page, Request,
    identity::{
        DeleteUser, DeletedUser, GetUser, ListUsers, Role, SetUserRoles, UpdateUser, User,
        UserChanges,
    },
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    app::AppState,
    auth,
    context::Ctx,
    envelope::{Envelope, Reply},
    error::ApiResult,
    extract::{ApiJson, ApiQuery, IdPath},
    openapi::ErrorEnvelope,
};

/// The signed-in user's account.
#[utoipa::path(
    get, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "Your account", body = Envelope<User>),
        (status = 404, description = "The account was deleted since the token was issued", body = ErrorEnvelope),
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
    super::forward(&state, &ctx, &request).await
}

/// One account: yours, or any for an admin.
#[utoipa::path(
    get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(IdPath),
    responses(
        (status = 200, description = "The account", body = Envelope<User>),
        (status = 403, description = "Another user's account, and you are not an admin", body = ErrorEnvelope),
        (status = 404, description = "No such account", body = ErrorEnvelope),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    _user: auth::User,
    IdPath(user_id): IdPath,
) -> ApiResult<Reply<User>> {
    super::forward(&state, &ctx, &GetUser { user_id }).await
}

/// Change an account: yours, or any for an admin. `roles`, `id` and unknown fields are refused.
#[utoipa::path(
    put, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(IdPath),
    request_body = UserChanges,
    responses(
        (status = 200, description = "The changed account", body = Envelope<User>),
        (status = 403, description = "Another user's account, and you are not an admin", body = ErrorEnvelope),
        (status = 404, description = "No such account", body = ErrorEnvelope),
        (status = 409, description = "The new email is taken", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid or not changeable, or `current_password` is missing or wrong", body = ErrorEnvelope),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    _user: auth::User,
    IdPath(user_id): IdPath,
    ApiJson(changes): ApiJson<UserChanges>,
) -> ApiResult<Reply<User>> {
    super::forward(&state, &ctx, &UpdateUser { user_id, changes }).await
}

/// Delete an account and its sessions: yours, or any for an admin.
#[utoipa::path(
    delete, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(IdPath),
    responses(
        (status = 200, description = "The account is deleted", body = Envelope<DeletedUser>),
        (status = 403, description = "Another user's account, and you are not an admin", body = ErrorEnvelope),
        (status = 404, description = "No such account", body = ErrorEnvelope),
    )
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    _user: auth::User,
    IdPath(user_id): IdPath,
) -> ApiResult<Reply<DeletedUser>> {
    super::forward(&state, &ctx, &DeleteUser { user_id }).await
}

/// Query of the account list, as the client sent it; the rules are the contract's ([`Page`],
/// [`Limit`]).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageParams {
    /// From 1 to 100000; default 1.
    #[param(minimum = 1, maximum = 100_000)]
    page: Option<u32>,
    /// 1 to 100; default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

impl TryFrom<PageParams> for ListUsers {
    type Error = InvalidValue;

    fn try_from(params: PageParams) -> Result<Self, InvalidValue> {
        Ok(Self {
            page: params.page.map(Page::new).transpose()?,
            limit: params.limit.map(Limit::new).transpose()?,
        })
    }
}

/// Every account, a page at a time (admins only: refused at the edge, and identity checks too). The envelope's
/// `pagination` tells where the page sits.
#[utoipa::path(
    get, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of accounts; the envelope has `pagination`", body = Envelope<Vec<User>>),
        (status = 403, description = "Not an admin", body = ErrorEnvelope),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    _user: auth::User,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Reply<Vec<User>>> {
    let request = ListUsers::try_from(params)?;
    let page = super::call(&state, &ctx, &request).await?;
    Ok(Reply::ok(ListUsers::service(), page.users).with_pagination(page.pagination))
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
    params(IdPath),
    request_body = RolesBody,
    responses(
        (status = 200, description = "The account with its new roles", body = Envelope<User>),
        (status = 403, description = "Not an admin, or your own account", body = ErrorEnvelope),
        (status = 404, description = "No such account", body = ErrorEnvelope),
        (status = 422, description = "An unknown role", body = ErrorEnvelope),
    )
)]
pub(crate) async fn set_roles(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    _user: auth::User,
    IdPath(user_id): IdPath,
    ApiJson(body): ApiJson<RolesBody>,
) -> ApiResult<Reply<User>> {
    let request = SetUserRoles {
        user_id,
        roles: body.roles,
    };
    super::forward(&state, &ctx, &request).await
}
