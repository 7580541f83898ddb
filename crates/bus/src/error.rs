//! The error catalogue: every failure that crosses the bus has one stable snake_case code,
//! mapped here — and only here — to an HTTP status (meilisearch's `make_error_codes!`).
//!
//! A service answers a failed request with the ADR-32 headers `Nats-Service-Error` (the
//! message) and `Nats-Service-Error-Code` (the HTTP status, as ADR-32 tools expect a number),
//! plus `Bourse-Error-Code` (the snake_case code) and, when there is any, `Bourse-Error-Details`
//! (JSON). Internal details never leave the service: they are logged where the error leaves.

use std::{error::Error as StdError, fmt, time::Duration};

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal => $status:literal,)*) => {
        /// A stable error code; the wire form is the snake_case string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The HTTP status the gateway answers with.
            pub fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some(ErrorCode::$variant),)* _ => None }
            }

            /// The first code of the catalogue with HTTP status `status`, if any: what a
            /// foreign ADR-32 service's numeric code, or a status that a library chose, means.
            pub fn from_status(status: u16) -> Option<Self> {
                Self::ALL.iter().copied().find(|code| code.http_status() == status)
            }
        }
    };
}

error_codes! {
    /// The request could not be read: malformed JSON, a missing body, a bad query string.
    BadRequest = "bad_request" => 400,
    /// The request was read but a value is not acceptable.
    ValidationFailed = "validation_failed" => 422,
    /// No valid credentials.
    Unauthorized = "unauthorized" => 401,
    /// Valid credentials, but this user may not do this.
    Forbidden = "forbidden" => 403,
    NotFound = "not_found" => 404,
    /// The request contradicts the current state (a duplicate, a stale version).
    Conflict = "conflict" => 409,
    /// A conditional write (`If-Match`) found the object changed since the caller read it.
    PreconditionFailed = "precondition_failed" => 412,
    PayloadTooLarge = "payload_too_large" => 413,
    UnsupportedMediaType = "unsupported_media_type" => 415,
    RateLimited = "rate_limited" => 429,
    /// The user's storage quota would be exceeded.
    QuotaExceeded = "quota_exceeded" => 507,
    /// A bug or an unexpected failure; details are in the service log.
    Internal = "internal" => 500,
    /// A dependency is down or no instance answers; retrying later may succeed.
    Unavailable = "unavailable" => 503,
    /// The answer did not come in time.
    Timeout = "timeout" => 504,
}

impl ErrorCode {
    /// [`ErrorCode::from_status`], or by class when no code has that status: `internal` for a
    /// 5xx, `bad_request` otherwise.
    pub fn for_status(status: u16) -> Self {
        Self::from_status(status).unwrap_or(if status >= 500 {
            Self::Internal
        } else {
            Self::BadRequest
        })
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What a request handler answers when it fails.
#[derive(Debug)]
pub struct ServiceError {
    pub code: ErrorCode,
    /// Safe to show to the caller.
    pub message: String,
    /// Structured, caller-safe details (e.g. which field failed).
    pub details: Option<serde_json::Value>,
    /// The underlying failure; logged, never sent.
    pub source: Option<BoxError>,
}

impl ServiceError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            source: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationFailed, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnsupportedMediaType, message)
    }

    /// An unexpected failure: the caller sees a generic message, the log sees `source`.
    pub fn internal(source: impl Into<BoxError>) -> Self {
        Self {
            code: ErrorCode::Internal,
            message: "internal error".into(),
            details: None,
            source: Some(source.into()),
        }
    }

    /// A dependency is down: the caller may retry.
    pub fn unavailable(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self {
            code: ErrorCode::Unavailable,
            message: message.into(),
            details: None,
            source: Some(source.into()),
        }
    }

    /// A body that did not decode: `bad_request` when it is not JSON at all, `validation_failed`
    /// when it is JSON of the wrong shape or with a refused value.
    pub fn undecodable(err: &serde_json::Error) -> Self {
        match err.classify() {
            serde_json::error::Category::Data => Self::validation(err.to_string()),
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => {
                Self::bad_request(format!("malformed JSON: {err}"))
            }
        }
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The chain of causes, for the one log line where the error leaves the service.
    pub fn cause_chain(&self) -> String {
        let mut chain = Vec::new();
        let mut next: Option<&(dyn StdError + 'static)> = self
            .source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static));
        while let Some(err) = next {
            chain.push(err.to_string());
            next = err.source();
        }
        chain.join(": ")
    }

    /// The one log line of a failure, written where it leaves: the service's request
    /// dispatcher, or the gateway's HTTP layer. `service` is who answered.
    pub fn log(&self, service: &str) {
        let (code, message) = (self.code, &self.message);
        match code {
            ErrorCode::Internal => tracing::error!(
                error.code = %code, error.service = service, error.message = %message,
                error.cause_chain = %self.cause_chain(), "request failed"
            ),
            ErrorCode::Unavailable | ErrorCode::Timeout => tracing::warn!(
                error.code = %code, error.service = service, error.message = %message,
                error.cause_chain = %self.cause_chain(), "request failed"
            ),
            _ => tracing::debug!(
                error.code = %code, error.service = service, error.message = %message,
                "request refused"
            ),
        }
    }
}

/// A value refused by a contract type's rule: `validation_failed`, naming the field.
impl From<contracts::InvalidValue> for ServiceError {
    fn from(err: contracts::InvalidValue) -> Self {
        Self::validation(err.message).with_details(serde_json::json!({ "field": err.field }))
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl StdError for ServiceError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// Postgres failures: a connection problem means the database is unavailable (retry later);
/// anything else is internal. Constraint violations should be turned into domain errors by
/// the store before they get here.
impl From<sqlx::Error> for ServiceError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Self::unavailable("the database is unavailable", err)
            }
            // SQLSTATE class 08 (connection exception) and 57 (operator intervention: the
            // server shuts down, or is starting and cannot take connections yet).
            sqlx::Error::Database(db)
                if db
                    .code()
                    .is_some_and(|code| code.starts_with("08") || code.starts_with("57")) =>
            {
                Self::unavailable("the database is unavailable", err)
            }
            _ => Self::internal(err),
        }
    }
}

/// What a caller of [`crate::Bus::request`] (or a JetStream publish) gets when it fails.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Nobody subscribes to the subject: the owning service is not running.
    #[error("no service answers {subject}")]
    NoResponders { subject: String },
    #[error("{subject} did not answer within {timeout:?}")]
    Timeout { subject: String, timeout: Duration },
    /// The connection to NATS is down (the client is reconnecting): refused at once rather
    /// than left to time out.
    #[error("not connected to NATS (reconnecting); {subject} was not sent")]
    Disconnected { subject: String },
    /// The service answered with an error.
    #[error("{code}: {message}")]
    Service {
        code: ErrorCode,
        message: String,
        details: Option<serde_json::Value>,
    },
    #[error("a message of {size} bytes is over the server's limit of {max} bytes")]
    PayloadTooLarge { size: usize, max: usize },
    #[error("cannot decode the message from {subject}: {source}")]
    Decode {
        subject: String,
        source: serde_json::Error,
    },
    #[error("cannot encode the message: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("NATS: {0}")]
    Nats(#[source] BoxError),
}

impl BusError {
    pub(crate) fn nats(err: impl Into<BoxError>) -> Self {
        Self::Nats(err.into())
    }

    /// The catalogue code this failure is reported with.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NoResponders { .. } | Self::Disconnected { .. } | Self::Nats(_) => {
                ErrorCode::Unavailable
            }
            Self::Timeout { .. } => ErrorCode::Timeout,
            Self::Service { code, .. } => *code,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::Decode { .. } | Self::Encode(_) => ErrorCode::Internal,
        }
    }

    /// The text a caller may see: the service's message, or a generic one for failures whose
    /// text is about our internals.
    pub fn public_message(&self) -> String {
        match self {
            Self::Service { message, .. } => message.clone(),
            Self::NoResponders { .. } | Self::Nats(_) => "the service is unavailable".into(),
            Self::Disconnected { .. } => "the message bus is unreachable; try again shortly".into(),
            Self::Timeout { .. } => "the service did not answer in time".into(),
            Self::PayloadTooLarge { max, .. } => format!("the request is larger than {max} bytes"),
            Self::Decode { .. } | Self::Encode(_) => "internal error".into(),
        }
    }
}

/// A service answering another service's failure passes its code along; transport failures
/// become `unavailable` / `timeout`.
impl From<BusError> for ServiceError {
    fn from(err: BusError) -> Self {
        match err {
            BusError::Service {
                code,
                message,
                details,
            } => Self {
                code,
                message,
                details,
                source: None,
            },
            other => Self {
                code: other.code(),
                message: other.public_message(),
                details: None,
                source: Some(Box::new(other)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_has_an_error_status() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
            assert!((400..600).contains(&code.http_status()), "{code}");
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn statuses_chosen_elsewhere_map_onto_the_catalogue() {
        assert_eq!(ErrorCode::for_status(413), ErrorCode::PayloadTooLarge);
        assert_eq!(ErrorCode::for_status(415), ErrorCode::UnsupportedMediaType);
        assert_eq!(ErrorCode::for_status(422), ErrorCode::ValidationFailed);
        assert_eq!(ErrorCode::for_status(405), ErrorCode::BadRequest);
        assert_eq!(ErrorCode::for_status(502), ErrorCode::Internal);
        for code in ErrorCode::ALL {
            assert_eq!(
                ErrorCode::for_status(code.http_status()).http_status(),
                code.http_status()
            );
        }
    }

    #[test]
    fn transport_failures_map_to_their_own_codes() {
        let no = BusError::NoResponders {
            subject: "x".into(),
        };
        assert_eq!(no.code().http_status(), 503);
        let late = BusError::Timeout {
            subject: "x".into(),
            timeout: Duration::from_secs(1),
        };
        assert_eq!(late.code().http_status(), 504);
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let err = ServiceError::internal(std::io::Error::other("disk on fire"));
        assert_eq!(err.message, "internal error");
        assert_eq!(err.cause_chain(), "disk on fire");
    }
}
