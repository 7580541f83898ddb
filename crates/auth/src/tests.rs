//! Attacks on access tokens, each of which `TokenKeys::verify` must refuse.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::json;
use uuid::Uuid;

use crate::{AuthError, KeyError, Role, TokenAlgorithm, TokenConfig, TokenKeys};

const SECRET: &[u8] = b"q7Vt0mC1x9ZkR2pN4sLw8YbH3fJd6GaE5uKoTi+/Xy0=";
const OTHER_SECRET: &[u8] = b"Zr4W8kq1LmN0vB7xY2cT5hG9jD3sF6aE8uQwPo-_Ii1=";

const ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ5WFzfJGbH6mFM/bic9b+rfITEfE/YinGvpe8neBfaB
-----END PRIVATE KEY-----
";
const ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAnIa4r53bNIV/3fetR9kjszF9nChf1TdUwmZjUhVWFr8=
-----END PUBLIC KEY-----
";
const ED_OTHER_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIPtm6rwwQ/DbPxz+uc5dknzUQ6+TKYvG4+gsJ4kbfAdU
-----END PRIVATE KEY-----
";

fn keys() -> TokenKeys {
    TokenKeys::hs256(SECRET, "bourse", "bourse-api", false).unwrap()
}

fn ed_keys() -> TokenKeys {
    TokenKeys::ed25519(
        Some(ED_PRIVATE.as_bytes()),
        ED_PUBLIC.as_bytes(),
        "bourse",
        "bourse-api",
    )
    .unwrap()
}

fn user_token(keys: &TokenKeys) -> String {
    let claims = keys.claims(
        Uuid::now_v7(),
        vec![Role::User],
        Duration::from_secs(900),
        Utc::now(),
    );
    keys.issue(&claims).unwrap()
}

fn b64(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// Valid claims as JSON, with `edit` applied.
fn claims_json(edit: impl FnOnce(&mut serde_json::Value)) -> serde_json::Value {
    let now = Utc::now().timestamp();
    let mut claims = json!({
        "sub": Uuid::now_v7(), "roles": ["user"], "iss": "bourse", "aud": "bourse-api",
        "exp": now + 900, "iat": now, "nbf": now, "jti": Uuid::now_v7(),
    });
    edit(&mut claims);
    claims
}

/// A token with any header, signed with HMAC-SHA256 under `secret` whatever the header says:
/// what an attacker can make who knows (or guesses) some key.
fn forged(header: serde_json::Value, claims: &serde_json::Value, secret: &[u8]) -> String {
    let message = format!("{}.{}", b64(&header), b64(claims));
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(secret),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{message}.{signature}")
}

fn assert_invalid(result: Result<crate::AccessClaims, AuthError>) {
    assert!(matches!(result, Err(AuthError::Invalid(_))), "{result:?}");
}

#[test]
fn a_token_issued_verifies_with_its_claims() {
    let keys = keys();
    let user = Uuid::now_v7();
    let claims = keys.claims(
        user,
        vec![Role::User, Role::Admin],
        Duration::from_secs(900),
        Utc::now(),
    );
    let back = keys.verify(&keys.issue(&claims).unwrap()).unwrap();
    assert_eq!(back, claims);
    assert_eq!(
        (back.sub, back.iss.as_str(), back.aud.as_str()),
        (user, "bourse", "bourse-api")
    );
    assert_eq!(back.exp - back.iat, 900);
    assert!(back.has_role(Role::Admin));
    assert_eq!(back.role_names(), ["user", "admin"]);
}

#[test]
fn a_token_with_alg_none_is_refused() {
    let claims = claims_json(|_| {});
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    assert_invalid(keys().verify(&unsigned));
    let unsigned = format!("{}.{}.", b64(&json!({"alg": "None"})), b64(&claims));
    assert_invalid(keys().verify(&unsigned));
}

#[test]
fn a_token_signed_with_another_secret_is_refused() {
    let token = forged(
        json!({"alg": "HS256", "typ": "JWT"}),
        &claims_json(|_| {}),
        OTHER_SECRET,
    );
    assert_invalid(keys().verify(&token));
    let other = TokenKeys::hs256(OTHER_SECRET, "bourse", "bourse-api", false).unwrap();
    assert_invalid(keys().verify(&user_token(&other)));
}

#[test]
fn a_token_naming_an_asymmetric_algorithm_is_refused_by_an_hs256_verifier() {
    for alg in ["RS256", "ES256", "PS256", "EdDSA", "HS512"] {
        // The classic confusion: an HMAC made with the key the verifier holds, labelled otherwise.
        let token = forged(
            json!({"alg": alg, "typ": "JWT"}),
            &claims_json(|_| {}),
            SECRET,
        );
        assert_invalid(keys().verify(&token));
    }
}

#[test]
fn an_eddsa_verifier_refuses_an_hmac_made_with_its_public_key() {
    let token = forged(
        json!({"alg": "HS256", "typ": "JWT"}),
        &claims_json(|_| {}),
        ED_PUBLIC.as_bytes(),
    );
    assert_invalid(ed_keys().verify(&token));
}

#[test]
fn eddsa_tokens_verify_with_the_public_key_alone() {
    let signer = ed_keys();
    let verifier = TokenKeys::ed25519(None, ED_PUBLIC.as_bytes(), "bourse", "bourse-api").unwrap();
    assert!(!verifier.can_sign());
    assert_eq!(verifier.algorithm(), TokenAlgorithm::EdDsa);
    assert!(verifier.verify(&user_token(&signer)).is_ok());
    assert!(matches!(
        verifier.issue(&signer.claims(Uuid::nil(), vec![], Duration::ZERO, Utc::now())),
        Err(KeyError::VerifyOnly)
    ));
    let impostor = TokenKeys::ed25519(
        Some(ED_OTHER_PRIVATE.as_bytes()),
        ED_PUBLIC.as_bytes(),
        "bourse",
        "bourse-api",
    );
    assert!(
        matches!(impostor, Err(KeyError::MismatchedKeys)),
        "{impostor:?}"
    );
}

#[test]
fn an_expired_token_is_refused_as_expired() {
    let keys = keys();
    let long_ago = Utc::now() - chrono::Duration::hours(1);
    let claims = keys.claims(
        Uuid::now_v7(),
        vec![Role::User],
        Duration::from_secs(900),
        long_ago,
    );
    assert_eq!(
        keys.verify(&keys.issue(&claims).unwrap()),
        Err(AuthError::Expired)
    );
}

#[test]
fn an_expired_token_with_a_bad_signature_is_invalid_not_expired() {
    let token = forged(
        json!({"alg": "HS256"}),
        &claims_json(|c| c["exp"] = json!(1)),
        OTHER_SECRET,
    );
    assert_invalid(keys().verify(&token));
}

#[test]
fn a_token_not_valid_yet_is_refused() {
    let later = Utc::now().timestamp() + 600;
    let token = forged(
        json!({"alg": "HS256"}),
        &claims_json(|c| c["nbf"] = json!(later)),
        SECRET,
    );
    assert_invalid(keys().verify(&token));
}

#[test]
fn a_token_for_another_issuer_or_audience_is_refused() {
    let keys = keys();
    for edit in [("iss", "someone-else"), ("aud", "another-api")] {
        let token = forged(
            json!({"alg": "HS256"}),
            &claims_json(|c| c[edit.0] = json!(edit.1)),
            SECRET,
        );
        assert_invalid(keys.verify(&token));
    }
    let stranger = TokenKeys::hs256(SECRET, "bourse", "other-api", false).unwrap();
    assert_invalid(keys.verify(&user_token(&stranger)));
}

#[test]
fn a_token_missing_exp_nbf_iss_or_aud_is_refused() {
    for claim in ["exp", "nbf", "iss", "aud", "sub", "jti"] {
        let claims = claims_json(|c| {
            c.as_object_mut().unwrap().remove(claim);
        });
        assert_invalid(keys().verify(&forged(json!({"alg": "HS256"}), &claims, SECRET)));
    }
}

#[test]
fn a_token_whose_roles_were_edited_is_refused() {
    let keys = keys();
    let token = user_token(&keys);
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["roles"] = json!(["user", "admin"]);
    let tampered = format!("{}.{}.{}", parts[0], b64(&payload), parts[2]);
    assert_invalid(keys.verify(&tampered));
}

#[test]
fn garbage_and_oversized_tokens_are_refused() {
    for bad in [
        "",
        "a.b.c",
        "not a token",
        &"x".repeat(TokenKeys::MAX_TOKEN_LEN + 1),
    ] {
        assert_invalid(keys().verify(bad));
    }
}

#[test]
fn a_weak_or_missing_secret_is_refused_unless_allowed_for_development() {
    assert!(matches!(
        TokenKeys::hs256(b"tooshort", "bourse", "bourse-api", false),
        Err(KeyError::WeakSecret(_))
    ));
    assert!(TokenKeys::hs256(b"tooshort", "bourse", "bourse-api", true).is_ok());
    let mut config = TokenConfig::hs256("");
    config.jwt_secret = None;
    assert!(matches!(
        TokenKeys::signing(&config),
        Err(KeyError::MissingSecret)
    ));
    config.allow_weak_dev_secret = true;
    assert!(config.uses_dev_secret());
    assert!(TokenKeys::signing(&config).is_ok());
}

#[test]
fn debug_output_shows_no_key_material() {
    let keys = keys();
    let shown = format!("{keys:?}");
    assert!(!shown.contains("q7Vt0"), "{shown}");
    let config = TokenConfig::hs256(std::str::from_utf8(SECRET).unwrap());
    assert!(!format!("{config:?}").contains("q7Vt0"));
}
