//! [`Relay`]: a TCP relay in front of a real server (Postgres, NATS) that a test can cut and
//! restore. Cut, it drops every relayed connection and stops listening, so new ones are
//! refused — what a client sees when its server goes down — while the server itself keeps
//! serving the other tests.

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::Mutex,
};

use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinHandle,
};

/// Relays `127.0.0.1:<port>` to `upstream` until dropped.
pub struct Relay {
    port: u16,
    upstream: SocketAddr,
    /// Bumped on every cut: each relayed connection ends when it changes.
    cuts: watch::Sender<u64>,
    listener: Mutex<Option<JoinHandle<()>>>,
}

impl Relay {
    /// Starts relaying to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind the relay");
        let port = listener.local_addr().expect("the relay's address").port();
        let (cuts, _) = watch::channel(0);
        let relay = Self {
            port,
            upstream,
            cuts,
            listener: Mutex::new(None),
        };
        relay.listen(listener);
        relay
    }

    fn listen(&self, listener: TcpListener) {
        let task = tokio::spawn(accept(listener, self.upstream, self.cuts.clone()));
        if let Some(old) = self.lock().replace(task) {
            old.abort();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        self.listener
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The relay's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops listening (new connections are refused) and drops every relayed connection,
    /// until [`Relay::restore`].
    pub fn cut(&self) {
        if let Some(listener) = self.lock().take() {
            listener.abort();
        }
        self.cuts.send_modify(|cuts| *cuts += 1);
    }

    /// Listens on the same port again.
    pub async fn restore(&self) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, self.port))
            .await
            .expect("bind the relay's port again");
        self.listen(listener);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
    }
}

async fn accept(listener: TcpListener, upstream: SocketAddr, cuts: watch::Sender<u64>) {
    while let Ok((mut client, _)) = listener.accept().await {
        let mut cut = cuts.subscribe();
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                _ = cut.changed() => {}
            }
        });
    }
}
