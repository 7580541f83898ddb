//! Correlation at the edge: every request gets a [`RequestContext`] — the caller's
//! `X-Correlation-Id` when acceptable, else a new one; the caller's `traceparent` continued —
//! which travels to the services in NATS headers and comes back in the `X-Correlation-Id`
//! response header and the envelope.
//!
//! Only the correlation id and `traceparent` are taken from the client. Headers such as
//! `Bourse-User-Id` are never read here: the bus builds NATS headers from the context alone,
//! and the acting user will be set only after a verified JWT.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{FromRequestParts, Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use bus::{ErrorCode, RequestContext};

use crate::{
    config::{BODY_LIMIT, UPLOAD_LIMIT},
    envelope::{self, Enveloped, ErrorBody},
    error::Failure,
    metrics::{self, MatchedRoute, Metrics},
};

pub(crate) const X_CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");
const TRACEPARENT: &str = "traceparent";

tokio::task_local! {
    static CORRELATION_ID: String;
}

/// The correlation id of the request being answered on this task.
pub(crate) fn current_correlation_id() -> String {
    CORRELATION_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| RequestContext::new().correlation_id)
}

/// Whether the request's `Content-Length` is over its route's limit: [`UPLOAD_LIMIT`] for a
/// file upload (`PUT /api/v1/files/…`), [`BODY_LIMIT`] for everything else.
fn announces_too_much(request: &Request) -> bool {
    let Some(length) = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
    else {
        return false;
    };
    let upload =
        request.method() == Method::PUT && request.uri().path().starts_with("/api/v1/files/");
    length > (if upload { UPLOAD_LIMIT } else { BODY_LIMIT }) as u64
}

/// Middleware: builds the request's context, runs the rest of the stack with it, echoes the
/// correlation id, and wraps any error response that is not an envelope yet (axum's 405, a
/// layer's 413, …) into one, so that every answer has the same shape. This is where a failed
/// request leaves the gateway, so this is where it is logged — once ([`Failure::log`]) — and
/// where it is counted and timed, by the route [`crate::auth::admit`] matched.
pub(crate) async fn correlate(
    State(metrics): State<Arc<Metrics>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = metrics::method_label(request.method());
    let ctx = context_from(request.headers());
    let correlation_id = ctx.correlation_id.clone();
    request.extensions_mut().insert(ctx);
    let response = if announces_too_much(&request) {
        // Refused before authentication and before a byte of the body is read.
        StatusCode::PAYLOAD_TOO_LARGE.into_response()
    } else {
        CORRELATION_ID
            .scope(correlation_id.clone(), next.run(request))
            .await
    };
    if let Some(failure) = response.extensions().get::<Failure>() {
        failure.log();
    }
    let route = response.extensions().get::<MatchedRoute>().cloned();
    let status = response.status();
    let mut response = if (status.is_client_error() || status.is_server_error())
        && response.extensions().get::<Enveloped>().is_none()
    {
        let code = ErrorCode::for_status(status.as_u16());
        let message = match code {
            ErrorCode::PayloadTooLarge => {
                format!(
                    "the request body is larger than {BODY_LIMIT} bytes ({UPLOAD_LIMIT} for a file)"
                )
            }
            _ => status
                .canonical_reason()
                .unwrap_or("request failed")
                .to_lowercase(),
        };
        tracing::debug!(%status, %code, "wrapping a bare error response into the envelope");
        envelope::error_response(
            ErrorBody {
                code,
                message,
                details: None,
            },
            "gateway",
            correlation_id.clone(),
        )
    } else {
        response
    };
    if let Ok(value) = HeaderValue::from_str(&correlation_id) {
        response.headers_mut().insert(X_CORRELATION_ID, value);
    }
    metrics.observe(
        method,
        route.as_ref(),
        response.status(),
        started.elapsed().as_secs_f64(),
    );
    response
}

fn context_from(headers: &HeaderMap) -> RequestContext {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    RequestContext::with_parts(get(X_CORRELATION_ID.as_str()), get(TRACEPARENT), None)
}

/// The request's context, for handlers that talk to the bus.
#[derive(Debug, Clone)]
pub(crate) struct Ctx(pub(crate) RequestContext);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ctx = parts
            .extensions
            .get::<RequestContext>()
            .cloned()
            .unwrap_or_else(|| context_from(&parts.headers));
        Ok(Self(ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_acceptable_correlation_id_is_kept_and_a_bad_one_replaced() {
        let mut headers = HeaderMap::new();
        headers.insert(X_CORRELATION_ID, HeaderValue::from_static("order-42"));
        assert_eq!(context_from(&headers).correlation_id, "order-42");
        headers.insert(X_CORRELATION_ID, HeaderValue::from_static("has space"));
        assert_ne!(context_from(&headers).correlation_id, "has space");
    }

    #[test]
    fn the_callers_trace_is_continued() {
        let mut headers = HeaderMap::new();
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        headers.insert(TRACEPARENT, HeaderValue::from_static(parent));
        assert_eq!(
            context_from(&headers).trace_id(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
    }
}
