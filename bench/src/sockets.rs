//! Live topics at scale: many `/ws` sockets on one `bourse dev`, every symbol ticking.
//!
//! `bourse dev` (the release binary next to this one) is started with the price feed off and the
//! limits at the door off (rate limits, connection and per-IP socket caps), so that the only
//! prices are the ones published here. Then:
//!
//! 1. after [`SETTLE`] idle, its `VmRSS` and the consumers on `PRICES` are read;
//! 2. `sockets` WebSockets connect ([`CONNECTING`] at a time) and each subscribes to
//!    `per_socket` symbols of a pool of `symbols` (socket `i` takes group `i mod groups`, so
//!    every symbol has the same number of followers); the time from the first connect to the
//!    last `subscribed` frame is the connect time;
//! 3. after [`SETTLE`] idle, `VmRSS` and the consumer count are read again;
//! 4. every symbol ticks once per second, the ticks spread evenly over the second, for
//!    `ticking`, published to JetStream as the market service would. The instant before each
//!    publish is kept by stream sequence; each socket records the sequence and arrival instant
//!    of every event frame, so the latency is publish → frame read by the client, one clock;
//! 5. after [`DRAIN`], every socket's sequences are compared with the ticks of its symbols:
//!    every socket must have every tick, once, in order.
//!
//! The load generator shares the machine's cores with the gateway (and NATS): the figures are
//! an upper bound on what the gateway costs.

use std::{collections::HashMap, time::Duration};

use anyhow::Context;
use bus::{Bus, BusConfig, RequestContext};
use contracts::{
    Currency,
    market::{PriceUpdated, QuoteSource, Ticker},
};
use futures::{SinkExt, StreamExt, stream};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::{task::JoinHandle, time::Instant};
use tokio_tungstenite::tungstenite::{Message, protocol::WebSocketConfig};
use tokio_util::sync::CancellationToken;

use crate::rss::{self, DevProcess, RssPlan};

/// Idle time before each memory reading.
const SETTLE: Duration = Duration::from_secs(3);
/// Sockets connecting at the same time.
const CONNECTING: usize = 256;
/// How long one socket may take to connect and be subscribed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// Time after the last tick for its frames to arrive.
const DRAIN: Duration = Duration::from_secs(2);

/// The targets of the edge-at-scale issue.
pub(crate) const CONNECT_MAX_S: f64 = 10.0;
pub(crate) const P99_MAX_MS: f64 = 100.0;
pub(crate) const RSS_PER_SOCKET_MAX_KIB: f64 = 20.0;

/// What the scenario does.
pub(crate) struct SocketPlan {
    pub(crate) dev: RssPlan,
    pub(crate) sockets: usize,
    /// The symbol pool: `BENCH00`, `BENCH01`, ...
    pub(crate) symbols: usize,
    pub(crate) per_socket: usize,
    pub(crate) ticking: Duration,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub(crate) enum SocketsOutcome {
    Measured(SocketFigures),
    NotMeasured { reason: String },
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SocketFigures {
    pub(crate) sockets: usize,
    pub(crate) symbols: usize,
    pub(crate) per_socket: usize,
    pub(crate) connect_s: f64,
    /// Sockets that failed to connect or subscribe (the first error is kept).
    pub(crate) connect_failures: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) first_connect_error: Option<String>,
    pub(crate) rss_before_kib: u64,
    pub(crate) rss_connected_kib: u64,
    pub(crate) consumers_before: usize,
    pub(crate) consumers_connected: usize,
    pub(crate) ticks: usize,
    /// Frames the sockets should have got: for each socket, the ticks of its symbols.
    pub(crate) expected: u64,
    pub(crate) received: u64,
    /// Expected frames that never came, and frames that came twice, out of order or unasked.
    pub(crate) missing: u64,
    pub(crate) unexpected: u64,
    pub(crate) sockets_missing_ticks: usize,
    pub(crate) lagged: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
}

impl SocketFigures {
    pub(crate) fn rss_per_socket_kib(&self) -> f64 {
        // Both far below 2^52.
        #[allow(clippy::cast_precision_loss)]
        let (growth, sockets) = (
            self.rss_connected_kib.saturating_sub(self.rss_before_kib) as f64,
            self.sockets.max(1) as f64,
        );
        growth / sockets
    }
}

/// Runs the scenario; every failure is reported, not returned.
pub(crate) async fn measure(plan: &SocketPlan) -> SocketsOutcome {
    let binary = match rss::find_bourse() {
        Ok(binary) => binary,
        Err(reason) => return SocketsOutcome::NotMeasured { reason },
    };
    if let Err(reason) = plan.check() {
        return SocketsOutcome::NotMeasured { reason };
    }
    let env = [
        ("BOURSE_RATE_LIMIT_RPS", "0"),
        ("BOURSE_USER_RATE_LIMIT_RPS", "0"),
        ("BOURSE_MAX_CONNECTIONS", "0"),
        ("BOURSE_WS_MAX_PER_IP", "0"),
        ("RUST_LOG", "warn"),
    ];
    let outcome = async {
        let dev = DevProcess::start(&binary, &plan.dev, "off", &env).await?;
        run(plan, dev).await
    }
    .await;
    match outcome {
        Ok(figures) => {
            let _ = std::fs::remove_dir_all(&plan.dev.workdir);
            SocketsOutcome::Measured(figures)
        }
        Err(err) => SocketsOutcome::NotMeasured {
            reason: format!(
                "{err:#} (log: {})",
                plan.dev.workdir.join("bourse-dev.log").display()
            ),
        },
    }
}

impl SocketPlan {
    fn check(&self) -> Result<(), String> {
        if self.symbols == 0
            || self.per_socket == 0
            || !self.symbols.is_multiple_of(self.per_socket)
        {
            return Err(format!(
                "--ws-symbols ({}) must be a positive multiple of --ws-per-socket ({})",
                self.symbols, self.per_socket
            ));
        }
        if self.symbols > 100 {
            return Err("at most 100 symbols (BENCH00..BENCH99)".into());
        }
        Ok(())
    }

    fn symbol(index: usize) -> String {
        format!("BENCH{index:02}")
    }

    /// The symbols socket `socket` follows.
    fn group(&self, socket: usize) -> Vec<usize> {
        let groups = self.symbols / self.per_socket;
        let first = (socket % groups) * self.per_socket;
        (first..first + self.per_socket).collect()
    }
}

async fn run(plan: &SocketPlan, mut dev: DevProcess) -> anyhow::Result<SocketFigures> {
    let bus = Bus::connect(BusConfig::new(
        &plan.dev.nats_url,
        plan.dev.prefix.clone(),
        "bench-ticks",
    ))
    .await
    .context("connecting to NATS")?;
    let consumers =
        || async { Ok::<_, anyhow::Error>(bus.stream_info("PRICES").await?.state.consumer_count) };
    tokio::time::sleep(SETTLE).await;
    let (rss_before_kib, _) = dev.memory()?;
    let consumers_before = consumers().await?;

    eprintln!(
        "connecting {} sockets ({} symbols each, from {})",
        plan.sockets, plan.per_socket, plan.symbols
    );
    let stop = CancellationToken::new();
    let url = format!("ws://{}/ws", dev.addr);
    let started = Instant::now();
    let connected: Vec<Result<Follower, String>> = stream::iter(0..plan.sockets)
        .map(|socket| {
            let symbols: Vec<String> = plan
                .group(socket)
                .into_iter()
                .map(SocketPlan::symbol)
                .collect();
            let (url, stop) = (url.clone(), stop.clone());
            async move {
                tokio::time::timeout(
                    CONNECT_TIMEOUT,
                    Follower::connect(socket, &url, &symbols, stop),
                )
                .await
                .unwrap_or_else(|_| Err(format!("not subscribed within {CONNECT_TIMEOUT:?}")))
            }
        })
        .buffer_unordered(CONNECTING)
        .collect()
        .await;
    let connect_s = started.elapsed().as_secs_f64();
    let mut followers = Vec::with_capacity(connected.len());
    let mut connect_failures = 0;
    let mut first_connect_error = None;
    for outcome in connected {
        match outcome {
            Ok(follower) => followers.push(follower),
            Err(err) => {
                connect_failures += 1;
                first_connect_error.get_or_insert(err);
            }
        }
    }
    eprintln!(
        "{} sockets subscribed in {connect_s:.2} s ({connect_failures} failed)",
        followers.len()
    );
    tokio::time::sleep(SETTLE).await;
    let (rss_connected_kib, _) = dev.memory()?;
    let consumers_connected = consumers().await?;

    eprintln!(
        "ticking {} symbols once per second for {:?}",
        plan.symbols, plan.ticking
    );
    let published = tick(&bus, plan).await?;
    tokio::time::sleep(DRAIN).await;
    stop.cancel();
    let mut records = Vec::with_capacity(followers.len());
    for follower in followers {
        records.push(follower.finish().await?);
    }
    let stopped = dev.stop().await;
    if let Err(err) = stopped {
        eprintln!("warning: {err:#}");
    }
    let check = Check::new(plan, &published, &records)?;
    Ok(SocketFigures {
        sockets: plan.sockets,
        symbols: plan.symbols,
        per_socket: plan.per_socket,
        connect_s,
        connect_failures,
        first_connect_error,
        rss_before_kib,
        rss_connected_kib,
        consumers_before,
        consumers_connected,
        ticks: published.len(),
        expected: check.expected,
        received: check.received,
        missing: check.missing,
        unexpected: check.unexpected,
        sockets_missing_ticks: check.sockets_missing_ticks,
        lagged: records.iter().map(|r| r.lagged).sum(),
        p50_ms: check.quantile_ms(0.50),
        p99_ms: check.quantile_ms(0.99),
        max_ms: check.quantile_ms(1.0),
    })
}

/// One tick as published: its symbol and the instant just before the publish.
struct Published {
    symbol: usize,
    at: Instant,
}

/// Every symbol once per second, spread evenly, for `plan.ticking`; by stream sequence.
async fn tick(bus: &Bus, plan: &SocketPlan) -> anyhow::Result<HashMap<u64, Published>> {
    let symbols: Vec<Ticker> = (0..plan.symbols)
        .map(|i| Ticker::parse(&SocketPlan::symbol(i)))
        .collect::<Result<_, _>>()?;
    let usd = Currency::parse("USD")?;
    let ticks = usize::try_from(plan.ticking.as_secs())?.max(1) * plan.symbols;
    let every = Duration::from_secs(1) / u32::try_from(plan.symbols)?;
    let mut pace = tokio::time::interval(every);
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut published = HashMap::with_capacity(ticks);
    for n in 0..ticks {
        pace.tick().await;
        let symbol = n % plan.symbols;
        let event = PriceUpdated {
            event_id: contracts::new_id(),
            occurred_at: chrono::Utc::now(),
            symbol: symbols[symbol].clone(),
            price: rust_decimal::Decimal::new(10_000 + i64::try_from(n)?, 2),
            currency: usd.clone(),
            source: QuoteSource::Simulated,
        };
        let at = Instant::now();
        let ack = bus
            .publish_event(&RequestContext::new(), &event)
            .await
            .context("publishing a tick")?;
        published.insert(ack.sequence, Published { symbol, at });
    }
    Ok(published)
}

/// One subscribed socket, reading in its own task.
struct Follower {
    reader: JoinHandle<Result<Record, String>>,
}

/// What one socket read.
struct Record {
    socket: usize,
    /// Sequence and arrival of every event frame, in arrival order.
    events: Vec<(u64, Instant)>,
    lagged: u64,
}

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    seq: Option<u64>,
}

impl Follower {
    async fn connect(
        socket: usize,
        url: &str,
        symbols: &[String],
        stop: CancellationToken,
    ) -> Result<Self, String> {
        // Small buffers: the load generator holds as many sockets as the gateway.
        let config = WebSocketConfig::default()
            .read_buffer_size(8 * 1024)
            .write_buffer_size(0);
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false)
            .await
            .map_err(|err| format!("connect: {err}"))?;
        let subscribe =
            serde_json::json!({"type": "subscribe", "topic": "prices", "keys": symbols});
        ws.send(Message::text(subscribe.to_string()))
            .await
            .map_err(|err| format!("send subscribe: {err}"))?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    let frame: Frame =
                        serde_json::from_str(&text).map_err(|err| err.to_string())?;
                    match frame.kind {
                        "subscribed" => break,
                        "error" => return Err(format!("refused: {}", text.as_str())),
                        _ => {}
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => return Err(format!("read: {err}")),
                None => return Err("closed before subscribed".into()),
            }
        }
        let reader = tokio::spawn(async move {
            let mut record = Record {
                socket,
                events: Vec::with_capacity(64),
                lagged: 0,
            };
            loop {
                let message = tokio::select! {
                    () = stop.cancelled() => break,
                    message = ws.next() => message,
                };
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                    Some(Err(err)) => return Err(format!("socket {socket}: {err}")),
                    None => return Err(format!("socket {socket}: closed by the gateway")),
                };
                let at = Instant::now();
                let frame: Frame = serde_json::from_str(&text).map_err(|err| err.to_string())?;
                match (frame.kind, frame.seq) {
                    ("event", Some(seq)) => record.events.push((seq, at)),
                    ("lagged", _) => record.lagged += 1,
                    _ => {}
                }
            }
            let _ = ws.close(None).await;
            Ok(record)
        });
        Ok(Self { reader })
    }

    async fn finish(self) -> anyhow::Result<Record> {
        self.reader
            .await
            .context("a socket reader panicked")?
            .map_err(anyhow::Error::msg)
    }
}

/// The deliveries compared with the ticks, and the latency of every expected frame.
struct Check {
    expected: u64,
    received: u64,
    missing: u64,
    unexpected: u64,
    sockets_missing_ticks: usize,
    /// Microseconds, up to a minute.
    latency_us: Histogram<u64>,
}

impl Check {
    fn new(
        plan: &SocketPlan,
        published: &HashMap<u64, Published>,
        records: &[Record],
    ) -> anyhow::Result<Self> {
        let mut by_symbol: Vec<Vec<u64>> = vec![Vec::new(); plan.symbols];
        for (&seq, tick) in published {
            by_symbol[tick.symbol].push(seq);
        }
        let mut check = Self {
            expected: 0,
            received: 0,
            missing: 0,
            unexpected: 0,
            sockets_missing_ticks: 0,
            latency_us: Histogram::new_with_bounds(1, 60_000_000, 3)?,
        };
        for record in records {
            let mut wanted: Vec<u64> = plan
                .group(record.socket)
                .into_iter()
                .flat_map(|symbol| by_symbol[symbol].iter().copied())
                .collect();
            wanted.sort_unstable();
            check.expected += wanted.len() as u64;
            check.received += record.events.len() as u64;
            // In order, once each: the received sequences must be exactly `wanted`.
            let mut missing = 0;
            let mut next = wanted.iter().peekable();
            for &(seq, at) in &record.events {
                while next.next_if(|&&w| w < seq).is_some() {
                    missing += 1;
                }
                if next.next_if(|&&w| w == seq).is_some() {
                    let sent = published[&seq].at;
                    let us = u64::try_from(at.saturating_duration_since(sent).as_micros())?;
                    check.latency_us.saturating_record(us.max(1));
                } else {
                    check.unexpected += 1;
                }
            }
            missing += next.count() as u64;
            if missing > 0 {
                check.sockets_missing_ticks += 1;
            }
            check.missing += missing;
        }
        Ok(check)
    }

    fn quantile_ms(&self, quantile: f64) -> f64 {
        if self.latency_us.is_empty() {
            return 0.0;
        }
        // Latencies in µs stay far below 2^52.
        #[allow(clippy::cast_precision_loss)]
        let us = self.latency_us.value_at_quantile(quantile) as f64;
        us / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use bus::Prefix;

    use super::*;

    fn plan_of(symbols: usize, per_socket: usize) -> SocketPlan {
        SocketPlan {
            dev: RssPlan {
                nats_url: "nats://127.0.0.1:4222".into(),
                database_url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
                prefix: Prefix::new("benchtest").unwrap(),
                workdir: PathBuf::from("unused"),
            },
            sockets: 10,
            symbols,
            per_socket,
            ticking: Duration::from_secs(1),
        }
    }

    #[test]
    fn sockets_take_groups_in_turn_so_every_symbol_has_as_many_followers() {
        let plan = plan_of(10, 5);
        assert_eq!(plan.group(0), vec![0, 1, 2, 3, 4]);
        assert_eq!(plan.group(1), vec![5, 6, 7, 8, 9]);
        assert_eq!(plan.group(2), vec![0, 1, 2, 3, 4]);
        assert!(plan_of(10, 3).check().is_err());
        assert!(plan_of(200, 5).check().is_err());
        assert_eq!(SocketPlan::symbol(7), "BENCH07");
    }

    #[test]
    fn the_check_counts_missing_duplicate_and_late_frames() {
        let plan = plan_of(10, 5);
        let t0 = Instant::now();
        let published: HashMap<u64, Published> = [(1, 0), (2, 5), (3, 1), (4, 6)]
            .into_iter()
            .map(|(seq, symbol)| (seq, Published { symbol, at: t0 }))
            .collect();
        let later = t0 + Duration::from_millis(30);
        let records = [
            // Socket 0 follows symbols 0..5: wants 1 and 3; gets both.
            Record {
                socket: 0,
                events: vec![(1, later), (3, later)],
                lagged: 0,
            },
            // Socket 1 follows 5..10: wants 2 and 4; gets 2 twice and never 4.
            Record {
                socket: 1,
                events: vec![(2, later), (2, later)],
                lagged: 1,
            },
        ];
        let check = Check::new(&plan, &published, &records).unwrap();
        assert_eq!((check.expected, check.received), (4, 4));
        assert_eq!((check.missing, check.unexpected), (1, 1));
        assert_eq!(check.sockets_missing_ticks, 1);
        assert!((check.quantile_ms(0.99) - 30.0).abs() < 0.1);
    }
}
