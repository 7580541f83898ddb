//! The HTTP server loop: hyper's connection builder with the limits `axum::serve` does not
//! set, so a client that sends half a request header and then nothing (slowloris) is cut off
//! instead of holding a socket for ever.
//!
//! - `header_read_timeout` (`BOURSE_HEADER_READ_TIMEOUT`, 10 s): a request's head must arrive
//!   within it, on a new connection and on a kept-alive one waiting for its next request; hyper
//!   closes the connection otherwise.
//! - `max_connections` (`BOURSE_MAX_CONNECTIONS`; 0 = no cap): past it, a new connection is
//!   closed as soon as it is accepted, and counted; the ones open are not disturbed.
//!   The place is held by the socket itself, so an upgraded WebSocket keeps it until it closes.
//! - Graceful shutdown: on `stop` the listener closes, connections finish their requests in
//!   flight, and kept-alive idle ones close.

use std::{
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, extract::ConnectInfo};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::metrics::Metrics;

/// Serves `router` on `listener` until `stop` is cancelled, then waits for the connections to
/// finish (the caller bounds that wait). Each request carries `ConnectInfo<SocketAddr>`.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    max_connections: usize,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) {
    let slots = (max_connections > 0).then(|| Arc::new(Semaphore::new(max_connections)));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        // An answer leaves as soon as it is written, not when the client's delayed ACK of the
        // previous one comes back (Nagle): request/response traffic and live feeds both want it.
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(%peer, error = %err, "cannot set TCP_NODELAY");
        }
        let slot = match slots.as_ref().map(|s| s.clone().try_acquire_owned()) {
            None => None,
            Some(Ok(slot)) => Some(slot),
            Some(Err(_)) => {
                metrics.connections_refused.inc();
                tracing::debug!(%peer, "connection refused: BOURSE_MAX_CONNECTIONS are open");
                drop(stream);
                continue;
            }
        };
        let service = router
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection = builder
            .serve_connection_with_upgrades(
                TokioIo::new(Counted {
                    stream,
                    _slot: slot,
                }),
                TowerToHyperService::new(service),
            )
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%peer, error = %err, "HTTP connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// A connection holding its place under `BOURSE_MAX_CONNECTIONS` until it is dropped (after a
/// WebSocket upgrade too: the upgraded IO owns it).
struct Counted {
    stream: TcpStream,
    _slot: Option<OwnedSemaphorePermit>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
