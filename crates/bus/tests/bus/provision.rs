//! Streams and buckets are provisioned idempotently and follow their definitions.

use std::time::Duration;

use bus::provision::{self, Replicas};
use testkit::TestEnv;

#[tokio::test]
async fn provisioning_creates_every_stream_with_prefixed_names_and_subjects() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;

    provision::ensure_all(&bus, Replicas(1)).await.unwrap();

    for (name, _) in provision::STREAMS {
        let mut stream = bus.stream(name).await.unwrap();
        let info = stream.info().await.unwrap();
        assert_eq!(info.config.name, env.prefix.stream(name));
        assert!(
            info.config
                .subjects
                .iter()
                .all(|s| s.starts_with(&format!("{}.evt.", env.prefix))),
            "{name}"
        );
    }
    let portfolio = bus.stream_info("PORTFOLIO").await.unwrap().config;
    assert!(portfolio.deny_delete && portfolio.deny_purge);
    bus.bucket::<contracts::market::Quotes>().await.unwrap();
}

#[tokio::test]
async fn provisioning_twice_changes_nothing() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;
    provision::ensure_all(&bus, Replicas(1)).await.unwrap();
    let before = bus.stream_info("PRICES").await.unwrap().created;

    provision::ensure_all(&bus, Replicas(1)).await.unwrap();

    let after = bus.stream_info("PRICES").await.unwrap().created;
    assert_eq!(before, after, "the stream was not recreated");
}

#[tokio::test]
async fn a_stream_that_drifted_from_its_definition_is_updated() {
    let env = TestEnv::new().await;
    let bus = env.bus().await;
    provision::ensure_all(&bus, Replicas(1)).await.unwrap();
    let mut config = bus.stream_info("PRICES").await.unwrap().config;
    config.max_age = Duration::from_secs(3600);
    bus.jetstream().update_stream(&config).await.unwrap();

    provision::ensure_all(&bus, Replicas(1)).await.unwrap();

    let config = bus.stream_info("PRICES").await.unwrap().config;
    assert_eq!(config.max_age, Duration::from_secs(30 * 24 * 3600));
}

#[tokio::test]
async fn concurrent_start_ups_provision_without_failing() {
    let env = TestEnv::new().await;
    let (a, b) = (env.bus().await, env.bus().await);

    let (first, second) = tokio::join!(
        provision::ensure_all(&a, Replicas(1)),
        provision::ensure_all(&b, Replicas(1))
    );

    first.unwrap();
    second.unwrap();
}

#[tokio::test]
async fn delete_all_removes_the_prefix_streams_and_buckets_and_nothing_else() {
    let env = TestEnv::new().await;
    let other = TestEnv::new().await;
    let bus = env.provisioned_bus().await;
    let other_bus = other.provisioned_bus().await;
    // A stream nobody provisions, as a test or `bourse dev` may make.
    let extra = env.prefix.stream("EXTRA");
    bus.jetstream()
        .create_stream(async_nats::jetstream::stream::Config {
            name: extra.clone(),
            subjects: vec![env.prefix.subject("extra.>")],
            ..Default::default()
        })
        .await
        .unwrap();

    let failed = provision::delete_all(bus.jetstream(), &[&env.prefix])
        .await
        .unwrap();

    assert!(failed.is_empty(), "{failed:?}");
    assert!(bus.jetstream().get_stream(&extra).await.is_err());
    assert!(bus.stream_info("PRICES").await.is_err());
    assert!(bus.bucket::<contracts::market::Quotes>().await.is_err());
    assert!(
        other_bus.stream_info("PRICES").await.is_ok(),
        "another prefix's stream is kept"
    );
}
