//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`.
//!
//! Paths come from the `#[utoipa::path]` of every handler, collected by `utoipa_axum` while
//! the router is built (see [`crate::router`]); this file adds the document's frame, the
//! shared error schema, the shared error responses and the serving handler.
//!
//! A handler documents the answers that are its own (200, 404, 409, a 403 of its rule, …).
//! The failures that come from the edge itself are declared once, in [`COMMON`], and added to
//! every operation that can meet them by [`CommonResponses`]: what the gateway answers is then
//! documented for every route, including routes added later.

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
        (name = "portfolios", description = "Your portfolios, activities, trades at market, \
            positions, performance, and Ghostfolio import and export (portfolio service)"),
        (name = "terminal", description = "Shells on the server that outlive the browser: \
            create, drive, resize, read the scrollback by offset; live output and input on the \
            WebSocket `/ws` (`attach` frame) or `/ws/terminal` (terminal service)"),
        (name = "chat", description = "Conversations with the assistant over your own \
            portfolios: replies are written in the service and stream on the WebSocket \
            (`chat` topic) or as server-sent events (assistant service)"),
        (name = "workspace", description = "Your projects: directories of files with git, \
            shared with your terminals (workspace service)"),
        (name = "files", description = "The files of your projects, up to 20 MB each, written \
            atomically with If-Match (workspace service)"),
        (name = "git", description = "Status, diff, log, branches, commits, push and pull in your \
            projects (workspace service)"),
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

/// Which operations can meet a failure.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Applies {
    /// Every operation (rate limits, internal errors).
    Always,
    /// Operations that need a bearer token.
    SignedIn,
    /// Operations that forward to a service over NATS.
    Forwarding,
    /// Operations with a body, parameters, or either.
    Body,
    Input,
}

/// One shared failure: status, component name, description, and where it applies.
struct Common {
    status: u16,
    name: &'static str,
    description: &'static str,
    applies: Applies,
    /// A response header that comes with it.
    header: Option<(&'static str, &'static str)>,
}

/// The failures of the edge, declared once.
const COMMON: &[Common] = &[
    Common {
        status: 400,
        name: "BadRequest",
        description: "The request could not be read: malformed JSON, a query string or path that does not parse",
        applies: Applies::Input,
        header: None,
    },
    Common {
        status: 401,
        name: "Unauthorized",
        description: "No valid access token",
        applies: Applies::SignedIn,
        header: Some((
            "WWW-Authenticate",
            "Bearer realm=\"bourse\", with error=\"invalid_token\" for a token that does not verify",
        )),
    },
    Common {
        status: 413,
        name: "PayloadTooLarge",
        description: "The body is over the limit (10 MB, or what NATS carries)",
        applies: Applies::Body,
        header: None,
    },
    Common {
        status: 415,
        name: "UnsupportedMediaType",
        description: "The body is not of a content type the route reads",
        applies: Applies::Body,
        header: None,
    },
    Common {
        status: 422,
        name: "ValidationFailed",
        description: "A value is missing or refused; `error.details.field` names it when known",
        applies: Applies::Input,
        header: None,
    },
    Common {
        status: 429,
        name: "RateLimited",
        description: "Too many requests from this address or user",
        applies: Applies::Always,
        header: Some(("Retry-After", "Seconds until a retry may succeed")),
    },
    Common {
        status: 500,
        name: "Internal",
        description: "An unexpected failure; details are in the log, under the correlation id",
        applies: Applies::Always,
        header: None,
    },
    Common {
        status: 503,
        name: "Unavailable",
        description: "The service that answers this route is not running, or NATS is unreachable",
        applies: Applies::Forwarding,
        header: None,
    },
    Common {
        status: 504,
        name: "Timeout",
        description: "The service that answers this route did not answer in time",
        applies: Applies::Forwarding,
        header: None,
    },
];

/// Routes under `/api/v1` that the gateway answers itself, without a service.
const EDGE_ONLY: &[&str] = &["/api/v1/openapi.json", "/api/v1/auth/validate"];

/// Adds [`COMMON`] as response components, and a reference to each to every operation it
/// applies to; a status an operation documents itself keeps its own description.
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{
            ContentBuilder, Ref, RefOr, ResponseBuilder, header::HeaderBuilder, schema::Type,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        for common in COMMON {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                .build();
            let mut response = ResponseBuilder::new()
                .description(common.description)
                .content("application/json", content);
            if let Some((name, description)) = common.header {
                let header = HeaderBuilder::new()
                    .schema(utoipa::openapi::ObjectBuilder::new().schema_type(Type::String))
                    .description(Some(description))
                    .build();
                response = response.header(name, header);
            }
            components
                .responses
                .insert(common.name.to_owned(), RefOr::T(response.build()));
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let forwarding = path.starts_with("/api/v1/") && !EDGE_ONLY.contains(&path.as_str());
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let body = operation.request_body.is_some();
                let input = body || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let signed_in = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                for common in COMMON {
                    let applies = match common.applies {
                        Applies::Always => true,
                        Applies::SignedIn => signed_in,
                        Applies::Forwarding => forwarding,
                        Applies::Body => body,
                        Applies::Input => input,
                    };
                    if applies {
                        operation
                            .responses
                            .responses
                            .entry(common.status.to_string())
                            .or_insert_with(|| {
                                RefOr::Ref(Ref::new(format!(
                                    "#/components/responses/{}",
                                    common.name
                                )))
                            });
                    }
                }
            }
        }
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
        // After the routes are in: it walks their operations.
        utoipa::Modify::modify(&CommonResponses, &mut api);
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
