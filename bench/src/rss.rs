//! Idle memory of `bourse dev`: the whole system in one process, as a developer runs it.
//!
//! The `bourse` binary next to this one (`target/release/bourse` for a release bench) is started
//! on a free loopback port, the run's scratch database and a prefix of its own, with the
//! simulated price feed ticking. Once `GET /health` answers 200 it is left alone for
//! [`IDLE`], then `VmRSS` (resident now) and `VmHWM` (the peak, start-up included) are read from
//! `/proc/<pid>/status`, and it is stopped with SIGTERM like an operator would.
//!
//! Nothing here fails the run: a missing binary, a start-up error or a timeout becomes
//! [`RssOutcome::NotMeasured`] with the reason (and the log file to read).

use std::{
    net::{Ipv4Addr, SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::Context;
use bus::Prefix;
use serde::Serialize;
use tokio::{process::Command, time::Instant};

/// Quiet time between "healthy" and the reading.
const IDLE: Duration = Duration::from_secs(5);
/// Start-up includes migrating every service's schema into the fresh database.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The gateway's shutdown grace is 10 s by default; a little more before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub(crate) enum RssOutcome {
    Measured {
        binary: String,
        vm_rss_kib: u64,
        vm_hwm_kib: u64,
        idle_s: f64,
    },
    NotMeasured {
        reason: String,
    },
    Skipped,
}

/// Where and how to start `bourse dev`.
pub(crate) struct RssPlan {
    pub(crate) nats_url: String,
    pub(crate) database_url: String,
    pub(crate) prefix: Prefix,
    /// Working directory (anything `bourse dev` writes lands here) and log file.
    pub(crate) workdir: PathBuf,
}

/// `bourse` next to the running executable, or why not.
pub(crate) fn find_bourse() -> Result<PathBuf, String> {
    let exe =
        std::env::current_exe().map_err(|err| format!("cannot locate the bench binary: {err}"))?;
    let dir = exe.parent().ok_or("the bench binary has no directory")?;
    let bourse = dir.join(format!("bourse{}", std::env::consts::EXE_SUFFIX));
    if bourse.is_file() {
        Ok(bourse)
    } else {
        Err(format!(
            "{} not found (build it with `cargo build --release -p bourse`, or run `just bench`)",
            bourse.display()
        ))
    }
}

/// Starts, measures and stops `bourse dev`; every failure is reported, not returned.
pub(crate) async fn measure(plan: &RssPlan) -> RssOutcome {
    let binary = match find_bourse() {
        Ok(binary) => binary,
        Err(reason) => return RssOutcome::NotMeasured { reason },
    };
    match measure_binary(&binary, plan).await {
        Ok(outcome) => {
            // The log only matters when something went wrong.
            let _ = std::fs::remove_dir_all(&plan.workdir);
            outcome
        }
        Err(err) => {
            let log = plan.workdir.join("bourse-dev.log");
            let excerpt = std::fs::read_to_string(&log)
                .ok()
                .and_then(|text| log_excerpt(&text));
            let said = excerpt.map(|line| format!(": {line}")).unwrap_or_default();
            RssOutcome::NotMeasured {
                reason: format!("{err:#}{said} (log: {})", log.display()),
            }
        }
    }
}

/// The line of the log most likely to say what went wrong: the first error, else the last line.
fn log_excerpt(log: &str) -> Option<String> {
    let mut lines = log.lines().map(str::trim).filter(|line| !line.is_empty());
    let first_error = lines
        .clone()
        .find(|line| line.contains("error") || line.contains("Error"));
    first_error.or_else(|| lines.next_back()).map(str::to_owned)
}

async fn measure_binary(binary: &Path, plan: &RssPlan) -> anyhow::Result<RssOutcome> {
    let mut dev = DevProcess::start(binary, plan, "simulated", &[]).await?;
    let reading = async {
        tokio::time::sleep(IDLE).await;
        dev.memory()
    }
    .await;
    let stopped = dev.stop().await;
    let (vm_rss_kib, vm_hwm_kib) = reading?;
    if let Err(err) = stopped {
        eprintln!("warning: {err:#}");
    }
    Ok(RssOutcome::Measured {
        binary: binary.display().to_string(),
        vm_rss_kib,
        vm_hwm_kib,
        idle_s: IDLE.as_secs_f64(),
    })
}

/// A running `bourse dev`, healthy, with its log in the plan's working directory. Dropping it
/// kills the process; [`DevProcess::stop`] stops it as an operator would.
pub(crate) struct DevProcess {
    child: tokio::process::Child,
    pid: u32,
    /// Where the gateway listens.
    pub(crate) addr: SocketAddr,
}

impl DevProcess {
    /// Starts `binary dev` with the price feed `feed` and the extra environment `env`, and
    /// waits until `GET /health` answers 200.
    pub(crate) async fn start(
        binary: &Path,
        plan: &RssPlan,
        feed: &str,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&plan.workdir)
            .with_context(|| format!("creating {}", plan.workdir.display()))?;
        let log = std::fs::File::create(plan.workdir.join("bourse-dev.log"))
            .context("creating the log file")?;
        let addr = free_port()?;
        let mut child = Command::new(binary)
            .arg("dev")
            .args(["--http-addr", &addr.to_string()])
            .args(["--nats-url", &plan.nats_url])
            .args(["--subject-prefix", plan.prefix.as_str()])
            .args(["--database-url", &plan.database_url])
            .args(["--price-feed", feed])
            .envs(env.iter().copied())
            .current_dir(&plan.workdir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("duplicating the log file handle")?)
            .stderr(log)
            // Should anything below fail or the run be interrupted, no `bourse dev` outlives us.
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let pid = child.id().context("`bourse dev` exited at once")?;
        wait_healthy(&mut child, addr).await?;
        Ok(Self { child, pid, addr })
    }

    /// `VmRSS` (resident now) and `VmHWM` (the peak) in KiB; an error if it exited.
    pub(crate) fn memory(&mut self) -> anyhow::Result<(u64, u64)> {
        if let Some(status) = self.child.try_wait()? {
            anyhow::bail!("`bourse dev` exited ({status})");
        }
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .context("reading /proc/<pid>/status")?;
        parse_status(&status).context("no VmRSS/VmHWM in /proc/<pid>/status")
    }

    /// SIGTERM, as an operator would; SIGKILL past [`STOP_TIMEOUT`].
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        stop(&mut self.child, self.pid).await
    }
}

/// A port free right now on loopback (released for `bourse dev` to take).
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?)
}

async fn wait_healthy(child: &mut tokio::process::Child, addr: SocketAddr) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(1))
        .build()?;
    let url = format!("http://{addr}/health");
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("`bourse dev` exited ({status}) before {url} answered");
        }
        if let Ok(response) = http.get(&url).send().await
            && response.status() == reqwest::StatusCode::OK
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            anyhow::bail!("{url} did not answer 200 within {READY_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// SIGTERM through `kill -TERM`, then waits; SIGKILL past [`STOP_TIMEOUT`].
async fn stop(child: &mut tokio::process::Child, pid: u32) -> anyhow::Result<()> {
    if child.try_wait()?.is_some() {
        return Ok(());
    }
    let term = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await
        .context("running kill -TERM")?;
    if !term.success() {
        child.kill().await?;
        anyhow::bail!("kill -TERM {pid} failed ({term}); killed it");
    }
    match tokio::time::timeout(STOP_TIMEOUT, child.wait()).await {
        Ok(status) => {
            let status = status?;
            anyhow::ensure!(
                status.success(),
                "`bourse dev` exited with {status} after SIGTERM"
            );
            Ok(())
        }
        Err(_) => {
            child.kill().await?;
            anyhow::bail!("`bourse dev` ignored SIGTERM for {STOP_TIMEOUT:?}; killed it")
        }
    }
}

/// The `VmRSS` of process `pid`, in KiB.
pub(crate) fn resident_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_status(&status)
        .map(|(rss, _)| rss)
        .context("no VmRSS in /proc/<pid>/status")
}

/// `VmRSS` and `VmHWM` of a `/proc/<pid>/status`, in KiB.
fn parse_status(status: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        status.lines().find_map(|line| {
            let value = line.strip_prefix(name)?.strip_prefix(':')?;
            value.trim().strip_suffix("kB")?.trim().parse().ok()
        })
    };
    Some((field("VmRSS")?, field("VmHWM")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_status_reads_rss_and_peak_in_kib() {
        let status = "Name:\tbourse\nVmPeak:\t  812345 kB\nVmHWM:\t   40960 kB\nVmRSS:\t   31744 kB\nThreads:\t9\n";
        assert_eq!(parse_status(status), Some((31_744, 40_960)));
        assert_eq!(parse_status("Name:\tbourse\n"), None);
    }

    #[test]
    fn log_excerpt_prefers_the_first_error() {
        let log =
            "starting\nerror: unexpected argument '--price-feed' found\n\nUsage: bourse dev\n";
        assert_eq!(
            log_excerpt(log).as_deref(),
            Some("error: unexpected argument '--price-feed' found")
        );
        assert_eq!(log_excerpt("one\ntwo\n\n").as_deref(), Some("two"));
        assert_eq!(log_excerpt("\n"), None);
    }

    #[test]
    fn parse_status_reads_this_process() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let (rss, hwm) = parse_status(&status).unwrap();
        assert!(rss > 0 && hwm >= rss);
    }
}
