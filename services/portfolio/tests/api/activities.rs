//! Activities: all or nothing, never a sale of more than held, in the portfolio's currency.

use bus::ErrorCode;
use contracts::{
    Currency,
    market::GetSymbol,
    portfolio::{ActivityType, DeleteActivity, ListActivities, RecordActivities},
};
use rust_decimal_macros::dec;

use crate::helpers::{User, activity, buy, code, day, sell, spawn_app, ticker};

fn list(portfolio_id: uuid::Uuid) -> ListActivities {
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
async fn a_sale_of_more_than_held_is_refused_also_when_back_dated() {
    let app = spawn_app().await;
    let user = User::new();
    let portfolio = app.portfolio(&user, "USD").await;
    app.record(
        &user,
        &portfolio,
        vec![
            buy("2024-01-01", "AAPL", dec!(10), dec!(100)),
            sell("2024-01-10", "AAPL", dec!(10), dec!(110)),
        ],
    )
    .await
    .unwrap();
    // Selling 1 more now: only 0 held.
    let now = app
        .record(
            &user,
            &portfolio,
            vec![sell("2024-02-01", "AAPL", dec!(1), dec!(120))],
        )
        .await;
    let err = now.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed);
    // A back-dated SELL of 4 on the 5th is fine itself but leaves the SELL of the 10th short.
    let back_dated = app
        .record(
            &user,
            &portfolio,
            vec![sell("2024-01-05", "AAPL", dec!(4), dec!(105))],
        )
        .await;
    assert_eq!(code(back_dated), ErrorCode::ValidationFailed);
    let page = app.call(&user, list(portfolio.id)).await.unwrap();
    assert_eq!(page.pagination.total, 2, "nothing was written");
    app.stop().await;
}

#[tokio::test]
async fn deleting_a_buy_a_later_sale_needs_is_a_conflict() {
    let app = spawn_app().await;
    let user = User::new();
    let portfolio = app.portfolio(&user, "USD").await;
    let recorded = app
        .record(
            &user,
            &portfolio,
            vec![
                buy("2024-01-01", "AAPL", dec!(10), dec!(100)),
                buy("2024-01-02", "AAPL", dec!(5), dec!(100)),
                sell("2024-01-10", "AAPL", dec!(12), dec!(110)),
            ],
        )
        .await
        .unwrap();
    let first = recorded.activities[0].id;
    let refused = app
        .call(
            &user,
            DeleteActivity {
                portfolio_id: portfolio.id,
                activity_id: first,
            },
        )
        .await;
    let err = refused.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
    let second = recorded.activities[1].id;
    // Deleting the 5 leaves 10 for the 12 sold: a conflict too.
    assert_eq!(
        code(
            app.call(
                &user,
                DeleteActivity {
                    portfolio_id: portfolio.id,
                    activity_id: second
                }
            )
            .await
        ),
        ErrorCode::Conflict
    );
    let sale = recorded.activities[2].id;
    app.call(
        &user,
        DeleteActivity {
            portfolio_id: portfolio.id,
            activity_id: sale,
        },
    )
    .await
    .unwrap();
    app.call(
        &user,
        DeleteActivity {
            portfolio_id: portfolio.id,
            activity_id: first,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        app.call(&user, list(portfolio.id))
            .await
            .unwrap()
            .pagination
            .total,
        1
    );
    assert_eq!(
        code(
            app.call(
                &user,
                DeleteActivity {
                    portfolio_id: portfolio.id,
                    activity_id: first
                }
            )
            .await
        ),
        ErrorCode::NotFound
    );
    app.stop().await;
}

#[tokio::test]
async fn a_batch_is_all_or_nothing_and_names_the_bad_activity() {
    let app = spawn_app().await;
    let user = User::new();
    let portfolio = app.portfolio(&user, "USD").await;
    let mut in_chf = buy("2024-01-02", "NESN.SW", dec!(1), dec!(100));
    in_chf.currency = Currency::parse("CHF").unwrap();
    let refused = app
        .record(
            &user,
            &portfolio,
            vec![buy("2024-01-01", "AAPL", dec!(1), dec!(1)), in_chf],
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::ValidationFailed);
    let bus::BusError::Service {
        message, details, ..
    } = refused
    else {
        panic!()
    };
    assert!(
        message.contains("CHF") && message.contains("USD"),
        "{message}"
    );
    assert_eq!(details.unwrap()["index"], 1);
    assert_eq!(
        app.call(&user, list(portfolio.id))
            .await
            .unwrap()
            .pagination
            .total,
        0
    );
    // Well-formed JSON that breaks a rule is refused by the service too.
    let raw = app
        .call_raw::<RecordActivities>(
            &user,
            serde_json::json!({"portfolio_id": portfolio.id, "activities": [
                {"type": "BUY", "date": "2024-01-01", "quantity": "1", "unit_price": "1", "currency": "USD"}
            ]}),
        )
        .await;
    assert_eq!(code(raw), ErrorCode::ValidationFailed);
    let future = app
        .record(
            &user,
            &portfolio,
            vec![buy("2999-01-01", "AAPL", dec!(1), dec!(1))],
        )
        .await;
    assert_eq!(code(future), ErrorCode::ValidationFailed);
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_symbol_becomes_a_manual_one_and_suffixes_work_like_any_ticker() {
    let app = spawn_app().await;
    let user = User::new();
    let portfolio = app.portfolio(&user, "USD").await;
    app.record(
        &user,
        &portfolio,
        vec![
            buy("2024-01-02", "ZZZQ.XX", dec!(3), dec!(7.5)),
            buy("2024-01-03", "BRK.B", dec!(2), dec!(400)),
            activity(ActivityType::Fee, "2024-01-04", "", dec!(0), dec!(0)),
        ]
        .into_iter()
        .map(|mut a| {
            if a.kind == ActivityType::Fee {
                a.fee = dec!(2);
            }
            a
        })
        .collect(),
    )
    .await
    .unwrap();
    let manual = app
        .bus
        .request(
            &user.ctx(),
            &GetSymbol {
                symbol: ticker("ZZZQ.XX"),
            },
        )
        .await
        .unwrap();
    assert_eq!(manual.name, "ZZZQ.XX");
    assert_eq!(manual.exchange, "MANUAL");
    assert_eq!(manual.currency, "USD");
    // Filters: by symbol and by days, newest first.
    let brk = app
        .call(
            &user,
            ListActivities {
                symbol: Some(ticker("brk.b")),
                ..list(portfolio.id)
            },
        )
        .await
        .unwrap();
    assert_eq!(brk.activities.len(), 1);
    assert_eq!(brk.activities[0].symbol.as_ref().unwrap(), "BRK.B");
    let days = app
        .call(
            &user,
            ListActivities {
                from: Some(day("2024-01-03")),
                ..list(portfolio.id)
            },
        )
        .await
        .unwrap();
    let dates: Vec<_> = days.activities.iter().map(|a| a.date.to_string()).collect();
    assert_eq!(dates, ["2024-01-04", "2024-01-03"]);
    app.stop().await;
}
