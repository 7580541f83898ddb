//! The closed-loop load generator, generic over one async request.
//!
//! `concurrency` workers each send a request, wait for its answer and send the next one at once:
//! a closed loop, so the offered load follows what the system can do and nothing queues up in
//! the harness (an open loop at a fixed rate would measure the harness's queue once the system
//! saturates). All workers share one clock:
//!
//! - requests that *start* during the warm-up are sent but not recorded (connections, pools,
//!   lazily built state and the CPU frequency settle);
//! - requests that start inside the measurement window are recorded, each worker into its own
//!   HDR histogram (no shared lock on the hot path), merged at the end;
//! - throughput is the recorded requests over the time from the window's start to the last
//!   recorded answer, so the request still in flight at the deadline is neither dropped nor
//!   counted against a shorter window.
//!
//! A failed request is counted (and the first failure kept for the report), never recorded as a
//! latency: a fast error must not look like a fast answer.

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context;
use hdrhistogram::Histogram;
use tokio::{task::JoinSet, time::Instant};

/// Latencies are recorded in nanoseconds with 3 significant digits, up to a minute.
const HIGHEST_NS: u64 = 60_000_000_000;

/// How long workers may outlive the window: one request timeout (5 s everywhere) and a margin.
const DRAIN_GRACE: Duration = Duration::from_secs(10);

/// What one run of the load generator does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoadSpec {
    /// Workers, each with one request in flight at a time.
    pub(crate) concurrency: usize,
    pub(crate) warmup: Duration,
    /// The measurement window.
    pub(crate) duration: Duration,
}

/// What one run measured.
pub(crate) struct LoadOutcome {
    /// Latency of every successful request of the window, in nanoseconds.
    pub(crate) histogram: Histogram<u64>,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    /// From the window's start to the last recorded answer.
    pub(crate) elapsed: Duration,
}

impl LoadOutcome {
    fn empty() -> anyhow::Result<Self> {
        Ok(Self {
            histogram: new_histogram()?,
            errors: 0,
            first_error: None,
            elapsed: Duration::ZERO,
        })
    }

    fn merge(&mut self, other: Self) -> anyhow::Result<()> {
        self.histogram
            .add(&other.histogram)
            .context("merging latency histograms")?;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.elapsed = self.elapsed.max(other.elapsed);
        Ok(())
    }

    /// Successful requests recorded.
    pub(crate) fn requests(&self) -> u64 {
        self.histogram.len()
    }

    /// The latency at `quantile` (0.0..=1.0) in microseconds; 0 when nothing was recorded.
    pub(crate) fn quantile_us(&self, quantile: f64) -> f64 {
        if self.histogram.is_empty() {
            return 0.0;
        }
        // Nanoseconds to microseconds: the precision loss of u64 -> f64 is far below 3 digits.
        #[allow(clippy::cast_precision_loss)]
        let ns = self.histogram.value_at_quantile(quantile) as f64;
        ns / 1_000.0
    }
}

fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, HIGHEST_NS, 3).context("creating a latency histogram")
}

/// Runs `request` in a closed loop with `spec.concurrency` workers: warm-up, then the window.
/// Each call is given the index of the worker making it (`0..concurrency`), so a client can
/// keep a connection per worker.
/// Returns once every worker has finished its last request (bounded by [`DRAIN_GRACE`]).
pub(crate) async fn run<F, Fut>(spec: LoadSpec, request: F) -> anyhow::Result<LoadOutcome>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    anyhow::ensure!(spec.concurrency > 0, "concurrency must be at least 1");
    let request = Arc::new(request);
    let measure_from = Instant::now() + spec.warmup;
    let measure_until = measure_from + spec.duration;
    let mut workers = JoinSet::new();
    for index in 0..spec.concurrency {
        workers.spawn(worker(index, request.clone(), measure_from, measure_until));
    }
    let mut total = LoadOutcome::empty()?;
    let deadline = measure_until + DRAIN_GRACE;
    loop {
        match tokio::time::timeout_at(deadline, workers.join_next()).await {
            Ok(Some(joined)) => {
                total.merge(joined.context("a load worker stopped abnormally")??)?
            }
            Ok(None) => break,
            Err(_) => {
                workers.abort_all();
                anyhow::bail!(
                    "requests still unanswered {DRAIN_GRACE:?} after the measurement window"
                );
            }
        }
    }
    Ok(total)
}

async fn worker<F, Fut>(
    index: usize,
    request: Arc<F>,
    measure_from: Instant,
    measure_until: Instant,
) -> anyhow::Result<LoadOutcome>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut outcome = LoadOutcome::empty()?;
    loop {
        let sent = Instant::now();
        if sent >= measure_until {
            break;
        }
        let result = request(index).await;
        let answered = Instant::now();
        if sent < measure_from {
            continue;
        }
        match result {
            Ok(()) => {
                let ns =
                    u64::try_from(answered.duration_since(sent).as_nanos()).unwrap_or(u64::MAX);
                outcome.histogram.saturating_record(ns.max(1));
                outcome.elapsed = outcome.elapsed.max(answered.duration_since(measure_from));
            }
            Err(err) => {
                outcome.errors += 1;
                outcome
                    .first_error
                    .get_or_insert_with(|| format!("{err:#}"));
            }
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    fn spec(concurrency: usize) -> LoadSpec {
        LoadSpec {
            concurrency,
            warmup: Duration::from_millis(50),
            duration: Duration::from_millis(200),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn closed_loop_records_only_the_window_and_keeps_every_worker_busy() {
        let sent = Arc::new(AtomicU64::new(0));
        let counter = sent.clone();
        let outcome = run(spec(4), move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
            async {
                tokio::time::sleep(Duration::from_millis(5)).await;
                Ok(())
            }
        })
        .await
        .unwrap();
        // 4 workers × ~200 ms / 5 ms each, give or take scheduling; the warm-up is not recorded.
        assert!(outcome.requests() > 40, "recorded {}", outcome.requests());
        assert!(outcome.requests() < sent.load(Ordering::Relaxed));
        assert_eq!(outcome.errors, 0);
        assert!(
            outcome.quantile_us(0.5) >= 5_000.0,
            "p50 {}",
            outcome.quantile_us(0.5)
        );
        assert!(
            outcome.elapsed >= Duration::from_millis(190),
            "{:?}",
            outcome.elapsed
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failures_are_counted_not_recorded() {
        let outcome = run(spec(2), |_| async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Err(anyhow::anyhow!("429 Too Many Requests"))
        })
        .await
        .unwrap();
        assert_eq!(outcome.requests(), 0);
        assert!(outcome.errors > 0);
        assert_eq!(
            outcome.first_error.as_deref(),
            Some("429 Too Many Requests")
        );
        assert!(outcome.quantile_us(0.5).abs() < f64::EPSILON);
    }

    #[tokio::test]
    async fn zero_concurrency_is_refused() {
        assert!(run(spec(0), |_| async { Ok(()) }).await.is_err());
    }
}
