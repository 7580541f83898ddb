//! The identity service: accounts, roles, password hashes and sessions, and the login audit.
//! Every other service trusts the user the gateway stamps on a request after verifying an access
//! token issued here, so this is the security boundary of Bourse.
//!
//! Owns: Postgres schema `identity` (`migrations/identity/`): `identity.user`,
//! `identity.refresh_token`, `identity.outbox`.
//! Answers (service `identity`): `identity.v1.user.register|get|update|set_roles|delete|list`,
//! `identity.v1.session.login|refresh|logout` — see `contracts::identity`.
//! Publishes (through the outbox, stream `IDENTITY`): `evt.identity.user.<id>.registered|updated|deleted`
//! and the login audit `evt.identity.login.<id|unknown>.succeeded|failed|refresh_reused`.
//!
//! Sessions: a login answers a short-lived access token (a JWT, see the `auth` crate) and an
//! opaque refresh token. Refresh tokens are stored only as hashes and rotated on every use;
//! presenting one that was already used revokes its whole family (reuse detection).
//!
//! Modules:
//! - [`config`]: flags and environment.
//! - [`app`]: [`App`], the service as the service kit starts it (`bus::kit::Service`) in its
//!   binary, `bourse dev`, the bench and the tests; also runs the outbox relay and the
//!   expired-token clean-up.
//! - [`handlers`]: one file per resource: registration, sessions, users, admin requests.
//! - [`store`]: sqlx queries, one file per table.
//! - [`domain`]: pure rules, no IO: email, name and password checks, roles, and roles.
//! - [`password`]: argon2id hashing off the async runtime, bounded in memory.
//! - [`error`]: [`IdentityError`] and its mapping to the bus catalogue.

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod handlers;
pub mod password;
pub mod store;

use bus::RequestContext;
use contracts::identity::{RegisterUser, Role, User};
use sqlx::PgPool;

pub use app::{App, AppState};
pub use config::Config;
pub use error::IdentityError;
pub use password::{PasswordHashing, Passwords};

/// The Postgres schema this service owns.
pub const SCHEMA: &str = "identity";

/// The migrations of [`SCHEMA`].
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/identity");

/// Creates an account with exactly `roles` (`user` is always added), through the same checks,
/// hashing and events as registration: what `bourse user create --admin` calls.
///
/// `pool` must be bound to [`SCHEMA`] (`bus::pg::connect_and_migrate(url, identity::SCHEMA,
/// &identity::MIGRATOR, n)`): the `UserRegistered` event goes to this schema's outbox and is
/// published by the identity service's relay (at once when it runs, else when it starts).
pub async fn create_user(
    pool: &PgPool,
    ctx: &RequestContext,
    request: RegisterUser,
    roles: &[Role],
) -> Result<User, IdentityError> {
    let passwords = Passwords::new(PasswordHashing::default())?;
    handlers::register::register_user(
        pool,
        &passwords,
        ctx,
        request,
        handlers::register::Grant::Exactly(roles),
    )
    .await
}
