//! The portfolio suite: what money costs, on market, portfolio, valuation and the gateway
//! started in this process under a prefix of their own.
//!
//! - **durable trades/s** (`portfolio.v1.trade.execute` over NATS at concurrency 64, and `POST
//!   /api/v1/trades` through the gateway): a trade counts once its DB commit is answered *and*
//!   the outbox relay has had its events acknowledged by JetStream, so the rate is the window's
//!   trades over the window plus the time the outbox took to drain after it. Baseline, same
//!   run: JetStream publish + ack of a trade-sized event at the same concurrency (the floor of
//!   the event half alone).
//! - **performance** of one portfolio with 10,000 activities over 10 years of daily closes
//!   (`portfolio.v1.performance.get`, range max, one request at a time): p50 and p99.
//! - **full revaluation**: 10,000 portfolios × 20 positions over 500 symbols, one valuation
//!   instance; one tick of every symbol (quote + price event, as the feed makes them), then the
//!   time until the last portfolio's `evt.valuation` arrived. Baseline, same run: as many
//!   valuation-sized JetStream publishes, pipelined, with their acks.
//!
//! Setup goes through the services' own requests (create, record, import), so the data is what
//! users would have made.

use std::{
    collections::HashSet,
    future::IntoFuture,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use bus::{
    Actor, Bus, BusConfig, NatsArgs, RequestContext,
    kit::{self, Platform, Service},
};
use chrono::{Days, NaiveDate, Utc};
use contracts::{
    Currency, Event,
    market::{
        DailyClose, EnsureSymbols, HistoryData, ImportPriceHistory, ManualSymbol, PriceUpdated,
        Quote, QuoteSource, Quotes, Ticker,
    },
    portfolio::{
        ActivityType, CreatePortfolio, ExecuteTrade, GetPerformance, NewActivity, PortfolioName,
        RecordActivities, TradeSide,
    },
    valuation::{PortfolioValued, ValuationCause},
};
use futures::{StreamExt, TryStreamExt, future::join_all, stream};
use rust_decimal::Decimal;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    http,
    load::{self, LoadSpec},
    report::{Target, Verdict},
    stack::{self, Scratch},
};

/// Durable trades per second through NATS, at least.
pub(crate) const TRADES_PER_S_MIN: f64 = 2_000.0;
/// A performance request of the 10-year portfolio, at most (p50).
pub(crate) const PERFORMANCE_MS_MAX: f64 = 50.0;
/// Tick to the last valuation, at most.
pub(crate) const REVALUATION_S_MAX: f64 = 1.0;

/// Concurrency of the trade scenarios.
const TRADERS: usize = 64;
/// Concurrency of the set-up requests.
const SETUP_CONCURRENCY: usize = 32;
/// Activities per record request of the set-up (one NATS message each, below 1 MB).
const RECORD_BATCH: usize = 1_000;
/// Portfolios per user in the revaluation set-up.
const PORTFOLIOS_PER_USER: usize = 100;

/// One scenario of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PortfolioScenario {
    Trades,
    Performance,
    Revaluation,
}

#[derive(Debug, Clone)]
pub(crate) struct PortfolioPlan {
    /// The scenarios to run; all when empty.
    pub(crate) scenarios: Vec<PortfolioScenario>,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    pub(crate) activities: usize,
    pub(crate) years: u32,
    pub(crate) portfolios: usize,
    pub(crate) positions: usize,
    pub(crate) symbols: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub(crate) enum PortfolioOutcome {
    Skipped,
    Failed { error: String },
    Measured(Box<PortfolioFigures>),
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct PortfolioFigures {
    /// JetStream publish + ack of a trade-sized event @64, per second.
    pub(crate) publish_floor_per_s: Option<f64>,
    pub(crate) trades_nats: Option<Trades>,
    pub(crate) trades_gateway: Option<Trades>,
    pub(crate) performance: Option<PerformanceFigures>,
    pub(crate) revaluation: Option<Revaluation>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Trades {
    pub(crate) trades: u64,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    /// Answered trades per second of the window.
    pub(crate) answered_per_s: f64,
    /// Seconds the outbox took to be empty after the window.
    pub(crate) drain_s: f64,
    /// Trades over window + drain.
    pub(crate) durable_per_s: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct PerformanceFigures {
    pub(crate) activities: usize,
    pub(crate) years: u32,
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Revaluation {
    pub(crate) portfolios: usize,
    pub(crate) positions: usize,
    pub(crate) symbols: usize,
    /// Seconds from the first tick sent to the last portfolio's valuation received.
    pub(crate) last_valuation_s: f64,
    /// Valuations received for the tick (one per portfolio when the tick is one batch).
    pub(crate) valuations: usize,
    /// Seconds to publish as many valuation-sized events, pipelined, with their acks.
    pub(crate) publish_floor_s: f64,
    /// Seconds the one instance took from start to every portfolio valued (load + takeover).
    pub(crate) start_s: f64,
}

/// Runs the suite; a failure is reported, not raised, so the other suites' figures still print.
pub(crate) async fn measure(scratch: &mut Scratch, plan: &PortfolioPlan) -> PortfolioOutcome {
    match measure_all(scratch, plan).await {
        Ok(figures) => PortfolioOutcome::Measured(Box::new(figures)),
        Err(err) => PortfolioOutcome::Failed {
            error: format!("{err:#}"),
        },
    }
}

async fn measure_all(
    scratch: &mut Scratch,
    plan: &PortfolioPlan,
) -> anyhow::Result<PortfolioFigures> {
    let stack = PortfolioStack::start(scratch).await?;
    let figures = stack.measure(plan).await;
    stack.stop().await;
    figures
}

/// Market, portfolio and gateway running; valuation started by the revaluation scenario.
struct PortfolioStack {
    platform: Platform,
    client: Bus,
    http: Arc<http::Client>,
    token: auth::TokenConfig,
    outbox: sqlx::PgPool,
    shutdown: CancellationToken,
    tasks: stack::Tasks,
}

impl PortfolioStack {
    async fn start(scratch: &mut Scratch) -> anyhow::Result<Self> {
        let prefix = scratch.extra_prefix("p")?;
        let nats = NatsArgs {
            nats_url: scratch.nats_url.clone(),
            subject_prefix: prefix.clone(),
            stream_replicas: 1,
            request_timeout: Duration::from_secs(30),
        };
        let mut platform = Platform::new(nats, &scratch.database_url);
        platform.pool_size = std::env::var("POOL")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10);
        let market = kit::start::<market::App>(&platform, market::Config::default()).await?;
        stack::seed_quote(market.state()).await?;
        let portfolio = kit::start::<portfolio::App>(
            &platform,
            portfolio::Config {
                portfolios_per_user: 1_000,
            },
        )
        .await?;
        let token = stack::token_config()?;
        let gateway =
            kit::start::<gateway::App>(&platform, stack::gateway_config(token.clone())?).await?;
        let db = portfolio::App::DATABASE.context("portfolio has a database")?;
        let outbox =
            bus::pg::connect_and_migrate(&scratch.database_url, db.schema, db.migrator, 2).await?;
        let client = Bus::connect(BusConfig::new(&scratch.nats_url, prefix, "bench-portfolio"))
            .await
            .context("the bench's connection")?;
        let http = Arc::new(http::Client::new(gateway.local_addr(), TRADERS));
        let shutdown = CancellationToken::new();
        let tasks = vec![
            (
                "market",
                tokio::spawn(market.run_until_stopped(shutdown.clone())),
            ),
            (
                "portfolio",
                tokio::spawn(portfolio.run_until_stopped(shutdown.clone())),
            ),
            (
                "gateway",
                tokio::spawn(gateway.run_until_stopped(shutdown.clone())),
            ),
        ];
        Ok(Self {
            platform,
            client,
            http,
            token,
            outbox,
            shutdown,
            tasks,
        })
    }

    async fn measure(&self, plan: &PortfolioPlan) -> anyhow::Result<PortfolioFigures> {
        let runs = |scenario| plan.scenarios.is_empty() || plan.scenarios.contains(&scenario);
        let spec = LoadSpec {
            concurrency: TRADERS,
            warmup: plan.warmup,
            duration: plan.duration,
        };
        let mut figures = PortfolioFigures {
            publish_floor_per_s: None,
            trades_nats: None,
            trades_gateway: None,
            performance: None,
            revaluation: None,
        };
        if runs(PortfolioScenario::Trades) {
            eprintln!("portfolio: JetStream publish + ack @{TRADERS} (the baseline)");
            figures.publish_floor_per_s = Some(self.publish_floor(spec).await?);
            eprintln!("portfolio: durable trades over NATS @{TRADERS}");
            figures.trades_nats = Some(self.trades_over_nats(spec).await?);
            eprintln!("portfolio: durable trades through the gateway @{TRADERS}");
            figures.trades_gateway = Some(self.trades_through_gateway(spec).await?);
        }
        if runs(PortfolioScenario::Performance) {
            eprintln!(
                "portfolio: performance of {} activities over {} years",
                plan.activities, plan.years
            );
            figures.performance = Some(self.performance(plan).await?);
        }
        if runs(PortfolioScenario::Revaluation) {
            eprintln!(
                "portfolio: revaluation of {} portfolios x {} positions over {} symbols",
                plan.portfolios, plan.positions, plan.symbols
            );
            figures.revaluation = Some(self.revaluation(plan).await?);
        }
        Ok(figures)
    }

    /// A trade-sized event published to JetStream and acknowledged, in a closed loop.
    async fn publish_floor(&self, spec: LoadSpec) -> anyhow::Result<f64> {
        let bus = self.client.clone();
        let payload = bytes::Bytes::from(vec![b'x'; 700]);
        let outcome = load::run(spec, move |_| {
            let (bus, payload) = (bus.clone(), payload.clone());
            async move {
                let id = Uuid::now_v7().to_string();
                let ack = bus
                    .publish_event_bytes(
                        &format!("evt.valuation.{id}"),
                        &id,
                        async_nats::HeaderMap::new(),
                        payload,
                    )
                    .await?;
                ack.await.map(drop).map_err(Into::into)
            }
        })
        .await?;
        Ok(rate(outcome.requests(), outcome.elapsed.as_secs_f64()))
    }

    async fn trades_over_nats(&self, spec: LoadSpec) -> anyhow::Result<Trades> {
        let user = Uuid::now_v7();
        let portfolios = self.portfolios(user, TRADERS).await?;
        let (bus, symbol) = (self.client.clone(), Ticker::parse(stack::SYMBOL)?);
        let portfolios = Arc::new(portfolios);
        let outcome = load::run(spec, move |worker| {
            let (bus, ctx) = (bus.clone(), actor(user));
            let request = ExecuteTrade {
                portfolio_id: portfolios[worker],
                side: TradeSide::Buy,
                symbol: symbol.clone(),
                quantity: Decimal::ONE,
                limit_price: None,
                client_order_id: None,
            };
            async move {
                bus.request(&ctx, &request)
                    .await
                    .map(drop)
                    .map_err(Into::into)
            }
        })
        .await?;
        self.durable(&outcome).await
    }

    async fn trades_through_gateway(&self, spec: LoadSpec) -> anyhow::Result<Trades> {
        let user = Uuid::now_v7();
        let portfolios = self.portfolios(user, TRADERS).await?;
        let token = stack::mint_token_for(&self.token, user)?;
        let bodies: Arc<Vec<bytes::Bytes>> = Arc::new(
            portfolios
                .iter()
                .map(|id| {
                    serde_json::to_vec(&serde_json::json!({
                        "portfolio_id": id, "side": "BUY", "symbol": stack::SYMBOL, "quantity": "1"
                    }))
                    .map(Into::into)
                })
                .collect::<Result<_, _>>()?,
        );
        let http = self.http.clone();
        let outcome = load::run(spec, move |worker| {
            let (http, token, body) = (http.clone(), token.clone(), bodies[worker].clone());
            async move {
                let request = http.request("/api/v1/trades", Some(&token), Some(body))?;
                http.send(worker, request).await
            }
        })
        .await?;
        self.durable(&outcome).await
    }

    /// The trade figures of `outcome`, once the outbox has published what it wrote.
    async fn durable(&self, outcome: &load::LoadOutcome) -> anyhow::Result<Trades> {
        let drained_from = Instant::now();
        self.outbox_drained(Duration::from_secs(120)).await?;
        let drain_s = drained_from.elapsed().as_secs_f64();
        let window = outcome.elapsed.as_secs_f64();
        Ok(Trades {
            trades: outcome.requests(),
            errors: outcome.errors,
            first_error: outcome.first_error.clone(),
            answered_per_s: rate(outcome.requests(), window),
            drain_s,
            durable_per_s: rate(outcome.requests(), window + drain_s),
            p50_ms: outcome.quantile_us(0.50) / 1_000.0,
            p99_ms: outcome.quantile_us(0.99) / 1_000.0,
        })
    }

    /// Waits until the portfolio outbox has nothing unsent.
    async fn outbox_drained(&self, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            let unsent: i64 =
                sqlx::query_scalar("select count(*) from portfolio.outbox where sent_at is null")
                    .fetch_one(&self.outbox)
                    .await?;
            if unsent == 0 {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{unsent} events still in the outbox after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// `symbols` in market's catalogue (as manual symbols, in USD), added by a bench user.
    async fn ensure(&self, symbols: &[Ticker]) -> anyhow::Result<()> {
        let ctx = actor(Uuid::from_u128(0xbe_ca7a));
        for chunk in symbols.chunks(EnsureSymbols::MAX) {
            let request = EnsureSymbols {
                symbols: chunk
                    .iter()
                    .map(|symbol| {
                        anyhow::Ok(ManualSymbol {
                            symbol: symbol.clone(),
                            currency: usd()?,
                        })
                    })
                    .collect::<Result<_, _>>()?,
            };
            self.client.request(&ctx, &request).await?;
        }
        Ok(())
    }

    /// `count` new portfolios of `user`.
    async fn portfolios(&self, user: Uuid, count: usize) -> anyhow::Result<Vec<Uuid>> {
        let ctx = actor(user);
        stream::iter(0..count)
            .map(|i| {
                let (bus, ctx) = (&self.client, &ctx);
                async move {
                    let request = CreatePortfolio {
                        name: PortfolioName::parse(&format!("Bench {i}"))?,
                        description: None,
                        base_currency: usd()?,
                    };
                    anyhow::Ok(bus.request(ctx, &request).await?.id)
                }
            })
            .buffered(SETUP_CONCURRENCY)
            .try_collect()
            .await
    }

    async fn performance(&self, plan: &PortfolioPlan) -> anyhow::Result<PerformanceFigures> {
        const SYMBOLS: usize = 20;
        let today = Utc::now().date_naive();
        let start = today
            .checked_sub_days(Days::new(u64::from(plan.years) * 365))
            .context("a start date")?;
        let days: Vec<NaiveDate> = start.iter_days().take_while(|d| *d < today).collect();
        let symbols: Vec<Ticker> = (0..SYMBOLS)
            .map(|i| Ticker::parse(&format!("BP{i:02}")))
            .collect::<Result<_, _>>()?;
        self.ensure(&symbols).await?;
        // Daily closes of every symbol over the years: a slow walk from 100.
        for (s, symbol) in symbols.iter().enumerate() {
            let closes: Vec<DailyClose> = days
                .iter()
                .enumerate()
                .map(|(d, date)| DailyClose {
                    date: *date,
                    close: close_of(s, d),
                })
                .collect();
            for chunk in closes.chunks(ImportPriceHistory::MAX_ROWS) {
                let request = ImportPriceHistory {
                    symbol: symbol.clone(),
                    data: HistoryData::Closes {
                        closes: chunk.to_vec(),
                    },
                };
                self.client
                    .request(&RequestContext::new(), &request)
                    .await?;
            }
        }
        // The activities, spread evenly over the days: per symbol, three buys and a sell of
        // half a buy in turn, a dividend every tenth and a fee every fiftieth.
        let user = Uuid::now_v7();
        let portfolio = self.portfolios(user, 1).await?[0];
        let activities: Vec<NewActivity> = (0..plan.activities)
            .map(|i| {
                let d = i * days.len() / plan.activities;
                let s = i % SYMBOLS;
                let turn = i / SYMBOLS;
                let (kind, quantity) = match turn % 4 {
                    _ if i % 50 == 49 => (ActivityType::Fee, Decimal::ZERO),
                    _ if i % 10 == 9 => (ActivityType::Dividend, Decimal::TEN),
                    3 => (ActivityType::Sell, Decimal::from(5)),
                    _ => (ActivityType::Buy, Decimal::TEN),
                };
                anyhow::Ok(NewActivity {
                    kind,
                    date: days[d],
                    symbol: (kind != ActivityType::Fee).then(|| symbols[s].clone()),
                    quantity,
                    unit_price: if kind == ActivityType::Dividend {
                        Decimal::new(25, 2)
                    } else {
                        close_of(s, d)
                    },
                    fee: Decimal::ONE,
                    currency: usd()?,
                    note: None,
                })
            })
            .collect::<Result<_, _>>()?;
        let ctx = actor(user);
        for batch in activities.chunks(RECORD_BATCH) {
            let request = RecordActivities {
                portfolio_id: portfolio,
                activities: batch.to_vec(),
            };
            self.client
                .request(&ctx, &request)
                .await
                .context("recording the 10-year history")?;
        }
        let bus = self.client.clone();
        let spec = LoadSpec {
            concurrency: 1,
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(5),
        };
        let outcome = load::run(spec, move |_| {
            let (bus, ctx) = (bus.clone(), actor(user));
            let request = GetPerformance {
                portfolio_id: portfolio,
                as_of: None,
                range: None,
            };
            async move {
                bus.request(&ctx, &request)
                    .await
                    .map(drop)
                    .map_err(Into::into)
            }
        })
        .await?;
        Ok(PerformanceFigures {
            activities: plan.activities,
            years: plan.years,
            requests: outcome.requests(),
            errors: outcome.errors,
            p50_ms: outcome.quantile_us(0.50) / 1_000.0,
            p99_ms: outcome.quantile_us(0.99) / 1_000.0,
        })
    }

    async fn revaluation(&self, plan: &PortfolioPlan) -> anyhow::Result<Revaluation> {
        let symbols: Vec<Ticker> = (0..plan.symbols)
            .map(|i| Ticker::parse(&format!("BV{i:03}")))
            .collect::<Result<_, _>>()?;
        let yesterday = Utc::now().date_naive().pred_opt().context("yesterday")?;
        // Every symbol in the catalogue (one close) with a quote, as the feed leaves them.
        self.ensure(&symbols).await?;
        stream::iter(symbols.iter())
            .map(|symbol| async move {
                let request = ImportPriceHistory {
                    symbol: symbol.clone(),
                    data: HistoryData::Closes {
                        closes: vec![DailyClose {
                            date: yesterday,
                            close: Decimal::ONE_HUNDRED,
                        }],
                    },
                };
                self.client.request(&RequestContext::new(), &request).await
            })
            .buffer_unordered(SETUP_CONCURRENCY)
            .try_collect::<Vec<_>>()
            .await?;
        let quotes = self.client.bucket::<Quotes>().await?;
        self.tick(&quotes, &symbols, Decimal::from(101)).await?;

        // The portfolios, each buying `positions` symbols of its own window of the list.
        let users = plan.portfolios.div_ceil(PORTFOLIOS_PER_USER);
        let created = Instant::now();
        stream::iter(0..plan.portfolios)
            .map(|p| {
                let symbols = &symbols;
                async move {
                    let user = Uuid::from_u128(0xbe_0000 + (p % users) as u128);
                    let ctx = actor(user);
                    let request = CreatePortfolio {
                        name: PortfolioName::parse(&format!("Valued {p}"))?,
                        description: None,
                        base_currency: usd()?,
                    };
                    let portfolio = self.client.request(&ctx, &request).await?;
                    let activities = (0..plan.positions)
                        .map(|k| {
                            anyhow::Ok(NewActivity {
                                kind: ActivityType::Buy,
                                date: yesterday,
                                symbol: Some(
                                    symbols[(p * plan.positions + k) % symbols.len()].clone(),
                                ),
                                quantity: Decimal::TEN,
                                unit_price: Decimal::ONE_HUNDRED,
                                fee: Decimal::ZERO,
                                currency: usd()?,
                                note: None,
                            })
                        })
                        .collect::<Result<_, _>>()?;
                    let request = RecordActivities {
                        portfolio_id: portfolio.id,
                        activities,
                    };
                    self.client.request(&ctx, &request).await?;
                    anyhow::Ok(())
                }
            })
            .buffer_unordered(SETUP_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await
            .context("creating the portfolios")?;
        self.outbox_drained(Duration::from_secs(600)).await?;
        eprintln!(
            "portfolio: {} portfolios recorded and published in {:.1} s",
            plan.portfolios,
            created.elapsed().as_secs_f64()
        );

        let publish_floor_s = self.valuation_floor(plan.portfolios).await?;

        // One valuation instance: loaded and every portfolio valued once (taken over).
        let mut valuations = self
            .client
            .client()
            .subscribe(self.client.prefix().subject(&PortfolioValued::wildcard()))
            .await?;
        self.client.sync().await?;
        let started = Instant::now();
        let worker =
            kit::start::<valuation::App>(&self.platform, valuation::Config::default()).await?;
        let status = worker.status().clone();
        let stop = CancellationToken::new();
        let running = tokio::spawn(worker.run_until_stopped(stop.clone()));
        let mut valued = HashSet::new();
        while valued.len() < plan.portfolios {
            let message = tokio::time::timeout(Duration::from_secs(120), valuations.next())
                .await
                .context("the valuation worker's start took over 120 s")?
                .context("the subscription ended")?;
            let event: PortfolioValued = serde_json::from_slice(&message.payload)?;
            valued.insert(event.portfolio_id);
        }
        let start_s = started.elapsed().as_secs_f64();
        // Let the start settle: nothing more for half a second.
        while let Ok(Some(_)) =
            tokio::time::timeout(Duration::from_millis(500), valuations.next()).await
        {}
        anyhow::ensure!(status.report().ready, "the worker is not ready");

        // The measured tick.
        let sent = Instant::now();
        self.tick(&quotes, &symbols, Decimal::from(102)).await?;
        let mut ticked = HashSet::new();
        let mut received = 0;
        let mut last = sent.elapsed();
        while ticked.len() < plan.portfolios {
            let message = tokio::time::timeout(Duration::from_secs(60), valuations.next())
                .await
                .with_context(|| {
                    format!(
                        "only {} of {} portfolios revalued within 60 s of the tick",
                        ticked.len(),
                        plan.portfolios
                    )
                })?
                .context("the subscription ended")?;
            let event: PortfolioValued = serde_json::from_slice(&message.payload)?;
            if event.cause == ValuationCause::Price {
                received += 1;
                ticked.insert(event.portfolio_id);
                last = sent.elapsed();
            }
        }
        // Later valuations of the same tick (a second batch) are counted too.
        while let Ok(Some(_)) =
            tokio::time::timeout(Duration::from_millis(500), valuations.next()).await
        {
            received += 1;
        }
        stop.cancel();
        running.await??;
        Ok(Revaluation {
            portfolios: plan.portfolios,
            positions: plan.positions,
            symbols: plan.symbols,
            last_valuation_s: last.as_secs_f64(),
            valuations: received,
            publish_floor_s,
            start_s,
        })
    }

    /// One tick of every symbol at `price`, as the feed makes it (quote, then price event),
    /// pipelined: everything is sent, then every ack awaited.
    async fn tick(
        &self,
        quotes: &bus::kv::Kv<Quotes>,
        symbols: &[Ticker],
        price: Decimal,
    ) -> anyhow::Result<()> {
        let now = Utc::now();
        let puts = symbols.iter().map(|symbol| async move {
            let quote = Quote {
                symbol: symbol.clone(),
                price,
                currency: usd()?,
                previous_close: Some(Decimal::ONE_HUNDRED),
                change: None,
                change_percent: None,
                as_of: now,
                source: QuoteSource::Simulated,
            };
            quotes.put(symbol, &quote).await?;
            anyhow::Ok(())
        });
        join_all(puts)
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        let ctx = RequestContext::new();
        let mut acks = Vec::with_capacity(symbols.len());
        for symbol in symbols {
            let event = PriceUpdated {
                event_id: contracts::new_id(),
                occurred_at: now,
                symbol: symbol.clone(),
                price,
                currency: usd()?,
                source: QuoteSource::Simulated,
            };
            acks.push(self.client.send_event(&ctx, &event).await?);
        }
        for ack in join_all(acks.into_iter().map(IntoFuture::into_future)).await {
            ack.context("a price event was not acknowledged")?;
        }
        Ok(())
    }

    /// Seconds to publish `count` valuation-sized events, pipelined, with their acks.
    async fn valuation_floor(&self, count: usize) -> anyhow::Result<f64> {
        let payload = bytes::Bytes::from(vec![b'x'; 450]);
        let started = Instant::now();
        let mut acks = Vec::new();
        for _ in 0..count {
            let id = Uuid::now_v7().to_string();
            acks.push(
                self.client
                    .publish_event_bytes(
                        &format!("evt.valuation.{id}"),
                        &id,
                        async_nats::HeaderMap::new(),
                        payload.clone(),
                    )
                    .await?,
            );
            if acks.len() >= valuation::worker::IN_FLIGHT {
                for ack in join_all(acks.drain(..).map(IntoFuture::into_future)).await {
                    ack?;
                }
            }
        }
        for ack in join_all(acks.into_iter().map(IntoFuture::into_future)).await {
            ack?;
        }
        Ok(started.elapsed().as_secs_f64())
    }

    async fn stop(self) {
        stack::stop_tasks(&self.shutdown, self.tasks).await;
    }
}

/// A request acting for `user`, as the gateway stamps one.
fn actor(user: Uuid) -> RequestContext {
    RequestContext::new().with_actor(Some(Actor {
        user_id: user,
        roles: vec!["user".into()],
    }))
}

fn usd() -> anyhow::Result<Currency> {
    Ok(Currency::parse("USD")?)
}

/// The close of symbol `s` on day `d`: a slow, deterministic walk around 100.
fn close_of(s: usize, d: usize) -> Decimal {
    let wave = ((d + s * 37) % 400) as i64 - 200;
    Decimal::new(10_000 + (d as i64) * 2 + wave * 5 + (s as i64) * 100, 2)
}

fn rate(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        // Counts stay far below 2^52: the conversion is exact.
        #[allow(clippy::cast_precision_loss)]
        let count = count as f64;
        count / seconds
    } else {
        0.0
    }
}

/// The suite's targets.
pub(crate) fn targets(outcome: &PortfolioOutcome) -> Vec<Target> {
    let PortfolioOutcome::Measured(f) = outcome else {
        let detail = match outcome {
            PortfolioOutcome::Failed { error } => format!("failed: {error}"),
            _ => "skipped".to_owned(),
        };
        return vec![Target {
            name: "portfolio suite".into(),
            verdict: Verdict::NotMeasured,
            detail,
        }];
    };
    let clean = |t: &Trades| t.errors == 0 && t.trades > 0;
    let not_measured = |name: String| Target {
        name,
        verdict: Verdict::NotMeasured,
        detail: "not run".into(),
    };
    let mut targets = Vec::new();
    let nats_name = format!("durable trades/s over NATS >= {TRADES_PER_S_MIN:.0}");
    match (&f.trades_nats, &f.trades_gateway, f.publish_floor_per_s) {
        (Some(nats), Some(gateway), Some(floor)) => {
            targets.push(Target {
                name: nats_name,
                verdict: if clean(nats) {
                    Verdict::from_bool(nats.durable_per_s >= TRADES_PER_S_MIN)
                } else {
                    Verdict::NotMeasured
                },
                detail: trades_detail(nats, floor),
            });
            targets.push(Target {
                name: "durable trades/s through the gateway".into(),
                verdict: if clean(gateway) {
                    Verdict::Info
                } else {
                    Verdict::NotMeasured
                },
                detail: format!(
                    "{}; {:.2} x over NATS",
                    trades_detail(gateway, floor),
                    gateway.durable_per_s / nats.durable_per_s.max(f64::MIN_POSITIVE)
                ),
            });
        }
        _ => targets.push(not_measured(nats_name)),
    }
    match &f.performance {
        Some(p) => targets.push(Target {
            name: format!(
                "performance, {} activities / {} y, p50 <= {PERFORMANCE_MS_MAX:.0} ms",
                p.activities, p.years
            ),
            verdict: if p.errors == 0 && p.requests > 0 {
                Verdict::from_bool(p.p50_ms <= PERFORMANCE_MS_MAX)
            } else {
                Verdict::NotMeasured
            },
            detail: format!(
                "p50 {:.1} ms, p99 {:.1} ms, {} requests",
                p.p50_ms, p.p99_ms, p.requests
            ),
        }),
        None => targets.push(not_measured(format!(
            "performance p50 <= {PERFORMANCE_MS_MAX:.0} ms"
        ))),
    }
    match &f.revaluation {
        Some(r) => targets.push(Target {
            name: format!(
                "revaluation {}x{} / {} symbols <= {REVALUATION_S_MAX} s",
                r.portfolios, r.positions, r.symbols
            ),
            verdict: Verdict::from_bool(r.last_valuation_s <= REVALUATION_S_MAX),
            detail: format!(
                "{:.3} s to the last valuation ({} valuations); floor: {:.3} s to publish as many \
                 = {:.2} x; start (load + takeover) {:.1} s",
                r.last_valuation_s,
                r.valuations,
                r.publish_floor_s,
                r.last_valuation_s / r.publish_floor_s.max(f64::MIN_POSITIVE),
                r.start_s
            ),
        }),
        None => targets.push(not_measured(format!(
            "revaluation <= {REVALUATION_S_MAX} s"
        ))),
    }
    targets
}

fn trades_detail(t: &Trades, floor: f64) -> String {
    let mut detail = format!(
        "{:.0}/s durable ({:.0}/s answered, outbox drained {:.2} s after), p50 {:.1} ms, \
         p99 {:.1} ms; floor (publish+ack) {floor:.0}/s = {:.2} x",
        t.durable_per_s,
        t.answered_per_s,
        t.drain_s,
        t.p50_ms,
        t.p99_ms,
        t.durable_per_s / floor.max(f64::MIN_POSITIVE)
    );
    if t.errors > 0 {
        detail.push_str(&format!(
            "; {} errors (first: {})",
            t.errors,
            t.first_error.as_deref().unwrap_or("?")
        ));
    }
    detail
}
