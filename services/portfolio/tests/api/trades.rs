//! Trades at market: at the latest quote, within the limit, once per client order id.

use bus::ErrorCode;
use contracts::portfolio::{
    ClientOrderId, ExecuteTrade, ListActivities, ListPositions, ListTrades, TradeSide,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::helpers::{User, code, spawn_app, ticker};

fn order(portfolio_id: uuid::Uuid, side: TradeSide, quantity: Decimal) -> ExecuteTrade {
    ExecuteTrade {
        portfolio_id,
        side,
        symbol: ticker("AAPL"),
        quantity,
        limit_price: None,
        client_order_id: None,
    }
}

#[tokio::test]
async fn a_trade_executes_at_the_latest_quote_and_records_its_activity() {
    let app = spawn_app().await;
    let user = User::new();
    let portfolio = app.portfolio(&user, "USD").await;
    app.quote("AAPL", dec!(187.12), "USD").await;
    let trade = app
        .call(&user, order(portfolio.id, TradeSide::Buy, dec!(10)))
        .await
        .unwrap();
    assert_eq!(trade.price, dec!(187.12));
    assert_eq!(trade.side, TradeSide::Buy);
    let activities = app
        .call(
            &user,
            ListActivities {
                portfolio_id: portfolio.id,
                symbol: None,
                from: None,
                to: None,
                page: None,
                limit: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(activities.activities[0].id, trade.activity_id);
    assert_eq!(
        activities.activities[0].date,
        chrono::Utc::now().date_naive()
    );
    let positions = app
        .call(
            &user,
            ListPositions {
                portfolio_id: portfolio.id,
            },
        )
        .await
        .unwrap();
    assert_eq!(positions.positions[0].quantity, dec!(10));
    assert_eq!(positions.positions[0].value, dec!(1871.2));
    let trades = app
        .call(
            &user,
            ListTrades {
                portfolio_id: portfolio.id,
                page: None,
                limit: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(trades.trades, vec![trade]);
    // Selling more than held is refused.
    let oversold = app
        .call(&user, order(portfolio.id, TradeSide::Sell, dec!(11)))
        .await;
    assert_eq!(code(oversold), ErrorCode::ValidationFailed);
    app.stop().await;
}

#[tokio::test]
async fn a_limit_that_the_quote_does_not_meet_executes_nothing() {
    let app = spawn_app().await;
    let user = User::new();
    let portfolio = app.portfolio(&user, "USD").await;
    app.quote("AAPL", dec!(100), "USD").await;
    let low_buy = ExecuteTrade {
        limit_price: Some(dec!(99.99)),
        ..order(portfolio.id, TradeSide::Buy, dec!(1))
    };
    let err = app.call(&user, low_buy).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed);
    assert!(err.to_string().contains("limit"), "{err}");
    let fine = ExecuteTrade {
        limit_price: Some(dec!(100)),
        ..order(portfolio.id, TradeSide::Buy, dec!(2))
    };
    app.call(&user, fine).await.unwrap();
    let high_sell = ExecuteTrade {
        limit_price: Some(dec!(101)),
        ..order(portfolio.id, TradeSide::Sell, dec!(1))
    };
    assert_eq!(
        code(app.call(&user, high_sell).await),
        ErrorCode::ValidationFailed
    );
    let trades = app
        .call(
            &user,
            ListTrades {
                portfolio_id: portfolio.id,
                page: None,
                limit: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(trades.pagination.total, 1);
    // No quote, no trade; nor one quoted in another currency.
    let unquoted = ExecuteTrade {
        symbol: ticker("MSFT"),
        ..order(portfolio.id, TradeSide::Buy, dec!(1))
    };
    assert_eq!(
        code(app.call(&user, unquoted).await),
        ErrorCode::ValidationFailed
    );
    app.quote("NESN.SW", dec!(90), "CHF").await;
    let chf = ExecuteTrade {
        symbol: ticker("NESN.SW"),
        ..order(portfolio.id, TradeSide::Buy, dec!(1))
    };
    assert_eq!(
        code(app.call(&user, chf).await),
        ErrorCode::ValidationFailed
    );
    app.stop().await;
}

#[tokio::test]
async fn execute_trade_replies_the_first_result_to_a_retry_and_conflict_when_client_order_id_is_reused()
 {
    let app = spawn_app().await;
    let user = User::new();
    let portfolio = app.portfolio(&user, "USD").await;
    app.quote("AAPL", dec!(50), "USD").await;
    let request = ExecuteTrade {
        client_order_id: Some(ClientOrderId::parse("order-1").unwrap()),
        ..order(portfolio.id, TradeSide::Buy, dec!(3))
    };
    let (first, second) = tokio::join!(
        app.call(&user, request.clone()),
        app.call(&user, request.clone())
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first, second);
    app.quote("AAPL", dec!(60), "USD").await;
    let later = app.call(&user, request.clone()).await.unwrap();
    assert_eq!(
        later, first,
        "a retry after the price moved answers the first trade"
    );
    let other = ExecuteTrade {
        quantity: dec!(4),
        ..request
    };
    assert_eq!(code(app.call(&user, other).await), ErrorCode::Conflict);
    let positions = app
        .call(
            &user,
            ListPositions {
                portfolio_id: portfolio.id,
            },
        )
        .await
        .unwrap();
    assert_eq!(positions.positions[0].quantity, dec!(3), "executed once");
    app.stop().await;
}
