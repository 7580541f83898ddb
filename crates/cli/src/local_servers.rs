//! Local NATS and Postgres for `bourse dev` (DESIGN.md §6).
//!
//! When nothing answers at the configured URL and that URL is this machine, a server is started
//! from the installed binaries with its data under the data directory (`.data/` by default):
//!
//! - `nats-server -js -a 127.0.0.1 -p <port> -sd .data/nats` (log: `.data/nats.log`)
//! - `initdb -D .data/postgres -U <user> --auth=trust` once, then
//!   `pg_ctl -D .data/postgres -o "-p <port> -k <abs .data/postgres> -c listen_addresses=127.0.0.1"
//!   -l .data/postgres.log start`
//!
//! Whatever was started here is stopped again by [`LocalServers::stop`]; a server that was
//! already running is left alone. Children get their own process group, so the Ctrl-C that the
//! terminal sends to `bourse dev` does not kill them before the services have shut down.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{Context, bail};
use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
use tokio::{net::TcpStream, process::Command};

use crate::{
    binaries::{find_binary, postgres_binaries},
    endpoint::{Endpoint, nats_endpoints, postgres_target},
};

const INSTALL_HINT: &str = "Debian/Ubuntu: `apt-get install nats-server postgresql`";

/// The servers `bourse dev` started itself (none when both were already running).
#[derive(Debug, Default)]
pub(crate) struct LocalServers {
    nats: Option<tokio::process::Child>,
    postgres: Option<Postgres>,
}

#[derive(Debug)]
struct Postgres {
    pg_ctl: PathBuf,
    data: PathBuf,
}

impl LocalServers {
    /// Makes sure NATS and Postgres answer at their URLs, starting local ones where needed.
    /// On failure, whatever was started already is stopped again.
    pub(crate) async fn ensure(
        nats_url: &str,
        database_url: &str,
        data_dir: &Path,
    ) -> anyhow::Result<Self> {
        let mut servers = Self::default();
        let result = async {
            servers.ensure_nats(nats_url, data_dir).await?;
            servers.ensure_postgres(database_url, data_dir).await
        }
        .await;
        match result {
            Ok(()) => Ok(servers),
            Err(err) => {
                servers.stop().await;
                Err(err)
            }
        }
    }

    async fn ensure_nats(&mut self, url: &str, data_dir: &Path) -> anyhow::Result<()> {
        let endpoints = nats_endpoints(url).with_context(|| format!("invalid NATS URL {url:?}"))?;
        for endpoint in &endpoints {
            if reachable(endpoint).await {
                return Ok(());
            }
        }
        let endpoint = match endpoints.as_slice() {
            [only] if only.is_local() => only,
            _ => bail!(
                "NATS is not reachable at {url}; start it there, or point BOURSE_NATS_URL at a running server"
            ),
        };
        let binary = find_binary(
            "nats-server",
            &[PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")],
        )
        .with_context(|| {
            format!(
                "NATS is not reachable at {url} and nats-server is not installed ({INSTALL_HINT})"
            )
        })?;
        let store = data_dir.join("nats");
        std::fs::create_dir_all(&store)
            .with_context(|| format!("cannot create {}", store.display()))?;
        let log_path = data_dir.join("nats.log");
        let log = File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let port = endpoint.port.to_string();
        println!(
            "starting nats-server on 127.0.0.1:{port} (JetStream store {}, log {})",
            store.display(),
            log_path.display()
        );
        let mut child = Command::new(&binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &port, "-sd"])
            .arg(&store)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot run {}", binary.display()))?;
        let local = Endpoint {
            host: "127.0.0.1".to_owned(),
            port: endpoint.port,
        };
        let started = wait_until_reachable(&local, Duration::from_secs(15), || {
            Ok(child
                .try_wait()?
                .map(|status| format!("nats-server exited ({status})")))
        })
        .await;
        self.nats = Some(child);
        started.with_context(|| format!("nats-server did not start; see {}", log_path.display()))
    }

    async fn ensure_postgres(&mut self, url: &str, data_dir: &Path) -> anyhow::Result<()> {
        let target = postgres_target(url).context("invalid database URL")?;
        if reachable(&target.endpoint).await {
            return Ok(());
        }
        let shown = bus::pg::redact(url);
        if !target.endpoint.is_local() {
            bail!(
                "Postgres is not reachable at {shown}; start it there, or point BOURSE_DATABASE_URL at a running server"
            );
        }
        if nix::unistd::geteuid().is_root() {
            bail!(
                "Postgres is not reachable at {shown}, and a local one cannot be started for you: \
                 initdb and pg_ctl refuse to run as root. Start the system PostgreSQL \
                 (e.g. `service postgresql start`) or run `bourse dev` as a non-root user."
            );
        }
        let (initdb, pg_ctl) = postgres_binaries().with_context(|| {
            format!("Postgres is not reachable at {shown} and PostgreSQL is not installed ({INSTALL_HINT})")
        })?;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let data = std::path::absolute(data_dir.join("postgres"))?;
        if !data.join("PG_VERSION").exists() {
            println!(
                "initialising a PostgreSQL cluster in {} (superuser {:?}, trust auth)",
                data.display(),
                target.user
            );
            let user = format!("--username={}", target.user);
            run_quietly(Command::new(&initdb).arg("-D").arg(&data).args([
                user.as_str(),
                "--auth=trust",
                "-E",
                "UTF8",
            ]))
            .await
            .context("initdb failed")?;
        }
        let log = std::path::absolute(data_dir.join("postgres.log"))?;
        let port = target.endpoint.port;
        println!(
            "starting PostgreSQL on 127.0.0.1:{port} (data {}, log {})",
            data.display(),
            log.display()
        );
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1",
            data.display()
        );
        // Recorded before it is known to be up, so that a failed start is still stopped.
        self.postgres = Some(Postgres {
            pg_ctl: pg_ctl.clone(),
            data: data.clone(),
        });
        run_quietly(
            Command::new(&pg_ctl)
                .arg("-D")
                .arg(&data)
                .arg("-o")
                .arg(&options)
                .arg("-l")
                .arg(&log)
                .args(["-w", "start"]),
        )
        .await
        .with_context(|| format!("pg_ctl start failed; see {}", log.display()))?;
        let local = Endpoint {
            host: "127.0.0.1".to_owned(),
            port,
        };
        wait_until_reachable(&local, Duration::from_secs(30), || Ok(None))
            .await
            .with_context(|| format!("PostgreSQL did not start; see {}", log.display()))
    }

    /// Stops what [`LocalServers::ensure`] started, saying so.
    pub(crate) async fn stop(self) {
        if let Some(postgres) = self.postgres {
            println!("stopping PostgreSQL (pg_ctl stop -m fast)");
            let mut command = Command::new(&postgres.pg_ctl);
            command
                .arg("-D")
                .arg(&postgres.data)
                .args(["stop", "-m", "fast"]);
            if let Err(err) = run_quietly(&mut command).await {
                eprintln!("could not stop PostgreSQL: {err:#}");
            }
        }
        if let Some(mut nats) = self.nats {
            stop_child("nats-server", &mut nats).await;
        }
    }
}

/// SIGTERM, then SIGKILL if the process has not exited after a grace period.
async fn stop_child(name: &str, child: &mut tokio::process::Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()) else {
        return;
    };
    println!("stopping {name} (pid {pid})");
    if kill(Pid::from_raw(pid), Signal::SIGTERM).is_ok()
        && tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .is_ok()
    {
        return;
    }
    eprintln!("{name} did not stop in time; killing it");
    if let Err(err) = child.kill().await {
        eprintln!("could not kill {name}: {err}");
    }
}

/// True when something accepts TCP connections at `endpoint`.
pub(crate) async fn reachable(endpoint: &Endpoint) -> bool {
    let connect = TcpStream::connect((endpoint.host.as_str(), endpoint.port));
    matches!(
        tokio::time::timeout(Duration::from_millis(500), connect).await,
        Ok(Ok(_))
    )
}

/// Polls `endpoint` until it accepts connections. `exited` reports a child that died meanwhile.
async fn wait_until_reachable(
    endpoint: &Endpoint,
    timeout: Duration,
    mut exited: impl FnMut() -> std::io::Result<Option<String>>,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if reachable(endpoint).await {
            return Ok(());
        }
        if let Some(why) = exited()? {
            bail!(why);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("nothing accepts connections at {endpoint} after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs a command to completion; on failure the error carries what it printed.
async fn run_quietly(command: &mut Command) -> anyhow::Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .await
        .context("cannot run the command")?;
    if output.status.success() {
        return Ok(());
    }
    let printed = String::from_utf8_lossy(&output.stderr);
    let printed = if printed.trim().is_empty() {
        String::from_utf8_lossy(&output.stdout)
    } else {
        printed
    };
    bail!("{} — {}", output.status, printed.trim());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reachable_is_false_where_nothing_listens() {
        // Bind, learn the port, close: nothing listens there afterwards.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let endpoint = Endpoint {
            host: "127.0.0.1".to_owned(),
            port,
        };
        assert!(reachable(&endpoint).await);
        drop(listener);
        assert!(!reachable(&endpoint).await);
    }
}
