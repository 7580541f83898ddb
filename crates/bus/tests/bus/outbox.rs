//! The transactional outbox: rows written with the state change are published exactly once,
//! even when a relay dies mid-drain or several relays run at once.

use std::time::Duration;

use bus::{Bus, RequestContext, outbox};
use futures::StreamExt;
use sqlx::{Executor, PgPool};
use testkit::TestEnv;

use crate::fixtures::Tick;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate::Migrator::DEFAULT;

/// The DDL documented in `bus::outbox`, in a schema of its own.
async fn outbox_pool(env: &TestEnv) -> PgPool {
    let pool = bus::pg::connect_and_migrate(&env.database_url, "relay_test", &MIGRATOR, 8)
        .await
        .unwrap();
    pool.execute(
        "create table outbox (
            outbox_id  bigint generated always as identity constraint outbox_pkey primary key,
            event_id   uuid not null constraint outbox_event_id_key unique,
            subject    text not null,
            payload    jsonb not null,
            headers    jsonb not null default '{}',
            created_at timestamptz not null default now(),
            sent_at    timestamptz
        );
        create index outbox_unsent_idx on outbox (outbox_id) where sent_at is null;
        create table note (note_id int primary key);",
    )
    .await
    .unwrap();
    pool
}

async fn enqueue_ticks(pool: &PgPool, count: u32) -> Vec<Tick> {
    let ticks: Vec<Tick> = (0..count).map(Tick::new).collect();
    let mut tx = pool.begin().await.unwrap();
    for tick in &ticks {
        outbox::enqueue(&mut tx, &RequestContext::new(), tick)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    ticks
}

/// Every event id in the stream, in stream order.
async fn published_ids(bus: &Bus) -> Vec<String> {
    let mut stream = bus.stream("PRICES").await.unwrap();
    let count = stream.info().await.unwrap().state.messages;
    let mut ids = Vec::new();
    for seq in 1..=count {
        let message = stream.get_raw_message(seq).await.unwrap();
        let tick: Tick = serde_json::from_slice(&message.payload).unwrap();
        ids.push(tick.event_id.to_string());
    }
    ids
}

async fn unsent(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from outbox where sent_at is null")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_rolled_back_transaction_publishes_nothing() {
    let env = TestEnv::new().await;
    let bus = env.provisioned_bus().await;
    let pool = outbox_pool(&env).await;
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("insert into note values (1)")
        .execute(&mut *tx)
        .await
        .unwrap();
    outbox::enqueue(&mut tx, &RequestContext::new(), &Tick::new(1))
        .await
        .unwrap();
    tx.rollback().await.unwrap();

    let sent = outbox::Relay::new(pool.clone(), bus.clone())
        .try_run_once()
        .await
        .unwrap();

    assert_eq!(sent, 0);
    assert!(published_ids(&bus).await.is_empty());
}

#[tokio::test]
async fn the_relay_publishes_in_order_with_msg_id_and_headers_and_marks_rows_sent() {
    let env = TestEnv::new().await;
    let bus = env.provisioned_bus().await;
    let pool = outbox_pool(&env).await;
    let ticks = enqueue_ticks(&pool, 3).await;

    let sent = outbox::Relay::new(pool.clone(), bus.clone())
        .try_run_once()
        .await
        .unwrap();

    assert_eq!(sent, 3);
    assert_eq!(unsent(&pool).await, 0);
    let expected: Vec<String> = ticks.iter().map(|t| t.event_id.to_string()).collect();
    assert_eq!(published_ids(&bus).await, expected);
    let message = bus
        .stream("PRICES")
        .await
        .unwrap()
        .get_raw_message(1)
        .await
        .unwrap();
    assert_eq!(
        message.headers.get("Nats-Msg-Id").unwrap().as_str(),
        expected[0]
    );
    assert!(message.headers.get("Bourse-Correlation-Id").is_some());
    assert_eq!(
        message.subject.as_str(),
        env.prefix.subject("evt.price.test0")
    );
}

#[tokio::test]
async fn a_relay_killed_mid_drain_publishes_every_row_exactly_once_after_restart() {
    let env = TestEnv::new().await;
    let bus = env.provisioned_bus().await;
    let pool = outbox_pool(&env).await;
    let ticks = enqueue_ticks(&pool, 500).await;
    let mut arrivals = bus
        .client()
        .subscribe(env.prefix.subject("evt.price.>"))
        .await
        .unwrap();

    // Kill the relay while its first batch is in flight: some events have reached the stream,
    // none of their rows has been marked sent.
    let relay = outbox::Relay::new(pool.clone(), bus.clone()).batch_size(250);
    let running = tokio::spawn(
        relay
            .clone()
            .run(tokio_util::sync::CancellationToken::new()),
    );
    arrivals.next().await.unwrap();
    running.abort();
    let _ = running.await;
    let published_before_restart = published_ids(&bus).await.len();
    assert!(published_before_restart > 0);
    assert!(unsent(&pool).await > 0, "the relay died before finishing");

    // A new relay drains what is left.
    let restarted = outbox::Relay::new(pool.clone(), bus.clone()).batch_size(250);
    while restarted.try_run_once().await.unwrap() > 0 {}

    assert_eq!(unsent(&pool).await, 0);
    let ids = published_ids(&bus).await;
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        ids.len(),
        ticks.len(),
        "no event twice (before restart: {published_before_restart})"
    );
    assert_eq!(unique.len(), ticks.len(), "every event once");
}

#[tokio::test]
async fn concurrent_relays_never_publish_a_row_twice() {
    let env = TestEnv::new().await;
    let bus = env.provisioned_bus().await;
    let pool = outbox_pool(&env).await;
    enqueue_ticks(&pool, 300).await;
    let relays: Vec<_> = (0..3)
        .map(|_| outbox::Relay::new(pool.clone(), bus.clone()).batch_size(20))
        .collect();

    futures::future::join_all(
        relays
            .iter()
            .map(|relay| async move { while relay.try_run_once().await.unwrap() > 0 {} }),
    )
    .await;

    assert_eq!(unsent(&pool).await, 0);
    let stream_count = bus.stream_info("PRICES").await.unwrap().state.messages;
    assert_eq!(stream_count, 300);
}

#[tokio::test]
async fn a_running_relay_publishes_soon_after_commit() {
    let env = TestEnv::new().await;
    let bus = env.provisioned_bus().await;
    let pool = outbox_pool(&env).await;
    let shutdown = tokio_util::sync::CancellationToken::new();
    // A long poll interval: only the commit notification can make this test pass in time.
    let relay =
        outbox::Relay::new(pool.clone(), bus.clone()).poll_interval(Duration::from_secs(60));
    let running = tokio::spawn(relay.run(shutdown.clone()));
    let mut arrivals = bus
        .client()
        .subscribe(env.prefix.subject("evt.price.>"))
        .await
        .unwrap();

    enqueue_ticks(&pool, 1).await;

    let arrived = tokio::time::timeout(Duration::from_secs(3), arrivals.next()).await;
    assert!(arrived.is_ok(), "the notification woke the relay");
    shutdown.cancel();
    running.await.unwrap();
}
