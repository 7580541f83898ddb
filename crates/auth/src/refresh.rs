//! Refresh tokens: opaque bearer strings that only the identity service understands.
//!
//! A token is 32 bytes (256 bits) from the operating system's RNG, written as unpadded base64url
//! (43 characters). Only its SHA-256 is stored: 256 random bits cannot be brute-forced, so the
//! hash needs no salt or stretching, and the database can look a token up by it. A leaked
//! table therefore yields no usable token.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::KeyError;

/// Random bytes in a refresh token.
pub const REFRESH_TOKEN_BYTES: usize = 32;
/// Characters of its base64url form.
pub const REFRESH_TOKEN_LEN: usize = 43;

/// A refresh token as handed to a client. `Debug` never shows it.
#[derive(Clone)]
pub struct RefreshToken(String);

impl RefreshToken {
    /// A new token from the OS RNG.
    pub fn generate() -> Result<Self, KeyError> {
        let mut bytes = [0u8; REFRESH_TOKEN_BYTES];
        getrandom::fill(&mut bytes).map_err(|err| KeyError::Random(err.to_string()))?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The token itself, to give to the client.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// What is stored in place of the token.
    pub fn hash(&self) -> RefreshTokenHash {
        RefreshTokenHash::digest(self.0.as_bytes())
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken([redacted])")
    }
}

/// The SHA-256 of a refresh token. Equality is constant-time.
#[derive(Clone, Copy, Eq)]
pub struct RefreshTokenHash([u8; 32]);

impl RefreshTokenHash {
    /// The hash of a token a client presented, or `None` when the string cannot be one of ours
    /// (wrong length or alphabet): such input is refused without touching the database.
    pub fn of_presented(token: &str) -> Option<Self> {
        if token.len() != REFRESH_TOKEN_LEN {
            return None;
        }
        let decoded = URL_SAFE_NO_PAD.decode(token).ok()?;
        (decoded.len() == REFRESH_TOKEN_BYTES).then(|| Self::digest(token.as_bytes()))
    }

    /// A hash read back from storage; `None` unless it is 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether `presented` is the token this is the hash of, in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        Self::of_presented(presented).is_some_and(|other| other == *self)
    }

    fn digest(token: &[u8]) -> Self {
        Self(Sha256::digest(token).into())
    }
}

impl PartialEq for RefreshTokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// Shows a short prefix, enough to tell hashes apart in a log.
impl fmt::Debug for RefreshTokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RefreshTokenHash({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_base64url_characters_of_fresh_randomness() {
        let a = RefreshToken::generate().unwrap();
        let b = RefreshToken::generate().unwrap();
        assert_eq!(a.expose().len(), REFRESH_TOKEN_LEN);
        assert!(
            a.expose()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(a.expose(), b.expose());
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn a_presented_token_hashes_like_the_issued_one() {
        let token = RefreshToken::generate().unwrap();
        assert_eq!(
            RefreshTokenHash::of_presented(token.expose()),
            Some(token.hash())
        );
        assert!(token.hash().matches(token.expose()));
        assert_eq!(
            RefreshTokenHash::from_bytes(token.hash().as_bytes()),
            Some(token.hash())
        );
    }

    #[test]
    fn strings_that_cannot_be_tokens_have_no_hash() {
        for bad in ["", "short", &"a".repeat(44), &"!".repeat(43)] {
            assert_eq!(RefreshTokenHash::of_presented(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn debug_shows_neither_token_nor_full_hash() {
        let token = RefreshToken::generate().unwrap();
        assert!(!format!("{token:?}").contains(token.expose()));
        assert!(format!("{:?}", token.hash()).len() < 30);
    }
}
