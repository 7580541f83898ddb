//! [`ApiError`]: a failed HTTP request is a [`bus::ServiceError`] — the one error type and
//! catalogue of Bourse — plus the service whose answer it is.
//!
//! Rendering ([`IntoResponse`]) writes the envelope with the status the catalogue gives the code
//! and leaves the error on the response ([`Failure`]); `context::correlate`, where the response
//! leaves the gateway, logs it once with [`ServiceError::log`]. Internal details are never sent.

use std::sync::Arc;

use axum::{
    extract::{
        rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection},
        ws::rejection::WebSocketUpgradeRejection,
    },
    response::{IntoResponse, Response},
};
use bus::{BusError, ErrorCode, ServiceError};
use contracts::{InvalidValue, Request};

use crate::{
    context,
    envelope::{self, ErrorBody},
};

/// Who answered when the gateway itself refuses or fails a request.
pub(crate) const GATEWAY: &str = "gateway";

/// A failed HTTP request.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) error: ServiceError,
    /// Which service's answer this is (`gateway` for the edge's own refusals).
    pub(crate) service: &'static str,
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A failed request `R`: the service's own answer keeps its code, message and details and
    /// names the service; a transport failure (nobody answers, too late, too large) is the
    /// gateway's answer.
    pub(crate) fn from_bus<R: Request>(err: BusError) -> Self {
        let service = match err {
            BusError::Service { .. } => R::service(),
            _ => GATEWAY,
        };
        Self {
            error: ServiceError::from(err),
            service,
        }
    }
}

/// The gateway's own refusal or failure.
impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        Self {
            error,
            service: GATEWAY,
        }
    }
}

/// A value a contract type refused at the edge: `validation_failed` naming the field.
impl From<InvalidValue> for ApiError {
    fn from(err: InvalidValue) -> Self {
        ServiceError::from(err).into()
    }
}

/// A failure on its way out, kept on the response so that it is logged once where the response
/// leaves the gateway.
#[derive(Debug, Clone)]
pub(crate) struct Failure(pub(crate) Arc<ApiError>);

impl Failure {
    /// The gateway's own failures are logged by [`ServiceError::log`]; a service's answer was
    /// logged, with its cause chain, by that service where it left it ([`bus::ServiceBuilder`]),
    /// so here it is only traced, under the same correlation id.
    pub(crate) fn log(&self) {
        let ApiError { error, service } = &*self.0;
        if *service == GATEWAY {
            error.log(service);
        } else {
            tracing::debug!(
                error.code = %error.code, error.service = service, error.message = %error.message,
                "a service answered with an error"
            );
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.error.code,
            message: self.error.message.clone(),
            details: self.error.details.clone(),
        };
        let mut response =
            envelope::error_response(body, self.service, context::current_correlation_id());
        response.extensions_mut().insert(Failure(Arc::new(self)));
        response
    }
}

/// axum's extractor rejections: the status axum chose, mapped onto the catalogue; the text
/// (which describes the client's input, e.g. which JSON field is wrong) becomes the message.
macro_rules! rejections {
    ($($rejection:ty),* $(,)?) => {$(
        impl From<$rejection> for ApiError {
            fn from(rejection: $rejection) -> Self {
                let code = ErrorCode::for_status(rejection.status().as_u16());
                ServiceError::new(code, rejection.body_text()).into()
            }
        }
    )*};
}

rejections!(
    JsonRejection,
    QueryRejection,
    PathRejection,
    BytesRejection,
    WebSocketUpgradeRejection,
);

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use contracts::market::GetSymbol;

    use super::*;

    #[test]
    fn a_services_own_answer_keeps_its_code_and_names_the_service() {
        let err = ApiError::from_bus::<GetSymbol>(BusError::Service {
            code: ErrorCode::NotFound,
            message: "unknown symbol ZZZZ".into(),
            details: None,
        });
        assert_eq!(
            (err.error.code, err.service, err.error.message.as_str()),
            (ErrorCode::NotFound, "market", "unknown symbol ZZZZ")
        );
    }

    #[test]
    fn transport_failures_are_the_gateways_answer_and_hide_internals() {
        let err = ApiError::from_bus::<GetSymbol>(BusError::Timeout {
            subject: "t1.market.v1.symbol.get".into(),
            timeout: Duration::from_secs(5),
        });
        assert_eq!((err.error.code, err.service), (ErrorCode::Timeout, GATEWAY));
        assert!(
            !err.error.message.contains("t1."),
            "the subject stays in the log: {}",
            err.error.message
        );
    }

    #[test]
    fn the_rendered_response_carries_the_failure_for_the_log() {
        let response =
            ApiError::from(ServiceError::internal(std::io::Error::other("disk"))).into_response();
        assert_eq!(response.status(), 500);
        let failure = response.extensions().get::<Failure>().expect("the failure");
        assert_eq!(failure.0.error.cause_chain(), "disk");
    }
}
