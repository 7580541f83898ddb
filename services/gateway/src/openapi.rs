//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`.
//!
//! Paths come from the `#[utoipa::path]` of every handler, collected by `utoipa_axum` while
//! the router is built (see [`crate::router`]); this file adds the document's frame, the
//! shared error schema and the serving handler.

use std::sync::Arc;

use axum::{
    Extension,
    http::header,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use utoipa::{OpenApi, ToSchema};

use crate::envelope::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Bourse API",
        description = "The HTTP edge of Bourse. Every answer is an envelope \
            `{success, data, error, timestamp, correlation_id, service}`; the status of a failure \
            comes from its error code. Send `X-Correlation-Id` to follow a request through the \
            services. Live prices: WebSocket `/ws` (see the gateway's README for the frames).",
    ),
    components(schemas(ErrorBody, ErrorEnvelope)),
    modifiers(&BearerScheme),
    tags(
        (name = "auth", description = "Registration and sessions (identity service)"),
        (name = "users", description = "Accounts (identity service)"),
        (name = "stocks", description = "Symbols, quotes and price history (market service); \
            reads are public, adding symbols and importing history needs the admin role"),
        (name = "operations", description = "Health, discovery, metrics and this document"),
        (name = "live", description = "WebSocket upgrades"),
    )
)]
pub(crate) struct ApiDoc;

/// The `bearer` security scheme the protected operations name: an access token from
/// `POST /api/v1/auth/login`, sent as `Authorization: Bearer <token>`.
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("Access token from POST /api/v1/auth/login"))
                    .build(),
            ),
        );
    }
}

/// The envelope of a failure: `success` false, `data` null, `error` set.
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "documentation only; failures are rendered from `envelope::Envelope`"
)]
pub(crate) struct ErrorEnvelope {
    #[schema(example = false)]
    success: bool,
    #[schema(value_type = Option<Object>)]
    data: Option<()>,
    error: ErrorBody,
    timestamp: DateTime<Utc>,
    correlation_id: String,
    /// Which service answered; `gateway` for errors at the edge.
    #[schema(example = "gateway")]
    service: String,
}

/// The rendered document, shared by every request.
#[derive(Debug, Clone)]
pub(crate) struct OpenApiJson(pub(crate) Arc<str>);

impl OpenApiJson {
    /// Finishes `api` (paths collected from the router) and renders it once.
    pub(crate) fn render(mut api: utoipa::openapi::OpenApi) -> Result<Self, serde_json::Error> {
        api.info.version = env!("CARGO_PKG_VERSION").to_owned();
        api.to_json().map(|json| Self(Arc::from(json)))
    }
}

/// This document.
#[utoipa::path(
    get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
pub(crate) async fn serve(Extension(doc): Extension<OpenApiJson>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.0.to_string(),
    )
        .into_response()
}
