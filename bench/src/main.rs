//! `bench`: what a request costs in Bourse, measured against the real NATS and Postgres.
//!
//! One run measures, on the same in-process stack and under the same machine noise:
//!
//! - (a) raw NATS request/reply to a plain subscriber (the floor any request over NATS pays);
//! - (b) `market.v1.quote.get` with the typed bus client, answered by the market service;
//! - (c) `GET /api/v1/stocks/AAPL/price` through the gateway over HTTP keep-alive;
//! - (d) the same with a bearer token (what authentication costs), and
//! - (e) `POST /api/v1/auth/login` (bounded by argon2id, reported as logins/s);
//!
//! each at concurrency 1 (latency) and 64 (throughput), then the idle RSS of `bourse dev`, then
//! 10,000 live WebSockets on one `bourse dev` with every symbol ticking (the `edge` suite); then
//! durable trades, the performance of a 10-year portfolio and a full revaluation (the
//! `portfolio` suite, [`portfolio`]); then idle terminal sessions, keystroke echo, output
//! throughput and Ctrl-C under a flood (the `terminal` suite, [`terminal`]); assistant replies
//! (`chat`); 1 MiB file transfers, a 10,000-file listing and git status (`workspace`); and prints
//! a table with ratios to (a) and the targets'
//! verdicts (see [`report`] for why ratios).
//!
//! Modules:
//! - [`stack`]: the scratch prefix and database, the market service, the gateway, the clients;
//! - [`load`]: the closed-loop load generator;
//! - [`report`]: table, ratios and targets;
//! - [`rss`]: `bourse dev` started, measured idle, stopped;
//! - [`sockets`]: the WebSocket load generator and its checks;
//! - [`portfolio`]: trades, performance and revaluation, with their own stack;
//! - [`terminal`]: terminal sessions through the gateway, with their own stack;
//! - [`chat`]: assistant replies streamed to WebSockets from a local fake provider;
//! - [`workspace`]: files and git through the gateway, against raw NATS and the object store.
//!
//! `just bench` builds `bourse` and runs this in release mode. Logs are quiet (`warn`) so that
//! logging costs no more than in a deployment that filters at info; `RUST_LOG` overrides.

/// The allocator of the product binaries, which this process stands in for.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod chat;
mod http;
mod load;
mod portfolio;
mod report;
mod rss;
mod sockets;
mod stack;
mod terminal;
mod workspace;
mod ws_client;

use std::{process::ExitCode, time::Duration};

use anyhow::Context;
use clap::Parser;

use crate::{
    chat::{ChatOutcome, ChatPlan},
    load::LoadSpec,
    portfolio::{PortfolioOutcome, PortfolioPlan},
    report::{Measurement, Report, Scenario},
    rss::{RssOutcome, RssPlan},
    sockets::{SocketPlan, SocketsOutcome},
    stack::{Scratch, Stack},
    terminal::{TerminalOutcome, TerminalPlan},
    workspace::{WorkspaceOutcome, WorkspacePlan},
};

/// The concurrencies measured: one request at a time (latency), and a crowd (throughput).
const CONCURRENCIES: [usize; 2] = [1, stack::HTTP_POOL];

/// A group of scenarios with a stack of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Suite {
    /// Requests (a)–(e), the idle RSS of `bourse dev`, live WebSockets.
    Edge,
    /// Durable trades, the performance of a 10-year portfolio, a full revaluation.
    Portfolio,
    /// Idle terminal sessions, keystroke echo, `cat` throughput, Ctrl-C under a flood.
    Terminal,
    /// Assistant replies: first-delta overhead, many generations streaming at once.
    Chat,
    /// Files and git through the gateway: 1 MiB reads and writes, 10,000-file listing and status.
    Workspace,
}

/// Benchmarks raw NATS, market over NATS and the gateway over HTTP, the idle RSS of `bourse
/// dev`, live WebSockets, and the portfolio service and valuation worker.
#[derive(Debug, Parser)]
#[command(name = "bench", version)]
struct Args {
    /// Only these suites (comma-separated); all by default.
    #[arg(long, value_enum, value_delimiter = ',')]
    suite: Vec<Suite>,

    /// Measurement window of each scenario at each concurrency (e.g. `5s`, `500ms`).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    duration: Duration,

    /// Warm-up before each window; its requests are not recorded.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    warmup: Duration,

    /// NATS server (with JetStream); the run uses a unique prefix `bench<random>`, deleted after.
    #[arg(long, env = "BOURSE_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats_url: String,

    /// Postgres to create the scratch database `bourse_bench_<random>` on (dropped after).
    #[arg(
        long,
        env = "BOURSE_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,

    /// Only these request scenarios (letters, comma-separated, e.g. `b,c`); the baseline (a)
    /// is always measured. Handy for a profile of one path: `perf record -g -p <pid>`.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Scenario>,

    /// Do not measure the idle RSS of `bourse dev`.
    #[arg(long)]
    skip_rss: bool,

    /// WebSockets of the live-topic scenario (0 skips it).
    #[arg(long, default_value_t = 10_000)]
    sockets: usize,

    /// Symbols of the live-topic scenario (`BENCH00`...), each ticking once per second.
    #[arg(long, default_value_t = 50)]
    ws_symbols: usize,

    /// Symbols each socket subscribes to (a divisor of --ws-symbols).
    #[arg(long, default_value_t = 5)]
    ws_per_socket: usize,

    /// How long the symbols tick while the sockets listen.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    ws_ticking: Duration,

    /// Only these scenarios of the portfolio suite (comma-separated); all by default.
    #[arg(long, value_enum, value_delimiter = ',')]
    portfolio_only: Vec<portfolio::PortfolioScenario>,

    /// Activities of the performance scenario's portfolio.
    #[arg(long, default_value_t = 10_000)]
    activities: usize,

    /// Years those activities span (with a daily close of each symbol on every day).
    #[arg(long, default_value_t = 10)]
    years: u32,

    /// Portfolios of the revaluation scenario.
    #[arg(long, default_value_t = 10_000)]
    portfolios: usize,

    /// Positions of each of those portfolios.
    #[arg(long, default_value_t = 20)]
    positions: usize,

    /// Symbols those positions are spread over, each ticking once in the measured tick.
    #[arg(long, default_value_t = 500)]
    valuation_symbols: usize,

    /// Only these scenarios of the terminal suite (comma-separated); all by default.
    #[arg(long, value_enum, value_delimiter = ',')]
    terminal_only: Vec<terminal::TerminalScenario>,

    /// Idle sessions of the terminal suite.
    #[arg(long, default_value_t = 1_000)]
    terminal_sessions: usize,

    /// WebSockets typing at once in the echo scenario.
    #[arg(long, default_value_t = 200)]
    typists: usize,

    /// Keys each typist sends.
    #[arg(long, default_value_t = 100)]
    keys: usize,

    /// Megabytes `cat` writes in the throughput scenario.
    #[arg(long, default_value_t = 100)]
    cat_mb: usize,

    /// Generations streaming at once in the chat suite.
    #[arg(long, default_value_t = 200)]
    generations: usize,

    /// Deltas of each of those generations.
    #[arg(long, default_value_t = 500)]
    deltas: usize,

    /// Print the results as JSON too, after the table.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // Thousands of sockets need as many descriptors (here and in `bourse dev`, which inherits it).
    bus::kit::raise_open_file_limit();
    telemetry::init("warn", telemetry::LogFormat::from_env());
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench failed: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(!args.duration.is_zero(), "--duration must be more than 0");
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: a debug build of the bench; figures are not representative (use --release)"
        );
    }
    let mut scratch = Scratch::create(&args.nats_url, &args.database_url).await?;
    // Ctrl-C ends the run early but still removes the scratch database and streams.
    let outcome = tokio::select! {
        outcome = measure_all(args, &mut scratch) => outcome,
        interrupted = tokio::signal::ctrl_c() => {
            interrupted.context("listening for Ctrl-C")?;
            Err(anyhow::anyhow!("interrupted"))
        }
    };
    scratch.cleanup().await;
    let (edge, portfolio, terminal, chat, workspace) = outcome?;
    print_report(args, edge, &portfolio, &terminal, &chat, &workspace)
}

/// What the edge suite measured.
struct Edge {
    measurements: Vec<Measurement>,
    rss: RssOutcome,
    sockets: SocketsOutcome,
}

impl Args {
    fn runs(&self, suite: Suite) -> bool {
        self.suite.is_empty() || self.suite.contains(&suite)
    }
}

async fn measure_all(
    args: &Args,
    scratch: &mut Scratch,
) -> anyhow::Result<(
    Option<Edge>,
    PortfolioOutcome,
    TerminalOutcome,
    ChatOutcome,
    WorkspaceOutcome,
)> {
    let edge = if args.runs(Suite::Edge) {
        Some(measure_edge(args, scratch).await?)
    } else {
        None
    };
    let portfolio = if args.runs(Suite::Portfolio) {
        let plan = PortfolioPlan {
            scenarios: args.portfolio_only.clone(),
            warmup: args.warmup,
            duration: args.duration,
            activities: args.activities,
            years: args.years,
            portfolios: args.portfolios,
            positions: args.positions,
            symbols: args.valuation_symbols,
        };
        portfolio::measure(scratch, &plan).await
    } else {
        PortfolioOutcome::Skipped
    };
    let terminal = if args.runs(Suite::Terminal) {
        let plan = TerminalPlan {
            scenarios: args.terminal_only.clone(),
            sessions: args.terminal_sessions,
            typists: args.typists,
            keys: args.keys,
            cat_mb: args.cat_mb,
        };
        terminal::measure(scratch, &plan).await
    } else {
        TerminalOutcome::Skipped
    };
    let chat = if args.runs(Suite::Chat) {
        let plan = ChatPlan {
            generations: args.generations,
            deltas: args.deltas,
        };
        chat::measure(scratch, &plan).await
    } else {
        ChatOutcome::Skipped
    };
    let workspace = if args.runs(Suite::Workspace) {
        let plan = WorkspacePlan {
            warmup: args.warmup,
            duration: args.duration,
        };
        workspace::measure(scratch, &plan).await
    } else {
        WorkspaceOutcome::Skipped
    };
    Ok((edge, portfolio, terminal, chat, workspace))
}

async fn measure_edge(args: &Args, scratch: &mut Scratch) -> anyhow::Result<Edge> {
    eprintln!(
        "starting the stack (prefix {}, database {})",
        scratch.prefix,
        bus::pg::redact(&scratch.database_url)
    );
    let stack = Stack::start(scratch)
        .await
        .context("starting market and gateway")?;
    let measurements = measure_scenarios(args, &stack).await;
    stack.stop().await;
    let measurements = measurements?;
    let rss = if args.skip_rss {
        RssOutcome::Skipped
    } else {
        eprintln!("measuring the idle RSS of `bourse dev`");
        let plan = RssPlan {
            nats_url: scratch.nats_url.clone(),
            database_url: scratch.database_url.clone(),
            prefix: scratch.extra_prefix("r")?,
            workdir: std::env::temp_dir().join(format!("bourse-bench-{}", scratch.tag)),
        };
        rss::measure(&plan).await
    };
    let sockets = if args.sockets == 0 {
        SocketsOutcome::Skipped
    } else {
        eprintln!("measuring {} live WebSockets on `bourse dev`", args.sockets);
        let plan = SocketPlan {
            dev: RssPlan {
                nats_url: scratch.nats_url.clone(),
                database_url: scratch.database_url.clone(),
                prefix: scratch.extra_prefix("w")?,
                workdir: std::env::temp_dir().join(format!("bourse-bench-{}-ws", scratch.tag)),
            },
            sockets: args.sockets,
            symbols: args.ws_symbols,
            per_socket: args.ws_per_socket,
            ticking: args.ws_ticking,
        };
        sockets::measure(&plan).await
    };
    Ok(Edge {
        measurements,
        rss,
        sockets,
    })
}

/// Every scenario at every concurrency. Scenarios alternate within a concurrency so that a
/// slow phase of the machine is shared rather than landing on one scenario.
async fn measure_scenarios(args: &Args, stack: &Stack) -> anyhow::Result<Vec<Measurement>> {
    let mut measurements = Vec::new();
    for concurrency in CONCURRENCIES {
        let chosen = Scenario::ALL
            .into_iter()
            .filter(|&s| s == Scenario::RawNats || args.only.is_empty() || args.only.contains(&s));
        for scenario in chosen {
            eprintln!(
                "measuring {} @{concurrency} ({:?} + {:?})",
                scenario.label(),
                args.warmup,
                args.duration
            );
            let spec = LoadSpec {
                concurrency,
                warmup: args.warmup,
                duration: args.duration,
            };
            let request = stack.request_fn(scenario)?;
            let outcome = load::run(spec, move |worker| request(worker)).await?;
            measurements.push(Measurement {
                scenario,
                concurrency,
                requests: outcome.requests(),
                errors: outcome.errors,
                first_error: outcome.first_error.clone(),
                elapsed_s: outcome.elapsed.as_secs_f64(),
                p50_us: outcome.quantile_us(0.50),
                p99_us: outcome.quantile_us(0.99),
            });
        }
    }
    Ok(measurements)
}

fn print_report(
    args: &Args,
    edge: Option<Edge>,
    portfolio: &PortfolioOutcome,
    terminal: &TerminalOutcome,
    chat: &ChatOutcome,
    workspace: &WorkspaceOutcome,
) -> anyhow::Result<()> {
    let Edge {
        measurements,
        rss,
        sockets,
    } = edge.unwrap_or(Edge {
        measurements: Vec::new(),
        rss: RssOutcome::Skipped,
        sockets: SocketsOutcome::Skipped,
    });
    let sockets = &sockets;
    let rows = report::rows(&measurements);
    let mut targets = Vec::new();
    if args.runs(Suite::Edge) {
        targets = report::evaluate(&measurements);
        targets.push(report::rss_target(&rss));
        targets.extend(report::socket_targets(sockets));
    }
    if args.runs(Suite::Portfolio) {
        targets.extend(portfolio::targets(portfolio));
    }
    if args.runs(Suite::Terminal) {
        targets.extend(terminal::targets(terminal));
    }
    if args.runs(Suite::Chat) {
        targets.extend(chat::targets(chat));
    }
    if args.runs(Suite::Workspace) {
        targets.extend(workspace::targets(workspace));
    }
    let command = report::reproduce_command(&std::env::args().skip(1).collect::<Vec<_>>());
    println!();
    if !rows.is_empty() {
        print!("{}", report::render_table(&rows));
        println!();
    }
    print!("{}", report::render_targets(&targets));
    if let RssOutcome::Measured { binary, idle_s, .. } = &rss {
        println!("      (RSS of `{binary} dev`, {idle_s} s after /health answered)");
    }
    if let SocketsOutcome::Measured(figures) = sockets {
        println!(
            "      (sockets: {} symbols, {} per socket, {} ticks; load generator in this process)",
            figures.symbols, figures.per_socket, figures.ticks
        );
    }
    println!();
    println!(
        "servers: NATS {}, Postgres {}",
        args.nats_url,
        bus::pg::redact(&args.database_url)
    );
    println!("reproduce: {command}");
    if args.json {
        let report = Report {
            command,
            warmup_s: args.warmup.as_secs_f64(),
            duration_s: args.duration.as_secs_f64(),
            results: rows,
            targets,
            rss,
            sockets: sockets.clone(),
            portfolio: portfolio.clone(),
            terminal: terminal.clone(),
            chat: chat.clone(),
            workspace: workspace.clone(),
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_five_seconds_after_one_second_of_warm_up() {
        let args = Args::parse_from(["bench"]);
        assert_eq!(args.duration, Duration::from_secs(5));
        assert_eq!(args.warmup, Duration::from_secs(1));
        assert!(!args.skip_rss && !args.json);
    }

    #[test]
    fn durations_are_human() {
        let args = Args::parse_from([
            "bench",
            "--duration",
            "3s",
            "--warmup",
            "250ms",
            "--skip-rss",
            "--json",
        ]);
        assert_eq!(args.duration, Duration::from_secs(3));
        assert_eq!(args.warmup, Duration::from_millis(250));
        assert!(args.skip_rss && args.json);
    }

    #[test]
    fn only_takes_the_letters_of_the_scenarios() {
        let args = Args::parse_from(["bench", "--only", "b,c"]);
        assert_eq!(args.only, [Scenario::MarketNats, Scenario::GatewayHttp]);
        assert!(Args::try_parse_from(["bench", "--only", "z"]).is_err());
        assert!(Args::parse_from(["bench"]).only.is_empty());
    }
}
