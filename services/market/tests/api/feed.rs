use std::time::Duration;

use bus::ErrorCode;
use bus::kv::Kv;
use contracts::{
    Event,
    market::{GetQuote, PriceUpdated, Quote, QuoteSource, Quotes},
};
use futures::StreamExt;
use market::feed::simulated::SimulatedFeed;
use rust_decimal_macros::dec;

use crate::helpers::{TestApp, spawn_app, ticker};

async fn stream_messages(market: &TestApp) -> u64 {
    market
        .bus
        .stream_info(PriceUpdated::STREAM)
        .await
        .unwrap()
        .state
        .messages
}

#[tokio::test]
async fn a_tick_publishes_a_price_event_and_a_quote_for_every_symbol() {
    let market = spawn_app(market::Config::default()).await;
    let mut feed = SimulatedFeed::new(market.state.clone(), Duration::from_secs(5), Some(7));

    let published = feed.try_run_once().await.unwrap();

    assert!(published >= 80, "{published}");
    assert_eq!(stream_messages(&market).await, published as u64);
    let quote = market
        .call(GetQuote {
            symbol: ticker("AAPL"),
        })
        .await
        .unwrap();
    assert_eq!(quote.source, QuoteSource::Simulated);
    assert!(quote.price > dec!(0));
    assert_eq!(
        quote.change,
        quote.previous_close.map(|prev| quote.price - prev),
        "change is against the previous close"
    );
    let stream = market.bus.stream(PriceUpdated::STREAM).await.unwrap();
    let last = stream
        .get_last_raw_message_by_subject(&market.env.prefix.subject("evt.price.AAPL"))
        .await
        .unwrap();
    let event: PriceUpdated = serde_json::from_slice(&last.payload).unwrap();
    assert_eq!(event.price, quote.price);
    assert_eq!(
        last.headers.get("Nats-Msg-Id").unwrap().as_str(),
        event.event_id.to_string()
    );
    market.stop().await;
}

#[tokio::test]
async fn the_same_seed_gives_the_same_prices() {
    let first = spawn_app(market::Config::default()).await;
    let second = spawn_app(market::Config::default()).await;
    let mut a = SimulatedFeed::new(first.state.clone(), Duration::from_secs(5), Some(42));
    let mut b = SimulatedFeed::new(second.state.clone(), Duration::from_secs(5), Some(42));

    for _ in 0..3 {
        a.try_run_once().await.unwrap();
        b.try_run_once().await.unwrap();
    }

    // What each feed wrote to its bucket (the service's in-memory book may trail by a moment).
    let (qa, qb) = (
        first.bus.bucket::<Quotes>().await.unwrap(),
        second.bus.bucket::<Quotes>().await.unwrap(),
    );
    for symbol in ["AAPL", "BTC-USD", "SPY"] {
        let a = qa.get(&ticker(symbol)).await.unwrap().unwrap();
        let b = qb.get(&ticker(symbol)).await.unwrap().unwrap();
        assert_eq!(a.price, b.price, "{symbol}");
    }
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn a_symbol_without_a_price_yet_is_not_found() {
    let market = spawn_app(market::Config::default()).await;

    let err = market
        .call(GetQuote {
            symbol: ticker("AAPL"),
        })
        .await
        .unwrap_err();
    let unknown = market
        .call(GetQuote {
            symbol: ticker("NOSUCH"),
        })
        .await
        .unwrap_err();

    assert_eq!(err.code(), ErrorCode::NotFound);
    assert!(
        err.public_message().contains("no price"),
        "{}",
        err.public_message()
    );
    assert!(unknown.public_message().contains("unknown symbol"));
    market.stop().await;
}

#[tokio::test]
async fn the_running_service_feeds_prices_at_its_interval() {
    let config = market::Config {
        price_feed: market::FeedKind::Simulated,
        feed_interval: Duration::from_millis(100),
        feed_seed: Some(1),
        ..market::Config::default()
    };
    let market = spawn_app(config).await;
    let mut prices = testkit::listen(&market.bus, "evt.price.MSFT").await;

    let first = tokio::time::timeout(Duration::from_secs(10), prices.next())
        .await
        .unwrap()
        .unwrap();
    let second = tokio::time::timeout(Duration::from_secs(10), prices.next())
        .await
        .unwrap()
        .unwrap();

    let a: PriceUpdated = serde_json::from_slice(&first.payload).unwrap();
    let b: PriceUpdated = serde_json::from_slice(&second.payload).unwrap();
    assert!(b.occurred_at > a.occurred_at);
    let quote: Quote = market
        .call(GetQuote {
            symbol: ticker("MSFT"),
        })
        .await
        .unwrap();
    assert!(quote.as_of >= a.occurred_at - chrono::Duration::seconds(1));
    market.stop().await;
}

#[tokio::test]
async fn a_feed_restarted_continues_from_the_last_quote() {
    let market = spawn_app(market::Config::default()).await;
    let mut feed = SimulatedFeed::new(market.state.clone(), Duration::from_secs(5), Some(3));
    feed.try_run_once().await.unwrap();
    let before = market
        .call(GetQuote {
            symbol: ticker("AAPL"),
        })
        .await
        .unwrap()
        .price;

    let mut restarted = SimulatedFeed::new(market.state.clone(), Duration::from_millis(1), Some(3));
    restarted.try_run_once().await.unwrap();

    let after = market
        .call(GetQuote {
            symbol: ticker("AAPL"),
        })
        .await
        .unwrap()
        .price;
    // One tick of a millisecond moves the price by a hair, not back to the reference close.
    let moved = ((after - before) / before).abs();
    assert!(moved < dec!(0.01), "{before} -> {after}");
    market.stop().await;
}

#[tokio::test]
async fn quotes_are_answered_from_the_followed_bucket_including_later_changes() {
    let market = spawn_app(market::Config::default()).await;
    let mut feed = SimulatedFeed::new(market.state.clone(), Duration::from_secs(5), Some(9));
    feed.try_run_once().await.unwrap();
    let quotes = market.bus.bucket::<Quotes>().await.unwrap();
    let written =
        |quotes: Kv<Quotes>| async move { quotes.get(&ticker("AAPL")).await.unwrap().unwrap() };

    // A later tick reaches the service without anyone asking the bucket for it.
    feed.try_run_once().await.unwrap();
    let latest = written(quotes.clone()).await;
    testkit::wait_until(
        Duration::from_secs(5),
        "the service answers the latest tick",
        || async {
            market
                .call(GetQuote {
                    symbol: ticker("AAPL"),
                })
                .await
                .unwrap()
                == latest
        },
    )
    .await;

    // A deleted quote is not served from memory.
    quotes.delete(&ticker("AAPL")).await.unwrap();
    testkit::wait_until(
        Duration::from_secs(5),
        "the deleted quote is gone",
        || async {
            market
                .call(GetQuote {
                    symbol: ticker("AAPL"),
                })
                .await
                .is_err()
        },
    )
    .await;
    market.stop().await;
}
