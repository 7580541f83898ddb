//! `kill -9` under load: the identity binary is killed while users register, then started
//! again. Every acknowledged registration must exist with exactly one `registered` event, and
//! every account in the database must have exactly one (the outbox: a state change and its event
//! commit together, and a relay killed mid-batch republishes under the same `Nats-Msg-Id`).

use std::{
    collections::{HashMap, HashSet},
    process::Stdio,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use bus::RequestContext;
use contracts::identity::RegisterUser;
use testkit::{TestEnv, wait_until};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::helpers::{PASSWORD, SECRET};

/// Registrations in flight at any time, so that the kill lands mid-request.
const IN_FLIGHT: usize = 4;
/// Acknowledged registrations to wait for before the kill, and again after the restart.
const ACKED_BEFORE: usize = 12;
const ACKED_AFTER: usize = 6;

/// The identity binary on the test's prefix and database, as an operator runs it.
fn start_identity(env: &TestEnv) -> Child {
    Command::new(env!("CARGO_BIN_EXE_identity"))
        .args(["--nats-url", &env.nats_url])
        .args(["--subject-prefix", env.prefix.as_str()])
        .args(["--database-url", &env.database_url])
        .env("BOURSE_JWT_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the identity binary")
}

#[tokio::test]
async fn a_registration_acknowledged_before_kill_9_exists_with_exactly_one_event() {
    let env = TestEnv::new().await;
    let bus = env.provisioned_bus().await;
    let mut identity = start_identity(&env);

    // Clients registering in a loop; each keeps the ids it got an answer for.
    let acked = Arc::new(Mutex::new(Vec::<Uuid>::new()));
    let attempts = Arc::new(AtomicUsize::new(0));
    let stop = CancellationToken::new();
    let mut clients = Vec::new();
    for _ in 0..IN_FLIGHT {
        let (bus, acked, attempts, stop) =
            (bus.clone(), acked.clone(), attempts.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            while !stop.is_cancelled() {
                let n = attempts.fetch_add(1, Ordering::Relaxed);
                let request = RegisterUser {
                    email: format!("crash-{n}@example.com"),
                    password: PASSWORD.into(),
                    name: format!("Crash {n}"),
                };
                let reply = bus
                    .request_with_timeout(&RequestContext::new(), &request, Duration::from_secs(3))
                    .await;
                match reply {
                    Ok(user) => acked.lock().unwrap().push(user.id),
                    // Not running yet, or killed under this request: nothing was acknowledged.
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        }));
    }
    let acked_count = || acked.lock().unwrap().len();
    wait_until(
        Duration::from_secs(60),
        "registrations are acknowledged",
        || async { acked_count() >= ACKED_BEFORE },
    )
    .await;
    identity.start_kill().expect("kill -9 identity");
    identity.wait().await.unwrap();
    let before_restart = acked_count();

    let _identity = start_identity(&env);
    wait_until(
        Duration::from_secs(60),
        "registrations are acknowledged after the restart",
        || async { acked_count() >= before_restart + ACKED_AFTER },
    )
    .await;
    stop.cancel();
    for client in clients {
        client.await.unwrap();
    }

    let pool = env.pool::<identity::App>().await;
    let acked: HashSet<Uuid> = acked.lock().unwrap().iter().copied().collect();
    let stored: HashSet<Uuid> = sqlx::query_scalar("select user_id from identity.user")
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let missing: Vec<_> = acked.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );

    // The relay publishes every committed row, once, including those of the killed process.
    let registered = || async {
        let mut stream = bus.stream("IDENTITY").await.unwrap();
        let info = stream.info().await.unwrap();
        let mut per_user: HashMap<Uuid, usize> = HashMap::new();
        for seq in info.state.first_sequence..=info.state.last_sequence {
            let Ok(message) = stream.get_raw_message(seq).await else {
                continue;
            };
            let subject = env.prefix.strip(&message.subject).unwrap().to_owned();
            let Some(id) = subject
                .strip_prefix("evt.identity.user.")
                .and_then(|rest| rest.strip_suffix(".registered"))
            else {
                continue;
            };
            *per_user.entry(id.parse().unwrap()).or_default() += 1;
        }
        per_user
    };
    wait_until(
        Duration::from_secs(15),
        "every stored account's event is published",
        || async { registered().await.len() >= stored.len() },
    )
    .await;
    let per_user = registered().await;
    let unsent: i64 =
        sqlx::query_scalar("select count(*) from identity.outbox where sent_at is null")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(unsent, 0, "the outbox is drained");
    for id in &stored {
        assert_eq!(per_user.get(id), Some(&1), "one registered event for {id}");
    }
    let strays: Vec<_> = per_user.keys().filter(|id| !stored.contains(id)).collect();
    assert!(
        strays.is_empty(),
        "events of accounts never stored: {strays:?}"
    );
    assert!(
        acked.len() >= ACKED_BEFORE + ACKED_AFTER,
        "the loop ran on both sides of the kill: {}",
        acked.len()
    );
}
