//! The whole HTTP surface in one place: the routes (each registered with its OpenAPI operation)
//! and the layer stack every request goes through.
//!
//! From the outside in: security headers → CORS → compression → correlation (context, task-local
//! correlation id, the envelope safety net, metrics) → tracing → body limit → [routing] →
//! admission (per-IP rate limit, then bearer authentication: `auth::access` decides per route)
//! → the route.

use axum::{
    Extension, Router,
    extract::{DefaultBodyLimit, Request},
    http::Method,
    middleware,
    routing::get,
};
use bus::{RequestContext, ServiceError};
use tower::ServiceBuilder;
use tower_http::{
    compression::{
        CompressionLayer, Predicate,
        predicate::{NotForContentType, SizeAbove},
    },
    limit::RequestBodyLimitLayer,
    trace::TraceLayer,
};
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    app::AppState,
    auth,
    config::{BODY_LIMIT, UPLOAD_LIMIT},
    context,
    error::ApiError,
    health, metrics,
    openapi::{self, ApiDoc, OpenApiJson},
    routes, security, ws,
};

/// The router with every route and layer, ready to serve.
pub(crate) fn build(state: AppState) -> anyhow::Result<Router> {
    let (routes, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::api())
        .routes(routes!(health::health))
        .routes(routes!(health::health_all))
        .routes(routes!(health::services))
        .routes(routes!(ws::upgrade))
        .routes(routes!(ws::upgrade_prices))
        .routes(routes!(ws::upgrade_portfolio))
        .routes(routes!(ws::upgrade_terminal))
        .routes(routes!(ws::upgrade_chat))
        .routes(routes!(openapi::serve))
        .split_for_parts();
    let doc = OpenApiJson::render(api)?;
    let cors = security::cors(&state.config.cors_origins)?;
    let routes = routes
        .route("/metrics", get(metrics::serve))
        // The one route layer, so the matched route template is known: the per-IP limit, then
        // bearer authentication (which also applies the per-user limit).
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::admit))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone());
    // The layers every request passes are wrapped once around the router, not around each of
    // its routes (which `Router::layer` does): a route's stack is boxed per layer, and every
    // `from_fn` clones the stack below it per request, so each layer there cost a deep clone
    // and drop of the boxes beneath. Here they are one concrete service over the router.
    let edge = ServiceBuilder::new()
        .layer(security::headers())
        .layer(cors)
        .layer(compression())
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            context::correlate,
        ))
        // Failures are logged once, in `context::correlate`; the trace layer only spans.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(span_for)
                .on_failure(()),
        )
        // Bodies are limited by tower-http to the largest any route takes (a file upload, which
        // streams its body): a streamed body is cut when it passes it. Every body an extractor
        // reads (JSON, CSV) is held to BODY_LIMIT by axum's own limit, and a `Content-Length`
        // over a route's limit is refused before anything reads it (`context::correlate`).
        .layer(RequestBodyLimitLayer::new(UPLOAD_LIMIT))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(Extension(doc))
        .service(routes);
    Ok(Router::new().fallback_service(edge))
}

/// Responses below this many bytes go out as they are: compressing them costs more CPU than the
/// bytes it saves, and the hot path (a quote, a login) stays free of it.
const COMPRESS_ABOVE: u16 = 1024;

/// gzip or brotli, as the client's `Accept-Encoding` prefers, for bodies of more than
/// [`COMPRESS_ABOVE`] bytes (history, lists, the OpenAPI document). Event streams are never
/// compressed (a compressor buffers, and a live stream must not wait for a block to fill);
/// WebSocket upgrades carry no body and pass untouched.
fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new().compress_when(
        SizeAbove::new(COMPRESS_ABOVE)
            .and(NotForContentType::GRPC)
            .and(NotForContentType::IMAGES)
            .and(NotForContentType::SSE),
    )
}

/// The request span: method, path and the correlation and trace ids, so a request's log lines
/// can be found from either.
fn span_for(request: &Request) -> tracing::Span {
    let ctx = request.extensions().get::<RequestContext>();
    tracing::info_span!(
        "http.request",
        method = %request.method(),
        path = %request.uri().path(),
        correlation_id = ctx.map(|c| tracing::field::display(&c.correlation_id)),
        trace_id = ctx.map(|c| tracing::field::display(c.trace_id().to_owned())),
    )
}

async fn not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    ServiceError::not_found(format!("no route for {method} {}", uri.path())).into()
}

/// 405 is not in the error catalogue; the method is a bad request for this path.
async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    ServiceError::bad_request(format!("{method} is not allowed on {}", uri.path())).into()
}
