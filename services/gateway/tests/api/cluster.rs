//! A three-node NATS cluster started by the test, the services given every node as seeds and
//! streams with three replicas, as `compose.yaml` deploys them. Each node in turn is stopped
//! (SIGTERM), then each in turn is killed (SIGKILL, as in a crash), under a running market and
//! gateway, and restarted before the next: requests, the live feed of an open socket and a
//! resume must work again, exactly. How long that takes is printed (`-- --nocapture`) but not
//! asserted: a timing bound in a test fails on a busy machine for reasons that are not bugs. The
//! recovery targets are measured by `bench --cluster`.

use std::time::Duration;

use bus::RequestContext;
use futures::StreamExt;
use testkit::{NatsCluster, wait_until};
use tokio::time::Instant;

use crate::helpers::{Spawn, TestApp, WsClient, event_of, price_event, spawn};

/// How long a step may take before the test gives up on it: a bound on "never works again",
/// far above the server's election timeout (a random 4-9 s), not a performance target.
const GIVE_UP: Duration = Duration::from_secs(30);

/// Every stream of the test has a leader and all three replicas are current again.
async fn wait_replicated(app: &TestApp) {
    wait_until(
        Duration::from_secs(60),
        "every stream is led and its replicas current",
        || async {
            let mut names = app.bus.jetstream().stream_names();
            let mut all = Vec::new();
            while let Some(name) = names.next().await {
                match name {
                    Ok(name) if app.env.prefix.owns_stream(&name) => all.push(name),
                    Ok(_) => {}
                    Err(_) => return false,
                }
            }
            for name in all {
                let Ok(mut stream) = app.bus.jetstream().get_stream(&name).await else {
                    return false;
                };
                let Ok(info) = stream.info().await else {
                    return false;
                };
                let Some(cluster) = &info.cluster else {
                    return false;
                };
                let followers_current = cluster.replicas.len() == 2
                    && cluster.replicas.iter().all(|p| p.current && !p.offline);
                if cluster.leader.is_none() || !followers_current {
                    return false;
                }
            }
            true
        },
    )
    .await;
}

/// Publishes one price, retrying the same event (same `Nats-Msg-Id`, so a retry of a publish
/// that did land is answered with its sequence, not stored twice) until it is acknowledged.
async fn publish_retrying(app: &TestApp, price: &str) -> u64 {
    let event = price_event("AAPL", price);
    let ctx = RequestContext::new();
    let deadline = Instant::now() + GIVE_UP;
    loop {
        if let Ok(ack) = app.bus.publish_event(&ctx, &event).await {
            return ack.sequence;
        }
        assert!(Instant::now() < deadline, "publishing never worked again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads `ws` until it has delivered `until`, resuming after `lagged`; the sequences delivered.
async fn read_through(ws: &mut WsClient, after: u64, until: u64) -> Vec<u64> {
    let mut received = Vec::new();
    let mut last = after;
    let deadline = Instant::now() + GIVE_UP;
    while last < until {
        assert!(
            Instant::now() < deadline,
            "got {received:?}, waiting for {until}"
        );
        let frame = ws.next_frame().await;
        match frame["type"].as_str() {
            Some("event") => {
                last = event_of(&frame).0;
                received.push(last);
            }
            Some("lagged") => {
                assert_eq!(frame["resume_from"].as_u64(), Some(last), "{frame}");
                ws.subscribe_retrying(&["AAPL"], Some(last), GIVE_UP).await;
            }
            other => panic!("unexpected frame {other:?}: {frame}"),
        }
    }
    received
}

/// How a node goes down.
#[derive(Debug, Clone, Copy)]
enum Down {
    /// SIGTERM, as a rolling restart does: the node hands its leaderships over first.
    Stopped,
    /// SIGKILL, as a crash: the survivors notice only when the Raft election timeout of
    /// nats-server (a random 4-9 s, not configurable) expires, and only then elect new leaders
    /// of the groups the node led.
    Crashed,
}

/// How long after a node went down requests, the open socket's live feed and a resume worked.
struct Recovery {
    node: usize,
    down: Down,
    requests: Duration,
    feed: Duration,
    resume: Duration,
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            node,
            down,
            requests,
            feed,
            resume,
        } = self;
        write!(
            f,
            "node {node} {down:?}: requests after {requests:.2?}, live feed after {feed:.2?}, \
             resume after {resume:.2?}"
        )
    }
}

/// Takes `node` down, measures how long until everything works again, and brings it back.
async fn take_down(
    app: &TestApp,
    cluster: &mut NatsCluster,
    ws: &mut WsClient,
    last: &mut u64,
    node: usize,
    down: Down,
) -> Recovery {
    let before = *last;
    match down {
        Down::Stopped => cluster.node(node).terminate(),
        Down::Crashed => cluster.node(node).stop(),
    }
    let since = Instant::now();

    // Requests: market answers through the gateway again.
    let deadline = since + GIVE_UP;
    while app.get("/api/v1/stocks/AAPL").await.status() != 200 {
        assert!(Instant::now() < deadline, "requests never worked again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let requests = since.elapsed();

    // The open socket's live feed: a price published now reaches it, and nothing else.
    let published = publish_retrying(app, &format!("{}", 101 + node)).await;
    let received = read_through(ws, before, published).await;
    let feed = since.elapsed();
    assert_eq!(
        received,
        vec![published],
        "node {node} {down:?}: exactly the new event"
    );
    *last = published;

    // A socket resuming from before the node went down gets exactly what it missed.
    let mut late = app.ws().await;
    late.subscribe_retrying(&["AAPL"], Some(before), GIVE_UP)
        .await;
    assert_eq!(late.next_event().await, (published, "AAPL".to_owned()));
    let resume = since.elapsed();

    let recovery = Recovery {
        node,
        down,
        requests,
        feed,
        resume,
    };
    cluster.node(node).restart().await;
    cluster.wait_for_jetstream().await;
    wait_replicated(app).await;
    recovery
}

/// Every node is stopped in turn, then every node crashes in turn, and after each everything
/// works again: requests, the open socket's feed (exactly the new event), a resume (exactly
/// what was missed).
#[tokio::test]
async fn with_any_one_node_of_three_down_requests_and_live_feeds_work_again() {
    let mut cluster = NatsCluster::start().await;
    let app = spawn(Spawn {
        nats_url: Some(cluster.url()),
        replicas: 3,
        identity: false,
        ..Spawn::default()
    })
    .await;
    wait_replicated(&app).await;
    let (status, body) = app.get_json("/api/v1/stocks/AAPL").await;
    assert_eq!(status, 200, "{body}");
    let mut ws = app.ws().await;
    ws.subscribe(&["AAPL"], None).await;
    let mut last = publish_retrying(&app, "100").await;
    assert_eq!(ws.next_event().await, (last, "AAPL".to_owned()));

    for down in [Down::Stopped, Down::Crashed] {
        for node in 0..3 {
            let recovery = take_down(&app, &mut cluster, &mut ws, &mut last, node, down).await;
            eprintln!("{recovery}");
        }
    }
}
