//! `bourse events tail|replay`

use std::{process::Stdio, time::Duration};

use bus::{Bus, RequestContext};
use chrono::Utc;
use contracts::market::{PriceUpdated, QuoteSource, Ticker};
use rust_decimal::Decimal;
use testkit::TestEnv;
use tokio::io::AsyncReadExt;

use crate::helpers::{bourse, describe, stdout_of};

async fn publish_price(bus: &Bus, symbol: &str, cents: i64) -> PriceUpdated {
    let event = PriceUpdated {
        event_id: uuid::Uuid::now_v7(),
        occurred_at: Utc::now(),
        symbol: Ticker::parse(symbol).unwrap(),
        price: Decimal::new(cents, 2),
        currency: contracts::Currency::parse("USD").unwrap(),
        source: QuoteSource::Simulated,
    };
    bus.publish_event(&RequestContext::new(), &event)
        .await
        .unwrap();
    event
}

#[tokio::test]
async fn tail_all_with_a_limit_prints_that_many_events_in_order() {
    let env = TestEnv::new().await;
    let bus = env.provisioned_bus().await;
    publish_price(&bus, "AAPL", 22850).await;
    publish_price(&bus, "MSFT", 41520).await;
    publish_price(&bus, "NVDA", 14580).await;

    let out =
        stdout_of(bourse(&env).args(["events", "tail", "evt.price.>", "--all", "--limit", "2"]))
            .await;

    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let first: Vec<&str> = lines[0].split("  ").collect();
    assert_eq!(first[0], "1");
    assert!(
        chrono::DateTime::parse_from_rfc3339(first[1]).is_ok(),
        "{}",
        lines[0]
    );
    assert_eq!(first[2], "evt.price.AAPL", "printed without the prefix");
    let payload: serde_json::Value = serde_json::from_str(first[3]).unwrap();
    assert_eq!(payload["price"], "228.50");
    assert!(
        lines[1].starts_with("2  ") && lines[1].contains("evt.price.MSFT"),
        "{out}"
    );
}

#[tokio::test]
async fn tail_json_from_a_sequence_carries_headers_and_data() {
    let env = TestEnv::new().await;
    let bus = env.provisioned_bus().await;
    publish_price(&bus, "AAPL", 100).await;
    let second = publish_price(&bus, "MSFT", 200).await;

    let out = stdout_of(bourse(&env).args([
        "events",
        "tail",
        "evt.price.>",
        "--seq",
        "2",
        "--limit",
        "1",
        "--json",
    ]))
    .await;

    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(line["seq"], 2);
    assert_eq!(line["subject"], "evt.price.MSFT");
    assert_eq!(line["headers"]["Nats-Msg-Id"], second.event_id.to_string());
    assert_eq!(line["data"]["event_id"], second.event_id.to_string());
    assert!(line["time"].as_str().is_some_and(|t| t.ends_with('Z')));
}

#[tokio::test]
async fn replay_prints_what_the_filter_matches_and_exits() {
    let env = TestEnv::new().await;
    let bus = env.provisioned_bus().await;
    publish_price(&bus, "AAPL", 100).await;
    publish_price(&bus, "MSFT", 200).await;
    publish_price(&bus, "AAPL", 101).await;

    let out = stdout_of(bourse(&env).args(["events", "replay", "evt.price.AAPL"])).await;

    let seqs: Vec<&str> = out
        .lines()
        .map(|line| line.split("  ").next().unwrap())
        .collect();
    assert_eq!(seqs, ["1", "3"], "{out}");
}

#[tokio::test]
async fn tail_follows_events_published_after_it_started() {
    let env = TestEnv::new().await;
    let bus = env.provisioned_bus().await;
    publish_price(&bus, "AAPL", 100).await; // in the past: not shown by a live tail

    let mut child = bourse(&env)
        .args(["events", "tail", "evt.price.>", "--limit", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The tail only sees what is published once its consumer exists: publish until it has one.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        publish_price(&bus, "MSFT", 200).await;
        if let Ok(status) = tokio::time::timeout(Duration::from_millis(200), child.wait()).await {
            break status.unwrap();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "tail did not print a live event"
        );
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    let output = std::process::Output {
        status,
        stdout: out.clone().into_bytes(),
        stderr: Vec::new(),
    };
    assert!(status.success(), "{}", describe(&output));
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("evt.price.MSFT") && !out.starts_with("1  "),
        "{out}"
    );
}

#[tokio::test]
async fn tail_of_a_subject_no_stream_keeps_fails_plainly() {
    let env = TestEnv::new().await;
    let _bus = env.provisioned_bus().await;

    let output = crate::helpers::output_of(
        bourse(&env).args(["events", "tail", "nothing.here.>"]),
        Duration::from_secs(30),
    )
    .await;

    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no stream captures"),
        "{}",
        describe(&output)
    );
}
