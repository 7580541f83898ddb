//! Durable consumers: ack after success, redelivery after failure, poison messages parked.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use bus::{
    RequestContext,
    consumer::{ConsumerSpec, Delivery, DurableConsumer, HandlerError},
};
use testkit::TestEnv;

use crate::fixtures::Tick;

fn spec(durable: &str) -> ConsumerSpec {
    let mut spec = ConsumerSpec::new("PRICES", durable, "evt.price.>");
    spec.max_deliver = 3;
    // Short ack wait so a naked message comes back quickly in tests.
    spec.ack_wait = Duration::from_secs(1);
    spec
}

async fn pending(consumer_bus: &bus::Bus, durable: &str) -> (u64, usize) {
    let stream = consumer_bus.stream("PRICES").await.unwrap();
    let mut consumer: async_nats::jetstream::consumer::PullConsumer = stream
        .get_consumer(&consumer_bus.prefix().durable(durable))
        .await
        .unwrap();
    let info = consumer.info().await.unwrap();
    (info.num_pending, info.num_ack_pending)
}

#[tokio::test]
async fn handled_events_are_acked_once_and_not_seen_again() {
    let env = TestEnv::new().await;
    let bus = env.provisioned_bus().await;
    for n in 0..5 {
        bus.publish_event(&RequestContext::new(), &Tick::new(n))
            .await
            .unwrap();
    }
    let consumer = DurableConsumer::<Tick>::bind(&bus, spec("ok"))
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handler = |delivery: Delivery<Tick>| {
        let seen = seen.clone();
        async move {
            seen.lock()
                .unwrap()
                .push((delivery.event.n, delivery.subject));
            Ok::<_, HandlerError>(())
        }
    };

    let handled = consumer
        .try_run_once(&handler, Duration::from_millis(500))
        .await
        .unwrap();
    let again = consumer
        .try_run_once(&handler, Duration::from_millis(200))
        .await
        .unwrap();

    assert_eq!(handled, 5);
    assert_eq!(again, 0);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(
        seen[0].1, "evt.price.test0",
        "subjects reach handlers without the prefix"
    );
    assert_eq!(pending(&bus, "ok").await, (0, 0));
}

#[tokio::test]
async fn a_failed_event_is_redelivered_and_then_handled() {
    let env = TestEnv::new().await;
    let bus = env.provisioned_bus().await;
    bus.publish_event(&RequestContext::new(), &Tick::new(1))
        .await
        .unwrap();
    let consumer = DurableConsumer::<Tick>::bind(&bus, spec("retry"))
        .await
        .unwrap();
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let handler = |delivery: Delivery<Tick>| {
        let attempts = attempts.clone();
        async move {
            attempts.lock().unwrap().push(delivery.delivered);
            if delivery.delivered == 1 {
                Err(HandlerError::Retry("database down".into()))
            } else {
                Ok(())
            }
        }
    };

    testkit::wait_until(
        Duration::from_secs(10),
        "the event was handled on its second delivery",
        || async {
            consumer
                .try_run_once(&handler, Duration::from_millis(300))
                .await
                .unwrap();
            attempts.lock().unwrap().len() == 2
        },
    )
    .await;

    assert_eq!(*attempts.lock().unwrap(), vec![1, 2]);
    assert_eq!(pending(&bus, "retry").await, (0, 0));
}

#[tokio::test]
async fn a_poison_event_is_parked_and_does_not_block_the_next() {
    let env = TestEnv::new().await;
    let bus = env.provisioned_bus().await;
    // Not a Tick at all: cannot decode.
    bus.client()
        .publish(env.prefix.subject("evt.price.test9"), "garbage".into())
        .await
        .unwrap();
    bus.client().flush().await.unwrap();
    bus.publish_event(&RequestContext::new(), &Tick::new(2))
        .await
        .unwrap();
    let consumer = DurableConsumer::<Tick>::bind(&bus, spec("poison"))
        .await
        .unwrap();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let handler = |delivery: Delivery<Tick>| {
        let handled = handled.clone();
        async move {
            handled.lock().unwrap().push(delivery.event.n);
            Ok::<_, HandlerError>(())
        }
    };

    testkit::wait_until(
        Duration::from_secs(5),
        "the good event was handled",
        || async {
            consumer
                .try_run_once(&handler, Duration::from_millis(200))
                .await
                .unwrap();
            !handled.lock().unwrap().is_empty()
        },
    )
    .await;
    let later = consumer
        .try_run_once(&handler, Duration::from_millis(1500))
        .await
        .unwrap();

    assert_eq!(*handled.lock().unwrap(), vec![2]);
    assert_eq!(later, 0, "the poison message is not redelivered");
    assert_eq!(pending(&bus, "poison").await, (0, 0));
}

#[tokio::test]
async fn an_event_that_keeps_failing_is_parked_after_max_deliver() {
    let env = TestEnv::new().await;
    let bus = env.provisioned_bus().await;
    bus.publish_event(&RequestContext::new(), &Tick::new(3))
        .await
        .unwrap();
    let consumer = DurableConsumer::<Tick>::bind(&bus, spec("hopeless"))
        .await
        .unwrap();
    let attempts = Arc::new(Mutex::new(0));
    let handler = |_delivery: Delivery<Tick>| {
        let attempts = attempts.clone();
        async move {
            *attempts.lock().unwrap() += 1;
            Err::<(), _>(HandlerError::Retry("always fails".into()))
        }
    };

    testkit::wait_until(
        Duration::from_secs(20),
        "three attempts were made",
        || async {
            consumer
                .try_run_once(&handler, Duration::from_millis(300))
                .await
                .unwrap();
            *attempts.lock().unwrap() >= 3
        },
    )
    .await;
    let after = consumer
        .try_run_once(&handler, Duration::from_millis(1500))
        .await
        .unwrap();

    assert_eq!(*attempts.lock().unwrap(), 3);
    assert_eq!(after, 0);
    assert_eq!(pending(&bus, "hopeless").await, (0, 0));
}
