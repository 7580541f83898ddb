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

#[tokio::test]
async fn a_long_history_is_gzipped_for_a_client_that_accepts_it_and_a_small_answer_is_not() {
    use std::io::Read;

    let app = spawn_app().await;
    let start = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let rows: Vec<_> = (0..200)
        .map(|day| {
            let date = start + chrono::Days::new(day);
            json!({"date": date.to_string(), "close": format!("{}.25", 100 + day)})
        })
        .collect();
    let (status, reply) = app
        .post_json("/api/v1/stocks/MSFT/history", &json!({ "closes": rows }))
        .await;
    assert_eq!(status, 200, "{reply}");

    let path = "/api/v1/stocks/MSFT/history?from=2025-01-01&to=2025-12-31";
    let plain = app.get(path).await;
    assert_eq!(plain.headers().get("content-encoding"), None);
    let plain: serde_json::Value = plain.json().await.unwrap();
    assert_eq!(closes(&plain).len(), 200, "{plain}");

    let gzipped = app
        .http
        .get(app.url(path))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.status(), 200);
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    assert_eq!(gzipped.headers()["vary"], "accept-encoding");
    let compressed = gzipped.bytes().await.unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_string(&mut text)
        .unwrap();
    let unpacked: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(closes(&unpacked), closes(&plain));
    assert!(
        compressed.len() * 3 < text.len(),
        "{} bytes gzipped from {}",
        compressed.len(),
        text.len()
    );

    // A symbol's record is a few hundred bytes: under the threshold, sent as it is.
    let quote = app
        .http
        .get(app.url("/api/v1/stocks/AAPL"))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(quote.status(), 200);
    assert_eq!(quote.headers().get("content-encoding"), None);
    let quote: serde_json::Value = quote.json().await.unwrap();
    assert_eq!(quote["data"]["symbol"], "AAPL", "{quote}");
}
