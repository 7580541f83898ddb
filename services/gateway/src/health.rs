//! Health and discovery pages, and the gateway's own ADR-32 endpoint.
//!
//! - `/health`: this gateway — is its NATS connection up.
//! - `/health/all`: `$SRV.PING` of the deployment; 200 when every expected service has an
//!   instance, else 503 naming the missing ones.
//! - `/services`: `$SRV.INFO` and `$SRV.STATS` merged per instance.
//! - `gateway.v1.health.get` over NATS: [`own_health`], so `nats micro ls` lists the gateway.

use std::collections::BTreeMap;

use async_nats::connection::State as NatsState;
use axum::extract::State;
use bus::{ErrorCode, ServiceError, discovery::Window};
use contracts::gateway::{GatewayHealth, GetGatewayHealth};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    app::AppState,
    envelope::{Envelope, Reply},
    error::{ApiError, ApiResult, GATEWAY},
    openapi::ErrorEnvelope,
};

/// This gateway instance.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OwnHealth {
    /// `connected`, `disconnected` or `pending`.
    nats: String,
    #[serde(flatten)]
    gateway: GatewayHealth,
}

/// The deployment as `$SRV.PING` sees it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SystemHealth {
    healthy: bool,
    /// Every service that answered, by name.
    services: Vec<ServiceHealth>,
    /// Expected services with no instance.
    missing: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServiceHealth {
    name: String,
    instances: usize,
    /// The distinct versions running, sorted.
    versions: Vec<String>,
}

/// One running service instance.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServiceInstance {
    name: String,
    id: String,
    version: String,
    description: String,
    endpoints: Vec<EndpointView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EndpointView {
    name: String,
    subject: String,
    num_requests: u64,
    num_errors: u64,
    /// Nanoseconds, as ADR-32 reports it.
    average_processing_time: u64,
}

/// What this instance says about itself (HTTP and NATS alike).
pub(crate) fn own_health(state: &AppState) -> GatewayHealth {
    GatewayHealth {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        http_addr: state.local_addr.to_string(),
        started_at: state.started_at,
        websocket_connections: u64::try_from(state.metrics.ws_connections.get()).unwrap_or(0),
    }
}

/// `gateway.v1.health.get` over NATS: [`own_health`].
pub(crate) async fn own_health_endpoint(
    state: &AppState,
    _ctx: bus::RequestContext,
    _request: GetGatewayHealth,
) -> Result<GatewayHealth, ServiceError> {
    Ok(own_health(state))
}

/// This gateway and its NATS connection.
#[utoipa::path(
    get, path = "/health", tag = "operations",
    responses(
        (status = 200, description = "Up, connected to NATS", body = Envelope<OwnHealth>),
        (status = 503, description = "Not connected to NATS", body = ErrorEnvelope),
    )
)]
pub(crate) async fn health(State(state): State<AppState>) -> ApiResult<Reply<OwnHealth>> {
    let connection = state.bus.client().connection_state();
    let nats = match connection {
        NatsState::Connected => "connected",
        NatsState::Disconnected => "disconnected",
        NatsState::Pending => "pending",
    };
    let health = OwnHealth {
        nats: nats.to_owned(),
        gateway: own_health(&state),
    };
    if connection != NatsState::Connected {
        let details = serde_json::to_value(&health).unwrap_or_default();
        return Err(
            ServiceError::new(ErrorCode::Unavailable, format!("NATS is {nats}"))
                .with_details(details)
                .into(),
        );
    }
    Ok(Reply::ok(GATEWAY, health))
}

/// Every service of the deployment, from `$SRV.PING`.
#[utoipa::path(
    get, path = "/health/all", tag = "operations",
    responses(
        (status = 200, description = "Every expected service has an instance", body = Envelope<SystemHealth>),
        (status = 503, description = "Some are missing; `error.details` has the full report", body = ErrorEnvelope),
    )
)]
pub(crate) async fn health_all(State(state): State<AppState>) -> ApiResult<Reply<SystemHealth>> {
    let pings = state
        .bus
        .ping_services(None, window(&state))
        .await
        .map_err(|err| ApiError::from(ServiceError::unavailable("cannot reach NATS", err)))?;
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ping in pings {
        by_name.entry(ping.name).or_default().push(ping.version);
    }
    let mut missing: Vec<String> = state
        .expected_services
        .iter()
        .filter(|name| !by_name.contains_key(*name))
        .cloned()
        .collect();
    missing.sort();
    let services = by_name
        .into_iter()
        .map(|(name, mut versions)| {
            let instances = versions.len();
            versions.sort();
            versions.dedup();
            ServiceHealth {
                name,
                instances,
                versions,
            }
        })
        .collect();
    let report = SystemHealth {
        healthy: missing.is_empty(),
        services,
        missing,
    };
    if !report.healthy {
        let message = format!("not running: {}", report.missing.join(", "));
        let details = serde_json::to_value(&report).unwrap_or_default();
        return Err(ServiceError::new(ErrorCode::Unavailable, message)
            .with_details(details)
            .into());
    }
    Ok(Reply::ok(GATEWAY, report))
}

/// Every service instance with its endpoints and their counters (`$SRV.INFO` + `$SRV.STATS`).
#[utoipa::path(
    get, path = "/services", tag = "operations",
    responses(
        (status = 200, description = "Instances sorted by name and id", body = Envelope<Vec<ServiceInstance>>),
        (status = 503, description = "NATS is not reachable", body = ErrorEnvelope),
    )
)]
pub(crate) async fn services(
    State(state): State<AppState>,
) -> ApiResult<Reply<Vec<ServiceInstance>>> {
    let unreachable = |err| ApiError::from(ServiceError::unavailable("cannot reach NATS", err));
    let (infos, stats) = tokio::try_join!(
        state.bus.service_infos(None, window(&state)),
        state.bus.service_stats(None, window(&state)),
    )
    .map_err(unreachable)?;
    let stats: BTreeMap<String, async_nats::service::Stats> =
        stats.into_iter().map(|s| (s.id.clone(), s)).collect();
    let mut instances: Vec<ServiceInstance> = infos
        .into_iter()
        .map(|info| {
            let endpoint_stats = stats
                .get(&info.id)
                .map(|s| s.endpoints.as_slice())
                .unwrap_or_default();
            let endpoints = info
                .endpoints
                .into_iter()
                .map(|endpoint| {
                    let counters = endpoint_stats.iter().find(|s| s.name == endpoint.name);
                    EndpointView {
                        num_requests: counters.map_or(0, |c| c.requests as u64),
                        num_errors: counters.map_or(0, |c| c.errors as u64),
                        average_processing_time: counters.map_or(0, |c| {
                            u64::try_from(c.average_processing_time.as_nanos()).unwrap_or(u64::MAX)
                        }),
                        name: endpoint.name,
                        subject: endpoint.subject,
                    }
                })
                .collect();
            ServiceInstance {
                name: info.name,
                id: info.id,
                version: info.version,
                description: info.description,
                endpoints,
            }
        })
        .collect();
    instances.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    Ok(Reply::ok(GATEWAY, instances))
}

/// What `/health/all` expects: the configured services; else those started together with the
/// gateway (`bourse dev`); else the gateway and the services its routes forward to.
pub(crate) fn expected_services(configured: &[String], started: &[&str]) -> Vec<String> {
    if !configured.is_empty() {
        return configured.to_vec();
    }
    if !started.is_empty() {
        return started.iter().map(|name| (*name).to_owned()).collect();
    }
    std::iter::once(GATEWAY)
        .chain(crate::routes::services())
        .map(str::to_owned)
        .collect()
}

fn window(state: &AppState) -> Window {
    Window {
        max_wait: state.config.discovery_wait,
        ..Window::default()
    }
}
