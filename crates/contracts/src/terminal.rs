//! Terminal sessions: a PTY and its child on one terminal instance, its output kept in a ring
//! buffer addressed by byte offsets (the first byte the session ever wrote is offset 0).
//!
//! A session lives on the instance that spawned it, so its id embeds that instance
//! ([`SessionId`]) and every request about one session is [`Routed`] to
//! `<subject>.<instance>`: only the owner answers, and a request for an instance that is gone
//! finds no responder, which the caller reports as `not_found`. Requests that are not about one
//! session (create, list, the overview) go to any instance; list and overview ask every live
//! instance, found in the KV bucket [`TerminalInstances`].
//!
//! Output is not JSON and not stored in a stream: each batch is a core NATS message on
//! `evt.terminal.<session_id>.output` ([`output_subject`]) whose payload is the raw bytes and
//! whose [`OFFSET_HEADER`] is the offset of its first byte. The session's ring buffer is the
//! replay: a client that missed messages reads them with [`GetHistory`]. Only the lifecycle
//! ([`TerminalStarted`], [`TerminalExited`]) goes to the `TERMINAL` stream.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{Bucket, Event, InvalidValue, Request, Routed};

/// The header of an output message that carries the offset of its first byte (decimal).
pub const OFFSET_HEADER: &str = "Bourse-Terminal-Offset";

/// Bytes of output one [`GetHistory`] answers at most: base64 of it stays well inside a 1 MB
/// NATS message.
pub const HISTORY_PAGE: u32 = 512 * 1024;

/// Bytes of input one [`WriteSession`] carries at most.
pub const MAX_INPUT: usize = 64 * 1024;

/// The subject of a session's output messages (unprefixed).
pub fn output_subject(session_id: &SessionId) -> String {
    format!("evt.terminal.{session_id}.output")
}

/// Every subject of one session (output, started, exited): what a follower subscribes to.
pub fn session_subjects(session_id: &SessionId) -> String {
    format!("evt.terminal.{session_id}.*")
}

/// Which of a session's messages a subject carries (by its last token, so a deployment prefix
/// does not matter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionMessage {
    /// Raw output bytes, [`OFFSET_HEADER`] giving the offset of the first.
    Output,
    /// [`TerminalStarted`].
    Started,
    /// [`TerminalExited`].
    Exited,
}

impl SessionMessage {
    pub fn of(subject: &str) -> Option<Self> {
        match subject.rsplit('.').next()? {
            "output" => Some(Self::Output),
            "started" => Some(Self::Started),
            "exited" => Some(Self::Exited),
            _ => None,
        }
    }
}

/// An instance id: 16 lower-case hex digits, random per process start.
pub fn new_instance_id() -> String {
    format!("{:016x}", rand_u64())
}

fn rand_u64() -> u64 {
    // The random tail of a UUIDv7 (62 random bits), without another dependency.
    let bytes = crate::new_id().into_bytes();
    u64::from_be_bytes([
        bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15],
    ])
}

fn parse_session_id(raw: &str) -> Result<String, InvalidValue> {
    parse_routed_id("session_id", "terminal session", raw)
}

/// An id of something one instance holds: `<instance 16 hex>-<uuid 32 hex>`.
pub(crate) fn parse_routed_id(
    field: &'static str,
    what: &str,
    raw: &str,
) -> Result<String, InvalidValue> {
    let raw = raw.trim();
    let valid = raw.len() == 49
        && raw.as_bytes()[16] == b'-'
        && raw
            .bytes()
            .enumerate()
            .all(|(at, b)| at == 16 || b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(InvalidValue::new(
            field,
            format!(
                "{:?} is not a {what} id (16 hex digits, '-', 32 hex digits)",
                crate::value::quoted(raw)
            ),
        ))
    }
}

crate::string_value!(
    /// A terminal session: `<instance>-<session>`, the owning instance's 16 hex digits and a
    /// UUIDv7 in 32 hex digits, so requests route to the instance holding the PTY.
    SessionId,
    parse = parse_session_id,
    schema = { "type": "string", "pattern": "^[0-9a-f]{16}-[0-9a-f]{32}$" }
);

impl SessionId {
    /// A new session on `instance` (from [`new_instance_id`]).
    pub fn new(instance: &str) -> Self {
        Self(format!("{instance}-{}", crate::new_id().simple()))
    }

    /// The instance that owns the session.
    pub fn instance(&self) -> &str {
        &self.0[..16]
    }
}

/// Whether the child still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Running,
    Exited,
}

/// A terminal session as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct TerminalSession {
    pub id: SessionId,
    /// The allow-list entry that was started.
    pub command: String,
    pub cols: u16,
    pub rows: u16,
    /// The working directory, relative to the user's workspace directory (`.` for itself).
    pub cwd: String,
    pub created_at: DateTime<Utc>,
    pub status: SessionStatus,
    /// The exit code, once exited (128 + n for a child killed by signal n).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exited_at: Option<DateTime<Utc>>,
    /// WebSockets attached now.
    pub attached: u32,
    /// The offset after the last byte of output: how much the session has written so far.
    pub output_offset: u64,
    /// The oldest offset the ring buffer still holds.
    pub history_start: u64,
}

/// `terminal.v1.session.create` (any instance): starts a session for the caller.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// An entry of the instance's command allow-list; default: its first (the login shell).
    #[serde(default)]
    pub command: Option<String>,
    /// 1 to 1000; default 80.
    #[serde(default)]
    pub cols: Option<u16>,
    /// 1 to 1000; default 24.
    #[serde(default)]
    pub rows: Option<u16>,
    /// A directory relative to your workspace directory; default: that directory. No `..`,
    /// no absolute path, and no symlink out of it.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Environment variables for the child; only names on the instance's allow-list.
    #[serde(default)]
    pub env: Option<BTreeMap<String, String>>,
}

impl Request for CreateSession {
    const SUBJECT: &'static str = "terminal.v1.session.create";
    type Reply = TerminalSession;
}

/// `terminal.v1.session.list` (any instance): the caller's sessions on every instance, oldest
/// first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSessions {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct SessionList {
    pub sessions: Vec<TerminalSession>,
}

impl Request for ListSessions {
    const SUBJECT: &'static str = "terminal.v1.session.list";
    type Reply = SessionList;
}

/// `terminal.v1.instance.sessions.<instance>`: the caller's sessions on one instance (how
/// [`ListSessions`] gathers them).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInstanceSessions {
    pub instance: String,
}

impl Request for ListInstanceSessions {
    const SUBJECT: &'static str = "terminal.v1.instance.sessions";
    type Reply = SessionList;
}

/// `terminal.v1.instance.stats.<instance>` (admins): one instance's figures (how
/// [`GetOverview`] gathers them).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetInstanceStats {
    pub instance: String,
}

impl Request for GetInstanceStats {
    const SUBJECT: &'static str = "terminal.v1.instance.stats";
    type Reply = TerminalOverview;
}

macro_rules! routed_to_instance {
    ($name:ident) => {
        impl Routed for $name {
            fn instance(&self) -> &str {
                &self.instance
            }

            fn missing(&self) -> String {
                format!("no terminal instance {}", self.instance)
            }
        }
    };
}
routed_to_instance!(ListInstanceSessions);
routed_to_instance!(GetInstanceStats);

/// `terminal.v1.stats.overview` (any instance, admins): every live instance's figures summed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetOverview {}

impl Request for GetOverview {
    const SUBJECT: &'static str = "terminal.v1.stats.overview";
    type Reply = TerminalOverview;
}

/// Sessions of one user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct UserSessions {
    pub user_id: Uuid,
    pub running: u32,
    pub exited: u32,
}

/// What the terminal instances hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct TerminalOverview {
    /// Instances that answered.
    pub instances: u32,
    pub running: u32,
    pub exited: u32,
    /// WebSockets attached.
    pub attached: u32,
    /// Input bytes written to the sessions since their instance started.
    pub bytes_in: u64,
    /// Output bytes read from the sessions since their instance started.
    pub bytes_out: u64,
    /// Per user, by user id.
    pub users: Vec<UserSessions>,
}

macro_rules! routed {
    ($name:ident) => {
        impl Routed for $name {
            fn instance(&self) -> &str {
                self.session_id.instance()
            }

            fn missing(&self) -> String {
                format!("no terminal session {}", self.session_id)
            }
        }
    };
}

/// `terminal.v1.session.get.<instance>`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetSession {
    pub session_id: SessionId,
}

impl Request for GetSession {
    const SUBJECT: &'static str = "terminal.v1.session.get";
    type Reply = TerminalSession;
}
routed!(GetSession);

/// `terminal.v1.session.close.<instance>`: hangs the session up (SIGHUP, SIGKILL after the
/// grace period); it is gone once its child exited. Answers the session as it was.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseSession {
    pub session_id: SessionId,
}

impl Request for CloseSession {
    const SUBJECT: &'static str = "terminal.v1.session.close";
    type Reply = TerminalSession;
}
routed!(CloseSession);

/// `terminal.v1.session.write.<instance>`: input for the child, as UTF-8 text (`data`) or
/// base64 (`data_base64`), exactly one of them, at most [`MAX_INPUT`] bytes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteSession {
    pub session_id: SessionId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_base64: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Written {
    /// Bytes written to the terminal.
    pub bytes: u64,
}

impl Request for WriteSession {
    const SUBJECT: &'static str = "terminal.v1.session.write";
    type Reply = Written;
}
routed!(WriteSession);

/// `terminal.v1.session.resize.<instance>`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResizeSession {
    pub session_id: SessionId,
    /// 1 to 1000.
    pub cols: u16,
    /// 1 to 1000.
    pub rows: u16,
}

impl Request for ResizeSession {
    const SUBJECT: &'static str = "terminal.v1.session.resize";
    type Reply = TerminalSession;
}
routed!(ResizeSession);

/// `terminal.v1.session.history.<instance>`: output from `from_offset` (default: the oldest
/// the ring holds), at most `max_bytes` (default and cap [`HISTORY_PAGE`]).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetHistory {
    pub session_id: SessionId,
    #[serde(default)]
    pub from_offset: Option<u64>,
    #[serde(default)]
    pub max_bytes: Option<u32>,
}

/// A stretch of a session's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct History {
    /// The bytes, base64.
    pub data: String,
    /// Always `base64`.
    pub encoding: String,
    /// The offset of the first byte of `data`: later than asked when the ring no longer held
    /// what was asked (`truncated`).
    pub from_offset: u64,
    /// The offset after the last byte of `data`: ask from here for the rest.
    pub next_offset: u64,
    /// Output between the offset asked and `from_offset` was dropped from the ring.
    pub truncated: bool,
    /// The session's output so far: `next_offset` equals it when nothing more is held.
    pub output_offset: u64,
}

impl Request for GetHistory {
    const SUBJECT: &'static str = "terminal.v1.session.history";
    type Reply = History;
}
routed!(GetHistory);

/// `terminal.v1.session.commands.<instance>`: the input lines the session received, split at
/// Enter, oldest first (bounded: the newest are kept).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListCommands {
    pub session_id: SessionId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct CommandLine {
    pub at: DateTime<Utc>,
    pub line: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct CommandList {
    pub commands: Vec<CommandLine>,
}

impl Request for ListCommands {
    const SUBJECT: &'static str = "terminal.v1.session.commands";
    type Reply = CommandList;
}
routed!(ListCommands);

/// `terminal.v1.session.attach.<instance>`: a WebSocket follows the session. The gateway
/// renews it well within [`ATTACHMENT_TTL_SECONDS`]; one not renewed stops counting. Sent
/// again with each client ack: the session reads its PTY no faster than the slowest attached
/// client acks, so a client that keeps reading loses nothing (see [`PACE_LAG`]).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachSession {
    pub session_id: SessionId,
    pub attachment_id: Uuid,
    /// The offset the client has processed output up to (at attach: where it starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked: Option<u64>,
}

/// Output a session reads past its slowest attached client's ack at most, before it stops
/// reading its PTY until that client acks more (the program then waits on its output, as on
/// any terminal; Ctrl-C still reaches it). Half the default scrollback, so a client that keeps
/// acking never falls out of the ring.
pub const PACE_LAG: u64 = 512 * 1024;

/// How long a client that stopped acking may hold a session's output back; after that it is
/// left behind (it learns what it lost with `truncated` when it reads again).
pub const PACE_STALL_MILLISECONDS: u64 = 2000;

/// How long an attachment counts without renewal.
pub const ATTACHMENT_TTL_SECONDS: u64 = 60;

impl Request for AttachSession {
    const SUBJECT: &'static str = "terminal.v1.session.attach";
    type Reply = TerminalSession;
}
routed!(AttachSession);

/// `terminal.v1.session.detach.<instance>`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DetachSession {
    pub session_id: SessionId,
    pub attachment_id: Uuid,
}

impl Request for DetachSession {
    const SUBJECT: &'static str = "terminal.v1.session.detach";
    type Reply = TerminalSession;
}
routed!(DetachSession);

/// `evt.terminal.<session_id>.started`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct TerminalStarted {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub session_id: SessionId,
    pub owner_id: Uuid,
    pub command: String,
    pub cwd: String,
}

impl Event for TerminalStarted {
    const SUBJECT_PATTERN: &'static str = "evt.terminal.{session_id}.started";
    const STREAM: &'static str = "TERMINAL";

    fn subject(&self) -> String {
        format!("evt.terminal.{}.started", self.session_id)
    }

    fn event_id(&self) -> Uuid {
        self.event_id
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExitCause {
    /// The child exited on its own.
    Exited,
    /// Its owner closed it.
    Closed,
    /// Nobody attached and no output for the idle timeout.
    Idle,
    /// The instance stopped.
    Shutdown,
}

/// `evt.terminal.<session_id>.exited`: published after the session's last output message;
/// `output_offset` is the offset after its last byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct TerminalExited {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub session_id: SessionId,
    pub owner_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    pub cause: ExitCause,
    pub output_offset: u64,
}

impl Event for TerminalExited {
    const SUBJECT_PATTERN: &'static str = "evt.terminal.{session_id}.exited";
    const STREAM: &'static str = "TERMINAL";

    fn subject(&self) -> String {
        format!("evt.terminal.{}.exited", self.session_id)
    }

    fn event_id(&self) -> Uuid {
        self.event_id
    }
}

/// A live terminal instance, renewed every few seconds (TTL: `nats/kv/terminal_instances.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct TerminalInstance {
    pub instance: String,
    pub started_at: DateTime<Utc>,
    pub running: u32,
}

/// The KV bucket `terminal_instances`: key = instance id.
pub struct TerminalInstances;

impl Bucket for TerminalInstances {
    const NAME: &'static str = "terminal_instances";
    type Key = String;
    type Value = TerminalInstance;

    fn key(key: &String) -> String {
        key.clone()
    }

    fn parse_key(raw: &str) -> Option<String> {
        (raw.len() == 16 && raw.bytes().all(|b| b.is_ascii_hexdigit())).then(|| raw.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_id_names_its_instance() {
        let instance = new_instance_id();
        assert_eq!(instance.len(), 16);
        let id = SessionId::new(&instance);
        assert_eq!(id.instance(), instance);
        assert_eq!(SessionId::parse(id.as_str()).unwrap(), id);
        let write = WriteSession {
            session_id: id.clone(),
            data: Some("ls\r".into()),
            data_base64: None,
        };
        assert_eq!(
            write.routed_subject(),
            format!("terminal.v1.session.write.{instance}")
        );
        assert_eq!(output_subject(&id), format!("evt.terminal.{id}.output"));
        assert_eq!(
            SessionMessage::of(&format!("p.{}", output_subject(&id))),
            Some(SessionMessage::Output)
        );
        let exited = format!("evt.terminal.{id}.exited");
        assert_eq!(SessionMessage::of(&exited), Some(SessionMessage::Exited));
        assert_eq!(SessionMessage::of("evt.terminal.x.other"), None);
        assert_eq!(TerminalInstances::parse_key(&instance), Some(instance));
    }

    #[test]
    fn malformed_session_ids_are_refused() {
        for bad in [
            "",
            "0123456789abcdef",
            "0123456789abcdef-0123",
            "0123456789ABCDEF-0123456789abcdef0123456789abcdef",
            "0123456789abcdef.0123456789abcdef0123456789abcdef",
            "0123456789abcdef-0123456789abcdef0123456789abcde>",
        ] {
            assert!(SessionId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
