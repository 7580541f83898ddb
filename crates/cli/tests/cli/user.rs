//! `bourse user create`

use std::{process::Stdio, time::Duration};

use auth::TokenConfig;
use bus::RequestContext;
use contracts::{
    Event,
    identity::{ClientInfo, Login, Role, UserRegistered},
};
use testkit::TestEnv;
use tokio::io::AsyncWriteExt;

use crate::helpers::{bourse, describe};

const PASSWORD: &str = "a long enough admin passphrase";
const SECRET: &str = "cLi-TeSt-9f86d081884c7d659a2feaa0c55ad015a3bf4f1b";

#[tokio::test]
async fn user_create_admin_makes_an_account_that_can_log_in_as_admin() {
    let env = TestEnv::new().await;
    let bus = env.provisioned_bus().await;
    let mut child = bourse(&env)
        .args([
            "user",
            "create",
            "--email",
            " Boss@Example.com",
            "--name",
            "Boss",
        ])
        .args(["--admin", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("bourse in time")
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    let out = String::from_utf8(output.stdout).unwrap();
    assert!(out.contains("created boss@example.com"), "{out}");
    assert!(
        out.contains("roles admin,user") || out.contains("roles user,admin"),
        "{out}"
    );
    assert!(out.contains("registered event is published"), "{out}");

    // The event is in the stream before identity ever ran.
    let info = bus.stream_info(UserRegistered::STREAM).await.unwrap();
    assert_eq!(info.state.messages, 1);

    // The identity service lets the account in, as an admin.
    let config = identity::Config::new(TokenConfig::hs256(SECRET));
    let identity = testkit::run(env.start::<identity::App>(config).await);
    let session = bus
        .request(
            &RequestContext::new(),
            &Login {
                email: "boss@example.com".into(),
                password: PASSWORD.into(),
                client: ClientInfo::default(),
            },
        )
        .await
        .expect("the admin logs in");
    assert!(session.user.roles.contains(&Role::Admin));
    identity.stop().await;
}

#[tokio::test]
async fn user_create_without_a_password_source_refuses_and_creates_nothing() {
    let env = TestEnv::new().await;
    let output = bourse(&env)
        .args(["user", "create", "--email", "x@example.com", "--name", "X"])
        .env_remove("BOURSE_USER_PASSWORD")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("--password-stdin"), "{err}");
}
