//! The HTTP client of the gateway scenarios: one HTTP/1.1 keep-alive connection per load
//! worker, driven by hyper's connection API.
//!
//! The load generator runs in the same process as the gateway, so whatever the client spends per
//! request is taken from the gateway's two cores and counted against (c). reqwest's pool, retry
//! and redirect layers, URL parsing and connection tasks were ~30 % of the process's CPU in the
//! (c) profile; (a)'s client, async-nats, has none of that. A worker here owns its connection
//! (the load generator gives each worker its index), so there is no pool to lock and no request
//! waits for a connection: the same closed loop `wrk` runs from outside.

use std::{net::SocketAddr, sync::Mutex};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{
    Request, Uri,
    client::conn::http1::{self, SendRequest},
    header,
};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::stack::REQUEST_TIMEOUT;

type Sender = SendRequest<Full<Bytes>>;

/// Keep-alive connections to one address, one slot per worker.
pub(crate) struct Client {
    addr: SocketAddr,
    /// A worker's connection, taken out while its request runs (never contended: a slot
    /// belongs to one worker).
    slots: Vec<Mutex<Option<Sender>>>,
}

impl Client {
    pub(crate) fn new(addr: SocketAddr, workers: usize) -> Self {
        Self {
            addr,
            slots: (0..workers.max(1)).map(|_| Mutex::new(None)).collect(),
        }
    }

    /// A request to this client's address: `GET`, or `POST` with a JSON body.
    pub(crate) fn request(
        &self,
        path: &str,
        bearer: Option<&str>,
        json: Option<Bytes>,
    ) -> anyhow::Result<Request<Full<Bytes>>> {
        let uri: Uri = format!("http://{}{path}", self.addr).parse()?;
        let mut builder = Request::builder()
            .uri(uri)
            .header(header::HOST, self.addr.to_string());
        if let Some(token) = bearer {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        Ok(match json {
            None => builder.method("GET").body(Full::default())?,
            Some(body) => builder
                .method("POST")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::new(body))?,
        })
    }

    /// Sends `request` on `worker`'s connection (made on first use, or again after a failure)
    /// and reads the whole answer; a status that is not a success is an error.
    pub(crate) async fn send(
        &self,
        worker: usize,
        request: Request<Full<Bytes>>,
    ) -> anyhow::Result<()> {
        let slot = &self.slots[worker % self.slots.len()];
        let taken = slot.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.take();
        let mut sender = match taken {
            Some(sender) if !sender.is_closed() => sender,
            _ => self.connect().await?,
        };
        let exchange = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            response.into_body().collect().await?;
            anyhow::ensure!(status.is_success(), "HTTP status {status}");
            Ok(())
        };
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {REQUEST_TIMEOUT:?}")));
        // The connection is kept for the worker's next request unless this one broke it.
        if outcome.is_ok()
            && let Ok(mut slot) = slot.lock()
        {
            *slot = Some(sender);
        }
        outcome
    }

    async fn connect(&self) -> anyhow::Result<Sender> {
        let stream = TcpStream::connect(self.addr)
            .await
            .with_context(|| format!("connecting to {}", self.addr))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        // A connection that fails shows on the worker's next request (`is_closed`).
        tokio::spawn(async move { drop(connection.await) });
        Ok(sender)
    }
}
