//! `/api/v1/auth/*`: registration and sessions (identity service). Register, login and refresh
//! are public; logout and validate need a token (see `crate::auth`).

use std::net::{IpAddr, Ipv4Addr};

use axum::{
    extract::{FromRequestParts, State},
    http::{header, request::Parts},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use contracts::{
    Request, Secret,
    identity::{
        ClientInfo, LoggedOut, Login, Logout, RefreshSession, RegisterUser, Role, Session, User,
        limits,
    },
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    app::AppState,
    auth,
    context::Ctx,
    envelope::{Envelope, Reply},
    error::{ApiError, GATEWAY},
    extract::ApiJson,
    openapi::ErrorEnvelope,
    ratelimit::ClientIp,
};

/// Where the request comes from, as the gateway saw it: the client IP the per-IP limit used
/// (the peer, or the trusted proxy's `X-Forwarded-For`) and the `User-Agent`, cut to 512
/// characters. Never read from the body.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    ip: IpAddr,
    user_agent: Option<String>,
}

impl Client {
    fn info(&self) -> ClientInfo {
        ClientInfo {
            ip: Some(self.ip),
            user_agent: self.user_agent.clone(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ClientIp>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ip| ip.0);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(limits::USER_AGENT_MAX_CHARS).collect());
        Ok(Self { ip, user_agent })
    }
}

/// The body of a login: only what a client may say (its address is the gateway's to tell).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginBody {
    email: String,
    password: Secret,
}

/// The body of a refresh or a logout.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshBody {
    refresh_token: Secret,
}

/// What `validate` answers: the verified token's claims.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenInfo {
    user_id: Uuid,
    roles: Vec<Role>,
    issued_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    /// The token's id.
    token_id: Uuid,
}

/// Create an account (role `user`). Limited per IP and per email.
#[utoipa::path(
    post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterUser,
    responses(
        (status = 201, description = "The account", body = Envelope<User>),
        (status = 409, description = "The email is taken", body = ErrorEnvelope),
        (status = 422, description = "Email, password (10..=128 characters) or name invalid", body = ErrorEnvelope),
        (status = 429, description = "Too many registrations from this address or for this email; see Retry-After", body = ErrorEnvelope),
    )
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    client: Client,
    ApiJson(request): ApiJson<RegisterUser>,
) -> Response {
    if let Err(limited) = state.limits.check_register(client.ip, &request.email) {
        return limited.into_response();
    }
    match super::call(&state, &ctx, &request).await {
        Ok(user) => Reply::created(RegisterUser::service(), user).into_response(),
        Err(err) => err.into_response(),
    }
}

/// Sign in: an access token (`Authorization: Bearer …`) and a single-use refresh token.
/// Limited per IP and per email.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses(
        (status = 200, description = "A new session", body = Envelope<Session>),
        (status = 401, description = "Invalid email or password", body = ErrorEnvelope),
        (status = 429, description = "Too many logins from this address or for this email; see Retry-After", body = ErrorEnvelope),
    )
)]
pub(crate) async fn login(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    client: Client,
    ApiJson(body): ApiJson<LoginBody>,
) -> Response {
    if let Err(limited) = state.limits.check_login(client.ip, &body.email) {
        return limited.into_response();
    }
    let request = Login {
        email: body.email,
        password: body.password,
        client: client.info(),
    };
    super::forward(&state, &ctx, &request).await.into_response()
}

/// Exchange a refresh token for a new session. The token is single use: presenting it again
/// ends its whole session.
#[utoipa::path(
    post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses(
        (status = 200, description = "A new session", body = Envelope<Session>),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = ErrorEnvelope),
    )
)]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    client: Client,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<Reply<Session>, ApiError> {
    let request = RefreshSession {
        refresh_token: body.refresh_token,
        client: client.info(),
    };
    super::forward(&state, &ctx, &request).await
}

/// End the session a refresh token belongs to. Idempotent.
#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The session is revoked", body = Envelope<LoggedOut>),
        (status = 401, description = "No valid access token", body = ErrorEnvelope),
    )
)]
pub(crate) async fn logout(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    _user: auth::User,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<Reply<LoggedOut>, ApiError> {
    let request = Logout {
        refresh_token: body.refresh_token,
    };
    super::forward(&state, &ctx, &request).await
}

/// Check an access token: answers its verified claims (verified here, at the edge).
#[utoipa::path(
    get, path = "/api/v1/auth/validate", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The token is valid", body = Envelope<TokenInfo>),
        (status = 401, description = "Missing, invalid or expired token", body = ErrorEnvelope),
    )
)]
pub(crate) async fn validate(auth::User(claims): auth::User) -> Reply<TokenInfo> {
    Reply::ok(
        GATEWAY,
        TokenInfo {
            user_id: claims.sub,
            roles: claims.roles.clone(),
            issued_at: DateTime::from_timestamp(claims.iat, 0),
            expires_at: claims.expires_at(),
            token_id: claims.jti,
        },
    )
}
