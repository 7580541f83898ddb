//! CORS allow-list and security headers.

use crate::helpers::spawn_gateway_only;

#[tokio::test]
async fn an_allowed_origin_passes_the_preflight() {
    let app = spawn_gateway_only().await;
    let response = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/stocks"))
        .header("Origin", "http://localhost:5173")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "content-type,x-correlation-id",
        )
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    let allowed = response.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("x-correlation-id"), "{allowed}");
}

#[tokio::test]
async fn a_simple_request_from_an_allowed_origin_may_read_the_correlation_id() {
    let app = spawn_gateway_only().await;
    let response = app
        .http
        .get(app.url("/health"))
        .header("Origin", "http://127.0.0.1:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://127.0.0.1:5173"
    );
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(exposed.contains("x-correlation-id"), "{exposed}");
}

#[tokio::test]
async fn a_refused_origin_gets_no_cors_grant() {
    let app = spawn_gateway_only().await;
    let response = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/stocks"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let response = app
        .http
        .get(app.url("/health"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers_errors_included() {
    let app = spawn_gateway_only().await;
    for path in [
        "/health",
        "/api/v1/nothing",
        "/api/v1/stocks/BRK_B",
        "/metrics",
    ] {
        let response = app.get(path).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'none'"),
            "{path}"
        );
    }
}
