use bus::ErrorCode;
use chrono::NaiveDate;
use contracts::market::{DailyClose, GetPriceHistory, HistoryData, ImportPriceHistory};
use rust_decimal_macros::dec;
use sqlx::Executor;

use crate::helpers::{spawn_app, ticker};

fn range(from: &str, to: &str) -> contracts::DateRange {
    contracts::DateRange::new(Some(day(from)), Some(day(to))).unwrap()
}

fn day(d: &str) -> NaiveDate {
    d.parse().unwrap()
}

#[tokio::test]
async fn imported_csv_closes_are_returned_in_date_order_within_the_range() {
    let market = spawn_app(market::Config::default()).await;
    let csv = "date,close\n2026-01-05,101.50\n2026-01-02,100.00\n2026-01-06,99.25\n";

    let imported = market
        .call(ImportPriceHistory {
            symbol: ticker("MSFT"),
            data: HistoryData::Csv { text: csv.into() },
        })
        .await
        .unwrap();
    let history = market
        .call(GetPriceHistory {
            symbol: ticker("MSFT"),
            range: range("2026-01-01", "2026-01-05"),
        })
        .await
        .unwrap();

    assert_eq!(imported.rows, 3);
    assert_eq!(imported.first_date, Some(day("2026-01-02")));
    assert_eq!(
        history.closes,
        vec![
            DailyClose {
                date: day("2026-01-02"),
                close: dec!(100.00)
            },
            DailyClose {
                date: day("2026-01-05"),
                close: dec!(101.50)
            }
        ]
    );
    market.stop().await;
}

#[tokio::test]
async fn importing_again_replaces_the_close_of_a_day() {
    let market = spawn_app(market::Config::default()).await;
    let import = |close| ImportPriceHistory {
        symbol: ticker("MSFT"),
        data: HistoryData::Closes {
            closes: vec![DailyClose {
                date: day("2026-02-02"),
                close,
            }],
        },
    };

    market.call(import(dec!(10))).await.unwrap();
    market.call(import(dec!(12.5))).await.unwrap();

    let history = market
        .call(GetPriceHistory {
            symbol: ticker("MSFT"),
            range: range("2026-02-02", "2026-02-02"),
        })
        .await
        .unwrap();
    assert_eq!(
        history.closes,
        vec![DailyClose {
            date: day("2026-02-02"),
            close: dec!(12.5)
        }]
    );
    market.stop().await;
}

#[tokio::test]
async fn a_bad_row_refuses_the_whole_import_and_writes_nothing() {
    let market = spawn_app(market::Config::default()).await;
    let csv = "date,close\n2026-03-02,10\n2026-03-03,-4\n";

    let err = market
        .call(ImportPriceHistory {
            symbol: ticker("NVDA"),
            data: HistoryData::Csv { text: csv.into() },
        })
        .await
        .unwrap_err();

    assert_eq!(err.code(), ErrorCode::ValidationFailed);
    assert!(
        err.public_message().contains("line 3"),
        "{}",
        err.public_message()
    );
    let history = market
        .call(GetPriceHistory {
            symbol: ticker("NVDA"),
            range: range("2026-03-01", "2026-03-31"),
        })
        .await
        .unwrap();
    assert!(history.closes.is_empty());
    market.stop().await;
}

#[tokio::test]
async fn history_of_an_unknown_symbol_is_not_found_and_an_inverted_range_is_invalid() {
    let market = spawn_app(market::Config::default()).await;

    let unknown = market
        .call(GetPriceHistory {
            symbol: ticker("NOPE"),
            range: contracts::DateRange::default(),
        })
        .await
        .unwrap_err();
    let inverted = market
        .call_raw::<GetPriceHistory>(
            serde_json::json!({"symbol": "AAPL", "from": "2026-02-01", "to": "2026-01-01"}),
        )
        .await
        .unwrap_err();
    let import_unknown = market
        .call(ImportPriceHistory {
            symbol: ticker("NOPE"),
            data: HistoryData::Csv {
                text: "date,close\n2026-01-02,1\n".into(),
            },
        })
        .await
        .unwrap_err();

    assert_eq!(unknown.code(), ErrorCode::NotFound);
    assert_eq!(inverted.code(), ErrorCode::ValidationFailed);
    assert_eq!(import_unknown.code(), ErrorCode::NotFound);
    market.stop().await;
}

#[tokio::test]
async fn a_broken_database_answers_an_error_and_the_service_keeps_serving() {
    let market = spawn_app(market::Config::default()).await;
    market
        .pool
        .execute("alter table market.daily_close rename to daily_close_gone")
        .await
        .unwrap();

    let broken = market
        .call(GetPriceHistory {
            symbol: ticker("AAPL"),
            range: contracts::DateRange::default(),
        })
        .await
        .unwrap_err();
    let still_fine = market
        .call(contracts::market::GetSymbol {
            symbol: ticker("AAPL"),
        })
        .await;

    assert_eq!(broken.code(), ErrorCode::Internal);
    assert!(
        !broken.public_message().contains("daily_close"),
        "no internals leak"
    );
    assert!(still_fine.is_ok());
    market.stop().await;
}
