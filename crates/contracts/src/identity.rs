//! Identity: users, roles, sessions (an access token plus a rotating refresh token) and the
//! login audit.
//!
//! Requests are answered by the identity service under `identity.v1.>`. Requests that act on a
//! user carry the acting user in the `Bourse-User-Id` / `Bourse-User-Roles` headers, which only
//! the gateway sets after it verified an access token; `register`, `login`, `refresh` and
//! `logout` need none. Events go to the `IDENTITY` stream under `evt.identity.>`.
//!
//! Secrets (passwords, tokens) are [`Secret`]s: plain JSON strings on the wire whose `Debug`
//! never shows the value, so a request can be logged with `?` without leaking one.
//! Lists are paged with the shared [`Page`] and [`Limit`].

use std::{fmt, net::IpAddr};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{Limit, Page, Pagination, Request, Secret};

/// What a user may do. Every account has `user`; `admin` may read, change and delete any
/// account, list accounts and grant roles.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub const ALL: &'static [Role] = &[Role::User, Role::Admin];

    /// The wire form, also used in the `Bourse-User-Roles` header.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|role| role.as_str() == raw)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An account as others may see it (never its password hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct User {
    pub id: Uuid,
    /// Trimmed and lower-cased.
    pub email: String,
    pub name: String,
    /// Sorted, always containing `user`.
    pub roles: Vec<Role>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The limits every service and the gateway check the same way.
pub mod limits {
    /// Password length in characters (Unicode scalar values), both inclusive.
    pub const PASSWORD_MIN_CHARS: usize = 10;
    pub const PASSWORD_MAX_CHARS: usize = 128;
    /// Display name length in characters after trimming.
    pub const NAME_MAX_CHARS: usize = 100;
    /// RFC 5321's limit on a forward path.
    pub const EMAIL_MAX_CHARS: usize = 254;
    /// Longer user agents are cut to this many characters.
    pub const USER_AGENT_MAX_CHARS: usize = 512;
}

/// `identity.v1.user.register`: creates an account with role `user` (or `admin` for the very
/// first account when the service runs with `--first-user-admin`). `conflict` when the email
/// is taken, whatever its case.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterUser {
    pub email: String,
    /// 10 to 128 characters.
    pub password: Secret,
    /// 1 to 100 characters.
    pub name: String,
}

impl Request for RegisterUser {
    const SUBJECT: &'static str = "identity.v1.user.register";
    type Reply = User;
}

/// Where a login or refresh comes from, as the gateway saw it (never taken from the client's
/// body): the peer address and the `User-Agent` header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInfo {
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "203.0.113.7")]
    pub ip: Option<IpAddr>,
    /// Cut to 512 characters by the service.
    #[serde(default)]
    pub user_agent: Option<String>,
}

/// `identity.v1.session.login`: a new session for an email and password. A wrong password and
/// an unknown email get the same `unauthorized` "invalid email or password", in about the same
/// time. Either way a login audit event is published.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub email: String,
    pub password: Secret,
    /// Filled in by the gateway.
    #[serde(default)]
    pub client: ClientInfo,
}

/// An access token and a refresh token, as login and refresh answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Session {
    /// A JWT to send as `Authorization: Bearer <token>`.
    pub access_token: Secret,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until `access_token` expires.
    pub expires_in: u64,
    /// Opaque; exchange it at `identity.v1.session.refresh` before it expires. Single use: every
    /// refresh answers a new one, and presenting a used one again ends the session.
    pub refresh_token: Secret,
    pub refresh_expires_at: DateTime<Utc>,
    pub user: User,
}

impl Session {
    pub const TOKEN_TYPE: &'static str = "Bearer";
}

impl Request for Login {
    const SUBJECT: &'static str = "identity.v1.session.login";
    type Reply = Session;
}

/// `identity.v1.session.refresh`: exchanges a refresh token for a new session (new access token,
/// new refresh token, same family). An unknown, expired or revoked token is `unauthorized`; a
/// token that was already exchanged also revokes every token of its session.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshSession {
    pub refresh_token: Secret,
    /// Filled in by the gateway.
    #[serde(default)]
    pub client: ClientInfo,
}

impl Request for RefreshSession {
    const SUBJECT: &'static str = "identity.v1.session.refresh";
    type Reply = Session;
}

/// `identity.v1.session.logout`: revokes the session the refresh token belongs to. Idempotent:
/// an unknown or already revoked token is answered the same.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Logout {
    pub refresh_token: Secret,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct LoggedOut {}

impl Request for Logout {
    const SUBJECT: &'static str = "identity.v1.session.logout";
    type Reply = LoggedOut;
}

/// `identity.v1.user.get`: one account, for the user themself or an admin (`forbidden`
/// otherwise, whether or not it exists).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetUser {
    pub user_id: Uuid,
}

impl Request for GetUser {
    const SUBJECT: &'static str = "identity.v1.user.get";
    type Reply = User;
}

/// What a user may change about an account: the body of `PUT /api/v1/users/{id}`. Unknown
/// fields are refused, so `roles`, `id` or `email_verified` in a body is `validation_failed`
/// rather than silently applied or ignored.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// A new password, 10 to 128 characters. Changing it ends every session of the account.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Required when users change their own email or password (an admin changing another
    /// account needs none).
    #[serde(default)]
    pub current_password: Option<Secret>,
}

/// `identity.v1.user.update`: changes an account, for the user themself or an admin.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub user_id: Uuid,
    pub changes: UserChanges,
}

impl Request for UpdateUser {
    const SUBJECT: &'static str = "identity.v1.user.update";
    type Reply = User;
}

/// `identity.v1.user.set_roles`: an admin sets another account's roles (`user` is always kept).
/// Nobody changes their own roles: that is `forbidden`, for admins too.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetUserRoles {
    pub user_id: Uuid,
    pub roles: Vec<Role>,
}

impl Request for SetUserRoles {
    const SUBJECT: &'static str = "identity.v1.user.set_roles";
    type Reply = User;
}

/// `identity.v1.user.delete`: deletes an account and its sessions, for the user themself or an
/// admin, and publishes [`UserDeleted`] so that other services delete what they keep of it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteUser {
    pub user_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct DeletedUser {
    pub id: Uuid,
}

impl Request for DeleteUser {
    const SUBJECT: &'static str = "identity.v1.user.delete";
    type Reply = DeletedUser;
}

/// `identity.v1.user.list`: every account in creation order, a page at a time; admins only.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListUsers {
    /// From 1; default 1.
    #[serde(default)]
    pub page: Option<Page>,
    /// 1..=100, default 20.
    #[serde(default)]
    pub limit: Option<Limit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct UserPage {
    pub users: Vec<User>,
    pub pagination: Pagination,
}

impl Request for ListUsers {
    const SUBJECT: &'static str = "identity.v1.user.list";
    type Reply = UserPage;
}

mod events;

pub use events::{
    LoginFailed, LoginFailure, LoginSucceeded, RefreshTokenReused, UserDeleted, UserField,
    UserRegistered, UserUpdated,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_travel_as_plain_strings_but_never_show_in_debug() {
        let login = Login {
            email: "a@b.c".into(),
            password: "hunter2hunter2".into(),
            client: ClientInfo::default(),
        };
        assert_eq!(
            serde_json::to_value(&login).unwrap()["password"],
            "hunter2hunter2"
        );
        assert!(!format!("{login:?}").contains("hunter2"), "{login:?}");
        let back: Login =
            serde_json::from_str(r#"{"email":"a@b.c","password":"hunter2hunter2"}"#).unwrap();
        assert_eq!(back.password.expose(), "hunter2hunter2");
    }

    #[test]
    fn an_update_naming_roles_id_or_email_verified_is_refused() {
        for field in [
            r#""roles":["admin"]"#,
            r#""id":"0190a000-0000-7000-8000-000000000000""#,
            r#""email_verified":true"#,
        ] {
            let body = format!(r#"{{"name":"x",{field}}}"#);
            let err = serde_json::from_str::<UserChanges>(&body).unwrap_err();
            assert!(err.to_string().contains("unknown field"), "{body}: {err}");
        }
        let ok: UserChanges = serde_json::from_str(r#"{"name":"x"}"#).unwrap();
        assert_eq!(ok.name.as_deref(), Some("x"));
    }

    #[test]
    fn roles_are_snake_case_words() {
        assert_eq!(
            serde_json::to_value([Role::User, Role::Admin]).unwrap(),
            serde_json::json!(["user", "admin"])
        );
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn endpoint_names_are_schema_valid() {
        assert_eq!(SetUserRoles::endpoint_name(), "user_set_roles");
        assert_eq!(RefreshSession::endpoint_name(), "session_refresh");
    }
}
