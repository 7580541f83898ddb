//! One WebSocket session: reads client frames, feeds stored events into the bounded outbound
//! buffer, and notices lag, idleness and shutdown.

use std::{ops::ControlFlow, sync::Arc, time::Duration};

use ::auth::AccessClaims;
use axum::extract::ws::{Message, WebSocket};
use bus::{Actor, Clock, ErrorCode, RequestContext, ServiceError};
use chrono::{DateTime, Utc};
use contracts::market::Ticker;
use futures::{StreamExt, stream::SplitStream};
use tokio::{
    sync::mpsc::{self, error::TrySendError},
    time::Instant,
};
use tracing::Instrument;

use super::{
    prices::{FeedError, PriceFeed},
    protocol::{ClientFrame, ServerFrame, Topic},
    writer::{Outbound, Writer},
};
use crate::{
    app::AppState,
    auth::{self, Verifier},
    config::WS_MESSAGE_LIMIT,
    metrics::Metrics,
};

/// How long the writer may go on flushing after the session ended.
const WRITER_GRACE: Duration = Duration::from_secs(5);

/// How long a socket closed for an oversized message is kept before it is dropped.
const OVERSIZE_LINGER: Duration = Duration::from_secs(1);

/// Runs one socket to its end; `signed_in` holds the claims of a token given in the
/// `Sec-WebSocket-Protocol` header, already verified.
pub(crate) async fn run(
    socket: WebSocket,
    state: AppState,
    ctx: RequestContext,
    signed_in: Option<AccessClaims>,
) {
    let span = tracing::info_span!("ws.session", correlation_id = %ctx.correlation_id, trace_id = %ctx.trace_id());
    async move {
        let metrics = state.metrics.clone();
        metrics.ws_connections.inc();
        tracing::debug!("WebSocket client connected");
        let (sink, stream) = socket.split();
        let (tx, outbound) = mpsc::channel(state.config.ws_buffer);
        let writer = Writer {
            sink,
            outbound,
            ping_every: state.config.ws_ping_interval,
            write_timeout: state.config.ws_idle_timeout,
            metrics: metrics.clone(),
        };
        let mut writer = tokio::spawn(writer.run());
        let mut session = Session {
            tx,
            feed: PriceFeed::new(state.bus.clone()),
            pending_lag: None,
            oversized: false,
            metrics: metrics.clone(),
            verifier: state.verifier.clone(),
            clock: state.clock.clone(),
            user: None,
        };
        if let Some(claims) = signed_in {
            // The client learns who it is, as after an `auth` frame.
            let frame = session.sign_in(&claims);
            let _ = session.send(frame).await;
        }
        let (stream, oversized) = session.run(stream, &state).await;
        match tokio::time::timeout(WRITER_GRACE, &mut writer).await {
            Ok(Ok(sink)) if oversized => {
                // Lingering close: the rest of the oversized message is still arriving unread,
                // and closing now would reset the connection before the client has read why.
                tokio::time::sleep(OVERSIZE_LINGER).await;
                drop((sink, stream));
            }
            Ok(_) => {}
            Err(_) => writer.abort(),
        }
        metrics.ws_connections.dec();
        tracing::debug!("WebSocket client gone");
    }
    .instrument(span)
    .await;
}

struct Session {
    tx: mpsc::Sender<Outbound>,
    feed: PriceFeed,
    /// Set when the client fell behind and its `lagged` frame is not in the buffer yet.
    pending_lag: Option<u64>,
    /// The client sent a message over the limit; the socket is closing with 1009.
    oversized: bool,
    metrics: Arc<Metrics>,
    verifier: Arc<Verifier>,
    clock: Clock,
    /// Who the socket is signed in as, until when. Prices need nobody; user topics will.
    user: Option<SignedIn>,
}

/// A signed-in socket's user, until its token expires.
#[derive(Debug, Clone)]
struct SignedIn {
    actor: Actor,
    until: DateTime<Utc>,
}

impl Session {
    /// Runs until the socket ends; hands back the read half and whether it ended because of an
    /// oversized message.
    async fn run(
        mut self,
        mut stream: SplitStream<WebSocket>,
        state: &AppState,
    ) -> (SplitStream<WebSocket>, bool) {
        let idle = state.config.ws_idle_timeout;
        let mut deadline = Instant::now() + idle;
        loop {
            let lagging = self.pending_lag.is_some();
            let feeding = self.feed.is_running() && !lagging;
            let flow = tokio::select! {
                biased;
                () = state.sessions.cancelled() => self.close(1001, "the server is shutting down"),
                () = self.tx.closed() => ControlFlow::Break(()),
                () = tokio::time::sleep_until(deadline) => self.close(1000, "idle timeout"),
                () = sleep_until_expiry(&self.clock, self.user.as_ref()), if self.user.is_some() => {
                    self.user = None;
                    tracing::debug!("WebSocket access token expired");
                    let frame = ServerFrame::error(
                        ErrorCode::Unauthorized,
                        "the access token expired; send an auth frame with a fresh one",
                    );
                    self.send(frame).await
                }
                incoming = stream.next() => {
                    deadline = Instant::now() + idle;
                    match incoming {
                        Some(Ok(message)) => self.on_message(message).await,
                        Some(Err(err)) => self.on_read_error(&err),
                        None => ControlFlow::Break(()),
                    }
                }
                permit = self.tx.clone().reserve_owned(), if lagging => match permit {
                    Ok(permit) => {
                        let resume_from = self.pending_lag.take().unwrap_or_default();
                        permit.send(Outbound::Frame(ServerFrame::Lagged { topic: Topic::Prices, resume_from }));
                        ControlFlow::Continue(())
                    }
                    Err(_) => ControlFlow::Break(()),
                },
                message = self.feed.next_message(), if feeding => match message {
                    Some(message) => self.on_stored(&message),
                    None => {
                        let frame = ServerFrame::error(ErrorCode::Unavailable, "the price feed ended; subscribe again with resume_from");
                        self.send(frame).await
                    }
                },
            };
            if flow.is_break() {
                return (stream, self.oversized);
            }
        }
    }

    async fn on_message(&mut self, message: Message) -> ControlFlow<()> {
        match message {
            Message::Text(text) => match parse(text.as_str()) {
                Ok(frame) => self.on_frame(frame).await,
                Err(frame) => self.send(frame).await,
            },
            Message::Binary(_) => {
                self.send(ServerFrame::error(
                    ErrorCode::UnsupportedMediaType,
                    "send JSON text frames",
                ))
                .await
            }
            Message::Ping(_) | Message::Pong(_) => ControlFlow::Continue(()),
            Message::Close(_) => ControlFlow::Break(()),
        }
    }

    async fn on_frame(&mut self, frame: ClientFrame) -> ControlFlow<()> {
        // A pending `lagged` goes first, so the client reads frames in the order they happened.
        if let Some(resume_from) = self.pending_lag.take() {
            self.send(ServerFrame::Lagged {
                topic: Topic::Prices,
                resume_from,
            })
            .await?;
        }
        let reply = match frame {
            ClientFrame::Ping => ServerFrame::Pong,
            ClientFrame::Auth { token } => self.authenticate(&token),
            ClientFrame::Subscribe {
                topic: Topic::Prices,
                symbols,
                resume_from,
            } => match tickers(symbols.unwrap_or_default()) {
                Ok(symbols) if symbols.is_empty() => ServerFrame::error(
                    ErrorCode::ValidationFailed,
                    "name at least one symbol to subscribe to",
                ),
                Ok(symbols) => self
                    .feed
                    .subscribe(symbols, resume_from)
                    .await
                    .unwrap_or_else(error_frame),
                Err(frame) => frame,
            },
            ClientFrame::Unsubscribe {
                topic: Topic::Prices,
                symbols,
            } => match symbols.map(tickers).transpose() {
                Ok(symbols) => self.feed.unsubscribe(symbols),
                Err(frame) => frame,
            },
        };
        self.send(reply).await
    }

    /// An `auth` frame: a valid token signs the socket in (or renews it); an invalid one is
    /// refused and leaves the socket as it was, still signed in until the old token expires.
    fn authenticate(&mut self, token: &str) -> ServerFrame {
        match self.verifier.verify(token) {
            Ok(claims) => self.sign_in(&claims),
            Err(err) => {
                tracing::debug!(error.message = %err, "WebSocket access token refused");
                let message = if err.is_expired() {
                    "the access token has expired"
                } else {
                    "the access token is invalid"
                };
                ServerFrame::error(ErrorCode::Unauthorized, message)
            }
        }
    }

    /// Signs in as the verified `claims`' user until the token's `exp` (the verifier's clock
    /// leeway is not granted here: access ends at `exp`).
    fn sign_in(&mut self, claims: &AccessClaims) -> ServerFrame {
        let Some(expires_at) = claims.expires_at() else {
            return ServerFrame::error(ErrorCode::Unauthorized, "the access token is invalid");
        };
        if expires_at <= self.clock.now() {
            return ServerFrame::error(ErrorCode::Unauthorized, "the access token has expired");
        }
        let actor = auth::actor_of(claims);
        tracing::debug!(user_id = %actor.user_id, "WebSocket signed in");
        let frame = ServerFrame::Authenticated {
            user_id: actor.user_id,
            roles: actor.roles.clone(),
            expires_at,
        };
        self.user = Some(SignedIn {
            actor,
            until: expires_at,
        });
        frame
    }

    /// The user the socket acts for, while signed in.
    #[expect(
        dead_code,
        reason = "user topics (portfolio, chat, terminal) will authorize with it"
    )]
    fn actor(&self) -> Option<&Actor> {
        self.user.as_ref().map(|u| &u.actor)
    }

    /// A stored event: into the buffer if there is room, else the client is lagging.
    fn on_stored(&mut self, message: &async_nats::jetstream::Message) -> ControlFlow<()> {
        let Some((seq, frame)) = self.feed.frame_for(message) else {
            return ControlFlow::Continue(());
        };
        match self.tx.try_send(Outbound::Frame(frame)) {
            Ok(()) => {
                self.feed.delivered(seq);
                ControlFlow::Continue(())
            }
            Err(TrySendError::Full(_)) => {
                let resume_from = self.feed.stop_lagged();
                tracing::info!(
                    resume_from,
                    "WebSocket client fell behind; its feed is stopped"
                );
                self.metrics.ws_lagged.inc();
                self.pending_lag = Some(resume_from);
                ControlFlow::Continue(())
            }
            Err(TrySendError::Closed(_)) => ControlFlow::Break(()),
        }
    }

    /// A read failed. A message over the limit cannot be skipped — the stream is mid-frame —
    /// so the client is told why, and the socket closed with 1009.
    fn on_read_error(&mut self, err: &axum::Error) -> ControlFlow<()> {
        let text = err.to_string();
        if text.contains("Space limit exceeded")
            || text.contains("too long")
            || text.contains("too big")
        {
            let message = format!("a WebSocket message may be at most {WS_MESSAGE_LIMIT} bytes");
            let _ = self.tx.try_send(Outbound::Frame(ServerFrame::error(
                ErrorCode::PayloadTooLarge,
                message,
            )));
            self.oversized = true;
            return self.close(1009, "message too big");
        }
        tracing::debug!(error.message = %text, "WebSocket read failed");
        ControlFlow::Break(())
    }

    /// Queues a frame, waiting for room: a client that does not read stops being read.
    async fn send(&mut self, frame: ServerFrame) -> ControlFlow<()> {
        match self.tx.send(Outbound::Frame(frame)).await {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    }

    /// Asks the writer to close after what is buffered; if the buffer is full, the writer
    /// closes with 1000 once it has drained.
    fn close(&self, code: u16, reason: &'static str) -> ControlFlow<()> {
        let _ = self.tx.try_send(Outbound::Close(code, reason));
        ControlFlow::Break(())
    }
}

/// Resolves when the signed-in user's token expires (never when nobody is signed in).
async fn sleep_until_expiry(clock: &Clock, user: Option<&SignedIn>) {
    match user {
        Some(user) => clock.sleep_until(user.until).await,
        None => std::future::pending().await,
    }
}

/// A text frame as a [`ClientFrame`], or the `error` frame that explains why not (the codes a
/// request body would get).
fn parse(text: &str) -> Result<ClientFrame, ServerFrame> {
    serde_json::from_str(text).map_err(|err| {
        let err = ServiceError::undecodable(&err);
        ServerFrame::error(err.code, err.message)
    })
}

fn tickers(raw: Vec<String>) -> Result<Vec<Ticker>, ServerFrame> {
    raw.iter()
        .map(|symbol| {
            Ticker::parse(symbol)
                .map_err(|err| ServerFrame::error(ErrorCode::ValidationFailed, err.message))
        })
        .collect()
}

fn error_frame(err: FeedError) -> ServerFrame {
    ServerFrame::error(err.code, err.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_and_unknown_frames_get_different_codes() {
        let Err(ServerFrame::Error { code, .. }) = parse("{not json") else {
            panic!("accepted")
        };
        assert_eq!(code, ErrorCode::BadRequest);
        let Err(ServerFrame::Error { code, .. }) =
            parse(r#"{"type":"subscribe","topic":"gossip"}"#)
        else {
            panic!("accepted")
        };
        assert_eq!(code, ErrorCode::ValidationFailed);
    }

    #[test]
    fn a_bad_symbol_is_named_in_the_error() {
        let Err(ServerFrame::Error { message, .. }) = tickers(vec!["AAPL".into(), "BRK_B".into()])
        else {
            panic!("accepted")
        };
        assert!(message.contains("BRK_B"), "{message}");
    }
}
