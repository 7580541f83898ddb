//! The endpoints, one file per resource, and the consumer of user deletions. Every handler
//! reads the caller from the request (`Bourse-User-Id`); another user's conversation, message,
//! folder or generation is `not_found`, exactly like a missing one.

pub mod conversation;
pub mod folder;
pub mod message;
pub mod model;
pub mod user;

use std::sync::Arc;

use bus::{RequestContext, ServiceError};
use contracts::{Limit, Page};
use uuid::Uuid;

use crate::app::AppState;

/// What every endpoint is given.
#[derive(Debug, Clone)]
pub struct Handlers(pub Arc<AppState>);

pub(crate) fn owner(ctx: &RequestContext) -> Result<Uuid, ServiceError> {
    ctx.signed_in("use the assistant").map(|a| a.user_id)
}

/// Page, limit, rows and offset of a list request.
pub(crate) fn window(page: Option<Page>, limit: Option<Limit>) -> (Page, Limit, i64, i64) {
    let (page, limit) = (page.unwrap_or_default(), limit.unwrap_or_default());
    (page, limit, i64::from(limit.get()), page.offset(limit))
}

/// Free text for Postgres: at most `max` characters and no NUL (which `text` cannot hold);
/// newlines and tabs are fine.
pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<(), ServiceError> {
    if value.contains('\0') {
        return Err(ServiceError::validation(format!(
            "{field} must not contain NUL"
        )));
    }
    if value.chars().count() > max {
        return Err(ServiceError::validation(format!(
            "{field} may have at most {max} characters"
        )));
    }
    Ok(())
}

/// A model id: 1 to 200 characters, no control characters.
pub(crate) fn model(value: &str) -> Result<(), ServiceError> {
    if value.trim().is_empty() || value.chars().count() > 200 || value.chars().any(char::is_control)
    {
        return Err(ServiceError::validation(
            "model must have 1 to 200 characters and no control characters",
        ));
    }
    Ok(())
}

/// Characters a system prompt may have.
pub(crate) const SYSTEM_PROMPT_CHARS: usize = 20_000;

pub(crate) fn conversation_not_found(id: Uuid) -> ServiceError {
    ServiceError::not_found(format!("no conversation {id}"))
}
