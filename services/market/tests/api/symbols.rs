use bus::ErrorCode;
use contracts::{
    Currency, Limit,
    market::{
        AssetType, CreateSymbol, Exchange, GetSymbol, SearchQuery, SearchSymbols, SymbolName,
    },
};
use serde_json::json;

use crate::helpers::{spawn_app, ticker};

#[tokio::test]
async fn the_catalogue_is_seeded_with_large_caps_etfs_and_crypto() {
    let market = spawn_app(market::Config::default()).await;

    let all = market
        .call(SearchSymbols {
            q: None,
            limit: Some(Limit::new(100).unwrap()),
        })
        .await
        .unwrap()
        .symbols;

    let count = |kind| all.iter().filter(|s| s.asset_type == kind).count();
    assert!(
        count(AssetType::Stock) >= 50,
        "{} stocks",
        count(AssetType::Stock)
    );
    assert!(count(AssetType::Etf) >= 3);
    assert!(count(AssetType::Crypto) >= 3);
    market.stop().await;
}

#[tokio::test]
async fn search_matches_symbol_prefix_and_name_with_the_exact_symbol_first() {
    let market = spawn_app(market::Config::default()).await;

    let by_symbol = market
        .call(SearchSymbols {
            q: Some(SearchQuery::parse("aapl").unwrap()),
            limit: None,
        })
        .await
        .unwrap()
        .symbols;
    let by_name = market
        .call(SearchSymbols {
            q: Some(SearchQuery::parse("micro").unwrap()),
            limit: None,
        })
        .await
        .unwrap()
        .symbols;
    let wildcard = market
        .call(SearchSymbols {
            q: Some(SearchQuery::parse("%").unwrap()),
            limit: None,
        })
        .await
        .unwrap()
        .symbols;

    assert_eq!(by_symbol[0].symbol.as_str(), "AAPL");
    assert!(
        by_name.iter().any(|s| s.symbol.as_str() == "MSFT"),
        "{by_name:?}"
    );
    assert!(wildcard.is_empty(), "% is matched literally");
    market.stop().await;
}

#[tokio::test]
async fn search_refuses_a_limit_out_of_range() {
    let market = spawn_app(market::Config::default()).await;

    let err = market
        .call_raw::<SearchSymbols>(json!({"limit": 0}))
        .await
        .unwrap_err();

    assert_eq!(err.code(), ErrorCode::ValidationFailed);
    market.stop().await;
}

#[tokio::test]
async fn an_unknown_symbol_is_not_found() {
    let market = spawn_app(market::Config::default()).await;

    let err = market
        .call(GetSymbol {
            symbol: ticker("ZZZZZ"),
        })
        .await
        .unwrap_err();

    assert_eq!(err.code(), ErrorCode::NotFound);
    market.stop().await;
}

#[tokio::test]
async fn a_created_symbol_can_be_read_and_not_created_twice() {
    let market = spawn_app(market::Config::default()).await;
    let new = CreateSymbol {
        symbol: ticker("acme"),
        name: SymbolName::parse(" Acme Corp ").unwrap(),
        exchange: Exchange::parse("nyse").unwrap(),
        currency: Currency::parse("usd").unwrap(),
        asset_type: AssetType::Stock,
    };

    let created = market.call(new.clone()).await.unwrap();
    let read = market
        .call(GetSymbol {
            symbol: ticker("ACME"),
        })
        .await
        .unwrap();
    let again = market.call(new).await.unwrap_err();

    assert_eq!(created, read);
    assert_eq!(
        (
            read.name.as_str(),
            read.exchange.as_str(),
            read.currency.as_str()
        ),
        ("Acme Corp", "NYSE", "USD")
    );
    assert_eq!(again.code(), ErrorCode::Conflict);
    market.stop().await;
}

#[tokio::test]
async fn a_symbol_with_a_bad_currency_is_refused_and_not_stored() {
    let market = spawn_app(market::Config::default()).await;

    let err = market
        .call_raw::<CreateSymbol>(json!({"symbol": "BAD", "name": "Bad", "exchange": "NYSE",
            "currency": "dollars", "asset_type": "stock"}))
        .await
        .unwrap_err();

    assert_eq!(err.code(), ErrorCode::ValidationFailed);
    assert_eq!(
        market
            .call(GetSymbol {
                symbol: ticker("BAD")
            })
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
    market.stop().await;
}
