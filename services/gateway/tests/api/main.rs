#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod authentication;
mod cluster;
mod cors_and_security;
mod discovery;
mod envelope;
mod errors;
mod helpers;
mod history;
mod limits;
mod metrics_and_openapi;
mod portfolios;
mod rate_limits;
mod restarts;
mod stocks;
mod tickers;
mod workspace;
mod ws;
mod ws_auth;
mod ws_chat;
mod ws_portfolio;
mod ws_resume;
mod ws_scale;
mod ws_terminal;
