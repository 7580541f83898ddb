//! Bearer authentication at the edge: who may call which route, and the verified user stamped on
//! the request's [`RequestContext`] (and so on the NATS request as `Bourse-User-Id` /
//! `Bourse-User-Roles`).
//!
//! Deny by default: every `/api/v1` route needs a valid access token unless [`access`] lists it
//! as public, so a route added later is protected until someone decides otherwise. The table is
//! matched on axum's route template (`/api/v1/users/{id}`), never on the raw path.
//!
//! | access | routes |
//! |---|---|
//! | public | `POST /api/v1/auth/register`, `/login`, `/refresh`; `GET /api/v1/stocks`, `/stocks/{symbol}`, `/stocks/{symbol}/price`, `/stocks/{symbol}/history`; `GET /api/v1/openapi.json`; everything outside `/api/v1` (`/health…`, `/services`, `/metrics`, `/ws` — which authenticates inside the socket) |
//! | admin | `POST /api/v1/stocks`, `POST /api/v1/stocks/{symbol}/history` (edge only: market does not check roles); `GET /api/v1/users`, `PUT /api/v1/users/{id}/roles` (identity checks again) |
//! | signed in | everything else under `/api/v1` |
//!
//! A missing token is answered 401 `unauthorized` with `WWW-Authenticate: Bearer realm="bourse"`;
//! a token that does not verify (bad signature, other algorithm, expired, wrong issuer or
//! audience, …) the same plus `error="invalid_token"` (RFC 6750 §3); a valid token without the
//! role 403 `forbidden`. On public routes a valid token makes the call act for its user, and a
//! missing, expired or invalid one makes it anonymous, so a stale token never breaks a public read.

use std::sync::Arc;

use ::auth::{AccessClaims, AuthError, Role, TokenKeys};
use axum::{
    extract::{FromRequestParts, MatchedPath, Request, State},
    http::{HeaderMap, HeaderValue, Method, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use bus::{Actor, ErrorCode, RequestContext, ServiceError};

use crate::{
    app::AppState,
    error::ApiError,
    metrics::MatchedRoute,
    ratelimit::{self, RateLimited},
};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Public,
    SignedIn,
    Admin,
}

/// The access rule of a route, by method and route template. Deny by default under `/api/v1`.
pub(crate) fn access(method: &Method, route: &str) -> Access {
    if !route.starts_with("/api/v1/") {
        return Access::Public;
    }
    match (method.as_str(), route) {
        ("POST", "/api/v1/auth/register" | "/api/v1/auth/login" | "/api/v1/auth/refresh")
        | ("GET" | "HEAD", "/api/v1/openapi.json")
        | (
            "GET" | "HEAD",
            "/api/v1/stocks"
            | "/api/v1/stocks/{symbol}"
            | "/api/v1/stocks/{symbol}/price"
            | "/api/v1/stocks/{symbol}/history",
        ) => Access::Public,
        // The market service does not check roles itself yet: this edge check is the only one
        // (noted on issue 3; market's handlers belong to the market owner).
        ("POST", "/api/v1/stocks" | "/api/v1/stocks/{symbol}/history") => Access::Admin,
        // Identity checks these again from `Bourse-User-Roles`; refusing here spares it the work.
        ("GET" | "HEAD", "/api/v1/users" | "/api/v1/terminal/stats/overview")
        | ("PUT", "/api/v1/users/{id}/roles") => Access::Admin,
        _ => Access::SignedIn,
    }
}

/// Verifies access tokens; shared by the HTTP middleware and the WebSocket sessions.
#[derive(Debug)]
pub(crate) struct Verifier {
    keys: TokenKeys,
}

impl Verifier {
    /// Refuses to start without a usable key: a missing or weak HS256 secret fails here unless
    /// `--allow-weak-dev-secret`, by the very rules identity signs by (`auth::TokenKeys`).
    pub(crate) fn new(config: &::auth::TokenConfig) -> anyhow::Result<Self> {
        let keys = TokenKeys::verifying(config)?;
        if config.uses_dev_secret() {
            tracing::warn!(
                "verifying access tokens with the public development secret: anyone can forge them"
            );
        } else if config.allow_weak_dev_secret {
            tracing::warn!("--allow-weak-dev-secret is on: for development only");
        }
        Ok(Self { keys })
    }

    pub(crate) fn verify(&self, token: &str) -> Result<AccessClaims, AuthError> {
        self.keys.verify(token)
    }
}

/// The actor a verified token stands for, as the bus carries it.
pub(crate) fn actor_of(claims: &AccessClaims) -> Actor {
    Actor {
        user_id: claims.sub,
        roles: claims.role_names(),
    }
}

/// The token of an `Authorization: Bearer <token>` header; `Err` when the header is there but
/// is not a bearer token.
fn bearer(headers: &HeaderMap) -> Option<Result<&str, ()>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let parsed = value.to_str().ok().and_then(|v| {
        let (scheme, token) = v.split_once(' ')?;
        let token = token.trim();
        (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
    });
    Some(parsed.ok_or(()))
}

/// A 401 with the RFC 6750 challenge; `invalid` adds `error="invalid_token"`.
pub(crate) fn unauthorized(message: &str, invalid: bool) -> Response {
    let mut response =
        ApiError::from(ServiceError::new(ErrorCode::Unauthorized, message)).into_response();
    let challenge = if invalid {
        r#"Bearer realm="bourse", error="invalid_token""#
    } else {
        r#"Bearer realm="bourse""#
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// Middleware, the one route layer (so the matched route is known): the per-IP rate limit
/// ([`ratelimit::per_ip`]), then [`authenticate`]. The answer, refused or not, carries the
/// matched route for the metrics ([`MatchedRoute`]).
///
/// One layer rather than one per concern: axum clones a route's whole layer stack below each
/// `from_fn` for every request, and those clones and their drops were ~10 % of the gateway's
/// CPU in the bench profile.
pub(crate) async fn admit(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedRoute::new);
    let mut response = match ratelimit::per_ip(&state, &mut request) {
        Err(limited) => limited.into_response(),
        Ok(()) => {
            let path = route
                .as_ref()
                .map_or(request.uri().path(), MatchedRoute::as_str);
            match authenticate(&state, access(request.method(), path), &mut request) {
                Err(refused) => refused.into_response(),
                Ok(()) => next.run(request).await,
            }
        }
    };
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

/// Why [`authenticate`] refused a request.
enum Refused {
    /// 401; `invalid` when a token was sent but does not verify.
    Unauthorized {
        message: &'static str,
        invalid: bool,
    },
    Forbidden,
    Limited(RateLimited),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Self::Unauthorized { message, invalid } => unauthorized(message, invalid),
            Self::Forbidden => {
                ApiError::from(ServiceError::forbidden("this needs the admin role")).into_response()
            }
            Self::Limited(limited) => limited.into_response(),
        }
    }
}

/// Applies `needed` to the request's bearer token: for a verified token, puts its claims in
/// the request's extensions and its user on the [`RequestContext`]. Nothing the client sends
/// besides the bearer token names the user.
fn authenticate(state: &AppState, needed: Access, request: &mut Request) -> Result<(), Refused> {
    if needed == Access::Public {
        // A signed-in caller of a public route still acts as itself (the service sees the
        // user); a missing, expired or invalid token only makes the call anonymous, so a stale
        // token never breaks a public read.
        let claims = match bearer(request.headers()) {
            Some(Ok(token)) => state.verifier.verify(token).ok(),
            _ => None,
        };
        if let Some(claims) = claims {
            state
                .limits
                .check_user(claims.sub)
                .map_err(Refused::Limited)?;
            attach(request, claims);
        }
        return Ok(());
    }
    let claims = match bearer(request.headers()) {
        None => {
            return Err(Refused::Unauthorized {
                message: "sign in: send Authorization: Bearer <access token>",
                invalid: false,
            });
        }
        Some(Err(())) => {
            return Err(Refused::Unauthorized {
                message: "the Authorization header is not a bearer token",
                invalid: true,
            });
        }
        Some(Ok(token)) => state.verifier.verify(token).map_err(|err| {
            tracing::debug!(error.message = %err, "access token refused");
            Refused::Unauthorized {
                message: if err.is_expired() {
                    "the access token has expired; refresh it"
                } else {
                    "the access token is invalid"
                },
                invalid: true,
            }
        })?,
    };
    if needed == Access::Admin && !claims.has_role(Role::Admin) {
        return Err(Refused::Forbidden);
    }
    state
        .limits
        .check_user(claims.sub)
        .map_err(Refused::Limited)?;
    attach(request, claims);
    Ok(())
}

/// Puts the verified user on the request: its claims, and the actor of its [`RequestContext`].
fn attach(request: &mut Request, claims: AccessClaims) {
    let actor = Some(actor_of(&claims));
    let extensions = request.extensions_mut();
    match extensions.get_mut::<RequestContext>() {
        Some(ctx) => ctx.actor = actor,
        None => {
            extensions.insert(RequestContext::new().with_actor(actor));
        }
    }
    extensions.insert(User(Arc::new(claims)));
}

/// The verified user of a signed-in route (its token's claims).
#[derive(Debug, Clone)]
pub(crate) struct User(pub(crate) Arc<AccessClaims>);

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Only `authenticate` inserts it; a handler using `User` on a public route is a bug
        // that must fail closed.
        parts.extensions.get::<User>().cloned().ok_or_else(|| {
            unauthorized("sign in: send Authorization: Bearer <access token>", false)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listed_routes_are_public_and_new_ones_need_a_token() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(access(&post, "/api/v1/auth/login"), Access::Public);
        assert_eq!(access(&post, "/api/v1/auth/register"), Access::Public);
        assert_eq!(access(&post, "/api/v1/auth/refresh"), Access::Public);
        assert_eq!(access(&post, "/api/v1/auth/logout"), Access::SignedIn);
        assert_eq!(access(&get, "/api/v1/auth/validate"), Access::SignedIn);
        assert_eq!(
            access(&get, "/api/v1/stocks/{symbol}/price"),
            Access::Public
        );
        assert_eq!(access(&post, "/api/v1/stocks"), Access::Admin);
        assert_eq!(
            access(&post, "/api/v1/stocks/{symbol}/history"),
            Access::Admin
        );
        assert_eq!(access(&get, "/api/v1/users/{id}"), Access::SignedIn);
        assert_eq!(access(&get, "/api/v1/users/me"), Access::SignedIn);
        assert_eq!(access(&get, "/api/v1/users"), Access::Admin);
        assert_eq!(
            access(&Method::PUT, "/api/v1/users/{id}/roles"),
            Access::Admin
        );
        assert_eq!(access(&get, "/api/v1/portfolios"), Access::SignedIn);
        assert_eq!(
            access(&Method::DELETE, "/api/v1/stocks/{symbol}"),
            Access::SignedIn
        );
        assert_eq!(access(&get, "/health/all"), Access::Public);
    }

    #[test]
    fn only_bearer_credentials_are_read() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer(&headers), Some(Ok("abc")));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  abc "),
        );
        assert_eq!(bearer(&headers), Some(Ok("abc")));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YTpi"),
        );
        assert_eq!(bearer(&headers), Some(Err(())));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&headers), Some(Err(())));
    }
}
