//! Portfolios: a user's own, and nobody else's.

use bus::ErrorCode;
use contracts::{
    Currency,
    portfolio::{
        CreatePortfolio, DeleteActivity, DeletePortfolio, ExecuteTrade, ExportActivities,
        FileFormat, GetPerformance, GetPerformanceSeries, GetPortfolio, ImportActivities,
        ListActivities, ListPortfolios, ListPositions, ListTrades, Note, PortfolioName,
        RecordActivities, TradeSide, UpdatePortfolio,
    },
};
use rust_decimal_macros::dec;
use uuid::Uuid;

use crate::helpers::{User, buy, code, spawn_app, ticker};

#[tokio::test]
async fn a_portfolio_is_created_listed_updated_and_deleted_by_its_owner() {
    let app = spawn_app().await;
    let user = User::new();
    let created = app
        .call(
            &user,
            CreatePortfolio {
                name: PortfolioName::parse("  Retirement ").unwrap(),
                description: Some(Note::parse("long term").unwrap()),
                base_currency: Currency::parse("chf").unwrap(),
            },
        )
        .await
        .unwrap();
    assert_eq!(created.name, "Retirement");
    assert_eq!(created.base_currency, "CHF");
    assert_eq!(created.owner_id, user.0);
    let got = app
        .call(
            &user,
            GetPortfolio {
                portfolio_id: created.id,
            },
        )
        .await
        .unwrap();
    assert_eq!(got, created);
    let page = app.call(&user, ListPortfolios::default()).await.unwrap();
    assert_eq!(page.portfolios, vec![created.clone()]);
    assert_eq!(page.pagination.total, 1);

    let updated = app
        .call(
            &user,
            UpdatePortfolio {
                portfolio_id: created.id,
                name: Some(PortfolioName::parse("Pension").unwrap()),
                description: Some(Note::parse("").unwrap()),
                base_currency: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "Pension");
    assert_eq!(updated.description, None, "an empty description clears it");

    app.call(
        &user,
        DeletePortfolio {
            portfolio_id: created.id,
        },
    )
    .await
    .unwrap();
    let gone = app
        .call(
            &user,
            GetPortfolio {
                portfolio_id: created.id,
            },
        )
        .await;
    assert_eq!(code(gone), ErrorCode::NotFound);
    app.stop().await;
}

#[tokio::test]
async fn every_route_answers_another_users_portfolio_as_not_found() {
    let app = spawn_app().await;
    let (owner, other) = (User::new(), User::new());
    let portfolio = app.portfolio(&owner, "USD").await;
    let recorded = app
        .record(
            &owner,
            &portfolio,
            vec![buy("2024-01-02", "AAPL", dec!(1), dec!(100))],
        )
        .await
        .unwrap();
    let id = portfolio.id;
    let activity_id = recorded.activities[0].id;
    let not_found = |result: ErrorCode, route: &str| {
        assert_eq!(result, ErrorCode::NotFound, "{route}");
    };
    not_found(
        code(app.call(&other, GetPortfolio { portfolio_id: id }).await),
        "get",
    );
    not_found(
        code(
            app.call(
                &other,
                UpdatePortfolio {
                    portfolio_id: id,
                    name: None,
                    description: None,
                    base_currency: None,
                },
            )
            .await,
        ),
        "update",
    );
    not_found(
        code(app.call(&other, DeletePortfolio { portfolio_id: id }).await),
        "delete",
    );
    not_found(
        code(
            app.call(
                &other,
                RecordActivities {
                    portfolio_id: id,
                    activities: vec![buy("2024-01-02", "AAPL", dec!(1), dec!(1))],
                },
            )
            .await,
        ),
        "record",
    );
    not_found(
        code(
            app.call(
                &other,
                ListActivities {
                    portfolio_id: id,
                    symbol: None,
                    from: None,
                    to: None,
                    page: None,
                    limit: None,
                },
            )
            .await,
        ),
        "list activities",
    );
    not_found(
        code(
            app.call(
                &other,
                DeleteActivity {
                    portfolio_id: id,
                    activity_id,
                },
            )
            .await,
        ),
        "delete activity",
    );
    not_found(
        code(
            app.call(
                &other,
                ExecuteTrade {
                    portfolio_id: id,
                    side: TradeSide::Buy,
                    symbol: ticker("AAPL"),
                    quantity: dec!(1),
                    limit_price: None,
                    client_order_id: None,
                },
            )
            .await,
        ),
        "trade",
    );
    not_found(
        code(
            app.call(
                &other,
                ListTrades {
                    portfolio_id: id,
                    page: None,
                    limit: None,
                },
            )
            .await,
        ),
        "trades",
    );
    not_found(
        code(app.call(&other, ListPositions { portfolio_id: id }).await),
        "positions",
    );
    not_found(
        code(
            app.call(
                &other,
                GetPerformance {
                    portfolio_id: id,
                    as_of: None,
                    range: None,
                },
            )
            .await,
        ),
        "performance",
    );
    not_found(
        code(
            app.call(
                &other,
                GetPerformanceSeries {
                    portfolio_id: id,
                    from: None,
                    to: None,
                },
            )
            .await,
        ),
        "series",
    );
    not_found(
        code(
            app.call(
                &other,
                ExportActivities {
                    portfolio_id: id,
                    format: FileFormat::Csv,
                },
            )
            .await,
        ),
        "export",
    );
    not_found(
        code(
            app.call(
                &other,
                ImportActivities {
                    portfolio_id: id,
                    format: FileFormat::Csv,
                    content: "Date,Code,Price,Quantity,Action\n2024-01-02,AAPL,1,1,buy\n".into(),
                },
            )
            .await,
        ),
        "import",
    );
    // And none of it changed the owner's portfolio.
    assert_eq!(
        app.call(&owner, GetPortfolio { portfolio_id: id })
            .await
            .unwrap(),
        portfolio
    );
    let activities = app
        .call(
            &owner,
            ListActivities {
                portfolio_id: id,
                symbol: None,
                from: None,
                to: None,
                page: None,
                limit: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(activities.pagination.total, 1);
    // An id that exists nowhere is the same answer.
    not_found(
        code(
            app.call(
                &owner,
                GetPortfolio {
                    portfolio_id: Uuid::now_v7(),
                },
            )
            .await,
        ),
        "missing",
    );
    // And a request without a user is refused.
    let anonymous = app
        .bus
        .request(
            &bus::RequestContext::new(),
            &GetPortfolio { portfolio_id: id },
        )
        .await;
    assert_eq!(code(anonymous), ErrorCode::Unauthorized);
    app.stop().await;
}

#[tokio::test]
async fn a_user_has_a_bounded_number_of_portfolios_and_the_base_currency_follows_the_activities() {
    let app = spawn_app().await;
    let user = User::new();
    let first = app.portfolio(&user, "USD").await;
    for _ in 1..5 {
        app.portfolio(&user, "USD").await;
    }
    let sixth = app
        .call(
            &user,
            CreatePortfolio {
                name: PortfolioName::parse("x").unwrap(),
                description: None,
                base_currency: Currency::parse("USD").unwrap(),
            },
        )
        .await;
    assert_eq!(code(sixth), ErrorCode::Conflict);
    app.record(
        &user,
        &first,
        vec![buy("2024-01-02", "AAPL", dec!(1), dec!(1))],
    )
    .await
    .unwrap();
    let to_eur = app
        .call(
            &user,
            UpdatePortfolio {
                portfolio_id: first.id,
                name: None,
                description: None,
                base_currency: Some(Currency::parse("EUR").unwrap()),
            },
        )
        .await;
    assert_eq!(code(to_eur), ErrorCode::Conflict);
    let raw = app
        .call_raw::<CreatePortfolio>(
            &user,
            serde_json::json!({"name": "", "base_currency": "USD"}),
        )
        .await;
    assert_eq!(code(raw), ErrorCode::ValidationFailed);
    app.stop().await;
}
