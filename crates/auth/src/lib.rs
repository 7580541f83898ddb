//! Bourse's access and refresh tokens: the identity service issues them, the gateway verifies
//! them, and both do it through this crate so the rules live in one place.
//!
//! - [`claims`]: [`AccessClaims`] (`sub`, `roles`, `iss`, `aud`, `exp`, `iat`, `nbf`, `jti`) and
//!   [`Role`].
//! - [`config`]: [`TokenConfig`], the `--jwt-*` flags (with `BOURSE_JWT_*` fallbacks) shared by
//!   identity and the gateway, and the weak-secret rules.
//! - [`keys`]: [`TokenKeys`]: issue and verify access tokens. The algorithm is pinned (HS256 by
//!   default, EdDSA/Ed25519 on request): a token whose header names any other algorithm, `none`
//!   included, is refused before its signature is even looked at.
//! - [`refresh`]: opaque refresh tokens: 256 bits from the OS, base64url, kept at rest only as
//!   their SHA-256 ([`RefreshTokenHash`], compared in constant time).
//! - [`error`]: [`AuthError`] (a token refused: expired or invalid) and [`KeyError`] (keys or
//!   configuration unusable).
//!
//! ```ignore
//! let keys = auth::TokenKeys::verifying(&config)?;      // gateway, at start-up
//! let claims = keys.verify(bearer_token)?;              // every request
//! // -> Bourse-User-Id: claims.sub, Bourse-User-Roles: claims.role_names().join(",")
//! ```

pub mod claims;
pub mod config;
pub mod error;
pub mod keys;
pub mod refresh;

pub use claims::{AccessClaims, Role};
pub use config::{TokenAlgorithm, TokenConfig};
pub use error::{AuthError, KeyError};
pub use keys::TokenKeys;
pub use refresh::{RefreshToken, RefreshTokenHash};

#[cfg(test)]
mod tests;
