//! `identity.v1.user.list|set_roles`: what only admins may do.

use bus::{RequestContext, outbox};
use chrono::Utc;
use contracts::{
    identity::{ListUsers, SetUserRoles, User, UserField, UserPage, UserUpdated},
    new_id,
};

use crate::{
    app::AppState, domain::account, error::IdentityError, handlers::access::require_admin, store,
};

#[tracing::instrument(name = "identity.user.list", skip_all)]
pub async fn list(
    state: &AppState,
    ctx: RequestContext,
    req: ListUsers,
) -> Result<UserPage, IdentityError> {
    require_admin(&ctx)?;
    let (page, limit) = (req.page.unwrap_or_default(), req.limit.unwrap_or_default());
    // Count and page in one snapshot, so `total` matches the rows.
    let mut tx = state.db.begin().await?;
    sqlx::query!("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let total = store::user::count(&mut tx).await?;
    let users = store::user::page(&mut tx, i64::from(limit.get()), page.offset(limit)).await?;
    tx.commit().await?;
    Ok(UserPage {
        users,
        pagination: page.pagination(limit, total),
    })
}

#[tracing::instrument(name = "identity.user.set_roles", skip_all, fields(user_id = %req.user_id))]
pub async fn set_roles(
    state: &AppState,
    ctx: RequestContext,
    req: SetUserRoles,
) -> Result<User, IdentityError> {
    let actor = require_admin(&ctx)?;
    // Nobody grants themself anything, and an admin cannot demote themself by mistake.
    if actor.user_id == req.user_id {
        return Err(IdentityError::Forbidden("you cannot change your own roles"));
    }
    let roles = account::roles(&req.roles);
    let mut tx = state.db.begin().await?;
    let user = store::user::set_roles(&mut tx, req.user_id, &roles)
        .await?
        .ok_or(IdentityError::UserNotFound)?;
    let event = UserUpdated {
        event_id: new_id(),
        occurred_at: Utc::now(),
        user_id: user.id,
        changed: vec![UserField::Roles],
        email: user.email.clone(),
        name: user.name.clone(),
        roles: user.roles.clone(),
        changed_by: Some(actor.user_id),
    };
    outbox::enqueue(&mut tx, &ctx, &event).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, roles = ?user.roles, by = %actor.user_id, "roles set");
    Ok(user)
}
