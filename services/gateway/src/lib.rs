//! The gateway: the HTTP and WebSocket edge of Bourse. It owns nothing persistent; every REST
//! route is one typed NATS request to the service that owns the resource, and WebSocket
//! clients read events straight from JetStream.
//!
//! - [`config`]: flags and `BOURSE_*` environment fallbacks.
//! - [`app`]: [`App::build`] / [`App::run_until_stopped`]; also registers the ADR-32 service
//!   `gateway` (endpoint `gateway.v1.health.get`).
//! - `router`: every route and the layer stack (security headers, CORS, correlation, metrics,
//!   tracing, 10 MB body limit).
//! - `routes`: `/api/v1/stocks…` → market (`market.v1.symbol.*`, `quote.get`, `history.*`);
//!   `/api/v1/auth…`, `/api/v1/users…` → identity (`identity.v1.user.*`, `session.*`).
//! - `auth`: bearer authentication, deny by default; the route access table lives there. The
//!   verified user goes on the NATS request (`Bourse-User-Id`/`-Roles`) via `RequestContext`.
//! - `ratelimit`: per-IP, per-user, and login/register per IP and per email (`governor`).
//! - `envelope` / `error` / `extract` / `context`: one response envelope for every answer,
//!   errors in the bus's catalogue (status from `ErrorCode::http_status`), extractor
//!   rejections as envelopes, `X-Correlation-Id` and `traceparent` carried to NATS.
//! - `health`: `/health`, `/health/all` (`$SRV.PING`), `/services` (`$SRV.INFO` + `STATS`).
//! - `metrics`: Prometheus at `/metrics`, one registry per [`App`].
//! - `openapi`: `/api/v1/openapi.json` (OpenAPI 3.1), generated from the handlers.
//! - [`ws`]: `/ws` — subscribe to `evt.price.>` with resume by stream sequence, bounded
//!   buffers and `lagged` frames; the frame protocol is documented there.
//! - `security`: CORS allow-list and security headers.

pub mod app;
pub mod config;
pub mod ws;

mod auth;
mod context;
mod envelope;
mod error;
mod extract;
mod health;
mod metrics;
mod openapi;
mod ratelimit;
mod router;
mod routes;
mod security;
mod serve;

pub use app::App;
pub use config::Config;
