//! [`NatsServer`]: a nats-server of a test's own, for tests that stop and restart NATS under a
//! running system. The shared server at `BOURSE_TEST_NATS_URL` must never be stopped.

use std::{
    net::{Ipv4Addr, SocketAddr, TcpListener},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// A nats-server with JetStream on a free port of 127.0.0.1, storing under a directory of its
/// own; killed and its directory removed when dropped.
pub struct NatsServer {
    port: u16,
    store: PathBuf,
    /// Arguments beyond address, port and JetStream (cluster settings).
    extra: Vec<String>,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts one and waits until it accepts connections.
    pub async fn start() -> Self {
        Self::start_with(free_port(), Vec::new()).await
    }

    async fn start_with(port: u16, extra: Vec<String>) -> Self {
        let store = std::env::temp_dir().join(format!("bourse-test-nats-{}", uuid::Uuid::now_v7()));
        let mut server = Self {
            port,
            store,
            extra,
            child: None,
        };
        server.restart().await;
        server
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Whether it was started and not stopped since.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server (SIGKILL: connections drop as in a crash) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server as an operator does (SIGTERM: it shuts down in order, handing the
    /// leadership of its Raft groups over first) and waits until it is gone.
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let terminated = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .is_ok_and(|status| status.success());
            if !terminated {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same store (streams survive), and
    /// waits until it accepts connections.
    pub async fn restart(&mut self) {
        self.stop();
        let child = Command::new(binary())
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&self.store)
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start nats-server: {err}"));
        self.child = Some(child);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        crate::wait_until(
            Duration::from_secs(10),
            "nats-server listens",
            || async move { tokio::net::TcpStream::connect(addr).await.is_ok() },
        )
        .await;
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

/// Three nats-servers in one JetStream cluster on free ports of 127.0.0.1, for tests that take
/// nodes down under a running system. Dropped, every node is killed and its store removed.
pub struct NatsCluster {
    nodes: Vec<NatsServer>,
    /// Each node's monitoring port (`/healthz`).
    monitors: Vec<u16>,
}

impl NatsCluster {
    /// Starts three nodes and waits until JetStream has a meta leader (streams can be made).
    pub async fn start() -> Self {
        const NODES: usize = 3;
        let name = format!(
            "bourse-test-{}",
            &uuid::Uuid::now_v7().simple().to_string()[20..]
        );
        let routes: Vec<u16> = (0..NODES).map(|_| free_port()).collect();
        let monitors: Vec<u16> = (0..NODES).map(|_| free_port()).collect();
        let mut nodes = Vec::with_capacity(NODES);
        for (i, route) in routes.iter().enumerate() {
            let others: Vec<String> = routes
                .iter()
                .filter(|other| *other != route)
                .map(|other| format!("nats://127.0.0.1:{other}"))
                .collect();
            let extra = vec![
                "--name".into(),
                format!("{name}-n{i}"),
                "--cluster_name".into(),
                name.clone(),
                "--cluster".into(),
                format!("nats://127.0.0.1:{route}"),
                "--routes".into(),
                others.join(","),
                "-m".into(),
                monitors[i].to_string(),
            ];
            nodes.push(NatsServer::start_with(free_port(), extra).await);
        }
        let cluster = Self { nodes, monitors };
        cluster.wait_for_jetstream().await;
        cluster
    }

    /// Every node as a seed list, as `BOURSE_NATS_URL` takes it.
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Node `index` (0, 1 or 2), to stop and restart.
    pub fn node(&mut self, index: usize) -> &mut NatsServer {
        &mut self.nodes[index]
    }

    /// Waits until the cluster is whole again: every running node's `/healthz` is OK (it is
    /// current with the meta leader and with every stream and consumer it holds) and JetStream
    /// answers through the seeds. A node just restarted is not a voter to count on before this:
    /// taking another node down earlier can leave the meta group without a leader.
    pub async fn wait_for_jetstream(&self) {
        let servers = bus::server_addrs(&self.url()).expect("cluster seeds");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("an HTTP client");
        let healthz: Vec<String> = self
            .nodes
            .iter()
            .zip(&self.monitors)
            .filter(|(node, _)| node.is_running())
            .map(|(_, port)| format!("http://127.0.0.1:{port}/healthz"))
            .collect();
        crate::wait_until(
            Duration::from_secs(60),
            "every node of the JetStream cluster is current",
            || {
                let servers = servers.clone();
                let http = http.clone();
                let healthz = healthz.clone();
                async move {
                    for url in &healthz {
                        let healthy = http
                            .get(url)
                            .send()
                            .await
                            .is_ok_and(|response| response.status().is_success());
                        if !healthy {
                            return false;
                        }
                    }
                    let Ok(client) = async_nats::connect(servers.as_slice()).await else {
                        return false;
                    };
                    // The raw API, not `query_account`: async-nats cannot decode what a
                    // clustered 2.9 server answers there (its tiered limits).
                    let Ok(reply) = client.request("$JS.API.INFO", "".into()).await else {
                        return false;
                    };
                    serde_json::from_slice::<serde_json::Value>(&reply.payload)
                        .is_ok_and(|info| info.get("error").is_none())
                }
            },
        )
        .await;
    }
}

/// `nats-server` from `PATH`, else where Debian installs it.
fn binary() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nats-server"))
            .find(|candidate| candidate.is_file())
    });
    on_path.unwrap_or_else(|| PathBuf::from("/usr/sbin/nats-server"))
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}
