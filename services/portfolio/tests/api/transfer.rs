//! Ghostfolio import and export through the service: all or nothing, and a round trip that
//! keeps the performance to the digit.

use bus::ErrorCode;
use contracts::portfolio::{
    ExportActivities, FileFormat, GetPerformance, ImportActivities, ListActivities,
};
use rust_decimal_macros::dec;

use crate::helpers::{User, code, day, spawn_app};

const CSV: &str = "date,symbol,currency,unitprice,qty,action,commission,comment\n\
    15-01-2024,AAPL,USD,100.5,10,buy,1.5,first\n\
    16/01/2024,BRK.B,USD,400,2,BUY,0,\n\
    17.01.2024,AAPL,USD,110,4,sell,1,\n\
    20240118,AAPL,USD,0.24,6,dividend,0,\n\
    2024-01-19T00:00:00.000Z,,USD,0,0,fee,2.5,custody\n";

fn listing(portfolio_id: uuid::Uuid) -> ListActivities {
    ListActivities {
        portfolio_id,
        symbol: None,
        from: None,
        to: None,
        page: None,
        limit: None,
    }
}

#[tokio::test]
async fn a_csv_import_is_all_or_nothing_with_the_bad_line_named() {
    let app = spawn_app().await;
    let user = User::new();
    let portfolio = app.portfolio(&user, "USD").await;
    let bad = format!("{CSV}2024-01-20,AAPL,USD,oops,1,buy,0,\n");
    let err = app
        .call(
            &user,
            ImportActivities {
                portfolio_id: portfolio.id,
                format: FileFormat::Csv,
                content: bad,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed);
    let bus::BusError::Service { details, .. } = err else {
        panic!()
    };
    assert_eq!(
        details.unwrap(),
        serde_json::json!({"line": 7, "field": "unit_price"})
    );
    assert_eq!(
        app.call(&user, listing(portfolio.id))
            .await
            .unwrap()
            .pagination
            .total,
        0
    );
    let oversold =
        "Date,Code,Price,Quantity,Action\n2024-01-02,AAPL,1,1,buy\n2024-01-03,AAPL,1,2,sell\n";
    let err = app
        .call(
            &user,
            ImportActivities {
                portfolio_id: portfolio.id,
                format: FileFormat::Csv,
                content: oversold.into(),
            },
        )
        .await
        .unwrap_err();
    let bus::BusError::Service { details, .. } = err else {
        panic!()
    };
    assert_eq!(details.unwrap()["line"], 3);
    let imported = app
        .call(
            &user,
            ImportActivities {
                portfolio_id: portfolio.id,
                format: FileFormat::Csv,
                content: CSV.into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(imported.imported, 5);
    assert_eq!(
        app.call(&user, listing(portfolio.id))
            .await
            .unwrap()
            .pagination
            .total,
        5
    );
    app.stop().await;
}

#[tokio::test]
async fn export_then_import_round_trips_to_identical_performance() {
    let app = spawn_app().await;
    let user = User::new();
    app.closes("AAPL", &[("2024-01-31", dec!(120.25))]).await;
    let source = app.portfolio(&user, "USD").await;
    app.call(
        &user,
        ImportActivities {
            portfolio_id: source.id,
            format: FileFormat::Csv,
            content: CSV.into(),
        },
    )
    .await
    .unwrap();
    let performance = |portfolio_id| GetPerformance {
        portfolio_id,
        as_of: Some(day("2024-02-01")),
        range: None,
    };
    let expected = app
        .call(&user, performance(source.id))
        .await
        .unwrap()
        .performance;
    assert_eq!(expected.fees, dec!(5));
    for format in [FileFormat::Csv, FileFormat::Json] {
        let exported = app
            .call(
                &user,
                ExportActivities {
                    portfolio_id: source.id,
                    format,
                },
            )
            .await
            .unwrap();
        let copy = app.portfolio(&user, "USD").await;
        app.call(
            &user,
            ImportActivities {
                portfolio_id: copy.id,
                format,
                content: exported.content,
            },
        )
        .await
        .unwrap();
        let got = app
            .call(&user, performance(copy.id))
            .await
            .unwrap()
            .performance;
        assert_eq!(got, expected, "{format:?}");
    }
    let not_json = app
        .call(
            &user,
            ImportActivities {
                portfolio_id: source.id,
                format: FileFormat::Json,
                content: "{}".into(),
            },
        )
        .await;
    assert_eq!(code(not_json), ErrorCode::ValidationFailed);
    app.stop().await;
}
