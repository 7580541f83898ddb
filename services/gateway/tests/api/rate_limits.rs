//! Rate limits: login per IP and per email, and the global per-IP limit, answered 429 with
//! `Retry-After`.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, envelope_of, spawn_app_with};

async fn assert_limited(response: reqwest::Response) {
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (status, body) = envelope_of(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
}

#[tokio::test]
async fn logins_trip_the_per_ip_limit_with_429_and_retry_after() {
    let app = spawn_app_with(|config| config.login_rate_per_min = 3).await;
    app.register("slow@example.com").await;
    let wrong = json!({"email": "slow@example.com", "password": "not the password"});
    for _ in 0..3 {
        let (status, body) = app.post_json_as(None, "/api/v1/auth/login", &wrong).await;
        assert_eq!(status, 401, "{body}");
    }
    // Even the right password waits now.
    let right = json!({"email": "slow@example.com", "password": PASSWORD});
    let response = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&right)
        .send()
        .await
        .unwrap();
    assert_limited(response).await;
}

#[tokio::test]
async fn logins_trip_the_per_email_limit_from_any_address() {
    let app = spawn_app_with(|config| {
        config.login_rate_per_min = 2;
        config.trust_forwarded_for = true;
    })
    .await;
    let wrong = json!({"email": "Target@example.com", "password": "not the password"});
    let login_from = |ip: &'static str| {
        app.http
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", ip)
            .json(&wrong)
            .send()
    };
    assert_eq!(login_from("198.51.100.1").await.unwrap().status(), 401);
    assert_eq!(login_from("198.51.100.2").await.unwrap().status(), 401);
    assert_limited(login_from("198.51.100.3").await.unwrap()).await;
    // Another email from a fresh address is not affected.
    let other = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "198.51.100.4")
        .json(&json!({"email": "other@example.com", "password": "not the password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 401);
}

#[tokio::test]
async fn the_global_per_ip_limit_covers_public_routes() {
    let app = spawn_app_with(|config| {
        config.rate_limit_rps = 1;
        config.rate_limit_burst = 3;
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = app.get("/api/v1/stocks/AAPL").await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_limited(response).await;
            return;
        }
        statuses.push(response.status());
    }
    panic!("never limited: {statuses:?}");
}
