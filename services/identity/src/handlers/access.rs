//! Who is asking, and may they: the actor comes from `Bourse-User-Id` / `Bourse-User-Roles`,
//! which only the gateway sets, after verifying an access token.
//!
//! Authorization is decided before anything is looked up, so a refusal says nothing about
//! whether the account asked for exists.

use bus::{Actor, RequestContext};
use contracts::identity::Role;
use uuid::Uuid;

use crate::error::IdentityError;

pub fn actor(ctx: &RequestContext) -> Result<&Actor, IdentityError> {
    ctx.actor.as_ref().ok_or(IdentityError::Unauthenticated)
}

pub fn is_admin(actor: &Actor) -> bool {
    actor.has_role(Role::Admin.as_str())
}

/// The actor, when they are `user_id` themself or an admin.
pub fn require_self_or_admin(ctx: &RequestContext, user_id: Uuid) -> Result<&Actor, IdentityError> {
    let actor = actor(ctx)?;
    if actor.user_id == user_id || is_admin(actor) {
        Ok(actor)
    } else {
        Err(IdentityError::Forbidden(
            "you may only access your own account",
        ))
    }
}

/// The actor, when they are an admin.
pub fn require_admin(ctx: &RequestContext) -> Result<&Actor, IdentityError> {
    let actor = actor(ctx)?;
    if is_admin(actor) {
        Ok(actor)
    } else {
        Err(IdentityError::Forbidden("this needs the admin role"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(user_id: Uuid, roles: &[&str]) -> RequestContext {
        let actor = Actor {
            user_id,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        };
        RequestContext::new().with_actor(Some(actor))
    }

    #[test]
    fn users_reach_their_own_account_only() {
        let me = Uuid::now_v7();
        assert!(require_self_or_admin(&ctx(me, &["user"]), me).is_ok());
        let mine = ctx(me, &["user"]);
        assert!(matches!(
            require_self_or_admin(&mine, Uuid::now_v7()),
            Err(IdentityError::Forbidden(_))
        ));
    }

    #[test]
    fn admins_reach_every_account() {
        assert!(
            require_self_or_admin(&ctx(Uuid::now_v7(), &["user", "admin"]), Uuid::now_v7()).is_ok()
        );
        assert!(require_admin(&ctx(Uuid::now_v7(), &["user", "admin"])).is_ok());
        let user = ctx(Uuid::now_v7(), &["user"]);
        assert!(matches!(
            require_admin(&user),
            Err(IdentityError::Forbidden(_))
        ));
    }

    #[test]
    fn no_actor_is_unauthenticated() {
        let anonymous = RequestContext::new();
        assert!(matches!(
            require_self_or_admin(&anonymous, Uuid::now_v7()),
            Err(IdentityError::Unauthenticated)
        ));
        assert!(matches!(
            require_admin(&anonymous),
            Err(IdentityError::Unauthenticated)
        ));
    }
}
