//! Tickers as users write them, end to end through the gateway: created in the catalogue,
//! history imported and read back, quoted by the live feed, and seen on `/ws` with the
//! original spelling (the subject carries the ticker's token).

use std::{collections::BTreeMap, time::Duration};

use serde_json::{Value, json};

use crate::helpers::{Spawn, TestApp, closes, event_of, spawn};

/// (ticker, name, exchange, currency, asset type); BTC-USD is in the seeded catalogue.
const TICKERS: [(&str, &str, &str, &str, &str); 8] = [
    ("BALN.SW", "Baloise Holding AG", "SIX", "CHF", "stock"),
    ("NOVN.SW", "Novartis AG", "SIX", "CHF", "stock"),
    ("VOD.L", "Vodafone Group plc", "LSE", "GBP", "stock"),
    (
        "BRK.B",
        "Berkshire Hathaway Inc. Class B",
        "NYSE",
        "USD",
        "stock",
    ),
    (
        "RDS-A",
        "Royal Dutch Shell plc Class A",
        "NYSE",
        "USD",
        "stock",
    ),
    ("^GSPC", "S&P 500", "INDEX", "USD", "index"),
    ("EURUSD=X", "EUR/USD", "FX", "USD", "currency"),
    ("BTC-USD", "Bitcoin USD", "CRYPTO", "USD", "crypto"),
];
const SEEDED: &str = "BTC-USD";

/// A ticker as a URL path segment: `^` is not a path character, `=` is one.
fn segment(ticker: &str) -> String {
    ticker.replace('^', "%5E")
}

/// `GET /api/v1/stocks/<ticker><rest>`, asserted 200 with the ticker spelled as written.
async fn get_stock(app: &TestApp, ticker: &str, rest: &str) -> Value {
    let (status, body) = app
        .get_json(&format!("/api/v1/stocks/{}{rest}", segment(ticker)))
        .await;
    assert_eq!(status, 200, "{ticker}{rest}: {body}");
    assert_eq!(body["data"]["symbol"], ticker, "{body}");
    body
}

async fn spawn_with_feed() -> TestApp {
    let market_config = market::Config {
        price_feed: market::FeedKind::Simulated,
        feed_interval: Duration::from_millis(100),
        feed_seed: Some(7),
        ..market::Config::default()
    };
    spawn(Spawn {
        market_config,
        ..Spawn::default()
    })
    .await
}

#[tokio::test]
async fn every_ticker_users_write_round_trips_through_catalogue_history_quotes_and_ws() {
    let app = spawn_with_feed().await;

    for (ticker, name, exchange, currency, asset_type) in TICKERS {
        if ticker != SEEDED {
            let body = json!({"symbol": ticker.to_lowercase(), "name": name, "exchange": exchange,
                "currency": currency, "asset_type": asset_type});
            let (status, created) = app.post_json("/api/v1/stocks", &body).await;
            assert_eq!(status, 201, "{ticker}: {created}");
            assert_eq!(created["data"]["symbol"], ticker, "{created}");
        }
        let read = get_stock(&app, ticker, "").await;
        assert_eq!(read["data"]["currency"], currency, "{read}");
        assert_eq!(read["data"]["asset_type"], asset_type, "{read}");

        let path = format!("/api/v1/stocks/{}/history", segment(ticker));
        let csv = "date,close\n2026-11-02,101.5\n2026-11-03,102.25\n";
        let (status, imported) = app.post_raw(&path, "text/csv", csv).await;
        assert_eq!(status, 200, "{ticker}: {imported}");
        assert_eq!(imported["data"]["rows"], 2, "{imported}");
        let history = get_stock(&app, ticker, "/history?from=2026-11-01&to=2026-11-10").await;
        assert_eq!(
            closes(&history),
            [
                ("2026-11-02".to_owned(), "101.50000000".to_owned()),
                ("2026-11-03".to_owned(), "102.25000000".to_owned())
            ],
            "{ticker}"
        );
    }

    // The feed picks the new symbols up at its next catalogue reload.
    let mut ws = app.ws().await;
    let symbols: Vec<&str> = TICKERS.iter().map(|t| t.0).collect();
    ws.subscribe(&symbols, None).await;
    let mut seen: BTreeMap<String, Value> = BTreeMap::new();
    while seen.len() < TICKERS.len() {
        let frame = ws.next_frame().await;
        assert_eq!(frame["type"], "event", "{frame}");
        // Asserts the subject is `evt.price.<token of data.symbol>`.
        let (_, symbol) = event_of(&frame);
        assert!(symbols.contains(&symbol.as_str()), "{frame}");
        seen.insert(symbol, frame);
    }
    assert_eq!(seen["BRK.B"]["subject"], "evt.price.BRK_B");
    assert_eq!(seen["^GSPC"]["subject"], "evt.price._GSPC");
    assert_eq!(seen["EURUSD=X"]["subject"], "evt.price.EURUSD=X");
    assert_eq!(seen["BALN.SW"]["data"]["currency"], "CHF");

    for (ticker, _, _, currency, _) in TICKERS {
        let quote = get_stock(&app, ticker, "/price").await;
        assert_eq!(quote["data"]["currency"], currency, "{quote}");
        assert_eq!(quote["data"]["source"], "simulated", "{quote}");
    }
}
