//! `identity.v1.user.register`, and the account creation it shares with [`crate::create_user`].

use bus::{RequestContext, outbox};
use chrono::Utc;
use contracts::{
    identity::{RegisterUser, Role, User, UserRegistered},
    new_id,
};
use sqlx::PgPool;

use crate::{app::AppState, domain::account, error::IdentityError, password::Passwords, store};

/// Which roles a new account gets.
pub enum Grant<'a> {
    /// `user`, or `user` + `admin` when `first_user_admin` is set and no account exists yet.
    Registration { first_user_admin: bool },
    /// Exactly these (plus `user`): an operator's tool.
    Exactly(&'a [Role]),
}

#[tracing::instrument(name = "identity.user.register", skip_all)]
pub async fn register(
    state: &AppState,
    ctx: RequestContext,
    req: RegisterUser,
) -> Result<User, IdentityError> {
    let grant = Grant::Registration {
        first_user_admin: state.config.first_user_admin,
    };
    register_user(&state.db, &state.passwords, &ctx, req, grant).await
}

/// Checks, hashes and inserts a new account, with its `UserRegistered` event in the same
/// transaction.
pub async fn register_user(
    db: &PgPool,
    passwords: &Passwords,
    ctx: &RequestContext,
    req: RegisterUser,
    grant: Grant<'_>,
) -> Result<User, IdentityError> {
    let email = account::email(&req.email)?;
    let name = account::name(&req.name)?;
    account::new_password(&req.password, "password")?;
    // A taken email is answered before the (deliberately slow) hash; the unique index still
    // decides when two registrations race.
    if store::user::email_taken(&mut *db.acquire().await?, &email).await? {
        return Err(IdentityError::EmailTaken);
    }
    let password_hash = passwords.hash(&req.password).await?;

    let mut tx = db.begin().await?;
    let roles = match grant {
        Grant::Exactly(roles) => account::roles(roles),
        Grant::Registration {
            first_user_admin: true,
        } => {
            // Under the lock, "no account yet" stays true until this transaction commits, so two
            // simultaneous first registrations cannot both become admin.
            store::user::lock_first_user_decision(&mut tx).await?;
            let first = !store::user::any_exists(&mut tx).await?;
            account::roles(if first { &[Role::Admin] } else { &[] })
        }
        Grant::Registration {
            first_user_admin: false,
        } => account::roles(&[]),
    };
    let user =
        store::user::insert(&mut tx, new_id(), &email, &name, &password_hash, &roles).await?;
    let event = UserRegistered {
        event_id: new_id(),
        occurred_at: Utc::now(),
        user_id: user.id,
        email: user.email.clone(),
        name: user.name.clone(),
        roles: user.roles.clone(),
    };
    outbox::enqueue(&mut tx, ctx, &event).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, admin = user.roles.contains(&Role::Admin), "account registered");
    Ok(user)
}
