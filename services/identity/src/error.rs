//! The identity service's one error type, mapped to the bus error catalogue.
//!
//! Messages of the caller-facing variants are written for the caller and say no more than they
//! must: a failed login never tells whether the email exists, a refused refresh never tells why.

use bus::{ErrorCode, ServiceError, outbox::OutboxError};

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A value is not acceptable; `field` names it for the caller.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("the refresh token is invalid, expired or revoked")]
    InvalidRefreshToken,
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("user not found")]
    UserNotFound,
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("outbox: {0}")]
    Outbox(#[from] OutboxError),
    #[error("password hashing: {0}")]
    Hashing(String),
    #[error("token keys: {0}")]
    Keys(#[from] auth::KeyError),
    /// Stored data the code cannot read (a role it does not know, a malformed hash).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// An invariant the code relies on did not hold: a bug.
    #[error("unexpected: {0}")]
    Unexpected(&'static str),
}

impl IdentityError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<IdentityError> for ServiceError {
    fn from(err: IdentityError) -> Self {
        match err {
            IdentityError::Invalid { field, message } => ServiceError::validation(message)
                .with_details(serde_json::json!({ "field": field })),
            IdentityError::EmailTaken => ServiceError::conflict(err.to_string()),
            IdentityError::InvalidCredentials
            | IdentityError::InvalidRefreshToken
            | IdentityError::Unauthenticated => {
                ServiceError::new(ErrorCode::Unauthorized, err.to_string())
            }
            IdentityError::Forbidden(message) => ServiceError::forbidden(message),
            IdentityError::UserNotFound => ServiceError::not_found(err.to_string()),
            IdentityError::Db(db) => ServiceError::from(db),
            IdentityError::Outbox(OutboxError::Db(db)) => ServiceError::from(db),
            IdentityError::Outbox(_)
            | IdentityError::Hashing(_)
            | IdentityError::Keys(_)
            | IdentityError::Corrupt(_)
            | IdentityError::Unexpected(_) => ServiceError::internal(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_failures_are_unauthorized_with_one_message() {
        let err = ServiceError::from(IdentityError::InvalidCredentials);
        assert_eq!(
            (err.code, err.message.as_str()),
            (ErrorCode::Unauthorized, "invalid email or password")
        );
    }

    #[test]
    fn internal_failures_tell_the_caller_nothing() {
        let err = ServiceError::from(IdentityError::Corrupt("password hash: bad".into()));
        assert_eq!(
            (err.code, err.message.as_str()),
            (ErrorCode::Internal, "internal error")
        );
        assert!(
            err.cause_chain().contains("password hash"),
            "but the log does"
        );
    }

    #[test]
    fn invalid_values_name_their_field() {
        let err = ServiceError::from(IdentityError::invalid("password", "too short"));
        assert_eq!(err.code, ErrorCode::ValidationFailed);
        assert_eq!(err.details, Some(serde_json::json!({"field": "password"})));
    }
}
