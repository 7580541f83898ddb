//! Identity events, in the `IDENTITY` stream under `evt.identity.>`: an account's life
//! (`evt.identity.user.<user_id>.registered|updated|deleted`) and the login audit
//! (`evt.identity.login.<user_id>.succeeded|failed`, `evt.identity.login.unknown.failed` when
//! the email matches no account, `evt.identity.login.<user_id>.refresh_reused`).
//!
//! No event carries a password, a password hash or a token.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ClientInfo, Role};
use crate::Event;

/// An account was created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct UserRegistered {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
}

impl Event for UserRegistered {
    const SUBJECT_PATTERN: &'static str = "evt.identity.user.{user_id}.registered";
    const STREAM: &'static str = "IDENTITY";

    fn subject(&self) -> String {
        format!("evt.identity.user.{}.registered", self.user_id)
    }

    fn event_id(&self) -> Uuid {
        self.event_id
    }
}

/// A field of an account that an update changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserField {
    Email,
    Name,
    /// The password changed (its value is never in an event); every session was ended.
    Password,
    Roles,
}

/// An account changed; the event carries the account as it is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct UserUpdated {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub user_id: Uuid,
    pub changed: Vec<UserField>,
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    /// Who made the change: the user themself or an admin.
    pub changed_by: Option<Uuid>,
}

impl Event for UserUpdated {
    const SUBJECT_PATTERN: &'static str = "evt.identity.user.{user_id}.updated";
    const STREAM: &'static str = "IDENTITY";

    fn subject(&self) -> String {
        format!("evt.identity.user.{}.updated", self.user_id)
    }

    fn event_id(&self) -> Uuid {
        self.event_id
    }
}

/// An account and its sessions were deleted. Services that keep data of this user delete it
/// when they see this event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct UserDeleted {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub user_id: Uuid,
    /// Who deleted it: the user themself, an admin, or nobody known (a tool).
    pub deleted_by: Option<Uuid>,
}

impl Event for UserDeleted {
    const SUBJECT_PATTERN: &'static str = "evt.identity.user.{user_id}.deleted";
    const STREAM: &'static str = "IDENTITY";

    fn subject(&self) -> String {
        format!("evt.identity.user.{}.deleted", self.user_id)
    }

    fn event_id(&self) -> Uuid {
        self.event_id
    }
}

/// A login that started a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct LoginSucceeded {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub user_id: Uuid,
    /// Normalised (trimmed, lower-cased).
    pub email: String,
    pub client: ClientInfo,
    /// The refresh-token family this login started.
    pub session_id: Uuid,
}

impl Event for LoginSucceeded {
    const SUBJECT_PATTERN: &'static str = "evt.identity.login.{user_id}.succeeded";
    const STREAM: &'static str = "IDENTITY";

    fn subject(&self) -> String {
        format!("evt.identity.login.{}.succeeded", self.user_id)
    }

    fn event_id(&self) -> Uuid {
        self.event_id
    }
}

/// Why a login failed. The caller is never told; the audit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoginFailure {
    UnknownEmail,
    WrongPassword,
}

/// A login refused for bad credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct LoginFailed {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// The account the email belongs to, when there is one.
    pub user_id: Option<Uuid>,
    /// Normalised, and cut to 254 characters.
    pub email: String,
    pub reason: LoginFailure,
    pub client: ClientInfo,
}

impl LoginFailed {
    /// The subject token standing for "no such account".
    pub const UNKNOWN_USER: &'static str = "unknown";
}

impl Event for LoginFailed {
    const SUBJECT_PATTERN: &'static str = "evt.identity.login.{user_id}.failed";
    const STREAM: &'static str = "IDENTITY";

    fn subject(&self) -> String {
        match self.user_id {
            Some(user_id) => format!("evt.identity.login.{user_id}.failed"),
            None => format!("evt.identity.login.{}.failed", Self::UNKNOWN_USER),
        }
    }

    fn event_id(&self) -> Uuid {
        self.event_id
    }
}

/// A refresh token that had already been exchanged was presented again: someone else holds a
/// copy of it. Every token of the session was revoked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct RefreshTokenReused {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub user_id: Uuid,
    /// The revoked refresh-token family.
    pub session_id: Uuid,
    /// Who presented the used token.
    pub client: ClientInfo,
}

impl Event for RefreshTokenReused {
    const SUBJECT_PATTERN: &'static str = "evt.identity.login.{user_id}.refresh_reused";
    const STREAM: &'static str = "IDENTITY";

    fn subject(&self) -> String {
        format!("evt.identity.login.{}.refresh_reused", self.user_id)
    }

    fn event_id(&self) -> Uuid {
        self.event_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::new_id;

    #[test]
    fn failed_logins_of_unknown_emails_have_a_subject_of_their_own() {
        let mut failed = LoginFailed {
            event_id: new_id(),
            occurred_at: Utc::now(),
            user_id: None,
            email: "nobody@example.com".into(),
            reason: LoginFailure::UnknownEmail,
            client: ClientInfo::default(),
        };
        assert_eq!(failed.subject(), "evt.identity.login.unknown.failed");
        let user_id = new_id();
        failed.user_id = Some(user_id);
        assert_eq!(
            failed.subject(),
            format!("evt.identity.login.{user_id}.failed")
        );
        assert_eq!(LoginFailed::wildcard(), "evt.identity.login.*.failed");
    }

    #[test]
    fn user_events_are_under_the_user() {
        let user_id = new_id();
        let deleted = UserDeleted {
            event_id: new_id(),
            occurred_at: Utc::now(),
            user_id,
            deleted_by: None,
        };
        assert_eq!(
            deleted.subject(),
            format!("evt.identity.user.{user_id}.deleted")
        );
        assert_eq!(UserRegistered::wildcard(), "evt.identity.user.*.registered");
    }
}
