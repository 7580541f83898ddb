//! The terminal suite: what a session costs and how it feels through the edge, on a terminal
//! instance and a gateway in this process (their own prefix), with real shells.
//!
//! - **idle**: `--terminal-sessions` shells created over NATS and left idle; the growth of this
//!   process's `VmRSS` per session (the terminal service's share: ring, threads, channels), and
//!   the shells' own RSS beside it.
//! - **echo**: `--typists` WebSockets, each attached to a `cat` session of its own user, each
//!   typing a key every 40 ms and timing its echo (WebSocket → gateway → NATS → terminal → PTY →
//!   NATS → gateway → WebSocket). Baseline: the same clients and rhythm on raw NATS
//!   request/reply to an echoing subscriber, measured right after.
//! - **throughput**: `cat` of a `--cat-mb` MB file to one WebSocket client that acks every
//!   256 KiB. Baseline: the same `cat` on a bare PTY read in this process.
//! - **interrupt**: `yes` floods a session while its client reads; then Ctrl-C, and the time
//!   until a command typed after it has run (its output seen), five times.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use bus::{
    Actor, Bus, BusConfig, NatsArgs, RequestContext,
    kit::{self, Platform, Service},
};
use contracts::terminal::{CreateSession, SessionId};
use futures::{SinkExt, StreamExt, future::try_join_all};
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    report::{Target, Verdict},
    stack::{self, Scratch},
    ws_client::{Socket, expect, send_json},
};

/// Keystroke echo p99 through the edge, at most.
pub(crate) const ECHO_P99_MS_MAX: f64 = 10.0;
/// `cat` to one WebSocket client, at least (MB = 10^6 bytes).
pub(crate) const THROUGHPUT_MB_S_MIN: f64 = 50.0;
/// Ctrl-C under a `yes` flood to the prompt, at most.
pub(crate) const INTERRUPT_MS_MAX: f64 = 200.0;

/// The typists' rhythm: a fast typist's 25 keys a second.
const KEY_EVERY: Duration = Duration::from_millis(40);
/// The client acks after this much output.
const ACK_EVERY: u64 = 256 * 1024;
/// Interrupt runs.
const INTERRUPTS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TerminalScenario {
    Idle,
    Echo,
    Throughput,
    Interrupt,
}

#[derive(Debug, Clone)]
pub(crate) struct TerminalPlan {
    pub(crate) scenarios: Vec<TerminalScenario>,
    pub(crate) sessions: usize,
    pub(crate) typists: usize,
    pub(crate) keys: usize,
    pub(crate) cat_mb: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub(crate) enum TerminalOutcome {
    Skipped,
    Failed { error: String },
    Measured(Box<TerminalFigures>),
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct TerminalFigures {
    pub(crate) idle: Option<Idle>,
    pub(crate) echo: Option<Echo>,
    pub(crate) throughput: Option<Throughput>,
    pub(crate) interrupt: Option<Interrupt>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Idle {
    pub(crate) sessions: usize,
    pub(crate) created_per_s: f64,
    pub(crate) rss_before_kib: u64,
    pub(crate) rss_after_kib: u64,
    pub(crate) service_kib_per_session: f64,
    /// The shells' own resident memory, averaged.
    pub(crate) shell_kib: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Echo {
    pub(crate) typists: usize,
    pub(crate) keys: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    pub(crate) nats_p50_ms: f64,
    pub(crate) nats_p99_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Throughput {
    pub(crate) bytes: u64,
    pub(crate) seconds: f64,
    pub(crate) mb_s: f64,
    /// Bytes the client was told it lost (`truncated`): it fell more than the ring behind.
    pub(crate) lost_bytes: u64,
    pub(crate) bare_pty_mb_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Interrupt {
    pub(crate) runs: usize,
    pub(crate) p50_ms: f64,
    pub(crate) max_ms: f64,
    /// Output the flood made before each Ctrl-C, on average.
    pub(crate) flood_bytes: u64,
}

pub(crate) async fn measure(scratch: &mut Scratch, plan: &TerminalPlan) -> TerminalOutcome {
    match measure_all(scratch, plan).await {
        Ok(figures) => TerminalOutcome::Measured(Box::new(figures)),
        Err(err) => TerminalOutcome::Failed {
            error: format!("{err:#}"),
        },
    }
}

async fn measure_all(
    scratch: &mut Scratch,
    plan: &TerminalPlan,
) -> anyhow::Result<TerminalFigures> {
    let stack = TerminalStack::start(scratch, plan).await?;
    let figures = stack.measure(plan).await;
    stack.stop().await;
    figures
}

struct TerminalStack {
    client: Bus,
    gateway: std::net::SocketAddr,
    token: auth::TokenConfig,
    root: PathBuf,
    shutdown: CancellationToken,
    tasks: stack::Tasks,
}

fn actor(user: Uuid) -> RequestContext {
    RequestContext::new().with_actor(Some(Actor {
        user_id: user,
        roles: vec!["user".into()],
    }))
}

impl TerminalStack {
    async fn start(scratch: &mut Scratch, plan: &TerminalPlan) -> anyhow::Result<Self> {
        let prefix = scratch.extra_prefix("t")?;
        let nats = NatsArgs {
            nats_url: scratch.nats_url.clone(),
            subject_prefix: prefix.clone(),
            stream_replicas: 1,
            request_timeout: Duration::from_secs(30),
        };
        let platform = Platform::new(nats, &scratch.database_url);
        let root = std::env::temp_dir().join(format!("bourse-bench-{}-terminal", scratch.tag));
        let config = terminal::Config {
            workspace_root: root.clone(),
            terminal_commands: vec!["/bin/sh".into(), "cat".into()],
            terminal_max_per_user: u32::try_from(plan.sessions + 10)?,
            terminal_max_per_instance: u32::try_from(plan.sessions + plan.typists + 20)?,
            ..terminal::Config::default()
        };
        let terminal = kit::start::<terminal::App>(&platform, config).await?;
        let token = stack::token_config()?;
        let mut gateway_config = stack::gateway_config(token.clone())?;
        gateway_config.ws_max_per_user = 0;
        gateway_config.ws_max_per_ip = 0;
        let gateway = kit::start::<gateway::App>(&platform, gateway_config).await?;
        let addr = gateway.local_addr();
        let client = Bus::connect(BusConfig::new(&scratch.nats_url, prefix, "bench-terminal"))
            .await
            .context("the bench's connection")?;
        let shutdown = CancellationToken::new();
        let tasks = vec![
            (
                terminal::App::NAME,
                tokio::spawn(terminal.run_until_stopped(shutdown.clone())),
            ),
            (
                gateway::App::NAME,
                tokio::spawn(gateway.run_until_stopped(shutdown.clone())),
            ),
        ];
        Ok(Self {
            client,
            gateway: addr,
            token,
            root,
            shutdown,
            tasks,
        })
    }

    async fn stop(self) {
        stack::stop_tasks(&self.shutdown, self.tasks).await;
        let _ = std::fs::remove_dir_all(&self.root);
    }

    async fn measure(&self, plan: &TerminalPlan) -> anyhow::Result<TerminalFigures> {
        let runs = |s| plan.scenarios.is_empty() || plan.scenarios.contains(&s);
        let mut figures = TerminalFigures::default();
        if runs(TerminalScenario::Idle) {
            eprintln!("terminal: {} idle sessions", plan.sessions);
            figures.idle = Some(self.idle(plan.sessions).await?);
        }
        if runs(TerminalScenario::Echo) {
            eprintln!(
                "terminal: {} typists, {} keys each, a key every {KEY_EVERY:?}",
                plan.typists, plan.keys
            );
            figures.echo = Some(self.echo(plan.typists, plan.keys).await?);
        }
        if runs(TerminalScenario::Throughput) {
            eprintln!("terminal: cat of {} MB to one WebSocket", plan.cat_mb);
            figures.throughput = Some(self.throughput(plan.cat_mb).await?);
        }
        if runs(TerminalScenario::Interrupt) {
            eprintln!("terminal: Ctrl-C under a `yes` flood, {INTERRUPTS} times");
            figures.interrupt = Some(self.interrupt().await?);
        }
        Ok(figures)
    }

    async fn create(&self, user: Uuid, command: &str) -> anyhow::Result<SessionId> {
        let request = CreateSession {
            command: Some(command.into()),
            ..CreateSession::default()
        };
        Ok(self.client.request(&actor(user), &request).await?.id)
    }

    async fn idle(&self, sessions: usize) -> anyhow::Result<Idle> {
        let before = crate::rss::resident_kib(std::process::id())?;
        let user = Uuid::now_v7();
        let started = Instant::now();
        // Sixteen creates in flight at a time.
        for chunk in (0..sessions).collect::<Vec<_>>().chunks(16) {
            try_join_all(chunk.iter().map(|_| self.create(user, "/bin/sh"))).await?;
        }
        let created_per_s = sessions as f64 / started.elapsed().as_secs_f64();
        // Let the shells start and the allocator settle.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = crate::rss::resident_kib(std::process::id())?;
        let shells = children_rss_kib()?;
        Ok(Idle {
            sessions,
            created_per_s,
            rss_before_kib: before,
            rss_after_kib: after,
            service_kib_per_session: after.saturating_sub(before) as f64 / sessions as f64,
            shell_kib: if shells.is_empty() {
                0.0
            } else {
                shells.iter().sum::<u64>() as f64 / shells.len() as f64
            },
        })
    }

    /// A signed-in WebSocket of `user`, attached to `session`.
    async fn terminal(&self, user: Uuid, session: &SessionId) -> anyhow::Result<Term> {
        let url = format!("ws://{}/ws", self.gateway);
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
        let token = stack::mint_token_for(&self.token, user)?;
        send_json(&mut ws, serde_json::json!({"type": "auth", "token": token})).await?;
        expect(&mut ws, "authenticated").await?;
        send_json(
            &mut ws,
            serde_json::json!({"type": "attach", "session_id": session}),
        )
        .await?;
        expect(&mut ws, "attached").await?;
        Ok(Term {
            ws,
            offset: 0,
            acked: 0,
            lost: 0,
        })
    }

    async fn echo(&self, typists: usize, keys: usize) -> anyhow::Result<Echo> {
        let mut terms = Vec::with_capacity(typists);
        for _ in 0..typists {
            let user = Uuid::now_v7();
            let session = self.create(user, "cat").await?;
            terms.push(self.terminal(user, &session).await?);
        }
        let runs = terms
            .into_iter()
            .enumerate()
            .map(|(n, mut term)| async move {
                let mut latencies = Vec::with_capacity(keys);
                let mut ticks = tokio::time::interval(KEY_EVERY);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                // Spread the typists over the interval.
                tokio::time::sleep(KEY_EVERY.mul_f64(n as f64 / typists as f64)).await;
                for k in 0..keys {
                    ticks.tick().await;
                    let key = b'a' + u8::try_from(k % 26).unwrap_or(0);
                    let sent = Instant::now();
                    term.input(&[key]).await?;
                    term.until(|output| output.contains(&key)).await?;
                    latencies.push(sent.elapsed());
                }
                anyhow::Ok(latencies)
            });
        let gateway = histogram(try_join_all(runs).await?.into_iter().flatten())?;
        let nats = self.nats_echo(typists, keys).await?;
        Ok(Echo {
            typists,
            keys: gateway.len(),
            p50_ms: ms(gateway.value_at_quantile(0.50)),
            p99_ms: ms(gateway.value_at_quantile(0.99)),
            max_ms: ms(gateway.max()),
            nats_p50_ms: ms(nats.value_at_quantile(0.50)),
            nats_p99_ms: ms(nats.value_at_quantile(0.99)),
        })
    }

    /// The baseline of the echo: raw NATS request/reply, same clients, same rhythm.
    async fn nats_echo(&self, typists: usize, keys: usize) -> anyhow::Result<Histogram<u64>> {
        let subject = format!("bench.echo.{}", Uuid::now_v7().simple());
        let mut responder = self.client.client().subscribe(subject.clone()).await?;
        let client = self.client.client().clone();
        let echo = tokio::spawn(async move {
            while let Some(message) = responder.next().await {
                if let Some(reply) = message.reply {
                    let _ = client.publish(reply, message.payload).await;
                }
            }
        });
        self.client.sync().await?;
        let runs = (0..typists).map(|n| {
            let (client, subject) = (self.client.client().clone(), subject.clone());
            async move {
                let mut latencies = Vec::with_capacity(keys);
                let mut ticks = tokio::time::interval(KEY_EVERY);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tokio::time::sleep(KEY_EVERY.mul_f64(n as f64 / typists as f64)).await;
                for _ in 0..keys {
                    ticks.tick().await;
                    let sent = Instant::now();
                    client
                        .request(subject.clone(), bytes::Bytes::from_static(b"a"))
                        .await?;
                    latencies.push(sent.elapsed());
                }
                anyhow::Ok(latencies)
            }
        });
        let result = try_join_all(runs).await;
        echo.abort();
        histogram(result?.into_iter().flatten())
    }

    async fn throughput(&self, mb: usize) -> anyhow::Result<Throughput> {
        let user = Uuid::now_v7();
        let session = self.create(user, "/bin/sh").await?;
        let file = self.root.join(user.to_string()).join("big.txt");
        let line = [b'x'; 99];
        let mut content = Vec::with_capacity(mb * 1_000_000);
        while content.len() + 100 <= mb * 1_000_000 {
            content.extend_from_slice(&line);
            content.push(b'\n');
        }
        std::fs::write(&file, &content)?;
        // The terminal turns each \n into \r\n.
        let expected = content.len() as u64 + (content.len() / 100) as u64;
        let bare = bare_pty(&file, expected).await?;
        let mut term = self.terminal(user, &session).await?;
        term.input(b"stty -echo\r").await?;
        let mut settle = Vec::new();
        term.collect_until(&mut settle, |out| {
            out.ends_with(b"# ") || out.ends_with(b"$ ")
        })
        .await?;
        let started = Instant::now();
        term.input(b"cat big.txt; echo EN''D\r").await?;
        let from = term.offset;
        let mut tail = Vec::new();
        term.collect_until(&mut tail, |out| {
            out.windows(5).rev().take(64).any(|w| w == b"END\r\n")
        })
        .await?;
        let seconds = started.elapsed().as_secs_f64();
        let bytes = term.offset - from - term.lost;
        let _ = std::fs::remove_file(&file);
        Ok(Throughput {
            bytes,
            seconds,
            mb_s: bytes as f64 / 1e6 / seconds,
            lost_bytes: term.lost,
            bare_pty_mb_s: bare,
        })
    }

    async fn interrupt(&self) -> anyhow::Result<Interrupt> {
        let user = Uuid::now_v7();
        let session = self.create(user, "/bin/sh").await?;
        let mut term = self.terminal(user, &session).await?;
        let mut times = Vec::with_capacity(INTERRUPTS);
        let mut flooded = 0;
        for _ in 0..INTERRUPTS {
            term.input(b"yes\r").await?;
            let from = term.offset;
            let flood_until = Instant::now() + Duration::from_millis(500);
            let mut sink = Vec::new();
            term.collect_until(&mut sink, |_| Instant::now() >= flood_until)
                .await?;
            flooded += term.offset - from;
            let sent = Instant::now();
            term.input(b"\x03").await?;
            term.input(b"echo MA''RK\r").await?;
            let mut after = Vec::new();
            term.collect_until(&mut after, |out| {
                out.windows(6).rev().take(4096).any(|w| w == b"MARK\r\n")
            })
            .await?;
            times.push(sent.elapsed());
        }
        times.sort();
        Ok(Interrupt {
            runs: times.len(),
            p50_ms: times[times.len() / 2].as_secs_f64() * 1000.0,
            max_ms: times.last().map_or(0.0, |t| t.as_secs_f64() * 1000.0),
            flood_bytes: flooded / INTERRUPTS as u64,
        })
    }
}

/// A WebSocket attached to a session, tracking its offset and acking as it reads.
struct Term {
    ws: Socket,
    offset: u64,
    acked: u64,
    lost: u64,
}

impl Term {
    async fn input(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        let mut frame = vec![0u8];
        frame.extend_from_slice(bytes);
        self.ws.send(Message::binary(frame)).await?;
        Ok(())
    }

    /// The next output bytes (acking as needed); `truncated` frames are counted as lost.
    async fn output(&mut self) -> anyhow::Result<bytes::Bytes> {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(30), self.ws.next())
                .await
                .context("no output within 30 s")?
                .context("the socket closed")??;
            match message {
                Message::Binary(bytes) => {
                    self.offset += bytes.len() as u64 - 1;
                    if self.offset - self.acked >= ACK_EVERY {
                        self.acked = self.offset;
                        let ack = serde_json::json!({"type": "ack", "offset": self.offset});
                        self.ws.send(Message::text(ack.to_string())).await?;
                    }
                    return Ok(bytes.slice(1..));
                }
                Message::Text(text) => {
                    let frame: serde_json::Value = serde_json::from_str(text.as_str())?;
                    match frame["type"].as_str() {
                        Some("truncated") => {
                            let to = frame["to_offset"].as_u64().unwrap_or(self.offset);
                            self.lost += to.saturating_sub(self.offset);
                            self.offset = to;
                        }
                        Some("error" | "exited") => bail!("the terminal said {frame}"),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    }

    /// Reads until `done` holds for the latest output frame.
    async fn until(&mut self, done: impl Fn(&[u8]) -> bool) -> anyhow::Result<()> {
        loop {
            if done(&self.output().await?) {
                return Ok(());
            }
        }
    }

    /// Reads into `out` (its last 64 KiB kept) until `done` holds for it.
    async fn collect_until(
        &mut self,
        out: &mut Vec<u8>,
        done: impl Fn(&[u8]) -> bool,
    ) -> anyhow::Result<()> {
        loop {
            let bytes = self.output().await?;
            out.extend_from_slice(&bytes);
            if out.len() > 128 * 1024 {
                out.drain(..out.len() - 64 * 1024);
            }
            if done(out) {
                return Ok(());
            }
        }
    }
}

/// `cat` of `file` on a PTY read right here: MB/s of the terminal alone.
async fn bare_pty(file: &std::path::Path, expected: u64) -> anyhow::Result<f64> {
    let spawn = terminal::pty::Spawn {
        argv: vec!["cat".into(), file.to_string_lossy().into_owned()],
        cwd: std::env::temp_dir(),
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        cols: 80,
        rows: 24,
    };
    let started = Instant::now();
    let (_pty, mut output) = terminal::pty::Pty::spawn(&spawn)?;
    let mut bytes = 0u64;
    while let Some(chunk) = output.recv().await {
        bytes += chunk.len() as u64;
        if bytes >= expected {
            break;
        }
    }
    Ok(bytes as f64 / 1e6 / started.elapsed().as_secs_f64())
}

fn histogram(latencies: impl Iterator<Item = Duration>) -> anyhow::Result<Histogram<u64>> {
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for latency in latencies {
        histogram.record(
            u64::try_from(latency.as_micros())
                .unwrap_or(u64::MAX)
                .max(1),
        )?;
    }
    Ok(histogram)
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// The RSS of this process's children (the shells), in KiB each.
fn children_rss_kib() -> anyhow::Result<Vec<u64>> {
    let me = std::process::id().to_string();
    let mut rss = Vec::new();
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The parent is the second field after the parenthesised name.
        let parent = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().nth(1));
        if parent == Some(me.as_str())
            && let Ok(kib) = crate::rss::resident_kib(pid)
        {
            rss.push(kib);
        }
    }
    Ok(rss)
}

pub(crate) fn targets(outcome: &TerminalOutcome) -> Vec<Target> {
    let TerminalOutcome::Measured(f) = outcome else {
        let detail = match outcome {
            TerminalOutcome::Failed { error } => format!("failed: {error}"),
            _ => "skipped".to_owned(),
        };
        return vec![Target {
            name: "terminal suite".into(),
            verdict: Verdict::NotMeasured,
            detail,
        }];
    };
    let mut targets = Vec::new();
    if let Some(idle) = &f.idle {
        targets.push(Target {
            name: format!("{} idle terminal sessions: RSS per session", idle.sessions),
            verdict: Verdict::Info,
            detail: format!(
                "service {:.0} KiB/session ({} -> {} KiB), each shell {:.0} KiB of its own; {:.0} creates/s",
                idle.service_kib_per_session,
                idle.rss_before_kib,
                idle.rss_after_kib,
                idle.shell_kib,
                idle.created_per_s
            ),
        });
    }
    if let Some(echo) = &f.echo {
        targets.push(Target {
            name: format!("keystroke echo p99 ({} typists) <= {ECHO_P99_MS_MAX} ms", echo.typists),
            verdict: Verdict::from_bool(echo.p99_ms <= ECHO_P99_MS_MAX),
            detail: format!(
                "p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms over {} keys; raw NATS req/reply same rhythm p50 {:.2} / p99 {:.2} ms (p99 ratio {:.1}x)",
                echo.p50_ms,
                echo.p99_ms,
                echo.max_ms,
                echo.keys,
                echo.nats_p50_ms,
                echo.nats_p99_ms,
                echo.p99_ms / echo.nats_p99_ms.max(0.001)
            ),
        });
    }
    if let Some(t) = &f.throughput {
        targets.push(Target {
            name: format!("cat to one WebSocket >= {THROUGHPUT_MB_S_MIN} MB/s"),
            verdict: Verdict::from_bool(t.mb_s >= THROUGHPUT_MB_S_MIN),
            detail: format!(
                "{:.1} MB/s ({} bytes in {:.2} s, {} lost to the ring); bare PTY {:.1} MB/s (ratio {:.2})",
                t.mb_s,
                t.bytes,
                t.seconds,
                t.lost_bytes,
                t.bare_pty_mb_s,
                t.mb_s / t.bare_pty_mb_s.max(0.001)
            ),
        });
    }
    if let Some(i) = &f.interrupt {
        targets.push(Target {
            name: format!("Ctrl-C to prompt under `yes` <= {INTERRUPT_MS_MAX} ms"),
            verdict: Verdict::from_bool(i.max_ms <= INTERRUPT_MS_MAX),
            detail: format!(
                "p50 {:.1} ms, max {:.1} ms over {} runs ({} bytes of flood each)",
                i.p50_ms, i.max_ms, i.runs, i.flood_bytes
            ),
        });
    }
    targets
}
