//! Spawning the system under test: real NATS, real Postgres (via `testkit`), the real market
//! service and the real gateway, each test under its own subject prefix and database.

use std::{net::SocketAddr, time::Duration};

use bus::{Bus, BusConfig, RequestContext};
use chrono::Utc;
use contracts::{
    Event,
    market::{PriceUpdated, QuoteSource, Ticker},
};
use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::Value;
use testkit::TestEnv;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::{WebSocketStream, tungstenite::Message};
use tokio_util::sync::CancellationToken;

/// A running gateway (and market, unless spawned without), torn down when dropped.
pub(crate) struct TestApp {
    pub(crate) address: String,
    pub(crate) addr: SocketAddr,
    pub(crate) http: reqwest::Client,
    /// A test-side connection under the test's prefix, streams provisioned.
    pub(crate) bus: Bus,
    pub(crate) env: TestEnv,
    pub(crate) shutdown: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Options for [`spawn`].
pub(crate) struct Spawn {
    pub(crate) market: bool,
    pub(crate) provision: bool,
    pub(crate) request_timeout: Duration,
    pub(crate) configure: Box<dyn FnOnce(&mut gateway::Config)>,
}

impl Default for Spawn {
    fn default() -> Self {
        Self {
            market: true,
            provision: true,
            request_timeout: Duration::from_secs(5),
            configure: Box::new(|_| {}),
        }
    }
}

/// Market (feed off) and gateway.
pub(crate) async fn spawn_app() -> TestApp {
    spawn(Spawn::default()).await
}

/// Market (feed off) and a gateway configured by `configure`.
pub(crate) async fn spawn_app_with(
    configure: impl FnOnce(&mut gateway::Config) + 'static,
) -> TestApp {
    spawn(Spawn {
        configure: Box::new(configure),
        ..Spawn::default()
    })
    .await
}

/// The gateway alone: nobody answers the market's subjects.
pub(crate) async fn spawn_gateway_only() -> TestApp {
    spawn(Spawn {
        market: false,
        ..Spawn::default()
    })
    .await
}

pub(crate) async fn spawn(options: Spawn) -> TestApp {
    let env = TestEnv::new().await;
    let bus = if options.provision {
        env.provisioned_bus().await
    } else {
        env.bus().await
    };
    let shutdown = CancellationToken::new();
    if options.market {
        let pool =
            bus::pg::connect_and_migrate(&env.database_url, market::SCHEMA, &market::MIGRATOR, 5)
                .await
                .expect("migrate the market schema");
        let market_bus = connect(&env, "market", Duration::from_secs(5)).await;
        let market = market::App::build(market::Config::default(), market_bus, pool)
            .await
            .expect("build market");
        tokio::spawn(market.run_until_stopped(shutdown.child_token()));
    }
    let mut config = gateway::Config {
        http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        discovery_wait: Duration::from_millis(500),
        shutdown_grace: Duration::from_secs(2),
        ..gateway::Config::default()
    };
    (options.configure)(&mut config);
    let gateway_bus = connect(&env, "gateway", options.request_timeout).await;
    let app = gateway::App::build(config, gateway_bus)
        .await
        .expect("build gateway");
    let addr = app.local_addr();
    tokio::spawn(app.run_until_stopped(shutdown.child_token()));
    TestApp {
        address: format!("http://{addr}"),
        addr,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        bus,
        env,
        shutdown,
    }
}

async fn connect(env: &TestEnv, name: &str, request_timeout: Duration) -> Bus {
    let mut config = BusConfig::new(&env.nats_url, env.prefix.clone(), name);
    config.request_timeout = request_timeout;
    Bus::connect(config).await.expect("connect to NATS")
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("GET")
    }

    /// Status and envelope of a GET.
    pub(crate) async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        envelope_of(self.get(path).await).await
    }

    pub(crate) async fn post_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        envelope_of(
            self.http
                .post(self.url(path))
                .json(body)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    pub(crate) async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST");
        envelope_of(response).await
    }

    pub(crate) async fn metrics(&self) -> String {
        self.get("/metrics").await.text().await.unwrap()
    }

    /// Publishes a price straight to JetStream, as the market feed would; returns its sequence.
    pub(crate) async fn publish_price(&self, symbol: &str, price: &str) -> u64 {
        let event = price_event(symbol, price);
        self.bus
            .publish_event(&RequestContext::new(), &event)
            .await
            .expect("publish a price")
            .sequence
    }

    /// Publishes `count` prices of `symbol` pipelined (acks awaited after sending them all);
    /// returns their sequences in order.
    pub(crate) async fn publish_prices(&self, symbol: &str, count: usize) -> Vec<u64> {
        let mut pending = Vec::with_capacity(count);
        for i in 0..count {
            let event = price_event(symbol, &format!("{}.{i}", 100 + i % 50));
            let payload = serde_json::to_vec(&event).unwrap();
            let ctx = RequestContext::new();
            let ack = self
                .bus
                .publish_event_bytes(
                    &event.subject(),
                    &event.event_id.to_string(),
                    ctx.to_headers(),
                    payload.into(),
                )
                .await
                .expect("publish a price");
            pending.push(ack);
        }
        let mut sequences = Vec::with_capacity(count);
        for ack in pending {
            sequences.push(ack.await.expect("a publish ack").sequence);
        }
        sequences
    }

    pub(crate) async fn ws(&self) -> WsClient {
        self.ws_at("/ws", None).await
    }

    /// A WebSocket client; `recv_buffer` shrinks its TCP receive buffer (for slow-client tests).
    pub(crate) async fn ws_at(&self, path: &str, recv_buffer: Option<u32>) -> WsClient {
        let socket = TcpSocket::new_v4().unwrap();
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).unwrap();
        }
        let tcp = socket
            .connect(self.addr)
            .await
            .expect("connect to the gateway");
        let url = format!("ws://{}{path}", self.addr);
        let (stream, _) = tokio_tungstenite::client_async(url, tcp)
            .await
            .expect("WebSocket handshake");
        WsClient { stream }
    }
}

fn price_event(symbol: &str, price: &str) -> PriceUpdated {
    PriceUpdated {
        event_id: contracts::new_id(),
        occurred_at: Utc::now(),
        symbol: Ticker::parse(symbol).unwrap(),
        price: price.parse::<Decimal>().unwrap(),
        currency: "USD".into(),
        source: QuoteSource::Simulated,
    }
}

pub(crate) async fn envelope_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"));
    (status, body)
}

pub(crate) struct WsClient {
    pub(crate) stream: WebSocketStream<TcpStream>,
}

/// How long a frame that should come may take.
pub(crate) const FRAME_WAIT: Duration = Duration::from_secs(10);

impl WsClient {
    pub(crate) async fn send(&mut self, frame: Value) {
        self.stream
            .send(Message::text(frame.to_string()))
            .await
            .expect("send a frame");
    }

    pub(crate) async fn stream_send(&mut self, message: Message) {
        self.stream.send(message).await.expect("send a message");
    }

    /// The next JSON frame (pings and pongs of the protocol layer skipped).
    pub(crate) async fn next_frame(&mut self) -> Value {
        match self.next_message().await {
            Message::Text(text) => serde_json::from_str(text.as_str()).expect("a JSON frame"),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The next message that is not a WebSocket ping or pong.
    pub(crate) async fn next_message(&mut self) -> Message {
        loop {
            let message = tokio::time::timeout(FRAME_WAIT, self.stream.next())
                .await
                .expect("a frame in time")
                .expect("the socket is open")
                .expect("a readable frame");
            if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
                return message;
            }
        }
    }

    /// Subscribes and returns the `subscribed` frame.
    pub(crate) async fn subscribe(&mut self, symbols: &[&str], resume_from: Option<u64>) -> Value {
        let mut frame =
            serde_json::json!({"type": "subscribe", "topic": "prices", "symbols": symbols});
        if let Some(seq) = resume_from {
            frame["resume_from"] = seq.into();
        }
        self.send(frame).await;
        let reply = self.next_frame().await;
        assert_eq!(reply["type"], "subscribed", "{reply}");
        reply
    }

    /// The next `event` frame, as (seq, symbol).
    pub(crate) async fn next_event(&mut self) -> (u64, String) {
        let frame = self.next_frame().await;
        assert_eq!(frame["type"], "event", "{frame}");
        event_of(&frame)
    }
}

pub(crate) fn event_of(frame: &Value) -> (u64, String) {
    let seq = frame["seq"].as_u64().expect("seq");
    let symbol = frame["data"]["symbol"].as_str().expect("symbol").to_owned();
    assert_eq!(frame["subject"], format!("evt.price.{symbol}"), "{frame}");
    (seq, symbol)
}

/// The value of a counter or gauge sample in OpenMetrics text, 0 when absent.
pub(crate) fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}
