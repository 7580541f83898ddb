//! [`ApiError`]: every way an HTTP request can fail, in the bus's error catalogue
//! ([`ErrorCode`]), rendered as the envelope with the status the catalogue gives the code.
//!
//! This is where a failed request leaves the gateway, so this is where it is logged — once:
//! `internal` at error level with its cause chain, `unavailable`/`timeout` at warn, refusals of
//! bad input at debug. Internal details are never sent to the client.

use axum::{
    extract::{
        rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection},
        ws::rejection::WebSocketUpgradeRejection,
    },
    response::{IntoResponse, Response},
};
use bus::{BusError, ErrorCode};

use crate::{
    context,
    envelope::{self, ErrorBody},
};

/// Who answered when the gateway itself refuses or fails a request.
pub(crate) const GATEWAY: &str = "gateway";

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failed HTTP request.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) code: ErrorCode,
    /// Safe to show to the caller.
    pub(crate) message: String,
    pub(crate) details: Option<serde_json::Value>,
    /// Which service's answer this is (`gateway` for the edge's own refusals).
    pub(crate) service: &'static str,
    /// Logged, never sent.
    source: Option<BoxError>,
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            service: GATEWAY,
            source: None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationFailed, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub(crate) fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnsupportedMediaType, message)
    }

    pub(crate) fn unavailable(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self {
            source: Some(source.into()),
            ..Self::new(ErrorCode::Unavailable, message)
        }
    }

    pub(crate) fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// A failed request to `service`: its own answer keeps its code, message and details;
    /// a transport failure (nobody answers, too late, too large) is the gateway's answer.
    pub(crate) fn from_bus(service: &'static str) -> impl FnOnce(BusError) -> Self {
        move |err| match err {
            BusError::Service {
                code,
                message,
                details,
            } => Self {
                code,
                message,
                details,
                service,
                source: None,
            },
            other => Self {
                code: other.code(),
                message: other.public_message(),
                details: None,
                service: GATEWAY,
                source: Some(Box::new(other)),
            },
        }
    }

    /// An axum rejection: its status is mapped onto the catalogue, its text (which describes
    /// the client's input, e.g. which JSON field is wrong) becomes the message.
    fn rejection(status: http::StatusCode, text: String) -> Self {
        Self::new(envelope::code_of(status), text)
    }

    fn cause_chain(&self) -> String {
        let mut chain = Vec::new();
        let mut next: Option<&(dyn std::error::Error + 'static)> = self
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static));
        while let Some(err) = next {
            chain.push(err.to_string());
            next = err.source();
        }
        chain.join(": ")
    }

    fn log(&self) {
        let (code, service) = (self.code, self.service);
        match code {
            ErrorCode::Internal => tracing::error!(
                error.code = %code, error.service = service, error.message = %self.message,
                error.cause_chain = %self.cause_chain(), "request failed"
            ),
            ErrorCode::Unavailable | ErrorCode::Timeout => tracing::warn!(
                error.code = %code, error.service = service, error.message = %self.message,
                error.cause_chain = %self.cause_chain(), "request failed"
            ),
            _ => {
                tracing::debug!(error.code = %code, error.service = service, error.message = %self.message, "request refused")
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let body = ErrorBody {
            code: self.code,
            message: self.message,
            details: self.details,
        };
        envelope::error_response(body, self.service, context::current_correlation_id())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        Self::rejection(rejection.status(), rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::rejection(rejection.status(), rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::rejection(rejection.status(), rejection.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        Self::rejection(rejection.status(), rejection.body_text())
    }
}

impl From<WebSocketUpgradeRejection> for ApiError {
    fn from(rejection: WebSocketUpgradeRejection) -> Self {
        Self::rejection(rejection.status(), rejection.body_text())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_services_own_answer_keeps_its_code_and_names_the_service() {
        let err = ApiError::from_bus("market")(BusError::Service {
            code: ErrorCode::NotFound,
            message: "unknown symbol ZZZZ".into(),
            details: None,
        });
        assert_eq!(
            (err.code, err.service, err.message.as_str()),
            (ErrorCode::NotFound, "market", "unknown symbol ZZZZ")
        );
    }

    #[test]
    fn transport_failures_are_the_gateways_answer_and_hide_internals() {
        let err = ApiError::from_bus("market")(BusError::Timeout {
            subject: "t1.market.v1.symbol.get".into(),
            timeout: Duration::from_secs(5),
        });
        assert_eq!((err.code, err.service), (ErrorCode::Timeout, GATEWAY));
        assert!(
            !err.message.contains("t1."),
            "the subject stays in the log: {}",
            err.message
        );
    }
}
