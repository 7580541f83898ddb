//! The token flags shared by identity (which signs) and the gateway (which verifies), so the two
//! are configured with the same names and defaults.
//!
//! In `bourse dev`, where both run in one process, the flags are declared once and the parsed
//! [`TokenConfig`] is given to both.

use std::path::PathBuf;

use contracts::Secret;

/// The signing algorithm of access tokens. Verification accepts exactly this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TokenAlgorithm {
    /// HMAC-SHA256 with a shared secret: identity and the gateway both hold it.
    #[default]
    #[value(name = "hs256")]
    Hs256,
    /// Ed25519 signatures: identity holds the private key, the gateway only the public key.
    #[value(name = "eddsa")]
    EdDsa,
}

/// The `--jwt-*` flags. A process flattens them once and hands the parsed value to each part
/// that signs or verifies (identity's `Config::token`, the gateway's), so `bourse dev` has one
/// set of flags for both.
#[derive(Debug, Clone, clap::Args)]
#[group(id = "jwt")]
pub struct TokenConfig {
    /// Signing algorithm of access tokens; tokens naming any other algorithm are refused.
    #[arg(
        long,
        env = "BOURSE_JWT_ALGORITHM",
        value_enum,
        default_value = "hs256"
    )]
    pub jwt_algorithm: TokenAlgorithm,

    /// HS256 secret: at least 32 random bytes, e.g. `openssl rand -base64 48`. Required with
    /// hs256; the service refuses to start without it or with a guessable one. Prefer the
    /// environment variable: a flag's value shows in `ps`.
    #[arg(long, env = "BOURSE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,

    /// EdDSA: the Ed25519 private key (PKCS#8 PEM) that signs; identity needs it.
    #[arg(long, env = "BOURSE_JWT_PRIVATE_KEY_FILE")]
    pub jwt_private_key_file: Option<PathBuf>,

    /// EdDSA: the Ed25519 public key (SPKI PEM) that verifies; identity and the gateway need it.
    #[arg(long, env = "BOURSE_JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,

    /// The `iss` claim put in and required of access tokens.
    #[arg(long, env = "BOURSE_JWT_ISSUER", default_value = "bourse")]
    pub jwt_issuer: String,

    /// The `aud` claim put in and required of access tokens.
    #[arg(long, env = "BOURSE_JWT_AUDIENCE", default_value = "bourse-api")]
    pub jwt_audience: String,

    /// Development only: accept a short or guessable HS256 secret, and use a fixed, publicly
    /// known one when none is set. Anyone can forge tokens then: never in production.
    #[arg(long, env = "BOURSE_ALLOW_WEAK_DEV_SECRET", value_parser = clap::builder::FalseyValueParser::new())]
    pub allow_weak_dev_secret: bool,
}

/// HS256 with no secret: refused when keys are made, unless `allow_weak_dev_secret`.
impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            ..Self::hs256("")
        }
    }
}

impl TokenConfig {
    /// The secret `bourse dev` signs with when none is configured. It is in the source code,
    /// so it protects nothing: it only lets a developer start without generating one.
    pub const DEV_SECRET: &'static str =
        "bourse-dev-only-jwt-secret-anyone-can-forge-tokens-with-this";

    pub const DEFAULT_ISSUER: &'static str = "bourse";
    pub const DEFAULT_AUDIENCE: &'static str = "bourse-api";

    /// HS256 with `secret` and the default issuer and audience (tests, embedders).
    pub fn hs256(secret: impl Into<Secret>) -> Self {
        Self {
            jwt_algorithm: TokenAlgorithm::Hs256,
            jwt_secret: Some(secret.into()),
            jwt_private_key_file: None,
            jwt_public_key_file: None,
            jwt_issuer: Self::DEFAULT_ISSUER.to_owned(),
            jwt_audience: Self::DEFAULT_AUDIENCE.to_owned(),
            allow_weak_dev_secret: false,
        }
    }

    /// Whether tokens will be signed with [`Self::DEV_SECRET`]: callers warn loudly when so.
    pub fn uses_dev_secret(&self) -> bool {
        self.jwt_algorithm == TokenAlgorithm::Hs256
            && self.allow_weak_dev_secret
            && self
                .jwt_secret
                .as_ref()
                .is_none_or(|s| s.expose().is_empty())
    }
}

/// The minimum length of an HS256 secret: RFC 7518 §3.2 asks for a key as long as the hash.
pub const MIN_SECRET_BYTES: usize = 32;

/// Words of placeholder secrets copied from examples; a random secret does not contain them.
const PLACEHOLDERS: &[&str] = &[
    "changeme",
    "change-me",
    "change_me",
    "secret",
    "password",
    "example",
    "replace",
];

/// Why `secret` is too weak to sign tokens with, if it is: shorter than 32 bytes, a placeholder
/// from an example, or too few distinct characters (`aaaa…`, `abab…`) to hold real entropy.
pub fn secret_weakness(secret: &[u8]) -> Option<&'static str> {
    if secret.len() < MIN_SECRET_BYTES {
        return Some("shorter than 32 bytes");
    }
    let lower = secret.to_ascii_lowercase();
    if PLACEHOLDERS
        .iter()
        .any(|word| lower.windows(word.len()).any(|w| w == word.as_bytes()))
    {
        return Some("it looks like a placeholder");
    }
    let mut seen = [false; 256];
    for byte in secret {
        seen[usize::from(*byte)] = true;
    }
    // 32 random base64 or hex characters have far more than 8 distinct ones.
    if seen.iter().filter(|s| **s).count() < 8 {
        return Some("too few distinct characters");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_repetitive_and_placeholder_secrets_are_weak() {
        assert_eq!(secret_weakness(b"short"), Some("shorter than 32 bytes"));
        assert!(secret_weakness(&[b'a'; 64]).is_some());
        assert!(secret_weakness(b"abcabcabcabcabcabcabcabcabcabcabcabc").is_some());
        assert!(secret_weakness(b"please-CHANGEME-before-deploying-this-thing").is_some());
        assert!(secret_weakness(b"my-super-secret-key-for-jwt-signing-1234").is_some());
        assert!(
            secret_weakness(TokenConfig::DEV_SECRET.as_bytes()).is_some(),
            "the dev secret must need the flag"
        );
    }

    #[test]
    fn random_secrets_are_strong() {
        assert_eq!(
            secret_weakness(b"q7Vt0mC1x9ZkR2pN4sLw8YbH3fJd6GaE5uKoTi+/Xy0="),
            None
        );
        assert_eq!(
            secret_weakness(b"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c"),
            None
        );
    }

    #[test]
    fn the_flags_parse_from_the_environment_names() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            token: TokenConfig,
        }
        let cli = Cli::parse_from([
            "x",
            "--jwt-secret",
            "s",
            "--jwt-algorithm",
            "eddsa",
            "--allow-weak-dev-secret",
        ]);
        assert_eq!(cli.token.jwt_algorithm, TokenAlgorithm::EdDsa);
        assert_eq!(cli.token.jwt_issuer, "bourse");
        assert_eq!(cli.token.jwt_audience, "bourse-api");
        assert!(cli.token.allow_weak_dev_secret);
        assert!(
            !format!("{:?}", cli.token).contains("jwt_secret: Some(\"s\")"),
            "the secret is redacted"
        );
    }
}
