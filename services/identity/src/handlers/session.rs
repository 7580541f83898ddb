//! `identity.v1.session.login|refresh|logout`: sessions are refresh-token families.
//!
//! A login starts a family; a refresh exchanges the presented token for a new one in the same
//! family (rotation) and marks the old one used. A used token presented again means it was
//! copied: the whole family is revoked, so the thief's and the owner's newest tokens both stop
//! working, and `RefreshTokenReused` is published.

use auth::{RefreshToken, RefreshTokenHash};
use bus::{RequestContext, outbox};
use chrono::{DateTime, Utc};
use contracts::{
    Secret,
    identity::{
        ClientInfo, LoggedOut, Login, LoginFailed, LoginFailure, LoginSucceeded, Logout,
        RefreshSession, RefreshTokenReused, Session, User,
    },
    new_id,
};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{app::AppState, domain::account, error::IdentityError, store};

#[tracing::instrument(name = "identity.session.login", skip_all)]
pub async fn login(
    state: &AppState,
    ctx: RequestContext,
    req: Login,
) -> Result<Session, IdentityError> {
    let email = account::audit_email(&req.email);
    let client = account::client(req.client);
    let found = store::user::credentials_by_email(&mut *state.db.acquire().await?, &email).await?;
    // Unknown email, impossible password or wrong password: the same comparison runs (against a
    // dummy hash when there is no account), so all three take about as long and answer alike.
    let hash = found
        .as_ref()
        .filter(|_| account::could_be_a_password(&req.password))
        .map(|c| c.password_hash.as_str());
    let matches = state.passwords.verify(&req.password, hash).await?;

    let user_id = found.as_ref().map(|c| c.user.id);

    let mut tx = state.db.begin().await?;
    let user = match found {
        Some(credentials) if matches => credentials.user,
        _ => {
            let reason = if user_id.is_some() {
                LoginFailure::WrongPassword
            } else {
                LoginFailure::UnknownEmail
            };
            let event = LoginFailed {
                event_id: new_id(),
                occurred_at: Utc::now(),
                user_id,
                email,
                reason,
                client,
            };
            outbox::enqueue(&mut tx, &ctx, &event).await?;
            tx.commit().await?;
            return Err(IdentityError::InvalidCredentials);
        }
    };
    let family_id = new_id();
    let session = new_session(state, &mut tx, user, family_id, &client, None).await?;
    let event = LoginSucceeded {
        event_id: new_id(),
        occurred_at: Utc::now(),
        user_id: session.user.id,
        email: session.user.email.clone(),
        client,
        session_id: family_id,
    };
    outbox::enqueue(&mut tx, &ctx, &event).await?;
    tx.commit().await?;
    tracing::info!(user_id = %session.user.id, session_id = %family_id, "logged in");
    Ok(session)
}

#[tracing::instrument(name = "identity.session.refresh", skip_all)]
pub async fn refresh(
    state: &AppState,
    ctx: RequestContext,
    req: RefreshSession,
) -> Result<Session, IdentityError> {
    let hash = RefreshTokenHash::of_presented(req.refresh_token.expose())
        .ok_or(IdentityError::InvalidRefreshToken)?;
    let client = account::client(req.client);
    let mut tx = state.db.begin().await?;
    let stored = store::refresh_token::get_for_update(&mut tx, &hash)
        .await?
        .ok_or(IdentityError::InvalidRefreshToken)?;
    if stored.used_at.is_some() {
        let revoked = store::refresh_token::revoke_family(&mut tx, stored.family_id).await?;
        let event = RefreshTokenReused {
            event_id: new_id(),
            occurred_at: Utc::now(),
            user_id: stored.user_id,
            session_id: stored.family_id,
            client,
        };
        outbox::enqueue(&mut tx, &ctx, &event).await?;
        tx.commit().await?;
        tracing::warn!(user_id = %stored.user_id, session_id = %stored.family_id, revoked, "a used refresh token was presented again; session revoked");
        return Err(IdentityError::InvalidRefreshToken);
    }
    if stored.revoked_at.is_some() || stored.expires_at <= Utc::now() {
        return Err(IdentityError::InvalidRefreshToken);
    }
    // The account cannot be gone (its tokens are deleted with it), but a token must never
    // outlive it, so look.
    let user = store::user::get(&mut tx, stored.user_id)
        .await?
        .ok_or(IdentityError::InvalidRefreshToken)?;
    let session = new_session(state, &mut tx, user, stored.family_id, &client, Some(&hash)).await?;
    tx.commit().await?;
    Ok(session)
}

#[tracing::instrument(name = "identity.session.logout", skip_all)]
pub async fn logout(
    state: &AppState,
    _ctx: RequestContext,
    req: Logout,
) -> Result<LoggedOut, IdentityError> {
    // Idempotent and uniform: an unknown, malformed or already revoked token is answered the
    // same, so logout tells nothing about tokens.
    if let Some(hash) = RefreshTokenHash::of_presented(req.refresh_token.expose()) {
        let revoked =
            store::refresh_token::revoke_family_of(&mut *state.db.acquire().await?, &hash).await?;
        if revoked > 0 {
            tracing::info!(revoked, "logged out");
        }
    }
    Ok(LoggedOut {})
}

/// A new refresh token in `family_id` (replacing `replaces`, when refreshing) and a new access
/// token with the account's current roles.
async fn new_session(
    state: &AppState,
    conn: &mut PgConnection,
    user: User,
    family_id: Uuid,
    client: &ClientInfo,
    replaces: Option<&RefreshTokenHash>,
) -> Result<Session, IdentityError> {
    let now = Utc::now();
    let refresh_token = RefreshToken::generate()?;
    let refresh_hash = refresh_token.hash();
    let refresh_expires_at = expires_at(now, state.config.refresh_token_ttl)?;
    let new = store::refresh_token::NewRefreshToken {
        hash: &refresh_hash,
        family_id,
        user_id: user.id,
        expires_at: refresh_expires_at,
        client,
    };
    store::refresh_token::insert(conn, &new).await?;
    if let Some(old) = replaces {
        store::refresh_token::mark_used(conn, old, &refresh_hash).await?;
    }
    let ttl = state.config.access_token_ttl;
    let claims = state.keys.claims(user.id, user.roles.clone(), ttl, now);
    Ok(Session {
        access_token: Secret::new(state.keys.issue(&claims)?),
        token_type: Session::TOKEN_TYPE.to_owned(),
        expires_in: ttl.as_secs(),
        refresh_token: Secret::new(refresh_token.into_string()),
        refresh_expires_at,
        user,
    })
}

fn expires_at(
    now: DateTime<Utc>,
    ttl: std::time::Duration,
) -> Result<DateTime<Utc>, IdentityError> {
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .ok_or(IdentityError::Unexpected(
            "refresh token lifetime out of range",
        ))
}
