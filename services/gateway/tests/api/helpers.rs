//! Spawning the system under test: real NATS, real Postgres (via `testkit`), the real market and
//! identity services and the real gateway, each test under its own subject prefix and database.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use auth::{Role, TokenConfig, TokenKeys};
use bus::{Bus, RequestContext};
use chrono::Utc;
use contracts::{
    Currency, Event,
    market::{PriceUpdated, QuoteSource, Ticker},
};
use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::Value;
use testkit::{Running, TestEnv};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::{WebSocketStream, tungstenite::Message};

/// A running gateway (and market and identity, unless spawned without), torn down when dropped.
pub(crate) struct TestApp {
    pub(crate) address: String,
    pub(crate) addr: SocketAddr,
    pub(crate) http: reqwest::Client,
    /// A test-side connection under the test's prefix, streams provisioned.
    pub(crate) bus: Bus,
    /// Signs tokens with the gateway's secret, as identity does.
    pub(crate) keys: Arc<TokenKeys>,
    /// An admin's access token (minted: no account behind it), which `post_json` and `post_raw`
    /// send, so tests of admin-only routes test the route rather than the sign-in.
    pub(crate) admin_token: String,
    /// The test's own pool on identity's schema, when identity runs.
    pub(crate) identity_pool: Option<sqlx::PgPool>,
    /// The services under test; stopped when dropped.
    pub(crate) _services: Vec<Running>,
    // Last, so the servers are cleaned up after the services stopped.
    pub(crate) env: TestEnv,
}

/// The JWT secret of the tests; passes the strength rules.
pub(crate) const SECRET: &str = "gAtEwAy-TeSt-9f86d081884c7d659a2feaa0c55ad015a3bf";
/// A password every test account uses.
pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// Options for [`spawn`].
pub(crate) struct Spawn {
    pub(crate) market: bool,
    /// The market's configuration (no feed by default).
    pub(crate) market_config: market::Config,
    pub(crate) identity: bool,
    pub(crate) portfolio: bool,
    /// A terminal instance, its workspace root a directory of the test's own.
    pub(crate) terminal: bool,
    /// An assistant (offline model only).
    pub(crate) assistant: bool,
    /// A workspace instance on the terminal's workspace root (local git remotes allowed).
    pub(crate) workspace: bool,
    pub(crate) provision: bool,
    pub(crate) request_timeout: Duration,
    /// The gateway's clock (a manual one lets a test pass a token's expiry without waiting).
    pub(crate) clock: bus::Clock,
    /// Another NATS server than the shared one, e.g. a `testkit::NatsServer` the test stops.
    pub(crate) nats_url: Option<String>,
    /// Stream replicas (3 on a `testkit::NatsCluster`).
    pub(crate) replicas: u8,
    pub(crate) configure: Box<dyn FnOnce(&mut gateway::Config)>,
}

impl Default for Spawn {
    fn default() -> Self {
        Self {
            market: true,
            market_config: market::Config::default(),
            identity: true,
            portfolio: false,
            terminal: false,
            assistant: false,
            workspace: false,
            provision: true,
            request_timeout: Duration::from_secs(5),
            clock: bus::Clock::system(),
            nats_url: None,
            replicas: 1,
            configure: Box::new(|_| {}),
        }
    }
}

/// Market (feed off), identity and gateway.
pub(crate) async fn spawn_app() -> TestApp {
    spawn(Spawn::default()).await
}

/// Market (feed off), identity and a gateway configured by `configure`.
pub(crate) async fn spawn_app_with(
    configure: impl FnOnce(&mut gateway::Config) + 'static,
) -> TestApp {
    spawn(Spawn {
        configure: Box::new(configure),
        ..Spawn::default()
    })
    .await
}

/// The gateway alone: nobody answers the market's or identity's subjects.
pub(crate) async fn spawn_gateway_only() -> TestApp {
    spawn(Spawn {
        market: false,
        identity: false,
        ..Spawn::default()
    })
    .await
}

/// Each service started by the kit, as its binary would be.
pub(crate) async fn spawn(options: Spawn) -> TestApp {
    let env = match options.nats_url {
        Some(url) => TestEnv::on_nats(url).await,
        None => TestEnv::new().await,
    };
    let bus = if options.provision {
        env.provisioned_bus_with(options.replicas).await
    } else {
        env.bus().await
    };
    let mut running = Vec::new();
    let mut service_platform = env.platform();
    service_platform.nats.stream_replicas = options.replicas;
    if options.market {
        let market = env
            .start_on::<market::App>(&service_platform, options.market_config)
            .await;
        running.push(testkit::run(market));
    }
    let token = TokenConfig::hs256(SECRET);
    let mut identity_pool = None;
    if options.identity {
        let mut config = identity::Config::new(token.clone());
        // Cheap hashing keeps the suite fast; identity's own tests cover the OWASP cost.
        config.password_hashing = identity::PasswordHashing::INSECURE_FOR_TESTS;
        running.push(testkit::run(
            env.start_on::<identity::App>(&service_platform, config)
                .await,
        ));
        identity_pool = Some(env.pool::<identity::App>().await);
    }
    if options.portfolio {
        let portfolio = env
            .start_on::<portfolio::App>(&service_platform, portfolio::Config::default())
            .await;
        running.push(testkit::run(portfolio));
    }
    if options.terminal {
        let config = terminal::Config {
            workspace_root: workspace_root(&env),
            terminal_commands: vec!["/bin/sh".into(), "cat".into()],
            ..terminal::Config::default()
        };
        let terminal = env
            .start_on::<terminal::App>(&service_platform, config)
            .await;
        running.push(testkit::run(terminal));
    }
    if options.assistant {
        let assistant = env
            .start_on::<assistant::App>(&service_platform, assistant::Config::default())
            .await;
        running.push(testkit::run(assistant));
    }
    if options.workspace {
        let config = workspace::Config {
            workspace_root: workspace_root(&env),
            workspace_allow_local_remotes: true,
            workspace_debounce: Duration::from_millis(50),
            ..workspace::Config::default()
        };
        let workspace = env
            .start_on::<workspace::App>(&service_platform, config)
            .await;
        running.push(testkit::run(workspace));
    }
    let mut config = gateway::Config {
        http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        discovery_wait: Duration::from_millis(500),
        shutdown_grace: Duration::from_secs(2),
        token: token.clone(),
        // Tests sign in far more often than people do; the rate-limit tests lower these.
        login_rate_per_min: 1000,
        register_rate_per_min: 1000,
        ..gateway::Config::default()
    };
    (options.configure)(&mut config);
    let mut platform = env.platform();
    platform.nats.request_timeout = options.request_timeout;
    platform.nats.stream_replicas = options.replicas;
    platform.provision = options.provision;
    platform.clock = options.clock;
    let app = env.start_on::<gateway::App>(&platform, config).await;
    let addr = app.local_addr();
    running.push(testkit::run(app));
    let keys = Arc::new(TokenKeys::signing(&token).expect("signing keys"));
    let admin_token = mint(&keys, contracts::new_id(), vec![Role::User, Role::Admin]);
    TestApp {
        address: format!("http://{addr}"),
        addr,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        bus,
        keys,
        admin_token,
        identity_pool,
        _services: running,
        env,
    }
}

impl Drop for TestApp {
    /// The terminal instance's workspace root goes with the test (nothing else is on disk).
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(workspace_root(&self.env));
    }
}

/// The workspace root of the test's terminal instance.
pub(crate) fn workspace_root(env: &TestEnv) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("bourse-gateway-terminal-{}", env.prefix))
}

/// A valid access token for `user_id` with `roles`, signed as identity signs.
pub(crate) fn mint(keys: &TokenKeys, user_id: uuid::Uuid, roles: Vec<Role>) -> String {
    let claims = keys.claims(user_id, roles, Duration::from_secs(900), Utc::now());
    keys.issue(&claims).expect("sign a token")
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

    /// A POST as an admin (see [`TestApp::admin_token`]).
    pub(crate) async fn post_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.post_json_as(Some(&self.admin_token), path, body).await
    }

    /// A POST with `token` as bearer, or none.
    pub(crate) async fn post_json_as(
        &self,
        token: Option<&str>,
        path: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let mut request = self.http.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        envelope_of(request.send().await.expect("POST")).await
    }

    /// Any request with `token` as bearer, or none; the raw response.
    pub(crate) async fn send_as(
        &self,
        method: reqwest::Method,
        token: Option<&str>,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("a request")
    }

    /// Status and envelope of a GET with `token` as bearer.
    pub(crate) async fn get_json_as(&self, token: &str, path: &str) -> (StatusCode, Value) {
        envelope_of(
            self.send_as(reqwest::Method::GET, Some(token), path, None)
                .await,
        )
        .await
    }

    /// Registers an account through the gateway; its envelope's `data`.
    pub(crate) async fn register(&self, email: &str) -> Value {
        let body = serde_json::json!({"email": email, "password": PASSWORD, "name": "Test User"});
        let (status, reply) = self
            .post_json_as(None, "/api/v1/auth/register", &body)
            .await;
        assert_eq!(status, 201, "{reply}");
        reply["data"].clone()
    }

    /// Logs in through the gateway; the session (`access_token`, `refresh_token`, `user`).
    pub(crate) async fn login(&self, email: &str) -> Value {
        let body = serde_json::json!({"email": email, "password": PASSWORD});
        let (status, reply) = self.post_json_as(None, "/api/v1/auth/login", &body).await;
        assert_eq!(status, 200, "{reply}");
        reply["data"].clone()
    }

    /// Registers and logs in; (user id, access token).
    pub(crate) async fn signed_in(&self, email: &str) -> (String, String) {
        let user = self.register(email).await;
        let session = self.login(email).await;
        (
            user["id"].as_str().unwrap().to_owned(),
            session["access_token"].as_str().unwrap().to_owned(),
        )
    }

    /// Creates an admin account as `bourse user create --admin` does, and logs it in.
    pub(crate) async fn signed_in_admin(&self, email: &str) -> (String, String) {
        let pool = self.identity_pool.as_ref().expect("identity runs");
        let request = contracts::identity::RegisterUser {
            email: email.to_owned(),
            password: PASSWORD.into(),
            name: "Admin".into(),
        };
        let user = identity::create_user(pool, &RequestContext::new(), request, &[Role::Admin])
            .await
            .expect("create an admin");
        let session = self.login(email).await;
        (
            user.id.to_string(),
            session["access_token"].as_str().unwrap().to_owned(),
        )
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
            .bearer_auth(&self.admin_token)
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

    /// A WebSocket client offering `protocols` in `Sec-WebSocket-Protocol`; the handshake's
    /// response (status, selected protocol) or the refusal's status.
    pub(crate) async fn ws_with_protocols(
        &self,
        protocols: &str,
    ) -> Result<(WsClient, Option<String>), StatusCode> {
        self.try_ws(Some(protocols)).await
    }

    /// A WebSocket client, or the status its upgrade was refused with.
    pub(crate) async fn try_ws(
        &self,
        protocols: Option<&str>,
    ) -> Result<(WsClient, Option<String>), StatusCode> {
        use tokio_tungstenite::tungstenite::{Error, client::IntoClientRequest};
        let mut request = format!("ws://{}/ws", self.addr)
            .into_client_request()
            .unwrap();
        if let Some(protocols) = protocols {
            request
                .headers_mut()
                .insert("sec-websocket-protocol", protocols.parse().unwrap());
        }
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        match tokio_tungstenite::client_async(request, tcp).await {
            Ok((stream, response)) => {
                let selected = response
                    .headers()
                    .get("sec-websocket-protocol")
                    .map(|v| v.to_str().unwrap().to_owned());
                Ok((WsClient { stream }, selected))
            }
            Err(Error::Http(response)) => {
                Err(StatusCode::from_u16(response.status().as_u16()).unwrap())
            }
            Err(other) => panic!("handshake failed: {other}"),
        }
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

pub(crate) fn price_event(symbol: &str, price: &str) -> PriceUpdated {
    PriceUpdated {
        event_id: contracts::new_id(),
        occurred_at: Utc::now(),
        symbol: Ticker::parse(symbol).unwrap(),
        price: price.parse::<Decimal>().unwrap(),
        currency: Currency::parse("USD").unwrap(),
        source: QuoteSource::Simulated,
    }
}

/// The `(date, close)` pairs of a price-history envelope.
pub(crate) fn closes(body: &Value) -> Vec<(String, String)> {
    body["data"]["closes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["date"].as_str().unwrap().to_owned(),
                c["close"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
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
            serde_json::json!({"type": "subscribe", "topic": "prices", "keys": symbols});
        if let Some(seq) = resume_from {
            frame["resume_from"] = seq.into();
        }
        self.send(frame).await;
        let reply = self.next_frame().await;
        assert_eq!(reply["type"], "subscribed", "{reply}");
        reply
    }

    /// Subscribes as a client does across an outage: while the stream has no leader the
    /// gateway answers `unavailable` (after trying for some seconds itself), and the client asks
    /// again, until `give_up`.
    pub(crate) async fn subscribe_retrying(
        &mut self,
        symbols: &[&str],
        resume_from: Option<u64>,
        give_up: Duration,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + give_up;
        loop {
            let mut frame =
                serde_json::json!({"type": "subscribe", "topic": "prices", "keys": symbols});
            if let Some(seq) = resume_from {
                frame["resume_from"] = seq.into();
            }
            self.send(frame).await;
            let reply = self.next_frame().await;
            if reply["type"] == "subscribed" {
                return reply;
            }
            assert!(
                reply["code"] == "unavailable" && tokio::time::Instant::now() < deadline,
                "{reply}"
            );
        }
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
    let token = Ticker::parse(&symbol).unwrap().token();
    assert_eq!(frame["subject"], format!("evt.price.{token}"), "{frame}");
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
