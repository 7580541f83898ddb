//! Gateway: the HTTP and WebSocket edge announces itself over NATS like every service, so ADR-32
//! discovery (`nats micro ls`, `/services`, `/health/all`) lists it next to the others.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Request;

/// `gateway.v1.health.get`: how one gateway instance is doing. The body is `{}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct GetGatewayHealth {}

/// One gateway instance's view of itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct GatewayHealth {
    /// The gateway's SemVer version.
    pub version: String,
    /// The address the HTTP listener is bound to, e.g. `127.0.0.1:8080`.
    pub http_addr: String,
    pub started_at: DateTime<Utc>,
    /// WebSocket clients connected to this instance right now.
    pub websocket_connections: u64,
}

impl Request for GetGatewayHealth {
    const SUBJECT: &'static str = "gateway.v1.health.get";
    type Reply = GatewayHealth;
}
