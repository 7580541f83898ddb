//! One session: its PTY, its scrollback and what its owner may ask of it. The pump task
//! ([`pump`]) moves output from the PTY into the ring and onto NATS until the terminal closes.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use async_nats::HeaderMap;
use bus::{Bus, Clock, RequestContext, ServiceError};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use contracts::terminal::{
    ATTACHMENT_TTL_SECONDS, ExitCause, History, OFFSET_HEADER, PACE_LAG, PACE_STALL_MILLISECONDS,
    SessionId, SessionStatus, TerminalExited, TerminalSession, output_subject,
};
use tokio::sync::{Notify, mpsc, watch};
use uuid::Uuid;

use crate::{input::Lines, pty::Pty, ring::Ring, stats::Counters};

/// Output one message carries at most: what the PTY handed over since the last message, up to
/// this. Nothing waits to fill a batch, so a keystroke's echo leaves at once.
pub const BATCH: usize = 32 * 1024;

/// An attachment not renewed within this stops counting.
const ATTACHMENT_TTL: Duration = Duration::from_secs(ATTACHMENT_TTL_SECONDS);
/// An attachment whose ack did not move for this long no longer paces the output.
const PACE_STALL: Duration = Duration::from_millis(PACE_STALL_MILLISECONDS);

/// A socket following the session, as its gateway reports it.
#[derive(Debug, Clone, Copy)]
struct Attached {
    renewed: Instant,
    /// The client's last ack, and when it last moved.
    acked: Option<(u64, Instant)>,
}

#[derive(Debug)]
pub struct Session {
    pub id: SessionId,
    pub owner: Uuid,
    pub command: String,
    /// Relative to the owner's workspace directory.
    pub cwd: String,
    pub created_at: DateTime<Utc>,
    pub pty: Pty,
    state: Mutex<State>,
    /// The child's exit code, once the instance reaped it.
    exit: watch::Sender<Option<i32>>,
    /// An ack moved or an attachment left: the pump may read again.
    paced: Notify,
}

/// What a session is, fixed at its start.
#[derive(Debug)]
pub struct About {
    pub id: SessionId,
    pub owner: Uuid,
    pub command: String,
    pub cwd: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug)]
struct State {
    ring: Ring,
    cols: u16,
    rows: u16,
    status: SessionStatus,
    exit_code: Option<i32>,
    exited_at: Option<DateTime<Utc>>,
    /// Why the session is ending, when something other than the child asked.
    closing: Option<ExitCause>,
    attachments: HashMap<Uuid, Attached>,
    /// The last output, input, attach or detach.
    active_at: Instant,
    /// When the pump saw the end of the output (a terminal still open after its child exited
    /// is held by a process the child left behind).
    exited_instant: Option<Instant>,
    lines: Lines,
}

impl Session {
    pub fn new(about: About, pty: Pty, scrollback: usize, (cols, rows): (u16, u16)) -> Self {
        let About {
            id,
            owner,
            command,
            cwd,
            created_at,
        } = about;
        Self {
            id,
            owner,
            command,
            cwd,
            created_at,
            pty,
            state: Mutex::new(State {
                ring: Ring::new(scrollback),
                cols,
                rows,
                status: SessionStatus::Running,
                exit_code: None,
                exited_at: None,
                closing: None,
                attachments: HashMap::new(),
                active_at: Instant::now(),
                exited_instant: None,
                lines: Lines::default(),
            }),
            exit: watch::Sender::new(None),
            paced: Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; carry on with it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn view(&self) -> TerminalSession {
        let mut state = self.state();
        let now = Instant::now();
        state
            .attachments
            .retain(|_, attached| now.duration_since(attached.renewed) < ATTACHMENT_TTL);
        TerminalSession {
            id: self.id.clone(),
            command: self.command.clone(),
            cols: state.cols,
            rows: state.rows,
            cwd: self.cwd.clone(),
            created_at: self.created_at,
            status: state.status,
            exit_code: state.exit_code,
            exited_at: state.exited_at,
            attached: u32::try_from(state.attachments.len()).unwrap_or(u32::MAX),
            output_offset: state.ring.end(),
            history_start: state.ring.start(),
        }
    }

    pub fn is_running(&self) -> bool {
        self.state().status == SessionStatus::Running
    }

    /// Whether the owner may still drive it.
    fn check_running(&self) -> Result<(), ServiceError> {
        if self.is_running() {
            Ok(())
        } else {
            Err(ServiceError::conflict(format!(
                "terminal session {} has exited",
                self.id
            )))
        }
    }

    pub async fn write(&self, data: Vec<u8>, at: DateTime<Utc>) -> Result<u64, ServiceError> {
        self.check_running()?;
        let len = data.len() as u64;
        {
            let mut state = self.state();
            state.lines.feed(&data, at);
            state.active_at = Instant::now();
        }
        match tokio::time::timeout(WRITE_TIMEOUT, self.pty.write(data)).await {
            Ok(Ok(())) => Ok(len),
            Ok(Err(err)) => Err(ServiceError::conflict(format!(
                "terminal session {} takes no input: {err}",
                self.id
            ))),
            Err(_) => Err(ServiceError::new(
                bus::ErrorCode::Timeout,
                format!(
                    "terminal session {} did not take its input within {WRITE_TIMEOUT:?}: the program in it is not reading",
                    self.id
                ),
            )),
        }
    }

    pub fn resize(&self, cols: u16, rows: u16) -> Result<TerminalSession, ServiceError> {
        self.check_running()?;
        self.pty
            .resize(cols, rows)
            .map_err(|err| ServiceError::internal(format!("cannot resize the terminal: {err}")))?;
        {
            let mut state = self.state();
            state.cols = cols;
            state.rows = rows;
        }
        Ok(self.view())
    }

    pub fn history(&self, from: Option<u64>, max: usize) -> History {
        use base64::Engine as _;
        let state = self.state();
        let from = from.unwrap_or_else(|| state.ring.start());
        let read = state.ring.read(from, max);
        let output_offset = state.ring.end();
        drop(state);
        History {
            from_offset: read.from,
            next_offset: read.from + read.data.len() as u64,
            truncated: read.truncated,
            data: base64::engine::general_purpose::STANDARD.encode(&read.data),
            encoding: "base64".into(),
            output_offset,
        }
    }

    pub fn commands(&self) -> Vec<contracts::terminal::CommandLine> {
        self.state().lines.lines()
    }

    /// Adds or renews an attachment; `acked` is its client's progress.
    pub fn attach(&self, attachment: Uuid, acked: Option<u64>) -> TerminalSession {
        {
            let mut state = self.state();
            let now = Instant::now();
            let entry = state.attachments.entry(attachment).or_insert(Attached {
                renewed: now,
                acked: None,
            });
            entry.renewed = now;
            if let Some(offset) = acked {
                match entry.acked {
                    Some((before, _)) if before >= offset => {}
                    _ => entry.acked = Some((offset, now)),
                }
            }
            state.active_at = now;
        }
        self.paced.notify_one();
        self.view()
    }

    pub fn detach(&self, attachment: Uuid) -> TerminalSession {
        {
            let mut state = self.state();
            state.attachments.remove(&attachment);
            state.active_at = Instant::now();
        }
        self.paced.notify_one();
        self.view()
    }

    /// How long to hold the output back for the slowest attached client that is more than
    /// [`PACE_LAG`] behind and still acking; `None` to read on.
    fn pace(&self) -> Option<Duration> {
        let state = self.state();
        let end = state.ring.end();
        let now = Instant::now();
        state
            .attachments
            .values()
            .filter(|a| now.duration_since(a.renewed) < ATTACHMENT_TTL)
            .filter_map(|a| a.acked)
            .filter(|(acked, _)| end.saturating_sub(*acked) > PACE_LAG)
            .map(|(_, moved)| PACE_STALL.saturating_sub(now.duration_since(moved)))
            .filter(|left| !left.is_zero())
            .max()
    }

    /// Running, nobody attached, and nothing happened for `idle`.
    pub fn is_idle(&self, idle: Duration) -> bool {
        let view = self.view();
        let state = self.state();
        state.status == SessionStatus::Running
            && view.attached == 0
            && state.active_at.elapsed() >= idle
    }

    /// Exited more than `retention` ago.
    pub fn is_expired(&self, retention: Duration) -> bool {
        self.state()
            .exited_instant
            .is_some_and(|at| at.elapsed() >= retention)
    }

    /// Asks the session to end for `cause` (SIGHUP to its processes); the caller sends
    /// SIGKILL after a grace period if it still runs.
    pub fn hang_up(&self, cause: ExitCause) {
        {
            let mut state = self.state();
            if state.status != SessionStatus::Running {
                return;
            }
            state.closing.get_or_insert(cause);
        }
        self.pty.signal_all(nix::sys::signal::Signal::SIGHUP);
    }

    pub fn closing(&self) -> Option<ExitCause> {
        self.state().closing
    }

    /// Records the child's exit code once it is known (from the instance's reaper).
    pub fn reap(&self) -> bool {
        if self.exit.borrow().is_some() {
            return true;
        }
        match self.pty.try_exit() {
            Some(code) => {
                self.exit.send_replace(Some(code));
                true
            }
            None => false,
        }
    }

    /// Whether the child exited but the terminal is still open (a process it left behind
    /// holds it), for the reaper to end.
    pub fn exited_but_open(&self) -> bool {
        self.exit.borrow().is_some() && self.is_running()
    }

    /// Appends output to the ring; answers the offset of its first byte.
    fn append(&self, data: &[u8]) -> u64 {
        let mut state = self.state();
        let offset = state.ring.end();
        state.ring.push(data);
        state.active_at = Instant::now();
        offset
    }

    /// Marks the session exited; answers the event that says so.
    fn finish(&self, exit_code: Option<i32>, now: DateTime<Utc>) -> TerminalExited {
        let mut state = self.state();
        state.status = SessionStatus::Exited;
        state.exit_code = exit_code;
        state.exited_at = Some(now);
        state.exited_instant = Some(Instant::now());
        state.attachments.clear();
        TerminalExited {
            event_id: contracts::new_id(),
            occurred_at: now,
            session_id: self.id.clone(),
            owner_id: self.owner,
            exit_code,
            cause: state.closing.unwrap_or(ExitCause::Exited),
            output_offset: state.ring.end(),
        }
    }
}

/// How long a write may wait for the child to take its input.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Moves the session's output into its ring and onto `evt.terminal.<id>.output` until the
/// terminal closes; then waits for the child's exit code and publishes `exited` (after the
/// last output message, on the same connection).
pub async fn pump(
    session: Arc<Session>,
    mut output: mpsc::Receiver<Bytes>,
    bus: Bus,
    clock: Clock,
    counters: Arc<Counters>,
) {
    let subject = bus.prefix().subject(&output_subject(&session.id));
    loop {
        // A client behind by more than PACE_LAG holds the reading back, until it acks or
        // stalls; meanwhile the reader's queue, then the PTY, fill and the program waits.
        while let Some(wait) = session.pace() {
            let _ = tokio::time::timeout(wait, session.paced.notified()).await;
        }
        let Some(first) = output.recv().await else {
            break;
        };
        let mut batch = BytesMut::from(first);
        while batch.len() < BATCH {
            match output.try_recv() {
                Ok(more) => batch.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        // A message is at most BATCH bytes, whatever the reads gathered.
        for piece in batch.freeze().chunks(BATCH) {
            let offset = session.append(piece);
            counters.add_out(piece.len());
            let mut headers = HeaderMap::new();
            headers.insert(OFFSET_HEADER, offset.to_string().as_str());
            let payload = Bytes::copy_from_slice(piece);
            if let Err(err) = bus
                .client()
                .publish_with_headers(subject.clone(), headers, payload)
                .await
            {
                // The ring has it: attached clients read the gap from history.
                tracing::warn!(session = %session.id, error = %err, "cannot publish terminal output");
            }
        }
    }
    let mut exit = session.exit.subscribe();
    let exit_code = match exit.wait_for(Option::is_some).await {
        Ok(code) => *code,
        Err(_) => None,
    };
    let event = session.finish(exit_code, clock.now());
    tracing::info!(session = %session.id, exit_code, cause = ?event.cause, "terminal session exited");
    if let Err(err) = bus.publish_event(&RequestContext::new(), &event).await {
        tracing::warn!(session = %session.id, error = %err, "cannot publish that a terminal session exited");
    }
}
