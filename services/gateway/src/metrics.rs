//! Prometheus metrics, one registry per [`crate::App`] (no global recorder: tests run several
//! gateways in one process). Served as OpenMetrics text at `/metrics`:
//!
//! - `bourse_gateway_http_requests_total{method,route,status}`
//! - `bourse_gateway_http_request_duration_seconds{method,route}` (histogram)
//! - `bourse_gateway_ws_connections` (gauge)
//! - `bourse_gateway_ws_frames_sent_total`, `bourse_gateway_ws_lagged_total`
//!
//! `route` is the matched route template (`/api/v1/stocks/{symbol}`), never the raw path, so a
//! client cannot blow up the label set; requests that match no route count as `unmatched`.

use std::sync::Arc;

use axum::{
    extract::{MatchedPath, State},
    http::{Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use prometheus_client::{
    encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: Route,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: Route,
}

/// A matched route template, or `unmatched`.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
enum Route {
    Matched(MatchedRoute),
    Unmatched,
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        match self {
            Self::Matched(route) => route.encode(encoder),
            Self::Unmatched => EncodeLabelValue::encode(&"unmatched", encoder),
        }
    }
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The gateway's metrics and the registry they are exposed from.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily,
    pub(crate) ws_connections: Gauge,
    pub(crate) ws_frames_sent: Counter,
    pub(crate) ws_lagged: Counter,
    pub(crate) connections_refused: Counter,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("bourse_gateway");
        let requests = Family::<RequestLabels, Counter>::default();
        // 1 ms .. ~33 s.
        let durations: HistogramFamily =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.0, 16)));
        let ws_connections = Gauge::default();
        let ws_frames_sent = Counter::default();
        let ws_lagged = Counter::default();
        let connections_refused = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, matched route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            durations.clone(),
        );
        registry.register(
            "ws_connections",
            "WebSocket clients connected now",
            ws_connections.clone(),
        );
        registry.register(
            "ws_frames_sent",
            "Frames written to WebSocket clients",
            ws_frames_sent.clone(),
        );
        registry.register(
            "ws_lagged",
            "Times a WebSocket client fell behind and was sent a lagged frame",
            ws_lagged.clone(),
        );
        registry.register(
            "connections_refused",
            "TCP connections closed at once because BOURSE_MAX_CONNECTIONS were open",
            connections_refused.clone(),
        );
        Self {
            registry,
            requests,
            durations,
            ws_connections,
            ws_frames_sent,
            ws_lagged,
            connections_refused,
        }
    }

    /// Counts and times one answered request: `route` is `None` for a request that matched no
    /// route.
    pub(crate) fn observe(
        &self,
        method: &'static str,
        route: Option<&MatchedRoute>,
        status: StatusCode,
        seconds: f64,
    ) {
        let route = route.map_or(Route::Unmatched, |route| Route::Matched(route.clone()));
        self.durations
            .get_or_create(&RouteLabels {
                method,
                route: route.clone(),
            })
            .observe(seconds);
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status: status.as_u16(),
            })
            .inc();
    }

    /// The OpenMetrics text exposition.
    pub(crate) fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The route template a request matched, as [`crate::auth::admit`] leaves it on the answer for
/// [`crate::context::correlate`] to count: one shared string, cloned into both label sets.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(crate) struct MatchedRoute(Arc<str>);

impl MatchedRoute {
    pub(crate) fn new(path: &MatchedPath) -> Self {
        Self(path.as_str().into())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl EncodeLabelValue for MatchedRoute {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// The label of `method`: its name for the standard ones, `other` for the rest (a client
/// must not be able to grow the label set).
pub(crate) fn method_label(method: &Method) -> &'static str {
    static STANDARD: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    STANDARD
        .iter()
        .find(|standard| *standard == method)
        .map_or("other", Method::as_str)
}

/// `GET /metrics`.
pub(crate) async fn serve(State(metrics): State<Arc<Metrics>>) -> Response {
    match metrics.render() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error.message = %err, "cannot encode the metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_template_and_status() {
        let metrics = Metrics::new();
        let route = MatchedRoute("/api/v1/stocks/{symbol}".into());
        metrics.observe("GET", Some(&route), StatusCode::NOT_FOUND, 0.01);
        metrics.observe("other", None, StatusCode::BAD_REQUEST, 0.01);
        let text = metrics.render().unwrap();
        assert!(
            text.contains(r#"bourse_gateway_http_requests_total{method="GET",route="/api/v1/stocks/{symbol}",status="404"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("bourse_gateway_http_request_duration_seconds_bucket"),
            "{text}"
        );
        assert!(
            text.contains(r#"bourse_gateway_http_requests_total{method="other",route="unmatched",status="400"} 1"#),
            "{text}"
        );
        assert!(text.contains("bourse_gateway_ws_connections 0"), "{text}");
    }

    #[test]
    fn only_standard_methods_are_labels_of_their_own() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        let made_up = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&made_up), "other");
    }
}
