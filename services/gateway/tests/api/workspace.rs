//! `/api/v1/workspace`, `/api/v1/files`, `/api/v1/git` and the `workspace` topic, through the
//! gateway to a real workspace instance: 20 MB each way, If-Match, traversal in the URL,
//! another user's project, live file events.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Spawn, TestApp, WsClient, envelope_of, spawn};

async fn spawn_workspace() -> TestApp {
    spawn(Spawn {
        workspace: true,
        ..Spawn::default()
    })
    .await
}

async fn project(app: &TestApp, token: &str, name: &str) -> String {
    let (status, body) = app
        .post_json_as(
            Some(token),
            "/api/v1/workspace/projects",
            &json!({ "name": name }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["data"]["id"].as_str().unwrap().to_owned()
}

async fn put(
    app: &TestApp,
    token: &str,
    project: &str,
    path: &str,
    body: Vec<u8>,
    if_match: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .http
        .put(app.url(&format!("/api/v1/files/{path}?project_id={project}")))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(body);
    if let Some(etag) = if_match {
        request = request.header("if-match", etag);
    }
    request.send().await.unwrap()
}

async fn get(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    app.send_as(
        Method::GET,
        Some(token),
        &format!("/api/v1/files?{query}"),
        None,
    )
    .await
}

#[tokio::test]
async fn a_20_mb_file_round_trips_through_the_gateway_with_its_checksum() {
    let app = spawn_workspace().await;
    let (_, token) = app.signed_in("big@example.com").await;
    let id = project(&app, &token, "data").await;
    let data: Vec<u8> = (0..20 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let response = put(&app, &token, &id, "models/weights.bin", data.clone(), None).await;
    let (status, body) = envelope_of(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["size"], data.len() as u64);
    let etag = body["data"]["etag"].as_str().unwrap().to_owned();

    let response = get(
        &app,
        &token,
        &format!("project_id={id}&path=models/weights.bin"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert_eq!(headers["content-length"], data.len().to_string().as_str());
    assert_eq!(headers["etag"], format!("\"{etag}\"").as_str());
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("weights.bin")
    );
    let back = response.bytes().await.unwrap();
    assert_eq!(Sha256::digest(&back), Sha256::digest(&data));

    // One byte more than 20 MiB is refused, and the file stays as it was.
    let over = put(
        &app,
        &token,
        &id,
        "models/weights.bin",
        vec![0; 20 * 1024 * 1024 + 1],
        None,
    )
    .await;
    let (status, body) = envelope_of(over).await;
    assert_eq!(status, 413, "{body}");
    let response = get(
        &app,
        &token,
        &format!("project_id={id}&path=models/weights.bin"),
    )
    .await;
    assert_eq!(response.headers()["etag"], format!("\"{etag}\"").as_str());
}

#[tokio::test]
async fn text_comes_inline_with_an_etag_and_a_stale_if_match_is_412() {
    let app = spawn_workspace().await;
    let (_, token) = app.signed_in("edit@example.com").await;
    let id = project(&app, &token, "notes").await;
    let (status, body) = app
        .post_json_as(
            Some(&token),
            "/api/v1/files",
            &json!({ "project_id": id, "path": "today.md", "content": "# Today\n" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, again) = app
        .post_json_as(
            Some(&token),
            "/api/v1/files",
            &json!({ "project_id": id, "path": "today.md", "content": "x" }),
        )
        .await;
    assert_eq!(status, 409, "{again}");
    let (status, dir) = app
        .post_json_as(
            Some(&token),
            "/api/v1/files",
            &json!({ "project_id": id, "path": "archive/2026", "kind": "directory" }),
        )
        .await;
    assert_eq!(status, 201, "{dir}");

    let (status, file) =
        envelope_of(get(&app, &token, &format!("project_id={id}&path=today.md")).await).await;
    assert_eq!(status, 200);
    assert_eq!(file["data"]["kind"], "file");
    assert_eq!(file["data"]["content"], "# Today\n");
    let etag = format!("\"{}\"", file["data"]["etag"].as_str().unwrap());
    assert_eq!(
        etag,
        body["data"]["etag"]
            .as_str()
            .map(|e| format!("\"{e}\""))
            .unwrap()
    );

    let response = put(
        &app,
        &token,
        &id,
        "today.md",
        b"# Today, edited\n".to_vec(),
        Some(&etag),
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = put(
        &app,
        &token,
        &id,
        "today.md",
        b"# Lost update\n".to_vec(),
        Some(&etag),
    )
    .await;
    let (status, stale) = envelope_of(response).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{stale}");
    assert_eq!(stale["error"]["code"], "precondition_failed");
    let (_, file) =
        envelope_of(get(&app, &token, &format!("project_id={id}&path=today.md")).await).await;
    assert_eq!(file["data"]["content"], "# Today, edited\n");

    let (status, listing) = envelope_of(get(&app, &token, &format!("project_id={id}")).await).await;
    assert_eq!(status, 200);
    assert_eq!(listing["data"]["kind"], "directory");
    let names: Vec<_> = listing["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["archive", ".gitignore", "README.md", "today.md"]);

    let moved = app
        .send_as(
            Method::PATCH,
            Some(&token),
            &format!("/api/v1/files/today.md?project_id={id}"),
            Some(&json!({ "to": "archive/2026/today.md" })),
        )
        .await;
    assert_eq!(moved.status(), 200);
    let deleted = app
        .send_as(
            Method::DELETE,
            Some(&token),
            &format!("/api/v1/files/archive?project_id={id}&recursive=true"),
            None,
        )
        .await;
    assert_eq!(deleted.status(), 200);
    let (status, _) =
        envelope_of(get(&app, &token, &format!("project_id={id}&path=archive")).await).await;
    assert_eq!(status, 404);

    // Commit through /api/v1/git as the signed-in user.
    let (status, commit) = app
        .post_json_as(
            Some(&token),
            "/api/v1/git/commit",
            &json!({ "project_id": id, "message": "Notes", "all": true }),
        )
        .await;
    assert_eq!(status, 201, "{commit}");
    assert_eq!(commit["data"]["author_email"], "edit@example.com");
    let (status, log) = app
        .get_json_as(&token, &format!("/api/v1/git/log?project_id={id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(log["data"]["commits"][0]["summary"], "Notes");
}

#[tokio::test]
async fn traversal_in_the_url_is_refused_at_the_edge_and_changes_nothing() {
    let app = spawn_workspace().await;
    let (user, token) = app.signed_in("trav@example.com").await;
    let id = project(&app, &token, "safe").await;
    let home = crate::helpers::workspace_root(&app.env).join(&user);
    for raw in [
        "%2e%2e/escape.txt",
        "%2E%2E/%2e%2e/escape.txt",
        "a/%2e%2e/%2e%2e/escape.txt",
        "..%2fescape.txt",
        "%2fetc%2fpasswd",
        "a%00b",
        "..%5cescape.txt",
        ".git/config",
        "%2egit/hooks/pre-commit",
    ] {
        // reqwest would normalise `..`; the raw path goes as written.
        let url = format!("{}/api/v1/files/{raw}?project_id={id}", app.address);
        let response = app
            .http
            .put(url)
            .bearer_auth(&token)
            .body("pwned")
            .send()
            .await
            .unwrap();
        let (status, body) = envelope_of(response).await;
        assert!(
            status == 422 || status == 400 || status == 404,
            "{raw}: {status} {body}"
        );
        assert!(
            !body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{raw}: a clear error"
        );
        let query = format!("project_id={id}&path={raw}");
        let (status, _) = envelope_of(get(&app, &token, &query).await).await;
        assert!(status == 422 || status == 400, "GET {raw}: {status}");
    }
    assert!(!home.join("escape.txt").exists());
    assert!(
        !crate::helpers::workspace_root(&app.env)
            .join("escape.txt")
            .exists()
    );
    let config = std::fs::read_to_string(home.join("safe/.git/config")).unwrap();
    assert!(!config.contains("pwned"));
}

#[tokio::test]
async fn another_users_project_is_404_on_every_route() {
    let app = spawn_workspace().await;
    let (_, owner) = app.signed_in("owner@example.com").await;
    let (_, intruder) = app.signed_in("intruder@example.com").await;
    let id = project(&app, &owner, "private").await;
    let response = put(&app, &owner, &id, "plan.txt", b"buy low".to_vec(), None).await;
    assert_eq!(response.status(), 200);
    let body = |v: Value| Some(v);
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::GET,
            format!("/api/v1/workspace/projects/{id}"),
            None,
        ),
        (
            Method::PUT,
            format!("/api/v1/workspace/projects/{id}"),
            body(json!({ "name": "mine" })),
        ),
        (
            Method::DELETE,
            format!("/api/v1/workspace/projects/{id}"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/workspace/projects/{id}/stats"),
            None,
        ),
        (Method::GET, format!("/api/v1/files?project_id={id}"), None),
        (
            Method::GET,
            format!("/api/v1/files?project_id={id}&path=plan.txt"),
            None,
        ),
        (
            Method::POST,
            "/api/v1/files".into(),
            body(json!({ "project_id": id, "path": "x.txt" })),
        ),
        (
            Method::PUT,
            format!("/api/v1/files/plan.txt?project_id={id}"),
            body(json!("sell")),
        ),
        (
            Method::PATCH,
            format!("/api/v1/files/plan.txt?project_id={id}"),
            body(json!({ "to": "y.txt" })),
        ),
        (
            Method::DELETE,
            format!("/api/v1/files/plan.txt?project_id={id}"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/git/status?project_id={id}"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/git/diff?project_id={id}"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/git/log?project_id={id}"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/git/branches?project_id={id}"),
            None,
        ),
        (
            Method::POST,
            "/api/v1/git/branches".into(),
            body(json!({ "project_id": id, "name": "x" })),
        ),
        (
            Method::POST,
            "/api/v1/git/checkout".into(),
            body(json!({ "project_id": id, "name": "main" })),
        ),
        (
            Method::POST,
            "/api/v1/git/commit".into(),
            body(json!({ "project_id": id, "message": "m", "all": true })),
        ),
        (
            Method::POST,
            "/api/v1/git/push".into(),
            body(json!({ "project_id": id })),
        ),
        (
            Method::POST,
            "/api/v1/git/pull".into(),
            body(json!({ "project_id": id })),
        ),
    ];
    for (method, path, body) in attempts {
        let response = app
            .send_as(method.clone(), Some(&intruder), &path, body.as_ref())
            .await;
        let (status, reply) = envelope_of(response).await;
        assert_eq!(status, 404, "{method} {path}: {reply}");
        assert!(!reply.to_string().contains("buy low"));
    }
    let (_, list) = app
        .get_json_as(&intruder, "/api/v1/workspace/projects")
        .await;
    assert_eq!(list["data"]["projects"], json!([]));
    let anonymous = app
        .send_as(Method::GET, None, "/api/v1/workspace/projects", None)
        .await;
    assert_eq!(anonymous.status(), 401);
    let (_, file) =
        envelope_of(get(&app, &owner, &format!("project_id={id}&path=plan.txt")).await).await;
    assert_eq!(file["data"]["content"], "buy low");
}

async fn signed_in_ws(app: &TestApp, token: &str) -> WsClient {
    let mut ws = app.ws().await;
    ws.send(json!({"type": "auth", "token": token})).await;
    assert_eq!(ws.next_frame().await["type"], "authenticated");
    ws
}

#[tokio::test]
async fn the_workspace_topic_follows_the_users_own_projects() {
    let app = spawn_workspace().await;
    let (_, token) = app.signed_in("live@example.com").await;
    let (_, other) = app.signed_in("other@example.com").await;
    let id = project(&app, &token, "live").await;

    let mut stranger = signed_in_ws(&app, &other).await;
    stranger
        .send(json!({"type": "subscribe", "topic": "workspace", "keys": [id]}))
        .await;
    let refused = stranger.next_frame().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "not_found");

    let mut ws = signed_in_ws(&app, &token).await;
    ws.send(json!({"type": "subscribe", "topic": "workspace", "keys": [id]}))
        .await;
    assert_eq!(ws.next_frame().await["type"], "subscribed");
    let response = put(
        &app,
        &token,
        &id,
        "strategy.py",
        b"print('hi')\n".to_vec(),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let frame = ws.next_frame().await;
    assert_eq!(frame["type"], "event", "{frame}");
    assert_eq!(frame["topic"], "workspace");
    assert_eq!(frame["data"]["kind"], "file_created");
    assert_eq!(frame["data"]["path"], "strategy.py");
    assert_eq!(frame["data"]["project_id"], id.as_str());
}
