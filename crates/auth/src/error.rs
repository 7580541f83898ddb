//! Why a token was refused, and why keys could not be made.

use std::path::PathBuf;

/// A token that is not accepted. The message is for logs; callers answer a generic 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Genuine (the signature and algorithm were checked first) but past its `exp`.
    #[error("the access token has expired")]
    Expired,
    /// Anything else: malformed, another algorithm, a bad signature, the wrong issuer or
    /// audience, not valid yet, missing claims.
    #[error("the access token is invalid: {0}")]
    Invalid(String),
}

impl AuthError {
    pub fn is_expired(&self) -> bool {
        matches!(self, Self::Expired)
    }
}

/// Keys that cannot be used. No variant ever carries the secret or key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "no JWT secret: set BOURSE_JWT_SECRET (or --jwt-secret) to at least 32 random bytes, e.g. \
         `openssl rand -base64 48`"
    )]
    MissingSecret,
    #[error(
        "the JWT secret is too weak ({0}): use at least 32 random bytes, e.g. `openssl rand -base64 48` \
         (--allow-weak-dev-secret accepts it, for development only)"
    )]
    WeakSecret(&'static str),
    #[error("EdDSA needs {0}")]
    MissingKeyFile(&'static str),
    #[error("cannot read the key file {path}: {source}")]
    ReadKey {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the {0} is not a valid Ed25519 key in PEM form")]
    InvalidKey(&'static str),
    #[error("the issuer and the audience must not be empty")]
    MissingIssuerOrAudience,
    #[error("the private key does not match the public key")]
    MismatchedKeys,
    #[error("these keys can only verify tokens: no private key")]
    VerifyOnly,
    #[error("cannot sign the token: {0}")]
    Sign(String),
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
}
