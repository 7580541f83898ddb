//! Running the built `bourse` binary inside one test's share of the servers.

use std::{process::Output, time::Duration};

use testkit::TestEnv;
use tokio::process::Command;

/// `bourse` aimed at this test's NATS prefix and database, through the environment fallbacks.
pub(crate) fn bourse(env: &TestEnv) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bourse"));
    command
        .env("BOURSE_NATS_URL", &env.nats_url)
        .env("BOURSE_SUBJECT_PREFIX", env.prefix.as_str())
        .env("BOURSE_DATABASE_URL", &env.database_url)
        .env_remove("RUST_LOG")
        .env_remove("ALPHA_VANTAGE_API_KEY")
        .kill_on_drop(true);
    command
}

/// Runs `command` to the end (at most `timeout`) and returns its stdout, failing the test with
/// everything it printed when it did not succeed.
pub(crate) async fn stdout_of(command: &mut Command) -> String {
    let output = output_of(command, Duration::from_secs(60)).await;
    assert!(
        output.status.success(),
        "bourse failed: {}",
        describe(&output)
    );
    String::from_utf8(output.stdout).unwrap()
}

pub(crate) async fn output_of(command: &mut Command, timeout: Duration) -> Output {
    tokio::time::timeout(timeout, command.output())
        .await
        .unwrap_or_else(|_| panic!("bourse did not finish in {timeout:?}"))
        .expect("run bourse")
}

pub(crate) fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
