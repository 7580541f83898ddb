//! `identity.v1.user.get|update|delete`: an account, for the user themself or an admin.

use bus::{RequestContext, outbox};
use chrono::Utc;
use contracts::{
    Secret,
    identity::{
        DeleteUser, DeletedUser, GetUser, UpdateUser, User, UserChanges, UserDeleted, UserField,
        UserUpdated,
    },
    new_id,
};

use crate::{
    app::AppState,
    domain::account,
    error::IdentityError,
    handlers::access::require_self_or_admin,
    store::{self, user::UserUpdate},
};

#[tracing::instrument(name = "identity.user.get", skip_all, fields(user_id = %req.user_id))]
pub async fn get(
    state: &AppState,
    ctx: RequestContext,
    req: GetUser,
) -> Result<User, IdentityError> {
    require_self_or_admin(&ctx, req.user_id)?;
    let mut conn = state.db.acquire().await?;
    store::user::get(&mut conn, req.user_id)
        .await?
        .ok_or(IdentityError::UserNotFound)
}

#[tracing::instrument(name = "identity.user.update", skip_all, fields(user_id = %req.user_id))]
pub async fn update(
    state: &AppState,
    ctx: RequestContext,
    req: UpdateUser,
) -> Result<User, IdentityError> {
    let actor = require_self_or_admin(&ctx, req.user_id)?.clone();
    let changes = Checked::from(req.changes)?;
    let current = store::user::credentials_by_id(&mut *state.db.acquire().await?, req.user_id)
        .await?
        .ok_or(IdentityError::UserNotFound)?;
    let changed = changes.fields_changed(&current.user);
    if changed.is_empty() {
        return Ok(current.user);
    }
    // Someone holding a stolen access token must not be able to take the account over: users
    // changing their own sign-in details prove they know the password. Admins acting on another
    // account do not need it (they may reset a forgotten password).
    let changes_sign_in = changed
        .iter()
        .any(|field| matches!(field, UserField::Email | UserField::Password));
    if actor.user_id == req.user_id && changes_sign_in {
        prove_password(
            state,
            changes.current_password.as_ref(),
            &current.password_hash,
        )
        .await?;
    }
    let password_hash = match &changes.password {
        Some(password) => Some(state.passwords.hash(password).await?),
        None => None,
    };
    let update = UserUpdate {
        email: changes.email,
        name: changes.name,
        password_hash,
    };
    save(state, &ctx, req.user_id, &update, changed, actor.user_id).await
}

/// Writes `update` with its `UserUpdated` event in one transaction; a new password also ends
/// every session of the account.
async fn save(
    state: &AppState,
    ctx: &RequestContext,
    user_id: uuid::Uuid,
    update: &UserUpdate,
    changed: Vec<UserField>,
    changed_by: uuid::Uuid,
) -> Result<User, IdentityError> {
    let mut tx = state.db.begin().await?;
    let user = store::user::update(&mut tx, user_id, update)
        .await?
        .ok_or(IdentityError::UserNotFound)?;
    if update.password_hash.is_some() {
        // A new password ends every session, including any a thief may have.
        let revoked = store::refresh_token::revoke_all_of_user(&mut tx, user.id).await?;
        tracing::info!(user_id = %user.id, revoked, "password changed; sessions revoked");
    }
    let event = UserUpdated {
        event_id: new_id(),
        occurred_at: Utc::now(),
        user_id: user.id,
        changed,
        email: user.email.clone(),
        name: user.name.clone(),
        roles: user.roles.clone(),
        changed_by: Some(changed_by),
    };
    outbox::enqueue(&mut tx, ctx, &event).await?;
    tx.commit().await?;
    Ok(user)
}

/// `current_password` must be given and match `hash`.
async fn prove_password(
    state: &AppState,
    given: Option<&Secret>,
    hash: &str,
) -> Result<(), IdentityError> {
    let given = given.ok_or_else(|| {
        IdentityError::invalid(
            "current_password",
            "current_password is needed to change your email or password",
        )
    })?;
    if state.passwords.verify(given, Some(hash)).await? {
        Ok(())
    } else {
        Err(IdentityError::invalid(
            "current_password",
            "current_password is not correct",
        ))
    }
}

/// Changes that passed the field checks.
struct Checked {
    email: Option<String>,
    name: Option<String>,
    password: Option<Secret>,
    current_password: Option<Secret>,
}

impl Checked {
    fn from(changes: UserChanges) -> Result<Self, IdentityError> {
        if changes.email.is_none() && changes.name.is_none() && changes.password.is_none() {
            return Err(IdentityError::invalid(
                "changes",
                "give at least one of email, name or password",
            ));
        }
        if let Some(password) = &changes.password {
            account::new_password(password, "password")?;
        }
        Ok(Self {
            email: changes.email.as_deref().map(account::email).transpose()?,
            name: changes.name.as_deref().map(account::name).transpose()?,
            password: changes.password,
            current_password: changes.current_password,
        })
    }

    /// What these changes would change of `user`: each field once, in a fixed order.
    fn fields_changed(&self, user: &User) -> Vec<UserField> {
        let mut changed = Vec::new();
        if self.email.as_ref().is_some_and(|e| *e != user.email) {
            changed.push(UserField::Email);
        }
        if self.name.as_ref().is_some_and(|n| *n != user.name) {
            changed.push(UserField::Name);
        }
        if self.password.is_some() {
            changed.push(UserField::Password);
        }
        changed
    }
}

#[tracing::instrument(name = "identity.user.delete", skip_all, fields(user_id = %req.user_id))]
pub async fn delete(
    state: &AppState,
    ctx: RequestContext,
    req: DeleteUser,
) -> Result<DeletedUser, IdentityError> {
    let actor = require_self_or_admin(&ctx, req.user_id)?;
    let mut tx = state.db.begin().await?;
    // Hard delete: the account and (by cascade) its refresh tokens are gone. The event tells the
    // services that keep data of this user to delete it too.
    if !store::user::delete(&mut tx, req.user_id).await? {
        return Err(IdentityError::UserNotFound);
    }
    let event = UserDeleted {
        event_id: new_id(),
        occurred_at: Utc::now(),
        user_id: req.user_id,
        deleted_by: Some(actor.user_id),
    };
    outbox::enqueue(&mut tx, &ctx, &event).await?;
    tx.commit().await?;
    tracing::info!(user_id = %req.user_id, by = %actor.user_id, "account deleted");
    Ok(DeletedUser { id: req.user_id })
}
