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

#[tokio::test]
async fn concurrent_orders_are_decided_one_by_one_even_in_one_batch() {
    let app = spawn_app().await;
    let (alice, bob) = (User::new(), User::new());
    let mine = app.portfolio(&alice, "USD").await;
    let theirs = app.portfolio(&bob, "USD").await;
    app.quote("AAPL", dec!(10), "USD").await;
    let order = |portfolio: &contracts::portfolio::Portfolio, side, quantity, id: Option<&str>| {
        ExecuteTrade {
            portfolio_id: portfolio.id,
            side,
            symbol: ticker("AAPL"),
            quantity,
            limit_price: None,
            client_order_id: id.map(|id| ClientOrderId::parse(id).unwrap()),
        }
    };
    // Sent at once, so the desk takes many of them together: 10 buys of 1, 15 sells of 1
    // (at most 12 can execute, whatever the order), the same buy of 2 five times, and an order
    // on another user's portfolio.
    let mut calls = Vec::new();
    for _ in 0..10 {
        calls.push((alice.clone(), order(&mine, TradeSide::Buy, dec!(1), None)));
    }
    for _ in 0..15 {
        calls.push((alice.clone(), order(&mine, TradeSide::Sell, dec!(1), None)));
    }
    for _ in 0..5 {
        calls.push((
            alice.clone(),
            order(&mine, TradeSide::Buy, dec!(2), Some("once")),
        ));
    }
    calls.push((alice.clone(), order(&theirs, TradeSide::Buy, dec!(1), None)));
    // Bob trades at the same time, in the same batches.
    for _ in 0..10 {
        calls.push((bob.clone(), order(&theirs, TradeSide::Buy, dec!(1), None)));
    }
    let answers =
        futures::future::join_all(calls.iter().map(|(user, o)| app.call(user, o.clone()))).await;
    let buys = answers[..10].iter().filter(|a| a.is_ok()).count();
    assert_eq!(buys, 10);
    let sold = answers[10..25].iter().filter(|a| a.is_ok()).count();
    assert!(sold <= 12, "{sold} sells of 1 executed");
    for refused in answers[10..25].iter().filter_map(|a| a.as_ref().err()) {
        assert_eq!(refused.code(), ErrorCode::ValidationFailed, "{refused}");
    }
    let once: Vec<&contracts::portfolio::Trade> = answers[25..30]
        .iter()
        .map(|a| a.as_ref().unwrap())
        .collect();
    assert!(
        once.iter().all(|t| t.id == once[0].id),
        "one execution of `once`"
    );
    assert_eq!(
        answers[30].as_ref().unwrap_err().code(),
        ErrorCode::NotFound
    );
    // What is held is exactly what the executed orders say.
    let positions = app
        .call(
            &alice,
            ListPositions {
                portfolio_id: mine.id,
            },
        )
        .await
        .unwrap();
    let held: Decimal = positions.positions.iter().map(|p| p.quantity).sum();
    assert_eq!(held, Decimal::from(12 - sold as i64));

    // Each trade's event carries the headers of its own request, batch or not.
    let executed = 10 + sold + 1 + 10;
    let stream = app.bus.stream("PORTFOLIO").await.unwrap();
    let trades = std::sync::Mutex::new(Vec::new());
    testkit::wait_until(
        std::time::Duration::from_secs(10),
        "every trade is in the stream",
        || async {
            let last = app
                .bus
                .stream_info("PORTFOLIO")
                .await
                .unwrap()
                .state
                .last_sequence;
            let mut found = Vec::new();
            for seq in 1..=last {
                let message = stream.get_raw_message(seq).await.unwrap();
                if message.subject.ends_with(".executed") {
                    found.push(message);
                }
            }
            let complete = found.len() == executed;
            *trades.lock().unwrap() = found;
            complete
        },
    )
    .await;
    let trades = trades.into_inner().unwrap();
    for message in &trades {
        let event: contracts::portfolio::TradeExecuted =
            serde_json::from_slice(&message.payload).unwrap();
        let user = message.headers.get(bus::headers::USER_ID).unwrap();
        assert_eq!(user.as_str(), event.owner_id.to_string());
    }
    app.stop().await;
}
