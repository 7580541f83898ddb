//! The service refuses to run with keys anyone could guess.

use auth::TokenConfig;
use testkit::TestEnv;

use crate::helpers::test_config;

/// The kit's start path, whose failure is the point here.
async fn build(config: identity::Config) -> anyhow::Result<identity::App> {
    let env = TestEnv::new().await;
    bus::kit::start::<identity::App>(&env.platform(), config).await
}

#[tokio::test]
async fn the_service_refuses_to_start_without_a_secret_or_with_a_weak_one() {
    let mut missing = test_config();
    missing.token.jwt_secret = None;
    let mut weak = test_config();
    weak.token = TokenConfig::hs256("changeme-changeme-changeme-changeme");

    let missing = build(missing).await.err().unwrap();
    let weak = build(weak).await.err().unwrap();

    assert!(
        format!("{missing:#}").contains("BOURSE_JWT_SECRET"),
        "{missing:#}"
    );
    assert!(format!("{weak:#}").contains("too weak"), "{weak:#}");
    assert!(
        !format!("{weak:#}").contains("changeme-changeme"),
        "the secret is never repeated"
    );
}

#[tokio::test]
async fn development_may_run_with_the_public_dev_secret_when_it_says_so() {
    let mut dev = test_config();
    dev.token.jwt_secret = None;
    dev.token.allow_weak_dev_secret = true;

    assert!(build(dev).await.is_ok());
}
