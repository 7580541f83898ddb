//! The envelope and correlation: every answer has one shape, and the correlation id travels
//! from the HTTP request to NATS and back.

use bus::headers::{CORRELATION_ID, TRACEPARENT, USER_ID, USER_ROLES};
use chrono::{DateTime, Utc};
use contracts::{Request, market::GetSymbol};
use futures::StreamExt;
use serde_json::json;

use crate::helpers::{envelope_of, spawn_app, spawn_gateway_only};

#[tokio::test]
async fn a_successful_answer_is_an_envelope_naming_the_service_and_echoing_the_correlation_id() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url("/api/v1/stocks/AAPL"))
        .header("X-Correlation-Id", "order-4711")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-correlation-id"], "order-4711");
    let (status, body) = envelope_of(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], true);
    assert_eq!(body["data"]["symbol"], "AAPL");
    assert_eq!(body["error"], json!(null));
    assert_eq!(body["correlation_id"], "order-4711");
    assert_eq!(body["service"], "market");
    body["timestamp"]
        .as_str()
        .unwrap()
        .parse::<DateTime<Utc>>()
        .expect("an RFC 3339 timestamp");
}

#[tokio::test]
async fn a_request_without_an_acceptable_correlation_id_gets_a_new_one_in_header_and_body() {
    let app = spawn_gateway_only().await;
    for sent in [None, Some("has spaces in it"), Some(&*"x".repeat(300))] {
        let mut request = app.http.get(app.url("/health"));
        if let Some(id) = sent {
            request = request.header("X-Correlation-Id", id);
        }
        let response = request.send().await.unwrap();
        let header = response.headers()["x-correlation-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let (_, body) = envelope_of(response).await;
        assert_eq!(body["correlation_id"], header.as_str());
        assert_eq!(
            uuid::Uuid::parse_str(&header).unwrap().get_version_num(),
            7,
            "{header}"
        );
    }
}

#[tokio::test]
async fn an_unknown_route_is_a_404_envelope_from_the_gateway() {
    let app = spawn_gateway_only().await;
    let (status, body) = app.get_json("/api/v1/nothing-here").await;
    assert_eq!(status, 404);
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["service"], "gateway");
    assert_eq!(body["data"], json!(null));
}

#[tokio::test]
async fn correlation_and_trace_reach_the_service_but_a_spoofed_user_header_does_not() {
    let app = spawn_gateway_only().await;
    // A responder the server has registered before the gateway's request can arrive.
    let mut requests = testkit::listen(&app.bus, GetSymbol::SUBJECT).await;
    let responder = app.bus.client().clone();
    let seen = tokio::spawn(async move {
        let message = requests.next().await.expect("the gateway's request");
        let reply = json!({"symbol":"AAPL","name":"Apple","exchange":"NASDAQ","currency":"USD","asset_type":"stock"});
        responder
            .publish(message.reply.clone().unwrap(), reply.to_string().into())
            .await
            .unwrap();
        message.headers.expect("headers")
    });
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = app
        .http
        .get(app.url("/api/v1/stocks/AAPL"))
        .header("X-Correlation-Id", "corr-spoof-test")
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .header(USER_ID, "0193b0f4-8a4e-7c3a-9d1e-5b2f6c7d8e9f")
        .header(USER_ROLES, "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = seen.await.unwrap();
    assert_eq!(
        headers.get(CORRELATION_ID).unwrap().as_str(),
        "corr-spoof-test"
    );
    assert!(
        headers.get(TRACEPARENT).unwrap().as_str().contains(trace),
        "the caller's trace is continued"
    );
    assert!(
        headers.get(USER_ID).is_none(),
        "a client-sent user id must never reach a service"
    );
    assert!(
        headers.get(USER_ROLES).is_none(),
        "client-sent roles must never reach a service"
    );
}
