//! `/api/v1/stocks/{symbol}/history`: reads by range, imports as JSON or CSV.

use serde_json::json;

use crate::helpers::{closes, spawn_app};

#[tokio::test]
async fn history_reads_the_seeded_reference_close() {
    let app = spawn_app().await;
    let (status, body) = app
        .get_json("/api/v1/stocks/AAPL/history?from=2026-11-20&to=2026-11-20")
        .await;
    assert_eq!(status, 200, "{body}");
    let closes = closes(&body);
    assert_eq!(closes.len(), 1, "{body}");
    assert_eq!(closes[0].0, "2026-11-20");
}

#[tokio::test]
async fn history_imported_as_json_reads_back_in_date_order() {
    let app = spawn_app().await;
    let body = json!({"closes": [
        {"date": "2026-10-02", "close": "101.50"},
        {"date": "2026-10-01", "close": "100.25"},
    ]});
    let (status, reply) = app.post_json("/api/v1/stocks/MSFT/history", &body).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["data"]["rows"], 2);
    let (status, read) = app
        .get_json("/api/v1/stocks/MSFT/history?from=2026-10-01&to=2026-10-02")
        .await;
    assert_eq!(status, 200, "{read}");
    let closes = closes(&read);
    let dates: Vec<&str> = closes.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(dates, ["2026-10-01", "2026-10-02"]);
}

#[tokio::test]
async fn history_imported_as_csv_reads_back() {
    let app = spawn_app().await;
    let csv = "date,close\n2026-09-01,50.5\n2026-09-02,51\n";
    let (status, reply) = app
        .post_raw(
            "/api/v1/stocks/AAPL/history",
            "text/csv; charset=utf-8",
            csv,
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["data"]["rows"], 2);
    let (_, read) = app
        .get_json("/api/v1/stocks/AAPL/history?from=2026-09-01&to=2026-09-30")
        .await;
    assert_eq!(closes(&read).len(), 2, "{read}");
}

#[tokio::test]
async fn history_refuses_a_range_that_ends_before_it_starts() {
    let app = spawn_app().await;
    let (status, body) = app
        .get_json("/api/v1/stocks/AAPL/history?from=2026-11-20&to=2026-11-01")
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed");
}

#[tokio::test]
async fn history_refuses_a_date_that_is_not_iso() {
    let app = spawn_app().await;
    let (status, body) = app
        .get_json("/api/v1/stocks/AAPL/history?from=20.11.2026")
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");
}

#[tokio::test]
async fn history_import_refuses_other_content_types_with_415() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_raw("/api/v1/stocks/AAPL/history", "text/plain", "date,close\n")
        .await;
    assert_eq!(status, 415, "{body}");
    assert_eq!(body["error"]["code"], "unsupported_media_type");
}

#[tokio::test]
async fn history_import_reports_an_invalid_row_from_market_as_422() {
    let app = spawn_app().await;
    let csv = "date,close\n2026-09-01,-3\n";
    let (status, body) = app
        .post_raw("/api/v1/stocks/AAPL/history", "text/csv", csv)
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["service"], "market");
}
