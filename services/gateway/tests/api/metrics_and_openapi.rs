//! `/metrics` and `/api/v1/openapi.json`.

use crate::helpers::{sample, spawn_gateway_only};

#[tokio::test]
async fn metrics_count_requests_by_method_route_template_and_status() {
    let app = spawn_gateway_only().await;
    for _ in 0..3 {
        app.get("/api/v1/stocks/BRK_B").await;
    }
    app.get("/health").await;
    let metrics = app.metrics().await;
    let invalid = r#"bourse_gateway_http_requests_total{method="GET",route="/api/v1/stocks/{symbol}",status="422"}"#;
    assert_eq!(sample(&metrics, invalid), 3.0, "{metrics}");
    let health = r#"bourse_gateway_http_requests_total{method="GET",route="/health",status="200"}"#;
    assert_eq!(sample(&metrics, health), 1.0, "{metrics}");
    assert!(
        metrics.contains("bourse_gateway_http_request_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains("bourse_gateway_ws_connections"),
        "{metrics}"
    );
    assert!(metrics.ends_with("# EOF\n"), "OpenMetrics text");
}

#[tokio::test]
async fn each_gateway_has_its_own_metrics() {
    let one = spawn_gateway_only().await;
    let two = spawn_gateway_only().await;
    one.get("/health").await;
    let health = r#"bourse_gateway_http_requests_total{method="GET",route="/health",status="200"}"#;
    assert_eq!(sample(&one.metrics().await, health), 1.0);
    assert_eq!(sample(&two.metrics().await, health), 0.0);
}

#[tokio::test]
async fn openapi_json_is_openapi_3_1_and_documents_every_route() {
    let app = spawn_gateway_only().await;
    let (status, doc) = {
        let response = app.get("/api/v1/openapi.json").await;
        (
            response.status(),
            response.json::<serde_json::Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let operations = [
        ("/api/v1/stocks", "get"),
        ("/api/v1/stocks", "post"),
        ("/api/v1/stocks/{symbol}", "get"),
        ("/api/v1/stocks/{symbol}/price", "get"),
        ("/api/v1/stocks/{symbol}/history", "get"),
        ("/api/v1/stocks/{symbol}/history", "post"),
        ("/health", "get"),
        ("/health/all", "get"),
        ("/services", "get"),
        ("/ws", "get"),
        ("/api/v1/openapi.json", "get"),
    ];
    for (path, method) in operations {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not documented"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in [
        "ErrorBody",
        "ErrorEnvelope",
        "Symbol",
        "Quote",
        "PriceHistory",
        "CreateSymbol",
    ] {
        assert!(
            schemas.contains_key(schema),
            "schema {schema} missing: {:?}",
            schemas.keys().collect::<Vec<_>>()
        );
    }
    let import = &doc["paths"]["/api/v1/stocks/{symbol}/history"]["post"]["requestBody"]["content"];
    assert!(
        import["application/json"].is_object() && import["text/csv"].is_object(),
        "{import}"
    );
}
