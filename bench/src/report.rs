//! The results: one row per scenario and concurrency, ratios to the raw-NATS baseline, and the
//! targets with their verdicts.
//!
//! Why ratios: absolute figures on a shared 2-core machine move by tens of percent from one run
//! to the next (other builds, CPU frequency, the NATS server on the same cores). Scenario (a),
//! raw NATS request/reply, is measured in the same run under the same noise and is the floor
//! any request over NATS pays; what Bourse adds on top of it — typed JSON and headers in (b), an
//! HTTP hop with routing, middleware and the envelope in (c) — is what the targets bound:
//!
//! - (c) rps at concurrency 64 ≥ [`RPS_RATIO_MIN`] × (a) rps at 64: the gateway keeps up;
//! - (c) p50 at concurrency 1 ≤ (a) p50 + [`P50_OVERHEAD_MAX_US`]: one request through the
//!   gateway costs little more than the bare NATS round trip;
//! - (b) rps at concurrency 64 ≥ [`MARKET_RATIO_MIN`] × (a): a service over the typed bus keeps up;
//! - idle RSS of `bourse dev` ≤ [`RSS_MAX_MIB`] MiB (absolute: memory is not noisy like time);
//! - the live-socket targets of [`crate::sockets`] (absolute: counts, memory and latency).

use serde::Serialize;

use crate::{
    rss::RssOutcome,
    sockets::{self, SocketsOutcome},
};

mod render;

pub(crate) use render::{render_table, render_targets, reproduce_command};

pub(crate) const RPS_RATIO_MIN: f64 = 0.4;
pub(crate) const P50_OVERHEAD_MAX_US: f64 = 100.0;
/// (b) rps at concurrency 64 ≥ this × (a) rps at 64: the typed bus client and a service cost little.
pub(crate) const MARKET_RATIO_MIN: f64 = 0.8;
/// (d) rps at concurrency 64 ≥ this × (c) rps at 64: authentication costs little.
pub(crate) const AUTH_RATIO_MIN: f64 = 0.9;
pub(crate) const RSS_MAX_MIB: u64 = 50;

/// What is measured, each against the same stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Scenario {
    /// (a) `client.request` to a plain subscriber that answers a quote-sized payload.
    #[value(name = "a")]
    RawNats,
    /// (b) `market.v1.quote.get` with the typed bus client, answered by the market service.
    #[value(name = "b")]
    MarketNats,
    /// (c) `GET /api/v1/stocks/AAPL/price` through the gateway, HTTP/1.1 keep-alive.
    #[value(name = "c")]
    GatewayHttp,
    /// (d) the same with `Authorization: Bearer <access token>`: (c) plus JWT verification.
    #[value(name = "d")]
    GatewayHttpAuth,
    /// (e) `POST /api/v1/auth/login`: bounded by argon2id at OWASP cost, by design.
    #[value(name = "e")]
    Login,
}

impl Scenario {
    pub(crate) const ALL: [Self; 5] = [
        Self::RawNats,
        Self::MarketNats,
        Self::GatewayHttp,
        Self::GatewayHttpAuth,
        Self::Login,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::RawNats => "(a) raw NATS request/reply",
            Self::MarketNats => "(b) market.v1.quote.get over NATS",
            Self::GatewayHttp => "(c) GET /api/v1/stocks/AAPL/price",
            Self::GatewayHttpAuth => "(d) (c) with a bearer token",
            Self::Login => "(e) POST /api/v1/auth/login",
        }
    }
}

/// One scenario at one concurrency.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Measurement {
    pub(crate) scenario: Scenario,
    pub(crate) concurrency: usize,
    /// Successful requests in the window.
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) first_error: Option<String>,
    pub(crate) elapsed_s: f64,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
}

impl Measurement {
    pub(crate) fn rps(&self) -> f64 {
        if self.elapsed_s > 0.0 {
            // Request counts stay far below 2^52: the conversion is exact.
            #[allow(clippy::cast_precision_loss)]
            let requests = self.requests as f64;
            requests / self.elapsed_s
        } else {
            0.0
        }
    }

    /// Only a clean run says something: a failed request makes its scenario's figures moot.
    fn problem(&self) -> Option<String> {
        match (&self.first_error, self.errors, self.requests) {
            (_, 0, 0) => Some("no request was answered".to_owned()),
            (_, 0, _) => None,
            (first, errors, _) => Some(format!(
                "{errors} failed requests (first: {})",
                first.as_deref().unwrap_or("?")
            )),
        }
    }
}

/// A measurement with its ratios to (a) at the same concurrency.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    #[serde(flatten)]
    pub(crate) measurement: Measurement,
    pub(crate) rps: f64,
    pub(crate) rps_ratio_to_a: Option<f64>,
    pub(crate) p50_delta_us_to_a: Option<f64>,
}

pub(crate) fn rows(measurements: &[Measurement]) -> Vec<Row> {
    measurements
        .iter()
        .map(|m| {
            let base = baseline(measurements, m.concurrency);
            Row {
                measurement: m.clone(),
                rps: m.rps(),
                rps_ratio_to_a: base.filter(|b| b.rps() > 0.0).map(|b| m.rps() / b.rps()),
                p50_delta_us_to_a: base.map(|b| m.p50_us - b.p50_us),
            }
        })
        .collect()
}

fn find(
    measurements: &[Measurement],
    scenario: Scenario,
    concurrency: usize,
) -> Option<&Measurement> {
    measurements
        .iter()
        .find(|m| m.scenario == scenario && m.concurrency == concurrency)
}

fn baseline(measurements: &[Measurement], concurrency: usize) -> Option<&Measurement> {
    find(measurements, Scenario::RawNats, concurrency).filter(|m| m.problem().is_none())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    Pass,
    Miss,
    NotMeasured,
    /// A figure to report, with no target.
    Info,
}

impl Verdict {
    pub(crate) fn from_bool(pass: bool) -> Self {
        if pass { Self::Pass } else { Self::Miss }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Miss => "MISS",
            Self::NotMeasured => "n/a",
            Self::Info => "info",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Target {
    pub(crate) name: String,
    pub(crate) verdict: Verdict,
    pub(crate) detail: String,
}

/// The throughput and latency targets, from the measurements of one run.
pub(crate) fn evaluate(measurements: &[Measurement]) -> Vec<Target> {
    vec![
        rps_target(measurements),
        p50_target(measurements),
        market_target(measurements),
        auth_target(measurements),
        logins_figure(measurements),
    ]
}

fn usable(
    measurements: &[Measurement],
    scenario: Scenario,
    concurrency: usize,
) -> Option<&Measurement> {
    find(measurements, scenario, concurrency).filter(|m| m.problem().is_none())
}

fn auth_target(measurements: &[Measurement]) -> Target {
    let name = format!("(d) rps @64 >= {AUTH_RATIO_MIN} x (c) rps @64");
    match (
        usable(measurements, Scenario::GatewayHttp, 64),
        usable(measurements, Scenario::GatewayHttpAuth, 64),
    ) {
        (Some(c), Some(d)) => {
            let ratio = d.rps() / c.rps();
            Target {
                name,
                verdict: Verdict::from_bool(ratio >= AUTH_RATIO_MIN),
                detail: format!("{:.0} / {:.0} rps = {ratio:.2}", d.rps(), c.rps()),
            }
        }
        _ => Target {
            name,
            verdict: Verdict::NotMeasured,
            detail: "(c) or (d) @64 has no clean measurement".into(),
        },
    }
}

fn market_target(measurements: &[Measurement]) -> Target {
    let name = format!("(b) rps @64 >= {MARKET_RATIO_MIN} x (a) rps @64");
    match (
        baseline(measurements, 64),
        usable(measurements, Scenario::MarketNats, 64),
    ) {
        (Some(a), Some(b)) => {
            let ratio = b.rps() / a.rps();
            Target {
                name,
                verdict: Verdict::from_bool(ratio >= MARKET_RATIO_MIN),
                detail: format!("{:.0} / {:.0} rps = {ratio:.2}", b.rps(), a.rps()),
            }
        }
        _ => Target {
            name,
            verdict: Verdict::NotMeasured,
            detail: "(a) or (b) @64 has no clean measurement".into(),
        },
    }
}

/// Logins per second have no target: argon2id bounds them on purpose. Reported as a figure.
fn logins_figure(measurements: &[Measurement]) -> Target {
    let best = [1, 64]
        .into_iter()
        .filter_map(|c| usable(measurements, Scenario::Login, c))
        .max_by(|a, b| a.rps().total_cmp(&b.rps()));
    Target {
        name: "logins/s (argon2id m=19 MiB t=2 p=1; no target)".into(),
        verdict: Verdict::Info,
        detail: best.map_or_else(
            || "not measured".into(),
            |m| {
                format!(
                    "{:.1} logins/s @{}, p50 {:.1} ms",
                    m.rps(),
                    m.concurrency,
                    m.p50_us / 1000.0
                )
            },
        ),
    }
}

/// Both ends of a comparison, or why there is none.
fn pair(
    measurements: &[Measurement],
    concurrency: usize,
) -> Result<(&Measurement, &Measurement), Target> {
    let not_measured = |detail: String| Target {
        name: String::new(),
        verdict: Verdict::NotMeasured,
        detail,
    };
    let a = find(measurements, Scenario::RawNats, concurrency).ok_or_else(|| {
        not_measured(format!("(a) was not measured at concurrency {concurrency}"))
    })?;
    let c = find(measurements, Scenario::GatewayHttp, concurrency).ok_or_else(|| {
        not_measured(format!("(c) was not measured at concurrency {concurrency}"))
    })?;
    if let Some(problem) = a.problem() {
        return Err(not_measured(format!(
            "baseline (a) @{concurrency}: {problem}"
        )));
    }
    if let Some(problem) = c.problem() {
        return Err(Target {
            name: String::new(),
            verdict: Verdict::Miss,
            detail: format!("(c) @{concurrency}: {problem}"),
        });
    }
    Ok((a, c))
}

fn rps_target(measurements: &[Measurement]) -> Target {
    let name = format!("(c) rps @64 >= {RPS_RATIO_MIN} x (a) rps @64");
    match pair(measurements, 64) {
        Ok((a, c)) => {
            let ratio = c.rps() / a.rps();
            Target {
                name,
                verdict: Verdict::from_bool(ratio >= RPS_RATIO_MIN),
                detail: format!("{:.0} / {:.0} rps = {ratio:.2}", c.rps(), a.rps()),
            }
        }
        Err(target) => Target { name, ..target },
    }
}

fn p50_target(measurements: &[Measurement]) -> Target {
    let name = format!("(c) p50 @1 <= (a) p50 @1 + {P50_OVERHEAD_MAX_US:.0} us");
    match pair(measurements, 1) {
        Ok((a, c)) => {
            let delta = c.p50_us - a.p50_us;
            Target {
                name,
                verdict: Verdict::from_bool(delta <= P50_OVERHEAD_MAX_US),
                detail: format!("{:.1} - {:.1} us = {delta:+.1} us", c.p50_us, a.p50_us),
            }
        }
        Err(target) => Target { name, ..target },
    }
}

/// The idle-memory target; a run without the measurement says why.
pub(crate) fn rss_target(rss: &RssOutcome) -> Target {
    let name = format!("idle RSS of `bourse dev` <= {RSS_MAX_MIB} MiB");
    match rss {
        RssOutcome::Measured {
            vm_rss_kib,
            vm_hwm_kib,
            ..
        } => Target {
            name,
            verdict: Verdict::from_bool(*vm_rss_kib <= RSS_MAX_MIB * 1024),
            detail: format!(
                "VmRSS {} (peak VmHWM {})",
                mib(*vm_rss_kib),
                mib(*vm_hwm_kib)
            ),
        },
        RssOutcome::NotMeasured { reason } => Target {
            name,
            verdict: Verdict::NotMeasured,
            detail: format!("not measured: {reason}"),
        },
        RssOutcome::Skipped => Target {
            name,
            verdict: Verdict::NotMeasured,
            detail: "not measured: --skip-rss".into(),
        },
    }
}

/// The live-socket targets: every tick delivered, latency, memory per socket, consumers,
/// connect time.
pub(crate) fn socket_targets(outcome: &SocketsOutcome) -> Vec<Target> {
    let figures = match outcome {
        SocketsOutcome::Measured(figures) => figures,
        SocketsOutcome::NotMeasured { reason } => {
            return vec![Target {
                name: "live sockets".into(),
                verdict: Verdict::NotMeasured,
                detail: format!("not measured: {reason}"),
            }];
        }
        SocketsOutcome::Skipped => {
            return vec![Target {
                name: "live sockets".into(),
                verdict: Verdict::NotMeasured,
                detail: "not measured: --sockets 0".into(),
            }];
        }
    };
    let n = figures.sockets;
    let connected = n - figures.connect_failures;
    let failures = figures
        .first_connect_error
        .as_deref()
        .map(|err| format!(", {} failed (first: {err})", figures.connect_failures))
        .unwrap_or_default();
    let per_socket = figures.rss_per_socket_kib();
    vec![
        Target {
            name: format!(
                "{n} sockets connect+subscribe <= {:.0} s",
                sockets::CONNECT_MAX_S
            ),
            verdict: Verdict::from_bool(
                figures.connect_failures == 0 && figures.connect_s <= sockets::CONNECT_MAX_S,
            ),
            detail: format!("{connected} in {:.2} s{failures}", figures.connect_s),
        },
        Target {
            name: "every socket gets every tick, once, in order".into(),
            verdict: Verdict::from_bool(
                figures.connect_failures == 0
                    && figures.expected > 0
                    && figures.missing == 0
                    && figures.unexpected == 0
                    && figures.lagged == 0,
            ),
            detail: format!(
                "{} of {} frames ({} ticks of {} symbols); missing {} on {} sockets, unexpected {}, lagged {}",
                figures.received,
                figures.expected,
                figures.ticks,
                figures.symbols,
                figures.missing,
                figures.sockets_missing_ticks,
                figures.unexpected,
                figures.lagged
            ),
        },
        Target {
            name: format!("tick-to-socket p99 <= {:.0} ms", sockets::P99_MAX_MS),
            verdict: Verdict::from_bool(
                figures.expected > 0 && figures.p99_ms <= sockets::P99_MAX_MS,
            ),
            detail: format!(
                "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                figures.p50_ms, figures.p99_ms, figures.max_ms
            ),
        },
        Target {
            name: format!(
                "RSS growth per idle socket <= {:.0} KiB",
                sockets::RSS_PER_SOCKET_MAX_KIB
            ),
            verdict: Verdict::from_bool(per_socket <= sockets::RSS_PER_SOCKET_MAX_KIB),
            detail: format!(
                "{per_socket:.1} KiB ({} -> {} with {n} sockets)",
                mib(figures.rss_before_kib),
                mib(figures.rss_connected_kib)
            ),
        },
        Target {
            name: "consumers on PRICES do not grow with sockets".into(),
            verdict: Verdict::from_bool(
                figures.consumers_connected <= figures.consumers_before + 1,
            ),
            detail: format!(
                "{} before, {} with {n} sockets (one shared feed allowed)",
                figures.consumers_before, figures.consumers_connected
            ),
        },
    ]
}

fn mib(kib: u64) -> String {
    // Kernel figures in KiB stay far below 2^52: exact.
    #[allow(clippy::cast_precision_loss)]
    let mib = kib as f64 / 1024.0;
    format!("{mib:.1} MiB")
}

/// Everything a run produced, for `--json`.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) command: String,
    pub(crate) warmup_s: f64,
    pub(crate) duration_s: f64,
    pub(crate) results: Vec<Row>,
    pub(crate) targets: Vec<Target>,
    pub(crate) rss: RssOutcome,
    pub(crate) sockets: SocketsOutcome,
    pub(crate) portfolio: crate::portfolio::PortfolioOutcome,
    pub(crate) terminal: crate::terminal::TerminalOutcome,
    pub(crate) chat: crate::chat::ChatOutcome,
    pub(crate) workspace: crate::workspace::WorkspaceOutcome,
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn m(
        scenario: Scenario,
        concurrency: usize,
        requests: u64,
        p50_us: f64,
    ) -> Measurement {
        Measurement {
            scenario,
            concurrency,
            requests,
            errors: 0,
            first_error: None,
            elapsed_s: 2.0,
            p50_us,
            p99_us: p50_us * 2.0,
        }
    }

    pub(super) fn run(c64_requests: u64, c1_p50: f64) -> Vec<Measurement> {
        vec![
            m(Scenario::RawNats, 1, 20_000, 100.0),
            m(Scenario::GatewayHttp, 1, 8_000, c1_p50),
            m(Scenario::RawNats, 64, 100_000, 900.0),
            m(Scenario::GatewayHttp, 64, c64_requests, 2_000.0),
        ]
    }

    #[test]
    fn ratios_are_taken_to_a_at_the_same_concurrency() {
        let rows = rows(&run(50_000, 180.0));
        assert_eq!(rows[1].rps_ratio_to_a, Some(0.4));
        assert_eq!(rows[1].p50_delta_us_to_a, Some(80.0));
        assert_eq!(rows[3].rps_ratio_to_a, Some(0.5));
        assert_eq!(rows[0].rps_ratio_to_a, Some(1.0));
        assert!((rows[2].rps - 50_000.0).abs() < 1e-9);
    }

    #[test]
    fn targets_pass_at_their_bounds_and_miss_past_them() {
        let verdicts = |ms: &[Measurement]| {
            evaluate(ms)
                .iter()
                .take(2)
                .map(|t| t.verdict)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            verdicts(&run(40_000, 200.0)),
            [Verdict::Pass, Verdict::Pass]
        );
        assert_eq!(
            verdicts(&run(39_999, 200.1)),
            [Verdict::Miss, Verdict::Miss]
        );
    }

    #[test]
    fn failed_requests_miss_and_a_missing_baseline_is_not_measured() {
        let mut ms = run(90_000, 110.0);
        ms[3].errors = 3;
        ms[3].first_error = Some("HTTP status client error (429 Too Many Requests)".into());
        ms.remove(0);
        let targets = evaluate(&ms);
        assert_eq!(targets[0].verdict, Verdict::Miss);
        assert!(targets[0].detail.contains("429"), "{}", targets[0].detail);
        assert_eq!(targets[1].verdict, Verdict::NotMeasured);
        assert!(rows(&ms)[0].rps_ratio_to_a.is_none());
    }

    #[test]
    fn the_market_target_is_taken_at_64_against_a() {
        let mut ms = run(40_000, 200.0);
        ms.push(m(Scenario::MarketNats, 64, 80_000, 1_000.0));
        assert_eq!(evaluate(&ms)[2].verdict, Verdict::Pass);
        ms.last_mut().unwrap().requests = 79_999;
        assert_eq!(evaluate(&ms)[2].verdict, Verdict::Miss);
        ms.pop();
        assert_eq!(evaluate(&ms)[2].verdict, Verdict::NotMeasured);
    }

    #[test]
    fn rss_target_uses_mib_and_says_why_it_was_not_measured() {
        let measured = |kib| RssOutcome::Measured {
            binary: "bourse".into(),
            vm_rss_kib: kib,
            vm_hwm_kib: kib,
            idle_s: 5.0,
        };
        assert_eq!(rss_target(&measured(50 * 1024)).verdict, Verdict::Pass);
        assert_eq!(rss_target(&measured(50 * 1024 + 1)).verdict, Verdict::Miss);
        assert!(
            rss_target(&measured(30 * 1024))
                .detail
                .contains("VmRSS 30.0 MiB")
        );
        let missing = RssOutcome::NotMeasured {
            reason: "target/release/bourse not found".into(),
        };
        assert_eq!(
            rss_target(&missing).detail,
            "not measured: target/release/bourse not found"
        );
    }
}
