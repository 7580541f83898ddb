//! One WebSocket session: reads client frames, feeds stored events into the bounded outbound
//! buffer, and notices lag, idleness and shutdown.

use std::{ops::ControlFlow, sync::Arc, time::Duration};

use ::auth::AccessClaims;
use axum::extract::ws::{Message, WebSocket};
use bus::{Actor, Clock, ErrorCode, RequestContext, ServiceError};
use chrono::{DateTime, Utc};
use futures::{StreamExt, future::select_all, stream::SplitStream};
use tokio::{
    sync::mpsc::{self, error::TrySendError},
    time::Instant,
};
use tracing::Instrument;

use super::{
    caps::{Slot, SocketCaps},
    hub::{Hub, Item},
    protocol::OPCODE_DATA,
    protocol::{ClientFrame, ServerFrame, Topic},
    subscription::{Next, Subscription},
    terminal::{Attachment, Step},
    topic::{FeedError, Key, TopicSpec, spec},
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
    ip_slot: Slot,
    signed_in: Option<(AccessClaims, Slot)>,
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
            subscriptions: Vec::new(),
            hub: state.hub.clone(),
            bus: state.bus.clone(),
            pending_lag: Vec::new(),
            oversized: false,
            metrics: metrics.clone(),
            verifier: state.verifier.clone(),
            clock: state.clock.clone(),
            caps: state.socket_caps.clone(),
            user: None,
            terminal: None,
            _ip_slot: ip_slot,
        };
        if let Some((claims, slot)) = signed_in {
            // The client learns who it is, as after an `auth` frame.
            let frame = session.sign_in(&claims, Some(slot));
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
    /// One per topic the socket follows.
    subscriptions: Vec<Subscription>,
    hub: Arc<Hub>,
    bus: bus::Bus,
    /// Topics whose client fell behind and whose `lagged` frame is not in the buffer yet.
    pending_lag: Vec<(Topic, u64)>,
    /// The client sent a message over the limit; the socket is closing with 1009.
    oversized: bool,
    metrics: Arc<Metrics>,
    verifier: Arc<Verifier>,
    clock: Clock,
    caps: Arc<SocketCaps>,
    /// Who the socket is signed in as, until when. Prices need nobody; user topics do.
    user: Option<SignedIn>,
    /// The terminal session the socket follows, if any.
    terminal: Option<Attachment>,
    /// This socket's place under the per-IP cap.
    _ip_slot: Slot,
}

/// A signed-in socket's user, until its token expires, and its place under the per-user cap.
struct SignedIn {
    actor: Actor,
    until: DateTime<Utc>,
    slot: Slot,
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
            let lagging = !self.pending_lag.is_empty();
            let feeding = !lagging && self.subscriptions.iter().any(Subscription::is_running);
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
                    match self.send(frame).await {
                        ControlFlow::Continue(()) => self.leave_private().await,
                        stop => stop,
                    }
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
                        let (topic, resume_from) = self.pending_lag.remove(0);
                        permit.send(Outbound::Frame(ServerFrame::Lagged { topic, resume_from }));
                        ControlFlow::Continue(())
                    }
                    Err(_) => ControlFlow::Break(()),
                },
                (at, next) = next_event(&mut self.subscriptions), if feeding => match next {
                    Next::Item(item) => self.on_stored(at, &item),
                    Next::Lost => self.lag(at, "its live feed ended"),
                },
                step = next_step(&mut self.terminal), if self.terminal.is_some() => self.on_step(step).await,
            };
            if flow.is_break() {
                if let Some(attachment) = self.terminal.take() {
                    attachment.detach();
                }
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
            Message::Binary(bytes) => self.on_input(&bytes).await,
            Message::Ping(_) | Message::Pong(_) => ControlFlow::Continue(()),
            Message::Close(_) => ControlFlow::Break(()),
        }
    }

    async fn on_frame(&mut self, frame: ClientFrame) -> ControlFlow<()> {
        // A pending `lagged` goes first, so the client reads frames in the order they happened.
        for (topic, resume_from) in std::mem::take(&mut self.pending_lag) {
            self.send(ServerFrame::Lagged { topic, resume_from })
                .await?;
        }
        let reply = match frame {
            ClientFrame::Ping => ServerFrame::Pong,
            ClientFrame::Auth { token } => {
                let before = self.actor().map(|a| a.user_id);
                let frame = self.authenticate(&token);
                if before.is_some() && self.actor().map(|a| a.user_id) != before {
                    // Another user now: what the first one followed is not theirs to see.
                    self.send(frame).await?;
                    return self.leave_private().await;
                }
                frame
            }
            ClientFrame::Subscribe {
                topic,
                keys,
                resume_from,
            } => self
                .subscribe(topic, keys.unwrap_or_default(), resume_from)
                .await
                .unwrap_or_else(error_frame),
            ClientFrame::Attach { session_id, offset } => self.attach(session_id, offset).await,
            ClientFrame::Detach => match self.terminal.take() {
                Some(attachment) => {
                    let session_id = attachment.session_id().clone();
                    attachment.detach();
                    ServerFrame::Detached { session_id }
                }
                None => not_attached(),
            },
            ClientFrame::Resize { cols, rows } => self.resize(cols, rows).await,
            ClientFrame::Ack { offset } => match self.terminal.as_mut() {
                Some(attachment) => {
                    attachment.ack(offset);
                    return ControlFlow::Continue(());
                }
                None => not_attached(),
            },
            ClientFrame::Unsubscribe { topic, keys } => {
                match keys.map(|keys| parse_keys(spec(topic), &keys)).transpose() {
                    Ok(keys) => match self.subscriptions.iter_mut().find(|s| s.topic() == topic) {
                        Some(subscription) => subscription.unsubscribe(keys),
                        None => ServerFrame::Unsubscribed {
                            topic,
                            keys: Vec::new(),
                        },
                    },
                    Err(err) => error_frame(err),
                }
            }
        };
        self.send(reply).await
    }

    async fn subscribe(
        &mut self,
        topic: Topic,
        raw: Vec<String>,
        resume_from: Option<u64>,
    ) -> Result<ServerFrame, FeedError> {
        let spec = spec(topic);
        let keys = parse_keys(spec, &raw)?;
        if keys.is_empty() {
            return Err(FeedError::new(
                ErrorCode::ValidationFailed,
                format!(
                    "name at least one key of {} to subscribe to",
                    topic.as_str()
                ),
            ));
        }
        spec.authorize(&self.bus, self.actor(), &keys).await?;
        let at = match self.subscriptions.iter().position(|s| s.topic() == topic) {
            Some(at) => at,
            None => {
                self.subscriptions
                    .push(Subscription::new(topic, self.bus.clone()));
                self.subscriptions.len() - 1
            }
        };
        // A topic whose `lagged` is still pending is resubscribed now: the client asked.
        self.pending_lag.retain(|(t, _)| *t != topic);
        self.subscriptions[at]
            .subscribe(&self.hub, keys, resume_from)
            .await
    }

    /// Attaches the socket to a terminal session of its user (leaving the one it followed).
    async fn attach(
        &mut self,
        session_id: contracts::terminal::SessionId,
        offset: Option<u64>,
    ) -> ServerFrame {
        let Some(actor) = self.actor().cloned() else {
            return ServerFrame::error(ErrorCode::Unauthorized, "sign in to attach to a terminal");
        };
        if let Some(attachment) = self.terminal.take() {
            attachment.detach();
        }
        let ctx = RequestContext::new().with_actor(Some(actor));
        match Attachment::start(&self.bus, ctx, session_id, offset).await {
            Ok((attachment, session)) => {
                let from_offset = attachment.next_offset();
                self.terminal = Some(attachment);
                ServerFrame::Attached {
                    session: Box::new(session),
                    from_offset,
                }
            }
            Err(err) => error_frame(err),
        }
    }

    async fn resize(&mut self, cols: u16, rows: u16) -> ServerFrame {
        let Some(attachment) = &self.terminal else {
            return not_attached();
        };
        let request = contracts::terminal::ResizeSession {
            session_id: attachment.session_id().clone(),
            cols,
            rows,
        };
        match attachment
            .bus()
            .request_routed(attachment.ctx(), &request)
            .await
        {
            Ok(session) => ServerFrame::Resized {
                session: Box::new(session),
            },
            Err(err) => ServerFrame::error(err.code(), err.to_string()),
        }
    }

    /// A binary frame: input for the attached terminal (opcode first).
    async fn on_input(&mut self, frame: &[u8]) -> ControlFlow<()> {
        let reply = match (frame.split_first(), &self.terminal) {
            (Some((&OPCODE_DATA, data)), Some(attachment)) if !data.is_empty() => {
                match attachment.write(data).await {
                    Ok(()) => return ControlFlow::Continue(()),
                    Err(err) => error_frame(err),
                }
            }
            (Some((&OPCODE_DATA, _)), None) => not_attached(),
            _ => ServerFrame::error(
                ErrorCode::UnsupportedMediaType,
                "send JSON text frames, or binary terminal input: opcode 0 then the bytes",
            ),
        };
        self.send(reply).await
    }

    /// What the attached terminal has for the client.
    async fn on_step(&mut self, step: Step) -> ControlFlow<()> {
        match step {
            Step::Output(bytes) => match self.tx.send(Outbound::Binary(bytes)).await {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            },
            Step::Frame(frame) => self.send(frame).await,
            Step::End(frame) => {
                if let Some(attachment) = self.terminal.take() {
                    attachment.detach();
                }
                self.send(frame).await
            }
        }
    }

    /// Ends the subscriptions of topics only a signed-in user may follow (the user signed out
    /// or changed), telling the client with `unsubscribed` and no keys.
    async fn leave_private(&mut self) -> ControlFlow<()> {
        if let Some(attachment) = self.terminal.take() {
            let session_id = attachment.session_id().clone();
            attachment.detach();
            self.send(ServerFrame::Detached { session_id }).await?;
        }
        let mut left = Vec::new();
        self.subscriptions.retain(|subscription| {
            let private = spec(subscription.topic()).is_private();
            if private {
                left.push(subscription.topic());
            }
            !private
        });
        self.pending_lag.retain(|(topic, _)| !left.contains(topic));
        for topic in left {
            self.send(ServerFrame::Unsubscribed {
                topic,
                keys: Vec::new(),
            })
            .await?;
        }
        ControlFlow::Continue(())
    }

    /// An `auth` frame: a valid token signs the socket in (or renews it); an invalid one is
    /// refused and leaves the socket as it was, still signed in until the old token expires.
    fn authenticate(&mut self, token: &str) -> ServerFrame {
        match self.verifier.verify(token) {
            Ok(claims) => self.sign_in(&claims, None),
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
    /// `slot` is the user's place under the per-user cap when the caller took it already.
    fn sign_in(&mut self, claims: &AccessClaims, slot: Option<Slot>) -> ServerFrame {
        let Some(expires_at) = claims.expires_at() else {
            return ServerFrame::error(ErrorCode::Unauthorized, "the access token is invalid");
        };
        if expires_at <= self.clock.now() {
            return ServerFrame::error(ErrorCode::Unauthorized, "the access token has expired");
        }
        let actor = auth::actor_of(claims);
        let slot = match (slot, self.user.take()) {
            (Some(slot), _) => slot,
            // A renewal for the same user keeps its place.
            (None, Some(current)) if current.actor.user_id == actor.user_id => current.slot,
            (None, current) => match self.caps.user(actor.user_id) {
                Some(slot) => slot,
                None => {
                    self.user = current;
                    let cap = self.caps.per_user();
                    return ServerFrame::error(
                        ErrorCode::RateLimited,
                        format!("at most {cap} WebSockets may be open per user"),
                    );
                }
            },
        };
        tracing::debug!(user_id = %actor.user_id, "WebSocket signed in");
        let frame = ServerFrame::Authenticated {
            user_id: actor.user_id,
            roles: actor.roles.clone(),
            expires_at,
        };
        self.user = Some(SignedIn {
            actor,
            until: expires_at,
            slot,
        });
        frame
    }

    /// The user the socket acts for, while signed in.
    fn actor(&self) -> Option<&Actor> {
        self.user.as_ref().map(|u| &u.actor)
    }

    /// A stored event of subscription `at`: into the buffer if there is room, else the client
    /// is lagging.
    fn on_stored(&mut self, at: usize, item: &Item) -> ControlFlow<()> {
        let subscription = &mut self.subscriptions[at];
        if !subscription.accept(item) {
            return ControlFlow::Continue(());
        }
        match self.tx.try_send(Outbound::Text(item.text.clone())) {
            Ok(()) => {
                subscription.delivered(item.seq);
                ControlFlow::Continue(())
            }
            Err(TrySendError::Full(_)) => self.lag(at, "its buffer is full"),
            Err(TrySendError::Closed(_)) => ControlFlow::Break(()),
        }
    }

    /// Stops subscription `at`; its client learns where to resume.
    fn lag(&mut self, at: usize, why: &str) -> ControlFlow<()> {
        let subscription = &mut self.subscriptions[at];
        let topic = subscription.topic();
        let resume_from = subscription.stop_lagged();
        tracing::info!(
            topic = topic.as_str(),
            resume_from,
            "WebSocket client fell behind ({why}); its feed is stopped"
        );
        self.metrics.ws_lagged.inc();
        self.pending_lag.push((topic, resume_from));
        ControlFlow::Continue(())
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

/// The next step of the attached terminal (never, when none is).
async fn next_step(terminal: &mut Option<Attachment>) -> Step {
    match terminal {
        Some(attachment) => attachment.step().await,
        None => std::future::pending().await,
    }
}

fn not_attached() -> ServerFrame {
    ServerFrame::error(
        ErrorCode::Conflict,
        "no terminal session is attached; send an attach frame first",
    )
}

/// The next event of any running subscription, with its index.
async fn next_event(subscriptions: &mut [Subscription]) -> (usize, Next) {
    if let [only] = subscriptions {
        return (0, only.next().await);
    }
    let running: Vec<_> = subscriptions
        .iter_mut()
        .enumerate()
        .filter(|(_, s)| s.is_running())
        .map(|(at, s)| Box::pin(async move { (at, s.next().await) }))
        .collect();
    if running.is_empty() {
        return std::future::pending().await;
    }
    select_all(running).await.0
}

fn parse_keys(spec: &TopicSpec, raw: &[String]) -> Result<Vec<Key>, FeedError> {
    raw.iter()
        .map(|key| {
            (spec.parse_key)(key)
                .map_err(|message| FeedError::new(ErrorCode::ValidationFailed, message))
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
        let Err(err) = parse_keys(spec(Topic::Prices), &["AAPL".into(), "BRK_B".into()]) else {
            panic!("accepted")
        };
        assert_eq!(err.code, ErrorCode::ValidationFailed);
        assert!(err.message.contains("BRK_B"), "{}", err.message);
    }
}
