//! The system under test, started in this process against the real NATS and Postgres.
//!
//! [`Scratch`] (in [`scratch`]) is this run's share of the servers: a unique subject prefix and
//! a scratch database, both removed at the end.
//!
//! [`Stack`] is what the scenarios talk to: market, identity and the gateway, each started by
//! the service kit on a NATS connection of its own as in a deployment, the raw echo responder
//! of scenario (a) on another, the benchmark's requests on another. One simulated price tick
//! puts a quote for every seeded symbol (AAPL among them) in the `quotes` bucket before
//! anything runs.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use async_nats::Subject;
use bus::{
    Bus, BusConfig, NatsArgs, RequestContext,
    kit::{self, Platform, Service},
};
use bytes::Bytes;
use contracts::{
    identity::{RegisterUser, Role},
    market::{GetQuote, Ticker},
};
use futures::{StreamExt, future::BoxFuture};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{http, report::Scenario};

mod scratch;

pub(crate) use scratch::Scratch;

/// The symbol every scenario asks for.
pub(crate) const SYMBOL: &str = "AAPL";
/// The raw subject of scenario (a), under the run's prefix.
const ECHO_SUBJECT: &str = "bench.raw.echo";
const LOGIN_PATH: &str = "/api/v1/auth/login";
/// Connections the HTTP client keeps alive to the gateway (the highest concurrency measured).
pub(crate) const HTTP_POOL: usize = 64;
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Gateway rate limits that a benchmark on loopback cannot reach.
const UNLIMITED_RPS: u32 = 10_000_000;

/// One request of a scenario, ready to be called by the load generator.
pub(crate) type RequestFn =
    Arc<dyn Fn(usize) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// The running market service, gateway and echo responder, and the clients to reach them.
pub(crate) struct Stack {
    /// The benchmark's own connection: requests of (a) and (b).
    client: Bus,
    http: Arc<http::Client>,
    /// A valid access token for scenario (d), signed with the gateway's key.
    access_token: String,
    /// The body of scenario (e): an account created before the run.
    login_body: serde_json::Value,
    echo_subject: Subject,
    /// The request payload of (a): what (b) sends.
    echo_request: Bytes,
    shutdown: CancellationToken,
    tasks: Tasks,
}

impl Stack {
    pub(crate) async fn start(scratch: &Scratch) -> anyhow::Result<Self> {
        let prefix = scratch.prefix.clone();
        let connect = |name: &'static str| {
            let config = BusConfig::new(&scratch.nats_url, prefix.clone(), name);
            async move {
                Bus::connect(config)
                    .await
                    .with_context(|| format!("connection {name}"))
            }
        };
        // Every service through the kit, as its binary starts it.
        let nats = NatsArgs {
            nats_url: scratch.nats_url.clone(),
            subject_prefix: prefix.clone(),
            stream_replicas: 1,
            request_timeout: REQUEST_TIMEOUT,
        };
        let platform = Platform::new(nats, &scratch.database_url);
        let market = kit::start::<market::App>(&platform, market::Config::default()).await?;
        let quote = seed_quote(market.state()).await?;

        // Identity and the gateway share one signing key, as in a deployment.
        let token = token_config()?;
        let identity =
            kit::start::<identity::App>(&platform, identity::Config::new(token.clone())).await?;
        let login_body = seed_account(&identity_pool(scratch).await?).await?;
        let access_token = mint_token(&token)?;

        let config = gateway_config(token)?;
        let gateway = kit::start::<gateway::App>(&platform, config).await?;
        let server = connect("bench-echo").await?;

        // Everything that can fail comes before the first spawn, so a failed start leaves no task.
        let client = connect("bench-client").await?;
        let http = Arc::new(http::Client::new(gateway.local_addr(), HTTP_POOL));
        let echo_request = serde_json::to_vec(&GetQuote {
            symbol: Ticker::parse(SYMBOL)?,
        })?
        .into();
        let shutdown = CancellationToken::new();
        let echo_subject = Subject::from(server.prefix().subject(ECHO_SUBJECT));
        let echo = echo_responder(&server, echo_subject.clone(), quote, shutdown.clone()).await?;
        let tasks = vec![
            (
                "market",
                tokio::spawn(market.run_until_stopped(shutdown.clone())),
            ),
            (
                "identity",
                tokio::spawn(identity.run_until_stopped(shutdown.clone())),
            ),
            (
                "gateway",
                tokio::spawn(gateway.run_until_stopped(shutdown.clone())),
            ),
            ("echo responder", echo),
        ];
        Ok(Self {
            client,
            http,
            access_token,
            login_body,
            echo_subject,
            echo_request,
            shutdown,
            tasks,
        })
    }

    /// One request of `scenario`; an answer that is not a success is an error. The function
    /// is called with the load worker's index (see [`crate::http`]).
    pub(crate) fn request_fn(&self, scenario: Scenario) -> anyhow::Result<RequestFn> {
        Ok(match scenario {
            Scenario::RawNats => {
                let (client, subject, payload) = (
                    self.client.client().clone(),
                    self.echo_subject.clone(),
                    self.echo_request.clone(),
                );
                Arc::new(move |_| {
                    let (client, subject, payload) =
                        (client.clone(), subject.clone(), payload.clone());
                    Box::pin(async move {
                        client
                            .request(subject, payload)
                            .await
                            .map(drop)
                            .map_err(Into::into)
                    })
                })
            }
            Scenario::MarketNats => {
                let (bus, symbol) = (self.client.clone(), Ticker::parse(SYMBOL)?);
                Arc::new(move |_| {
                    let (bus, request) = (
                        bus.clone(),
                        GetQuote {
                            symbol: symbol.clone(),
                        },
                    );
                    Box::pin(async move {
                        bus.request(&RequestContext::new(), &request)
                            .await
                            .map(drop)
                            .map_err(Into::into)
                    })
                })
            }
            Scenario::GatewayHttp => self.http_fn(&price_path(), None, None),
            Scenario::GatewayHttpAuth => {
                self.http_fn(&price_path(), Some(self.access_token.clone()), None)
            }
            Scenario::Login => {
                let body = serde_json::to_vec(&self.login_body)?.into();
                self.http_fn(LOGIN_PATH, None, Some(body))
            }
        })
    }

    /// A request to the gateway on the worker's own connection.
    fn http_fn(&self, path: &str, bearer: Option<String>, json: Option<Bytes>) -> RequestFn {
        let (http, path) = (self.http.clone(), Arc::<str>::from(path));
        Arc::new(move |worker| {
            let (http, path, bearer, json) =
                (http.clone(), path.clone(), bearer.clone(), json.clone());
            Box::pin(async move {
                let request = http.request(&path, bearer.as_deref(), json)?;
                http.send(worker, request).await
            })
        })
    }

    /// Stops everything started, within the services' grace periods; reports what failed.
    pub(crate) async fn stop(self) {
        stop_tasks(&self.shutdown, self.tasks).await;
    }
}

/// Services running on tasks of their own, by name.
pub(crate) type Tasks = Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>;

/// Cancels `shutdown` and waits for `tasks`, within the services' grace periods; reports what
/// failed.
pub(crate) async fn stop_tasks(shutdown: &CancellationToken, tasks: Tasks) {
    shutdown.cancel();
    for (name, task) in tasks {
        match tokio::time::timeout(Duration::from_secs(15), task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(err))) => eprintln!("warning: {name} stopped with an error: {err:#}"),
            Ok(Err(err)) => eprintln!("warning: {name} task failed: {err}"),
            Err(_) => eprintln!("warning: {name} did not stop within 15 s"),
        }
    }
}

/// One tick of the simulated feed (seeded), so that `quotes` holds AAPL; returns its stored
/// JSON, the reply payload of the echo responder (a quote-sized answer).
pub(crate) async fn seed_quote(state: &market::AppState) -> anyhow::Result<Bytes> {
    let mut feed =
        market::feed::simulated::SimulatedFeed::new(state.clone(), Duration::from_secs(5), Some(1));
    let published = feed
        .try_run_once()
        .await
        .context("seeding quotes with one simulated tick")?;
    anyhow::ensure!(
        published > 0,
        "the simulated feed published no quote: is the symbol catalogue empty?"
    );
    let quote = state
        .quotes
        .get(&Ticker::parse(SYMBOL)?)
        .await?
        .with_context(|| format!("no quote for {SYMBOL} after one simulated tick"))?;
    Ok(serde_json::to_vec(&quote)?.into())
}

/// A pool on identity's schema (already migrated by its start), to seed the login account.
async fn identity_pool(scratch: &Scratch) -> anyhow::Result<sqlx::PgPool> {
    let db = identity::App::DATABASE.context("identity has a database")?;
    Ok(bus::pg::connect_and_migrate(&scratch.database_url, db.schema, db.migrator, 2).await?)
}

/// Scenario (a)'s other end: a plain subscription answering every request with `reply`.
async fn echo_responder(
    bus: &Bus,
    subject: Subject,
    reply: Bytes,
    shutdown: CancellationToken,
) -> anyhow::Result<JoinHandle<anyhow::Result<()>>> {
    let client = bus.client().clone();
    let mut requests = client
        .subscribe(subject)
        .await
        .context("subscribing the echo responder")?;
    Ok(tokio::spawn(async move {
        loop {
            let message = tokio::select! {
                () = shutdown.cancelled() => break,
                message = requests.next() => message,
            };
            let Some(message) = message else { break };
            if let Some(reply_to) = message.reply {
                client.publish(reply_to, reply.clone()).await?;
            }
        }
        Ok(())
    }))
}

/// A random HS256 key for this run, shared by identity (signing) and the gateway (verifying).
pub(crate) fn token_config() -> anyhow::Result<auth::TokenConfig> {
    let secret = auth::RefreshToken::generate().context("cannot make a JWT secret")?;
    Ok(auth::TokenConfig::hs256(secret.into_string()))
}

/// An access token as identity would issue it, for an account that need not exist: (d) reads a
/// public route, where the gateway verifies the token and acts for its user.
fn mint_token(config: &auth::TokenConfig) -> anyhow::Result<String> {
    mint_token_for(config, uuid::Uuid::now_v7())
}

/// An access token for `user`, as identity would issue it.
pub(crate) fn mint_token_for(
    config: &auth::TokenConfig,
    user: uuid::Uuid,
) -> anyhow::Result<String> {
    let keys = auth::TokenKeys::signing(config)?;
    let claims = keys.claims(
        user,
        vec![Role::User],
        Duration::from_secs(3600),
        chrono::Utc::now(),
    );
    Ok(keys.issue(&claims)?)
}

/// The account scenario (e) logs in to, created through identity's own registration path.
async fn seed_account(pool: &sqlx::PgPool) -> anyhow::Result<serde_json::Value> {
    let (email, password) = ("bench@example.com", "bench-password-1234");
    let request = RegisterUser {
        email: email.into(),
        password: password.into(),
        name: "Bench".into(),
    };
    identity::create_user(pool, &RequestContext::new(), request, &[Role::User])
        .await
        .context("creating the login account")?;
    Ok(serde_json::json!({ "email": email, "password": password }))
}

/// The gateway as deployed, on a free loopback port. The rate limits stay on (their cost is part
/// of a request's) but far above what 64 closed-loop workers on one address send, or (c) would
/// measure 429s. The token key is this run's own, shared with identity.
pub(crate) fn gateway_config(token: auth::TokenConfig) -> anyhow::Result<gateway::Config> {
    Ok(gateway::Config {
        http_addr: "127.0.0.1:0".parse()?,
        token,
        rate_limit_rps: UNLIMITED_RPS,
        rate_limit_burst: UNLIMITED_RPS,
        user_rate_limit_rps: UNLIMITED_RPS,
        // 0 turns the login limits off: (e) measures argon2, not the limiter.
        login_rate_per_min: 0,
        ..Default::default()
    })
}

/// The route of (c) and (d).
pub(crate) fn price_path() -> String {
    format!("/api/v1/stocks/{SYMBOL}/price")
}
