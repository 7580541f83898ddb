#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cors_and_security;
mod discovery;
mod envelope;
mod errors;
mod helpers;
mod history;
mod metrics_and_openapi;
mod stocks;
mod ws;
mod ws_resume;
