//! A socket attached to a terminal session: its output from an offset with no gap and no
//! duplicate, under flow control, and its input.
//!
//! The gateway subscribes to the session's subjects (core NATS: output is not stored) before
//! it reads anything, then reads the scrollback from the client's offset through the owning
//! instance (`terminal.v1.session.history`), then forwards live output. Every output message
//! says the offset of its first byte, so a message that repeats bytes already sent is trimmed,
//! and one that starts past them (a message lost, or the socket was paused) makes the gateway
//! read the gap from the scrollback first.
//!
//! Flow control: at most [`WINDOW`] bytes are sent past the client's last `ack`. Beyond that
//! the socket is paused: live output is dropped here (the session's ring keeps it) and read
//! from the scrollback once the client acks. Memory per socket stays bounded. The acks also
//! go on to the owning instance, which reads the PTY no faster than its slowest attached
//! client acks (`contracts::terminal::PACE_LAG`), so a client that keeps reading loses
//! nothing; one that stops acking holds the program back for at most
//! `PACE_STALL_MILLISECONDS`, then is left behind and told what it lost (`truncated`). Input
//! never waits behind output, so Ctrl-C stays responsive under a flood.

use std::time::Duration;

use async_nats::Subscriber;
use base64::Engine as _;
use bus::{Bus, ErrorCode, RequestContext};
use bytes::{BufMut, Bytes, BytesMut};
use contracts::terminal::{
    AttachSession, DetachSession, GetHistory, HISTORY_PAGE, OFFSET_HEADER, SessionId,
    SessionMessage, SessionStatus, TerminalExited, TerminalSession, WriteSession, session_subjects,
};
use futures::StreamExt;
use tokio::time::{Interval, MissedTickBehavior};
use uuid::Uuid;

use super::{
    protocol::{OPCODE_DATA, ServerFrame},
    topic::FeedError,
};

/// Bytes sent past the client's last ack at most.
pub(crate) const WINDOW: u64 = 1024 * 1024;

/// How often the attachment is renewed with the owning instance (it counts for a minute).
const RENEW: Duration = Duration::from_secs(20);

/// How far the client's ack moves before the owning instance is told.
const REPORT_EVERY: u64 = 64 * 1024;

/// How the session ended: its exit code, and the offset after its last byte.
#[derive(Debug, Clone, Copy)]
struct Exit {
    exit_code: Option<i32>,
    output_offset: u64,
}

/// What the attachment has for the client next.
pub(crate) enum Step {
    /// Output bytes, as a binary frame (opcode first).
    Output(Bytes),
    Frame(ServerFrame),
    /// The attachment is over (the session exited or is gone); the frame says why.
    End(ServerFrame),
}

pub(crate) struct Attachment {
    session_id: SessionId,
    attachment_id: Uuid,
    ctx: RequestContext,
    bus: Bus,
    subscription: Subscriber,
    /// The offset of the next byte the client gets.
    next: u64,
    /// The client's last ack.
    acked: u64,
    /// The last ack the owning instance was told of (it paces the output by them).
    reported: u64,
    /// Output past `next` exists that the live feed will not bring (the client was paused, a
    /// message was lost, or the attach began behind): read it from the scrollback.
    behind: bool,
    /// The session exited; sent once its output is.
    exit: Option<Exit>,
    renew: Interval,
}

impl Attachment {
    /// Attaches `ctx`'s user to `session_id` from `offset` (the oldest held when `None`).
    pub(crate) async fn start(
        bus: &Bus,
        ctx: RequestContext,
        session_id: SessionId,
        offset: Option<u64>,
    ) -> Result<(Self, TerminalSession), FeedError> {
        let attachment_id = contracts::new_id();
        // Subscribed before anything is read, so no output falls between history and live.
        let subject = bus.prefix().subject(&session_subjects(&session_id));
        let subscription = bus
            .client()
            .subscribe(subject)
            .await
            .map_err(|err| unavailable("cannot follow the terminal session", err))?;
        bus.sync()
            .await
            .map_err(|err| unavailable("cannot follow the terminal session", err))?;
        let next = offset.unwrap_or(0);
        let request = AttachSession {
            session_id: session_id.clone(),
            attachment_id,
            acked: Some(next),
        };
        let session = bus
            .request_routed(&ctx, &request)
            .await
            .map_err(|err| FeedError::new(err.code(), service_message(&err)))?;
        if next > session.output_offset {
            detach(bus.clone(), ctx, session_id, attachment_id);
            return Err(FeedError::new(
                ErrorCode::ValidationFailed,
                format!(
                    "offset {next} is past the session's output ({} bytes)",
                    session.output_offset
                ),
            ));
        }
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + RENEW, RENEW);
        renew.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let attachment = Self {
            session_id,
            attachment_id,
            ctx,
            bus: bus.clone(),
            subscription,
            next,
            acked: next,
            reported: next,
            behind: next < session.output_offset || offset.is_none(),
            // Attached after the end: the exit event went by, so it is known from here.
            exit: (session.status == SessionStatus::Exited).then_some(Exit {
                exit_code: session.exit_code,
                output_offset: session.output_offset,
            }),
            renew,
        };
        Ok((attachment, session))
    }

    pub(crate) fn session_id(&self) -> &SessionId {
        &self.session_id
    }

    pub(crate) fn next_offset(&self) -> u64 {
        self.next
    }

    /// The client processed output up to `offset`. The owning instance hears of it once it
    /// moved [`REPORT_EVERY`], without the socket waiting for its answer.
    pub(crate) fn ack(&mut self, offset: u64) {
        self.acked = self.acked.max(offset.min(self.next));
        if self.acked - self.reported >= REPORT_EVERY {
            self.reported = self.acked;
            let (bus, ctx) = (self.bus.clone(), self.ctx.clone());
            let request = self.renewal();
            tokio::spawn(async move {
                if let Err(err) = bus.request_routed(&ctx, &request).await {
                    tracing::debug!(error = %err, "cannot report a terminal ack");
                }
            });
        }
    }

    fn renewal(&self) -> AttachSession {
        AttachSession {
            session_id: self.session_id.clone(),
            attachment_id: self.attachment_id,
            acked: Some(self.acked),
        }
    }

    fn paused(&self) -> bool {
        self.next - self.acked >= WINDOW
    }

    /// The next thing for the client. Cancel-safe: state changes only once an await is done.
    pub(crate) async fn step(&mut self) -> Step {
        loop {
            if self.behind && !self.paused() {
                match self.read_back().await {
                    Ok(Some(step)) => return step,
                    Ok(None) => continue,
                    Err(frame) => return Step::End(frame),
                }
            }
            if !self.behind
                && let Some(exit) = self.exit.take_if(|exit| self.next >= exit.output_offset)
            {
                return Step::End(ServerFrame::Exited {
                    session_id: self.session_id.clone(),
                    exit_code: exit.exit_code,
                    output_offset: exit.output_offset,
                });
            }
            tokio::select! {
                message = self.subscription.next() => {
                    let Some(message) = message else {
                        return Step::End(ServerFrame::error(
                            ErrorCode::Unavailable,
                            "the terminal session's feed ended; attach again",
                        ));
                    };
                    if let Some(bytes) = self.on_message(&message) {
                        return Step::Output(bytes);
                    }
                }
                _ = self.renew.tick() => {
                    let request = self.renewal();
                    if let Err(err) = self.bus.request_routed(&self.ctx, &request).await
                        && err.code() == ErrorCode::NotFound
                    {
                        return Step::End(ServerFrame::error(ErrorCode::NotFound, service_message(&err)));
                    }
                }
            }
        }
    }

    /// A live message: the bytes to send, if any.
    fn on_message(&mut self, message: &async_nats::Message) -> Option<Bytes> {
        match SessionMessage::of(&message.subject) {
            Some(SessionMessage::Output) => {
                let offset: u64 = message
                    .headers
                    .as_ref()?
                    .get(OFFSET_HEADER)?
                    .as_str()
                    .parse()
                    .ok()?;
                let data = &message.payload;
                let end = offset + data.len() as u64;
                if self.behind || self.paused() || offset > self.next {
                    // Not sendable now: the scrollback has it for later.
                    self.behind |= end > self.next;
                    return None;
                }
                if end <= self.next {
                    return None;
                }
                let skip = usize::try_from(self.next - offset).ok()?;
                self.next = end;
                Some(output_frame(&data[skip..]))
            }
            Some(SessionMessage::Exited) => {
                let exit: TerminalExited = serde_json::from_slice(&message.payload).ok()?;
                self.behind |= exit.output_offset > self.next;
                self.exit = Some(Exit {
                    exit_code: exit.exit_code,
                    output_offset: exit.output_offset,
                });
                None
            }
            Some(SessionMessage::Started) | None => None,
        }
    }

    /// One page of the scrollback from `next`, at most what the window allows; `None` when it
    /// is caught up.
    async fn read_back(&mut self) -> Result<Option<Step>, ServerFrame> {
        let room = WINDOW - (self.next - self.acked);
        let request = GetHistory {
            session_id: self.session_id.clone(),
            from_offset: Some(self.next),
            max_bytes: Some(
                u32::try_from(room)
                    .unwrap_or(HISTORY_PAGE)
                    .min(HISTORY_PAGE),
            ),
        };
        let page = self
            .bus
            .request_routed(&self.ctx, &request)
            .await
            .map_err(|err| ServerFrame::error(err.code(), service_message(&err)))?;
        if page.from_offset > self.next {
            let frame = ServerFrame::Truncated {
                session_id: self.session_id.clone(),
                from_offset: self.next,
                to_offset: page.from_offset,
            };
            // What was dropped counts as taken: the window covers bytes sent, not bytes lost.
            let skipped = page.from_offset - self.next;
            self.acked += skipped;
            self.reported += skipped;
            self.next = page.from_offset;
            return Ok(Some(Step::Frame(frame)));
        }
        let data = base64::engine::general_purpose::STANDARD
            .decode(&page.data)
            .map_err(|err| ServerFrame::error(ErrorCode::Internal, err.to_string()))?;
        if page.next_offset >= page.output_offset {
            self.behind = false;
        }
        if data.is_empty() {
            return Ok(None);
        }
        self.next = page.next_offset;
        Ok(Some(Step::Output(output_frame(&data))))
    }

    /// Input from the client.
    pub(crate) async fn write(&self, data: &[u8]) -> Result<(), FeedError> {
        let request = WriteSession {
            session_id: self.session_id.clone(),
            data: None,
            data_base64: Some(base64::engine::general_purpose::STANDARD.encode(data)),
        };
        self.bus
            .request_routed(&self.ctx, &request)
            .await
            .map(|_| ())
            .map_err(|err| FeedError::new(err.code(), service_message(&err)))
    }

    pub(crate) fn ctx(&self) -> &RequestContext {
        &self.ctx
    }

    pub(crate) fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Tells the owning instance this socket is gone, without waiting for its answer.
    pub(crate) fn detach(self) {
        detach(self.bus, self.ctx, self.session_id, self.attachment_id);
    }
}

fn detach(bus: Bus, ctx: RequestContext, session_id: SessionId, attachment_id: Uuid) {
    let request = DetachSession {
        session_id,
        attachment_id,
    };
    tokio::spawn(async move {
        if let Err(err) = bus.request_routed(&ctx, &request).await {
            tracing::debug!(error = %err, "cannot detach from a terminal session");
        }
    });
}

/// A binary output frame: the opcode, then the bytes.
fn output_frame(data: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(data.len() + 1);
    frame.put_u8(OPCODE_DATA);
    frame.put_slice(data);
    frame.freeze()
}

/// What a failed request tells the client: the service's own message, or that it is away.
fn service_message(err: &bus::BusError) -> String {
    match err {
        bus::BusError::Service { message, .. } => message.clone(),
        other => {
            tracing::warn!(error = %other, "a terminal request failed");
            "the terminal service is unavailable; try again later".into()
        }
    }
}

fn unavailable(what: &str, err: impl std::fmt::Display) -> FeedError {
    tracing::warn!(error.message = %err, "{what}");
    FeedError::new(
        ErrorCode::Unavailable,
        "the terminal service is unavailable; try again later",
    )
}
