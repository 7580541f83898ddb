//! Postgres going away under a running market (a relay the test cuts in front of the real
//! server): requests that need it answer `unavailable` at once, and work again after.

use std::{net::SocketAddr, time::Duration};

use bus::{BusError, ErrorCode, RequestContext};
use contracts::market::GetSymbol;
use testkit::{Relay, TestEnv, wait_until};

use crate::helpers::ticker;

#[tokio::test]
async fn while_postgres_is_down_requests_answer_unavailable_and_work_again_after() {
    let env = TestEnv::new().await;
    let relay = Relay::start(SocketAddr::from(([127, 0, 0, 1], 5432))).await;
    let mut platform = env.platform();
    platform.database_url = env
        .database_url
        .replace("127.0.0.1:5432", &format!("127.0.0.1:{}", relay.port()));
    assert_ne!(
        platform.database_url, env.database_url,
        "goes through the relay"
    );
    let _running = testkit::run(
        env.start_on::<market::App>(&platform, market::Config::default())
            .await,
    );
    let bus = env.bus().await;
    // Long, so that an answer that waited for it could not pass for a quick refusal.
    let timeout = Duration::from_secs(30);
    let get = || {
        let bus = bus.clone();
        async move {
            bus.request_with_timeout(
                &RequestContext::new(),
                &GetSymbol {
                    symbol: ticker("AAPL"),
                },
                timeout,
            )
            .await
        }
    };
    assert_eq!(get().await.unwrap().symbol.as_str(), "AAPL");

    relay.cut();
    let started = tokio::time::Instant::now();
    let err = get().await.unwrap_err();
    assert!(
        matches!(
            &err,
            BusError::Service {
                code: ErrorCode::Unavailable,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered without waiting for the request timeout: {:?}",
        started.elapsed()
    );

    relay.restore().await;
    wait_until(
        Duration::from_secs(10),
        "market reads Postgres again",
        || async { get().await.is_ok() },
    )
    .await;
}
