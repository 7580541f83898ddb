//! `bourse dev`: gateway and market in one process, over this test's NATS prefix and database.

use std::{process::Stdio, time::Duration};

use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
use testkit::TestEnv;
use tokio::io::AsyncReadExt;

use crate::helpers::bourse;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn dev_serves_http_and_exits_cleanly_on_sigint() {
    let env = TestEnv::new().await;
    let addr = format!("127.0.0.1:{}", free_port());
    let data_dir = std::env::temp_dir().join(format!("bourse-dev-{}", env.prefix));
    let mut child = bourse(&env)
        .args(["dev", "--http-addr", &addr, "--feed-interval", "200ms"])
        .arg("--data-dir")
        .arg(&data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let printed = tokio::spawn(async move {
        let (mut out, mut err) = (String::new(), String::new());
        let _ = tokio::join!(
            stdout.read_to_string(&mut out),
            stderr.read_to_string(&mut err)
        );
        format!("--- stdout\n{out}\n--- stderr\n{err}")
    });

    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = http.get(format!("{base}/health")).send().await
            && response.status().is_success()
        {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "bourse dev exited early ({status}):\n{}",
                printed.await.unwrap()
            );
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/health did not answer within a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let response = http
        .get(format!("{base}/api/v1/stocks/AAPL"))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    assert_eq!(body["success"], true, "{body}");
    assert!(body.to_string().contains("AAPL"), "{body}");

    let pid = Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap());
    kill(pid, Signal::SIGINT).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("bourse dev did not exit within 30 s of SIGINT")
        .unwrap();
    let printed = printed.await.unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
    assert!(status.success(), "{status}\n{printed}");
    assert!(
        printed.contains(&format!("http://{addr}")),
        "the banner shows the address:\n{printed}"
    );
    assert!(printed.contains("shutting down"), "{printed}");
}

/// Runs only as root (as CI does here): then a local Postgres cannot be started, which stops
/// `bourse dev` right after it started its own NATS, and shows that NATS being stopped again.
#[tokio::test]
async fn dev_stops_the_nats_it_started_when_postgres_cannot_be_started() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: only root gets the refusal this test relies on");
        return;
    }
    let env = TestEnv::new().await;
    let nats_port = free_port();
    let data_dir = std::env::temp_dir().join(format!("bourse-dev-{}", env.prefix));

    let output = crate::helpers::output_of(
        bourse(&env)
            .args([
                "dev",
                "--nats-url",
                &format!("nats://127.0.0.1:{nats_port}"),
            ])
            .args([
                "--database-url",
                &format!("postgres://postgres@127.0.0.1:{}/bourse", free_port()),
            ])
            .arg("--data-dir")
            .arg(&data_dir),
        Duration::from_secs(60),
    )
    .await;

    let _ = std::fs::remove_dir_all(&data_dir);
    let printed = crate::helpers::describe(&output);
    assert!(!output.status.success(), "{printed}");
    assert!(
        printed.contains(&format!("starting nats-server on 127.0.0.1:{nats_port}")),
        "{printed}"
    );
    assert!(printed.contains("refuse to run as root"), "{printed}");
    assert!(printed.contains("stopping nats-server"), "{printed}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", nats_port)).is_err(),
        "nats-server still runs:\n{printed}"
    );
}
