//! What an access token says: who the user is and what they may do, for whom and until when.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The roles a token can carry; the same type the identity contracts use.
pub use contracts::identity::Role;

/// The claims of a Bourse access token. Times are seconds since the Unix epoch (JWT NumericDate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: Uuid,
    /// The user's roles when the token was issued; a change applies from the next refresh.
    pub roles: Vec<Role>,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    /// A unique id per token (UUIDv7), for logs and deny lists.
    pub jti: Uuid,
}

impl AccessClaims {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The roles as the `Bourse-User-Roles` header lists them.
    pub fn role_names(&self) -> Vec<String> {
        self.roles
            .iter()
            .map(|role| role.as_str().to_owned())
            .collect()
    }

    /// When the token stops being accepted (give or take the verifier's leeway).
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.exp, 0)
    }
}
