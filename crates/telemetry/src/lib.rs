//! Tracing set-up for every Bourse binary: one call in `main`.
//!
//! Logs go to stderr, so a command's output on stdout stays clean. `RUST_LOG` filters (default `info`); `BOURSE_LOG_FORMAT=json` switches to one JSON object per
//! line for log shippers. Spans carry `correlation_id` and `trace_id` (see `bus::headers`), so a
//! request can be followed across services by either.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Output format of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    /// Reads `BOURSE_LOG_FORMAT` (`text` or `json`).
    pub fn from_env() -> Self {
        match std::env::var("BOURSE_LOG_FORMAT").as_deref() {
            Ok("json") => Self::Json,
            _ => Self::Text,
        }
    }
}

/// Installs the global subscriber. `default_filter` applies when `RUST_LOG` is unset. Calling it
/// twice is harmless (the second call does nothing), which keeps tests simple.
pub fn init(default_filter: &str, format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Text => registry
            .with(fmt::layer().with_target(false).with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
}

/// For tests: logs only when `TEST_LOG` is set, written through the test harness's capture.
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_none() {
        return;
    }
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("debug,async_nats=info,sqlx=warn"));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_test_writer())
        .try_init();
}
