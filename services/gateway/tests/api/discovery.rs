//! `/health`, `/health/all`, `/services` and the gateway's own ADR-32 service.

use std::time::Duration;

use bus::{RequestContext, discovery::Window};
use contracts::gateway::GetGatewayHealth;

use crate::helpers::{Spawn, spawn, spawn_app, spawn_gateway_only};

#[tokio::test]
async fn health_reports_a_connected_nats() {
    let app = spawn_gateway_only().await;
    let (status, body) = app.get_json("/health").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["nats"], "connected");
    assert_eq!(body["data"]["http_addr"], app.addr.to_string());
    assert_eq!(body["service"], "gateway");
}

#[tokio::test]
async fn health_all_lists_gateway_and_market_with_their_instances() {
    // Every service the gateway's routes call, so /health/all is healthy.
    let app = spawn(Spawn {
        workspace: true,
        portfolio: true,
        terminal: true,
        assistant: true,
        ..Spawn::default()
    })
    .await;
    let (status, body) = app.get_json("/health/all").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["healthy"], true);
    let services = body["data"]["services"].as_array().unwrap();
    for name in ["gateway", "market"] {
        let service = services
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {body}"));
        assert_eq!(service["instances"], 1, "{body}");
        assert_eq!(service["versions"].as_array().unwrap().len(), 1, "{body}");
    }
}

#[tokio::test]
async fn health_all_is_503_naming_the_services_its_routes_call_when_they_are_not_running() {
    let app = spawn_gateway_only().await;
    let (status, body) = app.get_json("/health/all").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    assert_eq!(
        body["error"]["details"]["missing"],
        serde_json::json!([
            "assistant",
            "identity",
            "market",
            "portfolio",
            "terminal",
            "workspace"
        ])
    );
}

#[tokio::test]
async fn services_lists_every_instance_with_its_endpoints_and_counters() {
    let app = spawn_app().await;
    // One request, so the market's counters are not all zero.
    let (status, _) = app.get_json("/api/v1/stocks/AAPL").await;
    assert_eq!(status, 200);
    let (status, body) = app.get_json("/services").await;
    assert_eq!(status, 200, "{body}");
    let instances = body["data"].as_array().unwrap();
    let gateway = instances
        .iter()
        .find(|i| i["name"] == "gateway")
        .expect("gateway listed");
    assert_eq!(gateway["endpoints"][0]["name"], "health_get");
    let market = instances
        .iter()
        .find(|i| i["name"] == "market")
        .expect("market listed");
    assert!(!market["id"].as_str().unwrap().is_empty());
    assert!(!market["version"].as_str().unwrap().is_empty());
    let get = market["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "symbol_get")
        .expect("symbol_get");
    assert_eq!(
        get["subject"],
        app.env.prefix.subject("market.v1.symbol.get")
    );
    assert!(get["num_requests"].as_u64().unwrap() >= 1, "{get}");
    assert!(
        get["num_errors"].is_u64() && get["average_processing_time"].is_u64(),
        "{get}"
    );
}

#[tokio::test]
async fn the_gateway_answers_its_health_endpoint_over_nats_and_ping() {
    let app = spawn_gateway_only().await;
    let health = app
        .bus
        .request(&RequestContext::new(), &GetGatewayHealth {})
        .await
        .unwrap();
    assert_eq!(health.http_addr, app.addr.to_string());
    let window = Window {
        max_wait: Duration::from_millis(500),
        ..Window::default()
    };
    let pings = app
        .bus
        .ping_services(Some("gateway"), window)
        .await
        .unwrap();
    assert_eq!(pings.len(), 1);
}
