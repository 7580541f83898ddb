//! NATS going away under a running service, and cluster seed lists: against a nats-server of
//! the test's own, which it stops and starts.

use std::time::Duration;

use bus::{Bus, BusConfig, BusError, ErrorCode, RequestContext};
use testkit::{NatsServer, TestEnv, free_port, wait_until};

use crate::{fixtures::Echo, request::start_echo};

async fn echo(bus: &Bus) -> Result<String, BusError> {
    bus.request(&RequestContext::new(), &Echo::new("hi"))
        .await
        .map(|reply| reply.text)
}

#[tokio::test]
async fn a_seed_list_connects_through_any_live_seed() {
    let server = NatsServer::start().await;
    let env = TestEnv::on_nats(server.url()).await;
    let dead = format!("nats://127.0.0.1:{}", free_port());
    let seeds = format!("{dead}, {}", server.url());
    let bus = Bus::connect(BusConfig::new(&seeds, env.prefix.clone(), "seeds"))
        .await
        .expect("connects through the live seed");
    let _service = start_echo(&bus).await;
    assert_eq!(echo(&bus).await.unwrap(), "hi");
}

#[tokio::test]
async fn while_nats_is_down_requests_fail_at_once_and_the_service_answers_again_after() {
    let mut server = NatsServer::start().await;
    let env = TestEnv::on_nats(server.url()).await;
    let service_bus = env.bus().await;
    let _service = start_echo(&service_bus).await;
    let bus = env.bus().await;
    assert_eq!(echo(&bus).await.unwrap(), "hi");

    server.stop();
    wait_until(Duration::from_secs(5), "the client sees the server gone", || {
        let bus = bus.clone();
        async move {
            bus.client().connection_state() != async_nats::connection::State::Connected
        }
    })
    .await;
    let started = tokio::time::Instant::now();
    let err = echo(&bus).await.unwrap_err();
    assert!(matches!(err, BusError::Disconnected { .. }), "{err:?}");
    assert_eq!(err.code(), ErrorCode::Unavailable);
    assert!(
        started.elapsed() < bus.request_timeout(),
        "refused without waiting out the timeout"
    );

    server.restart().await;
    // Both connections reconnect by themselves and the service subscribes again.
    wait_until(Duration::from_secs(20), "the service answers again", || {
        let bus = bus.clone();
        async move { echo(&bus).await.is_ok() }
    })
    .await;
}
