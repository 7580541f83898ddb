//! The chat suite: replies streamed from a provider through the assistant, NATS and the
//! gateway to WebSocket clients. The provider is a local server speaking Anthropic's streamed
//! Messages API (the assistant's real client reads it), in this process, so the moment it
//! writes its first byte and the moment a socket reads the first delta are on one clock.
//!
//! - **first delta**: one generation at a time, [`FIRST_DELTA_RUNS`] times; the time from the
//!   provider's first byte to the first `delta` frame on the socket following the
//!   conversation. Baseline: a raw NATS request/reply round trip, measured in the same run.
//! - **fan-out**: `--generations` conversations of as many users, each followed by its own
//!   socket, all sent at once, the provider streaming `--deltas` deltas each; every delta must
//!   arrive, in order. A socket that reads too slowly is told `lagged` and resubscribes from its
//!   sequence, as clients do. Reported: deltas/s, the resumes, and this process's RSS growth
//!   (assistant, gateway and clients share it).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use axum::{Router, body::Body, response::Response, routing::get, routing::post};
use bus::{
    Actor, Bus, BusConfig, NatsArgs, RequestContext,
    kit::{self, Platform, Service},
};
use contracts::assistant::{CreateConversation, SendMessage};
use futures::{SinkExt, StreamExt, future::try_join_all};
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    report::{Target, Verdict},
    stack::{self, Scratch},
    ws_client::{Socket, expect, send_json},
};

/// First-delta overhead p50, at most.
pub(crate) const FIRST_DELTA_MS_MAX: f64 = 5.0;
/// Sequential generations of the first-delta scenario.
const FIRST_DELTA_RUNS: usize = 50;
/// The fake provider's model.
const MODEL: &str = "bench-model";

#[derive(Debug, Clone)]
pub(crate) struct ChatPlan {
    pub(crate) generations: usize,
    pub(crate) deltas: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub(crate) enum ChatOutcome {
    Skipped,
    Failed { error: String },
    Measured(Box<ChatFigures>),
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ChatFigures {
    pub(crate) first_delta_p50_ms: f64,
    pub(crate) first_delta_p99_ms: f64,
    pub(crate) nats_round_trip_p50_ms: f64,
    pub(crate) generations: usize,
    pub(crate) deltas_each: usize,
    pub(crate) delivered: u64,
    pub(crate) in_order: bool,
    /// Times a socket read too slowly, was told `lagged`, and resumed from its sequence.
    pub(crate) resumes: u64,
    pub(crate) seconds: f64,
    pub(crate) deltas_per_s: f64,
    pub(crate) rss_before_kib: u64,
    pub(crate) rss_peak_kib: u64,
}

pub(crate) async fn measure(scratch: &mut Scratch, plan: &ChatPlan) -> ChatOutcome {
    match measure_all(scratch, plan).await {
        Ok(figures) => ChatOutcome::Measured(Box::new(figures)),
        Err(err) => ChatOutcome::Failed {
            error: format!("{err:#}"),
        },
    }
}

/// When the fake provider wrote its first byte of each reply, by the prompt it answered.
type FirstBytes = Arc<Mutex<Vec<(String, Instant)>>>;

/// A local server speaking Anthropic's streamed Messages API: every reply is `deltas` text
/// deltas `d0 `, `d1 ` … .
async fn fake_provider(deltas: usize, first_bytes: FirstBytes) -> anyhow::Result<SocketAddr> {
    let models = get(|| async {
        axum::Json(serde_json::json!({"data": [{"id": MODEL, "display_name": "Bench"}]}))
    });
    let messages = post(move |body: axum::Json<serde_json::Value>| {
        let first_bytes = first_bytes.clone();
        async move {
            let prompt = body["messages"]
                .as_array()
                .and_then(|m| m.last())
                .and_then(|m| m["content"].as_str())
                .unwrap_or_default()
                .to_owned();
            let mut events = vec![
                event(
                    &serde_json::json!({"type": "message_start", "message": {"id": "m", "model": MODEL, "usage": {"input_tokens": 10, "output_tokens": 1}}}),
                ),
                event(
                    &serde_json::json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                ),
            ];
            events.extend((0..deltas).map(|n| {
                event(&serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": format!("d{n} ")}}))
            }));
            events.push(event(
                &serde_json::json!({"type": "content_block_stop", "index": 0}),
            ));
            events.push(event(&serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": deltas}})));
            events.push(event(&serde_json::json!({"type": "message_stop"})));
            let stream =
                futures::stream::iter(events.into_iter().enumerate().map(move |(n, e)| {
                    if n == 0
                        && let Ok(mut firsts) = first_bytes.lock()
                    {
                        firsts.push((prompt.clone(), Instant::now()));
                    }
                    Ok::<_, std::convert::Infallible>(e)
                }));
            Response::builder()
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(stream))
                .unwrap_or_default()
        }
    });
    let router = Router::new()
        .route("/v1/models", models)
        .route("/v1/messages", messages);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            eprintln!("the fake provider stopped: {err}");
        }
    });
    Ok(addr)
}

fn event(data: &serde_json::Value) -> String {
    format!(
        "event: {}\ndata: {data}\n\n",
        data["type"].as_str().unwrap_or_default()
    )
}

struct ChatStack {
    client: Bus,
    gateway: SocketAddr,
    token: auth::TokenConfig,
    first_bytes: FirstBytes,
    shutdown: CancellationToken,
    tasks: stack::Tasks,
}

async fn measure_all(scratch: &mut Scratch, plan: &ChatPlan) -> anyhow::Result<ChatFigures> {
    let stack = ChatStack::start(scratch, plan).await?;
    let figures = stack.measure(plan).await;
    stack::stop_tasks(&stack.shutdown, stack.tasks).await;
    figures
}

fn actor(user: Uuid) -> RequestContext {
    RequestContext::new().with_actor(Some(Actor {
        user_id: user,
        roles: vec!["user".into()],
    }))
}

impl ChatStack {
    async fn start(scratch: &mut Scratch, plan: &ChatPlan) -> anyhow::Result<Self> {
        let first_bytes: FirstBytes = Arc::default();
        let provider = fake_provider(plan.deltas, first_bytes.clone()).await?;
        let prefix = scratch.extra_prefix("c")?;
        let nats = NatsArgs {
            nats_url: scratch.nats_url.clone(),
            subject_prefix: prefix.clone(),
            stream_replicas: 1,
            request_timeout: Duration::from_secs(30),
        };
        let platform = Platform::new(nats, &scratch.database_url);
        let config = assistant::Config {
            anthropic_api_key: Some("bench".into()),
            anthropic_url: format!("http://{provider}"),
            ..assistant::Config::default()
        };
        let assistant = kit::start::<assistant::App>(&platform, config).await?;
        let token = stack::token_config()?;
        let mut gateway_config = stack::gateway_config(token.clone())?;
        gateway_config.ws_max_per_ip = 0;
        let gateway = kit::start::<gateway::App>(&platform, gateway_config).await?;
        let addr = gateway.local_addr();
        let client = Bus::connect(BusConfig::new(&scratch.nats_url, prefix, "bench-chat"))
            .await
            .context("the bench's connection")?;
        let shutdown = CancellationToken::new();
        let tasks = vec![
            (
                assistant::App::NAME,
                tokio::spawn(assistant.run_until_stopped(shutdown.clone())),
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
            first_bytes,
            shutdown,
            tasks,
        })
    }

    /// A user's conversation and a socket following it.
    async fn follower(&self, user: Uuid) -> anyhow::Result<(Uuid, Follower)> {
        let conversation = self
            .client
            .request(&actor(user), &CreateConversation::default())
            .await?;
        let url = format!("ws://{}/ws", self.gateway);
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
        let token = stack::mint_token_for(&self.token, user)?;
        send_json(&mut ws, serde_json::json!({"type": "auth", "token": token})).await?;
        expect(&mut ws, "authenticated").await?;
        send_json(
            &mut ws,
            serde_json::json!({"type": "subscribe", "topic": "chat", "keys": [conversation.id]}),
        )
        .await?;
        expect(&mut ws, "subscribed").await?;
        Ok((
            conversation.id,
            Follower {
                ws,
                conversation: conversation.id,
                lagged: 0,
            },
        ))
    }

    async fn send(&self, user: Uuid, conversation: Uuid, prompt: &str) -> anyhow::Result<()> {
        let request = SendMessage {
            conversation_id: Some(conversation),
            content: prompt.into(),
            model: Some(MODEL.into()),
            parent_id: None,
        };
        self.client.request(&actor(user), &request).await?;
        Ok(())
    }

    async fn measure(&self, plan: &ChatPlan) -> anyhow::Result<ChatFigures> {
        eprintln!("chat: first delta, {FIRST_DELTA_RUNS} generations one at a time");
        let mut overheads = Vec::with_capacity(FIRST_DELTA_RUNS);
        let mut round_trips = Vec::with_capacity(FIRST_DELTA_RUNS);
        let user = Uuid::now_v7();
        for run in 0..FIRST_DELTA_RUNS {
            let (conversation, mut follower) = self.follower(user).await?;
            let prompt = format!("first {run}");
            self.send(user, conversation, &prompt).await?;
            let seen = follower.first_delta().await?;
            let wrote = self
                .first_bytes
                .lock()
                .ok()
                .and_then(|f| f.iter().find(|(p, _)| *p == prompt).map(|(_, at)| *at))
                .context("the provider was not asked")?;
            overheads.push(seen.saturating_duration_since(wrote));
            follower.until_done().await?;
            round_trips.push(self.nats_round_trip().await?);
        }
        overheads.sort();
        round_trips.sort();
        eprintln!(
            "chat: {} generations at once, {} deltas each",
            plan.generations, plan.deltas
        );
        let rss_before = crate::rss::resident_kib(std::process::id())?;
        let mut followers = Vec::with_capacity(plan.generations);
        for _ in 0..plan.generations {
            let user = Uuid::now_v7();
            let (conversation, follower) = self.follower(user).await?;
            followers.push((user, conversation, follower));
        }
        let started = Instant::now();
        let peak = Arc::new(Mutex::new(rss_before));
        let watcher_peak = peak.clone();
        let watching = CancellationToken::new();
        let watch = watching.clone();
        let watcher = tokio::spawn(async move {
            while !watch.is_cancelled() {
                if let (Ok(now), Ok(mut peak)) = (
                    crate::rss::resident_kib(std::process::id()),
                    watcher_peak.lock(),
                ) {
                    *peak = (*peak).max(now);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let runs = followers
            .into_iter()
            .map(|(user, conversation, mut follower)| async move {
                self.send(user, conversation, "fan out").await?;
                follower.deltas().await
            });
        let counts = try_join_all(runs).await;
        let seconds = started.elapsed().as_secs_f64();
        watching.cancel();
        let _ = watcher.await;
        let counts = counts?;
        let delivered: u64 = counts.iter().map(|(n, _, _)| *n).sum();
        let in_order = counts
            .iter()
            .all(|(n, ordered, _)| *ordered && *n == plan.deltas as u64);
        let resumes = counts.iter().map(|(_, _, lagged)| *lagged).sum();
        let peak = peak.lock().map(|p| *p).unwrap_or(rss_before);
        Ok(ChatFigures {
            first_delta_p50_ms: ms(overheads[overheads.len() / 2]),
            first_delta_p99_ms: ms(overheads[overheads.len() * 99 / 100]),
            nats_round_trip_p50_ms: ms(round_trips[round_trips.len() / 2]),
            generations: plan.generations,
            deltas_each: plan.deltas,
            delivered,
            in_order,
            resumes,
            seconds,
            deltas_per_s: delivered as f64 / seconds,
            rss_before_kib: rss_before,
            rss_peak_kib: peak,
        })
    }

    /// One raw NATS request/reply, for the baseline.
    async fn nats_round_trip(&self) -> anyhow::Result<Duration> {
        let subject = format!("bench.rtt.{}", Uuid::now_v7().simple());
        let mut responder = self.client.client().subscribe(subject.clone()).await?;
        let client = self.client.client().clone();
        let echo = tokio::spawn(async move {
            if let Some(message) = responder.next().await
                && let Some(reply) = message.reply
            {
                let _ = client.publish(reply, message.payload).await;
            }
        });
        self.client.sync().await?;
        let sent = Instant::now();
        self.client
            .client()
            .request(subject, bytes::Bytes::from_static(b"x"))
            .await?;
        let took = sent.elapsed();
        echo.abort();
        Ok(took)
    }
}

/// A socket following one conversation, as a client should: on `lagged` it resubscribes from
/// where its feed stopped, so it still gets every event once.
struct Follower {
    ws: Socket,
    conversation: Uuid,
    /// Times its feed was stopped because it read too slowly.
    lagged: u64,
}

impl Follower {
    /// The next chat event's data.
    async fn event(&mut self) -> anyhow::Result<serde_json::Value> {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(60), self.ws.next())
                .await
                .context("no chat event within 60 s")?
                .context("the socket closed")??;
            if let Message::Text(text) = message {
                let frame: serde_json::Value = serde_json::from_str(text.as_str())?;
                match frame["type"].as_str() {
                    Some("event") => return Ok(frame["data"].clone()),
                    Some("lagged") => {
                        self.lagged += 1;
                        let resume = serde_json::json!({"type": "subscribe", "topic": "chat",
                            "keys": [self.conversation], "resume_from": frame["resume_from"]});
                        self.ws.send(Message::text(resume.to_string())).await?;
                    }
                    Some("error") => bail!("the socket said {frame}"),
                    _ => {}
                }
            }
        }
    }

    /// When the first delta arrived.
    async fn first_delta(&mut self) -> anyhow::Result<Instant> {
        loop {
            if self.event().await?["kind"] == "delta" {
                return Ok(Instant::now());
            }
        }
    }

    async fn until_done(&mut self) -> anyhow::Result<()> {
        loop {
            match self.event().await?["kind"].as_str() {
                Some("completed") => return Ok(()),
                Some("failed") => bail!("a generation failed"),
                _ => {}
            }
        }
    }

    /// Deltas until `completed`, whether they came in order (`d0 `, `d1 ` …), and how often
    /// the socket lagged and resumed.
    async fn deltas(&mut self) -> anyhow::Result<(u64, bool, u64)> {
        let (mut count, mut ordered) = (0u64, true);
        loop {
            let event = self.event().await?;
            match event["kind"].as_str() {
                Some("delta") => {
                    ordered &= event["text"].as_str() == Some(&format!("d{count} "));
                    count += 1;
                }
                Some("completed") => return Ok((count, ordered, self.lagged)),
                Some("failed") => bail!("a generation failed: {event}"),
                _ => {}
            }
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn targets(outcome: &ChatOutcome) -> Vec<Target> {
    let ChatOutcome::Measured(f) = outcome else {
        let detail = match outcome {
            ChatOutcome::Failed { error } => format!("failed: {error}"),
            _ => "skipped".to_owned(),
        };
        return vec![Target {
            name: "chat suite".into(),
            verdict: Verdict::NotMeasured,
            detail,
        }];
    };
    vec![
        Target {
            name: format!(
                "provider's first byte -> first delta on /ws, p50 <= {FIRST_DELTA_MS_MAX} ms"
            ),
            verdict: Verdict::from_bool(f.first_delta_p50_ms <= FIRST_DELTA_MS_MAX),
            detail: format!(
                "p50 {:.2} ms, p99 {:.2} ms over {FIRST_DELTA_RUNS} generations; raw NATS round trip p50 {:.3} ms",
                f.first_delta_p50_ms, f.first_delta_p99_ms, f.nats_round_trip_p50_ms
            ),
        },
        Target {
            name: format!(
                "{} generations x {} deltas through one gateway: all delivered, in order",
                f.generations, f.deltas_each
            ),
            verdict: Verdict::from_bool(
                f.in_order && f.delivered == (f.generations * f.deltas_each) as u64,
            ),
            detail: format!(
                "{} deltas in {:.2} s = {:.0} deltas/s, {} lagged-and-resumed; RSS {} -> peak {} KiB (assistant, gateway and clients in one process)",
                f.delivered, f.seconds, f.deltas_per_s, f.resumes, f.rss_before_kib, f.rss_peak_kib
            ),
        },
    ]
}
