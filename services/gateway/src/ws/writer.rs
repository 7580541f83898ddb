//! The writing half of a socket: drains the bounded outbound buffer, pings on a timer, and gives
//! up on a client that does not take a write within the idle timeout. When it ends, its
//! receiver is dropped, which the session sees as `tx.closed()`.

use std::{sync::Arc, time::Duration};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::Bytes;
use futures::{SinkExt, stream::SplitSink};
use tokio::{sync::mpsc, time::MissedTickBehavior};

use super::protocol::ServerFrame;
use crate::metrics::Metrics;

/// What the session hands the writer.
#[derive(Debug)]
pub(crate) enum Outbound {
    Frame(ServerFrame),
    /// A frame already encoded (a stored event, encoded once for every socket).
    Text(Utf8Bytes),
    /// A binary frame (terminal output, opcode first).
    Binary(Bytes),
    /// Close the socket with this code and reason, after the frames before it.
    Close(u16, &'static str),
}

pub(crate) struct Writer {
    pub(crate) sink: SplitSink<WebSocket, Message>,
    pub(crate) outbound: mpsc::Receiver<Outbound>,
    pub(crate) ping_every: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) metrics: Arc<Metrics>,
}

impl Writer {
    /// Runs until the socket is done; hands back the sink so the caller decides when the
    /// connection is dropped.
    pub(crate) async fn run(mut self) -> SplitSink<WebSocket, Message> {
        let mut ping = tokio::time::interval_at(
            tokio::time::Instant::now() + self.ping_every,
            self.ping_every,
        );
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let message = tokio::select! {
                item = self.outbound.recv() => match item {
                    Some(Outbound::Frame(frame)) => match serde_json::to_string(&frame) {
                        Ok(text) => Message::Text(text.into()),
                        Err(err) => {
                            tracing::error!(error.message = %err, "cannot encode a WebSocket frame");
                            continue;
                        }
                    },
                    Some(Outbound::Text(text)) => Message::Text(text),
                    Some(Outbound::Binary(bytes)) => Message::Binary(bytes),
                    Some(Outbound::Close(code, reason)) => {
                        self.close(code, reason).await;
                        return self.sink;
                    }
                    None => {
                        self.close(1000, "bye").await;
                        return self.sink;
                    }
                },
                _ = ping.tick() => Message::Ping(Bytes::new()),
            };
            let is_frame = matches!(message, Message::Text(_) | Message::Binary(_));
            match tokio::time::timeout(self.write_timeout, self.sink.send(message)).await {
                Ok(Ok(())) => {
                    if is_frame {
                        self.metrics.ws_frames_sent.inc();
                    }
                }
                Ok(Err(err)) => {
                    tracing::debug!(error.message = %err, "WebSocket write failed; closing");
                    return self.sink;
                }
                Err(_) => {
                    tracing::info!("WebSocket client took no data for the idle timeout; closing");
                    return self.sink;
                }
            }
        }
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(
            self.write_timeout,
            self.sink.send(Message::Close(Some(frame))),
        )
        .await;
    }
}
