//! [`TokenKeys`]: issue and verify access tokens with one pinned algorithm.
//!
//! Verification goes through `jsonwebtoken` with a `Validation` that lists exactly the configured
//! algorithm, requires `exp`, `nbf`, `iss`, `aud` and `sub`, checks the issuer and audience, and
//! allows [`TokenKeys::LEEWAY_SECONDS`] of clock skew. The signature and the algorithm are
//! checked before any claim, so "expired" is only ever said of a token we signed.

use std::{fmt, fs, path::Path, time::Duration};

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use uuid::Uuid;

use crate::{
    AccessClaims, AuthError, KeyError, Role,
    config::{TokenAlgorithm, TokenConfig, secret_weakness},
};

/// Signing and verification keys, the pinned algorithm and the expected issuer and audience.
pub struct TokenKeys {
    algorithm: TokenAlgorithm,
    /// `None` for a verifier holding only an Ed25519 public key.
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
}

/// Never prints key material.
impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeys")
            .field("algorithm", &self.algorithm)
            .field("can_sign", &self.encoding.is_some())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// Clock skew tolerated on `exp` and `nbf` between the issuer and a verifier.
    pub const LEEWAY_SECONDS: u64 = 30;
    /// Longer bearer strings are refused unread; ours are a few hundred bytes.
    pub const MAX_TOKEN_LEN: usize = 4096;

    /// Keys that sign and verify (the identity service). With EdDSA both key files are needed.
    pub fn signing(config: &TokenConfig) -> Result<Self, KeyError> {
        let keys = match config.jwt_algorithm {
            TokenAlgorithm::Hs256 => Self::hs256_from_config(config)?,
            TokenAlgorithm::EdDsa => {
                let private =
                    config
                        .jwt_private_key_file
                        .as_deref()
                        .ok_or(KeyError::MissingKeyFile(
                            "--jwt-private-key-file (BOURSE_JWT_PRIVATE_KEY_FILE)",
                        ))?;
                let public = public_key_file(config)?;
                Self::ed25519(
                    Some(&read_key(private)?),
                    &read_key(public)?,
                    &config.jwt_issuer,
                    &config.jwt_audience,
                )?
            }
        };
        Ok(keys)
    }

    /// Keys that only need to verify (the gateway). With EdDSA only the public key is read.
    pub fn verifying(config: &TokenConfig) -> Result<Self, KeyError> {
        match config.jwt_algorithm {
            TokenAlgorithm::Hs256 => Self::hs256_from_config(config),
            TokenAlgorithm::EdDsa => {
                let public = read_key(public_key_file(config)?)?;
                Self::ed25519(None, &public, &config.jwt_issuer, &config.jwt_audience)
            }
        }
    }

    fn hs256_from_config(config: &TokenConfig) -> Result<Self, KeyError> {
        let secret = config
            .jwt_secret
            .as_ref()
            .map(|s| s.expose())
            .filter(|s| !s.is_empty());
        let secret = match secret {
            Some(secret) => secret,
            None if config.allow_weak_dev_secret => TokenConfig::DEV_SECRET,
            None => return Err(KeyError::MissingSecret),
        };
        Self::hs256(
            secret.as_bytes(),
            &config.jwt_issuer,
            &config.jwt_audience,
            config.allow_weak_dev_secret,
        )
    }

    /// HS256 keys from `secret`, refused when it is weak unless `allow_weak` (development).
    pub fn hs256(
        secret: &[u8],
        issuer: &str,
        audience: &str,
        allow_weak: bool,
    ) -> Result<Self, KeyError> {
        if secret.is_empty() {
            return Err(KeyError::MissingSecret);
        }
        if let Some(weakness) = secret_weakness(secret)
            && !allow_weak
        {
            return Err(KeyError::WeakSecret(weakness));
        }
        let encoding = Some(EncodingKey::from_secret(secret));
        Self::new(
            TokenAlgorithm::Hs256,
            encoding,
            DecodingKey::from_secret(secret),
            issuer,
            audience,
        )
    }

    /// EdDSA keys: `private_pem` (PKCS#8) to sign, when given, and `public_pem` (SPKI) to verify.
    /// A private key that does not match the public key is refused.
    pub fn ed25519(
        private_pem: Option<&[u8]>,
        public_pem: &[u8],
        issuer: &str,
        audience: &str,
    ) -> Result<Self, KeyError> {
        let encoding = private_pem
            .map(|pem| {
                EncodingKey::from_ed_pem(pem).map_err(|_| KeyError::InvalidKey("private key"))
            })
            .transpose()?;
        let decoding =
            DecodingKey::from_ed_pem(public_pem).map_err(|_| KeyError::InvalidKey("public key"))?;
        Self::new(TokenAlgorithm::EdDsa, encoding, decoding, issuer, audience)
    }

    fn new(
        algorithm: TokenAlgorithm,
        encoding: Option<EncodingKey>,
        decoding: DecodingKey,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, KeyError> {
        if issuer.trim().is_empty() || audience.trim().is_empty() {
            return Err(KeyError::MissingIssuerOrAudience);
        }
        let mut validation = Validation::new(jwt_algorithm(algorithm));
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.leeway = Self::LEEWAY_SECONDS;
        let keys = Self {
            algorithm,
            encoding,
            decoding,
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        };
        if keys.can_sign() {
            keys.self_test()?;
        }
        Ok(keys)
    }

    /// Signs and verifies a probe token, so that a mismatched key pair fails at start-up rather
    /// than on every request.
    fn self_test(&self) -> Result<(), KeyError> {
        let probe = self.claims(
            Uuid::nil(),
            vec![Role::User],
            Duration::from_secs(60),
            Utc::now(),
        );
        let token = self.issue(&probe)?;
        match self.verify(&token) {
            Ok(back) if back == probe => Ok(()),
            _ => Err(KeyError::MismatchedKeys),
        }
    }

    pub fn algorithm(&self) -> TokenAlgorithm {
        self.algorithm
    }

    pub fn can_sign(&self) -> bool {
        self.encoding.is_some()
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Claims for `user_id` valid from `now` for `ttl`, with this issuer and audience and a new `jti`.
    pub fn claims(
        &self,
        user_id: Uuid,
        roles: Vec<Role>,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> AccessClaims {
        let iat = now.timestamp();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        AccessClaims {
            sub: user_id,
            roles,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: iat.saturating_add(ttl),
            iat,
            nbf: iat,
            jti: Uuid::now_v7(),
        }
    }

    /// Signs `claims` into a compact JWT with the pinned algorithm.
    pub fn issue(&self, claims: &AccessClaims) -> Result<String, KeyError> {
        let encoding = self.encoding.as_ref().ok_or(KeyError::VerifyOnly)?;
        let header = Header::new(jwt_algorithm(self.algorithm));
        jsonwebtoken::encode(&header, claims, encoding)
            .map_err(|err| KeyError::Sign(err.to_string()))
    }

    /// The claims of `token` if it was signed by these keys with the pinned algorithm, names our
    /// issuer and audience, and is valid now (within the leeway).
    pub fn verify(&self, token: &str) -> Result<AccessClaims, AuthError> {
        if token.len() > Self::MAX_TOKEN_LEN {
            return Err(AuthError::Invalid("the token is too long".into()));
        }
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid(err.to_string()),
            })
    }
}

fn jwt_algorithm(algorithm: TokenAlgorithm) -> Algorithm {
    match algorithm {
        TokenAlgorithm::Hs256 => Algorithm::HS256,
        TokenAlgorithm::EdDsa => Algorithm::EdDSA,
    }
}

fn public_key_file(config: &TokenConfig) -> Result<&Path, KeyError> {
    config
        .jwt_public_key_file
        .as_deref()
        .ok_or(KeyError::MissingKeyFile(
            "--jwt-public-key-file (BOURSE_JWT_PUBLIC_KEY_FILE)",
        ))
}

fn read_key(path: &Path) -> Result<Vec<u8>, KeyError> {
    fs::read(path).map_err(|source| KeyError::ReadKey {
        path: path.to_owned(),
        source,
    })
}
