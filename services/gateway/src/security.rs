//! Browser-facing protection: the CORS allow-list and security headers on every response.
//!
//! `Strict-Transport-Security` is left to the TLS-terminating proxy in front of the gateway:
//! the gateway itself speaks plain HTTP, and HSTS sent over plain HTTP is ignored by browsers
//! anyway.

use std::time::Duration;

use anyhow::{Context, bail};
use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::{cors::CorsLayer, set_header::SetResponseHeaderLayer};

use crate::context::X_CORRELATION_ID;

/// CORS for exactly the configured origins; `*` is refused because the API will carry
/// credentials (JWTs) and must name who may call it from a browser.
pub(crate) fn cors(origins: &[String]) -> anyhow::Result<CorsLayer> {
    let mut allowed = Vec::with_capacity(origins.len());
    for origin in origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
        if origin == "*" {
            bail!("BOURSE_CORS_ORIGINS must list origins; '*' is not allowed");
        }
        allowed.push(
            HeaderValue::from_str(origin)
                .with_context(|| format!("invalid CORS origin {origin:?}"))?,
        );
    }
    Ok(CorsLayer::new()
        .allow_origin(allowed)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            X_CORRELATION_ID,
            HeaderName::from_static("traceparent"),
        ])
        .expose_headers([X_CORRELATION_ID])
        .max_age(Duration::from_secs(3600)))
}

/// The security headers, each set on every response (overriding whatever a handler set); a
/// tuple of layers is one layer.
pub(crate) fn headers() -> (
    SetResponseHeaderLayer<HeaderValue>,
    SetResponseHeaderLayer<HeaderValue>,
    SetResponseHeaderLayer<HeaderValue>,
    SetResponseHeaderLayer<HeaderValue>,
) {
    (
        SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ),
        SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        // The API serves data, never pages: nothing may be loaded or run in its name.
        SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_origin_is_refused() {
        assert!(cors(&["*".to_owned()]).is_err());
        assert!(cors(&["http://localhost:5173".to_owned()]).is_ok());
    }
}
