//! Bearer authentication at the edge, with the real identity service: sessions through HTTP,
//! tokens that must be refused, the verified user on the NATS request, and roles.

use std::time::Duration;

use auth::{Role, TokenKeys};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use contracts::{Request, identity::GetUser, market::GetSymbol};
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{SECRET, TestApp, envelope_of, mint, spawn_app};

/// Asserts a 401 `unauthorized` envelope with a Bearer challenge; `invalid` expects
/// `error="invalid_token"` in it.
async fn assert_unauthorized(response: reqwest::Response, invalid: bool) {
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .expect("a WWW-Authenticate header");
    let (status, body) = envelope_of(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized", "{body}");
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert_eq!(
        challenge.contains(r#"error="invalid_token""#),
        invalid,
        "{challenge}"
    );
}

async fn me_with(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    app.send_as(Method::GET, token, "/api/v1/users/me", None)
        .await
}

#[tokio::test]
async fn register_then_login_then_a_protected_route_answers_the_account() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    assert_eq!(user["email"], "ada@example.com");
    let session = app.login("ADA@example.com ").await;
    assert_eq!(session["token_type"], "Bearer");
    let token = session["access_token"].as_str().unwrap();
    let (status, me) = app.get_json_as(token, "/api/v1/users/me").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["data"]["id"], user["id"]);
    assert_eq!(me["service"], "identity");

    let (status, claims) = app.get_json_as(token, "/api/v1/auth/validate").await;
    assert_eq!(status, 200, "{claims}");
    assert_eq!(claims["data"]["user_id"], user["id"]);
    assert_eq!(claims["data"]["roles"], json!(["user"]));
}

#[tokio::test]
async fn refresh_rotates_and_logout_ends_the_session() {
    let app = spawn_app().await;
    app.register("rot@example.com").await;
    let session = app.login("rot@example.com").await;
    let first = session["refresh_token"].clone();
    let (status, renewed) = app
        .post_json_as(
            None,
            "/api/v1/auth/refresh",
            &json!({"refresh_token": first}),
        )
        .await;
    assert_eq!(status, 200, "{renewed}");
    let second = renewed["data"]["refresh_token"].clone();
    assert_ne!(first, second);
    let token = renewed["data"]["access_token"].as_str().unwrap();
    let (status, out) = app
        .post_json_as(
            Some(token),
            "/api/v1/auth/logout",
            &json!({"refresh_token": second}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let (status, body) = app
        .post_json_as(
            None,
            "/api/v1/auth/refresh",
            &json!({"refresh_token": second}),
        )
        .await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn a_login_body_cannot_choose_its_client_address() {
    let app = spawn_app().await;
    app.register("ip@example.com").await;
    let body = json!({"email": "ip@example.com", "password": crate::helpers::PASSWORD,
                      "client": {"ip": "1.2.3.4"}});
    let (status, reply) = app.post_json_as(None, "/api/v1/auth/login", &body).await;
    assert_eq!(status, 422, "{reply}");
}

#[tokio::test]
async fn a_protected_route_without_a_token_is_401_with_a_bearer_challenge() {
    let app = spawn_app().await;
    assert_unauthorized(me_with(&app, None).await, false).await;
    let basic = app
        .http
        .get(app.url("/api/v1/users/me"))
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    assert_unauthorized(basic, true).await;
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn forged_expired_and_foreign_tokens_are_refused_with_invalid_token() {
    let app = spawn_app().await;
    let (_, token) = app.signed_in("eve@example.com").await;
    assert_eq!(me_with(&app, Some(&token)).await.status(), 200);

    // alg none: the claims of a real token, no signature.
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        token.split('.').nth(1).unwrap()
    );
    // Tampered roles: admin written into a real token's claims, the signature kept.
    let mut claims = claims_of(&token);
    claims["roles"] = json!(["user", "admin"]);
    let parts: Vec<&str> = token.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
    // Signed with another key.
    let other = TokenKeys::hs256(
        b"an-entirely-different-key-9f86d081884c7d659a2f",
        "bourse",
        "bourse-api",
        false,
    )
    .unwrap();
    let user = uuid::Uuid::parse_str(claims["sub"].as_str().unwrap()).unwrap();
    let wrong_key = mint(&other, user, vec![Role::User]);
    // Expired (beyond the leeway), wrong issuer, wrong audience.
    let expired = {
        let claims = app.keys.claims(
            user,
            vec![Role::User],
            Duration::from_secs(60),
            Utc::now() - chrono::Duration::minutes(10),
        );
        app.keys.issue(&claims).unwrap()
    };
    let foreign_iss = mint(
        &TokenKeys::hs256(SECRET.as_bytes(), "someone-else", "bourse-api", false).unwrap(),
        user,
        vec![Role::User],
    );
    let foreign_aud = mint(
        &TokenKeys::hs256(SECRET.as_bytes(), "bourse", "another-api", false).unwrap(),
        user,
        vec![Role::User],
    );
    for (name, bad) in [
        ("alg none", none),
        ("tampered roles", tampered),
        ("wrong key", wrong_key),
        ("expired", expired),
        ("wrong issuer", foreign_iss),
        ("wrong audience", foreign_aud),
        ("garbage", "not.a.jwt".to_owned()),
    ] {
        let response = me_with(&app, Some(&bad)).await;
        assert_eq!(response.status(), 401, "{name}");
        assert_unauthorized(response, true).await;
    }
}

#[tokio::test]
async fn a_client_sent_user_header_is_ignored_and_the_verified_user_reaches_nats() {
    let app = spawn_app().await;
    let (user_id, token) = app.signed_in("real@example.com").await;
    // Listen to what the gateway sends identity, beside the service's own queue group.
    let mut requests = testkit::listen(&app.bus, GetUser::SUBJECT).await;
    let spoofed = "0190a000-0000-7000-8000-000000000001";
    let response = app
        .http
        .get(app.url("/api/v1/users/me"))
        .bearer_auth(&token)
        .header("bourse-user-id", spoofed)
        .header("bourse-user-roles", "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = tokio::time::timeout(Duration::from_secs(5), requests.next())
        .await
        .expect("the request in time")
        .unwrap();
    let headers = seen.headers.expect("headers");
    assert_eq!(headers.get("Bourse-User-Id").unwrap().as_str(), user_id);
    assert_eq!(headers.get("Bourse-User-Roles").unwrap().as_str(), "user");

    // Without a token, a spoofed header buys nothing either.
    let response = app
        .http
        .get(app.url("/api/v1/users/me"))
        .header("bourse-user-id", spoofed)
        .send()
        .await
        .unwrap();
    assert_unauthorized(response, false).await;
}

#[tokio::test]
async fn a_public_read_with_a_valid_token_acts_for_its_user_and_without_one_is_anonymous() {
    let app = spawn_app().await;
    let (user_id, token) = app.signed_in("reader@example.com").await;
    let mut requests = testkit::listen(&app.bus, GetSymbol::SUBJECT).await;

    for (token, expected) in [
        (Some(token.as_str()), Some(user_id.as_str())),
        (Some("garbage"), None),
        (None, None),
    ] {
        let mut request = app.http.get(app.url("/api/v1/stocks/AAPL"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        assert_eq!(request.send().await.unwrap().status(), 200);
        let seen = tokio::time::timeout(Duration::from_secs(5), requests.next())
            .await
            .expect("the request in time")
            .unwrap();
        let user = seen
            .headers
            .as_ref()
            .and_then(|h| h.get("Bourse-User-Id"))
            .map(|v| v.as_str().to_owned());
        assert_eq!(user.as_deref(), expected, "token {token:?}");
    }
}

#[tokio::test]
async fn user_a_cannot_read_change_or_delete_user_b_but_an_admin_can() {
    let app = spawn_app().await;
    let (a_id, a) = app.signed_in("a@example.com").await;
    let (b_id, b) = app.signed_in("b@example.com").await;
    let (_, admin) = app.signed_in_admin("root@example.com").await;
    let b_path = format!("/api/v1/users/{b_id}");
    let rename = json!({"name": "Mallory"});

    let (status, body) = app.get_json_as(&a, &b_path).await;
    assert_eq!(status, 403, "{body}");
    let response = app
        .send_as(Method::PUT, Some(&a), &b_path, Some(&rename))
        .await;
    assert_eq!(response.status(), 403);
    let response = app.send_as(Method::DELETE, Some(&a), &b_path, None).await;
    assert_eq!(response.status(), 403);
    let (status, body) = app.get_json_as(&a, "/api/v1/users").await;
    assert_eq!(status, 403, "{body}");
    let roles = json!({"roles": ["admin"]});
    let own = format!("/api/v1/users/{a_id}/roles");
    let response = app.send_as(Method::PUT, Some(&a), &own, Some(&roles)).await;
    assert_eq!(response.status(), 403, "nobody grants themself a role");

    // Their own account, they may.
    let (status, body) = app.get_json_as(&b, &b_path).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.get_json_as(&a, &format!("/api/v1/users/{a_id}")).await;
    assert_eq!(status, 200, "{body}");

    // An admin may read, change, list and delete anyone.
    let (status, body) = app.get_json_as(&admin, &b_path).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = envelope_of(
        app.send_as(Method::PUT, Some(&admin), &b_path, Some(&rename))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["name"], "Mallory");
    let (status, page) = app
        .get_json_as(&admin, "/api/v1/users?page=1&limit=2")
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"].as_array().unwrap().len(), 2, "{page}");
    assert_eq!(
        page["pagination"],
        json!({"page": 1, "limit": 2, "total": 3, "total_pages": 2})
    );
    let (status, body) = envelope_of(
        app.send_as(
            Method::PUT,
            Some(&admin),
            &format!("{b_path}/roles"),
            Some(&json!({"roles": ["admin"]})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["data"]["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("admin")),
        "{body}"
    );
    let (status, body) = envelope_of(
        app.send_as(Method::DELETE, Some(&admin), &b_path, None)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.get_json_as(&admin, &b_path).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn only_admins_may_add_symbols_or_import_history() {
    let app = spawn_app().await;
    let (_, user) = app.signed_in("trader@example.com").await;
    let (_, admin) = app.signed_in_admin("ops@example.com").await;
    let symbol = json!({"symbol":"ZZAD","name":"Admin Test Co","exchange":"NASDAQ","currency":"USD","asset_type":"stock"});
    let (status, body) = app
        .post_json_as(Some(&user), "/api/v1/stocks", &symbol)
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    let (status, body) = app.post_json_as(None, "/api/v1/stocks", &symbol).await;
    assert_eq!(status, 401, "{body}");
    let closes = json!({"closes": [{"date": "2026-10-01", "close": "1"}]});
    let (status, body) = app
        .post_json_as(Some(&user), "/api/v1/stocks/AAPL/history", &closes)
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = app
        .post_json_as(Some(&admin), "/api/v1/stocks", &symbol)
        .await;
    assert_eq!(status, 201, "{body}");
    // The public reads stay public, whatever the Authorization header says.
    let response = app
        .http
        .get(app.url("/api/v1/stocks/ZZAD"))
        .bearer_auth("expired.or.garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_openapi_document_has_a_bearer_scheme_on_protected_routes_only() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let paths = &doc["paths"];
    assert!(paths["/api/v1/users/me"]["get"]["security"].is_array());
    assert!(paths["/api/v1/stocks"]["post"]["security"].is_array());
    assert!(paths["/api/v1/stocks"]["get"]["security"].is_null());
    assert!(paths["/api/v1/auth/login"]["post"]["security"].is_null());
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/validate",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/users/{id}/roles",
    ] {
        assert!(paths[path].is_object(), "{path} is documented");
    }
}
