//! What the bench's WebSocket clients share: sending a JSON frame and waiting for a frame of a
//! kind.

use std::time::Duration;

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(crate) async fn send_json(ws: &mut Socket, frame: serde_json::Value) -> anyhow::Result<()> {
    ws.send(Message::text(frame.to_string())).await?;
    Ok(())
}

/// Reads JSON frames until one of type `kind`; an error frame fails.
pub(crate) async fn expect(ws: &mut Socket, kind: &str) -> anyhow::Result<serde_json::Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .context("no answer within 30 s")?
            .context("the socket closed")??;
        if let Message::Text(text) = message {
            let frame: serde_json::Value = serde_json::from_str(text.as_str())?;
            if frame["type"] == kind {
                return Ok(frame);
            }
            if frame["type"] == "error" {
                bail!("expected {kind}, got {frame}");
            }
        }
    }
}
