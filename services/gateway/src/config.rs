//! The gateway's configuration: flags with `BOURSE_*` environment fallbacks. The doc comment of
//! every field is its `--help` text. NATS settings are not here: they are [`bus::NatsArgs`],
//! shared by every binary and flattened next to this in `main` (and in `bourse dev`).

use std::{net::SocketAddr, time::Duration};

/// How the HTTP and WebSocket edge listens and behaves.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address the HTTP server listens on (port 0 picks a free port).
    #[arg(long, env = "BOURSE_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,

    /// Browser origins allowed by CORS, comma-separated (an allow-list: `*` is refused).
    #[arg(
        long,
        env = "BOURSE_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = "http://localhost:5173,http://127.0.0.1:5173"
    )]
    pub cors_origins: Vec<String>,

    /// Frames buffered per WebSocket client before it is declared lagged (at least 1).
    #[arg(long, env = "BOURSE_WS_BUFFER", default_value_t = 256)]
    pub ws_buffer: usize,

    /// How often the server pings each WebSocket client (e.g. `20s`).
    #[arg(long, env = "BOURSE_WS_PING_INTERVAL", default_value = "20s", value_parser = humantime::parse_duration)]
    pub ws_ping_interval: Duration,

    /// A WebSocket client that sends nothing (not even a pong) for this long is disconnected;
    /// a write to a client that does not read for this long also ends its socket.
    #[arg(long, env = "BOURSE_WS_IDLE_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub ws_idle_timeout: Duration,

    /// Services that must answer `$SRV.PING` for `/health/all` to report healthy,
    /// comma-separated. Unset: every service started with the gateway (in `bourse dev`), or, on
    /// its own, the gateway and the services its routes forward to.
    #[arg(long, env = "BOURSE_EXPECTED_SERVICES", value_delimiter = ',')]
    pub expected_services: Vec<String>,

    /// How long `/health/all` and `/services` wait for ADR-32 replies (e.g. `1s`).
    #[arg(long, env = "BOURSE_DISCOVERY_WAIT", default_value = "1s", value_parser = humantime::parse_duration)]
    pub discovery_wait: Duration,

    /// At shutdown, how long requests and WebSocket sessions in flight get to finish.
    #[arg(long, env = "BOURSE_SHUTDOWN_GRACE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,

    /// Open TCP connections the gateway serves at once (HTTP and WebSocket; 0 turns the cap
    /// off). Past it, new connections are closed at once (and counted in
    /// `bourse_gateway_connections_refused_total`) until others end.
    #[arg(long, env = "BOURSE_MAX_CONNECTIONS", default_value_t = 25_000)]
    pub max_connections: usize,

    /// Open WebSockets per client IP (0 turns the cap off); past it the upgrade is 429.
    #[arg(long, env = "BOURSE_WS_MAX_PER_IP", default_value_t = 200)]
    pub ws_max_per_ip: usize,

    /// Open WebSockets per signed-in user (0 turns the cap off); past it the upgrade, or the
    /// `auth` frame, is refused with `rate_limited`.
    #[arg(long, env = "BOURSE_WS_MAX_PER_USER", default_value_t = 20)]
    pub ws_max_per_user: usize,

    /// How long a client may take to send a request's head, on a new connection or a kept-alive
    /// one; the connection is closed after (slowloris).
    #[arg(long, env = "BOURSE_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_read_timeout: Duration,

    /// How access tokens are verified: the `--jwt-*` flags (`BOURSE_JWT_SECRET`, …), the same
    /// as identity's; in `bourse dev` they are declared once and both read them. Without a
    /// secret, the gateway refuses to start, like identity.
    #[command(flatten, next_help_heading = "Access tokens")]
    pub token: auth::TokenConfig,

    /// Requests per second each client IP may make to the API (0 turns the limit off).
    #[arg(long, env = "BOURSE_RATE_LIMIT_RPS", default_value_t = 100)]
    pub rate_limit_rps: u32,

    /// Requests a client IP may make at once above its per-second rate.
    #[arg(long, env = "BOURSE_RATE_LIMIT_BURST", default_value_t = 200)]
    pub rate_limit_burst: u32,

    /// Requests per second each signed-in user may make (0 turns the limit off); the burst is
    /// `BOURSE_RATE_LIMIT_BURST`.
    #[arg(long, env = "BOURSE_USER_RATE_LIMIT_RPS", default_value_t = 50)]
    pub user_rate_limit_rps: u32,

    /// Logins per minute per client IP, and per email, each (0 turns the limit off).
    #[arg(long, env = "BOURSE_LOGIN_RATE_PER_MIN", default_value_t = 5)]
    pub login_rate_per_min: u32,

    /// Registrations per minute per client IP, and per email, each (0 turns the limit off).
    #[arg(long, env = "BOURSE_REGISTER_RATE_PER_MIN", default_value_t = 5)]
    pub register_rate_per_min: u32,

    /// Take the client IP from the last `X-Forwarded-For` entry. Only behind a proxy that sets
    /// it: otherwise any client could pick its own IP and escape the per-IP limits.
    #[arg(long, env = "BOURSE_TRUST_FORWARDED_FOR", value_parser = clap::builder::FalseyValueParser::new())]
    pub trust_forwarded_for: bool,
}

impl Default for Config {
    /// The same values as the flags' defaults.
    fn default() -> Self {
        Self {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            cors_origins: vec![
                "http://localhost:5173".into(),
                "http://127.0.0.1:5173".into(),
            ],
            ws_buffer: 256,
            ws_ping_interval: Duration::from_secs(20),
            ws_idle_timeout: Duration::from_secs(60),
            expected_services: Vec::new(),
            discovery_wait: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            max_connections: 25_000,
            ws_max_per_ip: 200,
            ws_max_per_user: 20,
            token: auth::TokenConfig::default(),
            rate_limit_rps: 100,
            rate_limit_burst: 200,
            user_rate_limit_rps: 50,
            login_rate_per_min: 5,
            register_rate_per_min: 5,
            trust_forwarded_for: false,
        }
    }
}

/// A request body larger than this is refused with 413 (DESIGN.md §4).
pub const BODY_LIMIT: usize = 10 * 1024 * 1024;

/// A file upload (`PUT /api/v1/files/{path}`) may be this large (DESIGN.md §4); it is the
/// edge's limit, and every other body is held to [`BODY_LIMIT`] when it is read.
pub const UPLOAD_LIMIT: usize = contracts::workspace::MAX_TRANSFER as usize;

/// A WebSocket message or frame larger than this is refused (DESIGN.md §4).
pub const WS_MESSAGE_LIMIT: usize = 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Config {
        bus::kit::parse::<crate::App, _, _>(args).unwrap().1
    }

    #[test]
    fn flag_defaults_match_the_default_impl() {
        let parsed = parse(&["gateway"]);
        let default = Config::default();
        assert_eq!(parsed.http_addr, default.http_addr);
        assert_eq!(parsed.cors_origins, default.cors_origins);
        assert_eq!(parsed.ws_buffer, default.ws_buffer);
        assert_eq!(parsed.ws_ping_interval, default.ws_ping_interval);
        assert_eq!(parsed.ws_idle_timeout, default.ws_idle_timeout);
        assert_eq!(parsed.expected_services, default.expected_services);
        assert_eq!(parsed.discovery_wait, default.discovery_wait);
        assert_eq!(parsed.header_read_timeout, default.header_read_timeout);
        assert_eq!(parsed.shutdown_grace, default.shutdown_grace);
        assert_eq!(parsed.rate_limit_rps, default.rate_limit_rps);
        assert_eq!(parsed.rate_limit_burst, default.rate_limit_burst);
        assert_eq!(parsed.user_rate_limit_rps, default.user_rate_limit_rps);
        assert_eq!(parsed.login_rate_per_min, default.login_rate_per_min);
        assert_eq!(parsed.register_rate_per_min, default.register_rate_per_min);
        assert_eq!(parsed.trust_forwarded_for, default.trust_forwarded_for);
    }

    #[test]
    fn cors_origins_are_comma_separated() {
        let parsed = parse(&[
            "gateway",
            "--cors-origins",
            "https://a.example,https://b.example",
        ]);
        assert_eq!(
            parsed.cors_origins,
            ["https://a.example", "https://b.example"]
        );
    }
}
