//! The WebSocket frames, as Rust types (the wire format is documented in [`super`]).
//! Both directions derive both serde traits, so a Rust client can reuse them.

use bus::ErrorCode;
use contracts::terminal::{SessionId, TerminalSession};
use serde::{Deserialize, Serialize};

/// The first byte of a binary frame: terminal output (server → client) or input (client →
/// server); the rest of the frame is the bytes themselves.
pub const OPCODE_DATA: u8 = 0;

/// What a subscription is about: a stream, a subject filter and an access rule (see the
/// gateway's `ws::topic`). A `seq` is a position in the topic's one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Live prices by ticker (public).
    Prices,
    /// A portfolio's activities, trades and changes, by portfolio id (its owner only).
    Portfolio,
    /// A portfolio's valuations, by portfolio id (its owner only).
    Valuation,
    /// A conversation's replies as they are written, by conversation id (its owner only).
    Chat,
    /// A project's file changes, commits, pushes and pulls, by project id (its owner only).
    Workspace,
}

impl Topic {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prices => "prices",
            Self::Portfolio => "portfolio",
            Self::Valuation => "valuation",
            Self::Chat => "chat",
            Self::Workspace => "workspace",
        }
    }
}

/// A frame from the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Adds keys (tickers for `prices`, which also reads them as `symbols`); with
    /// `resume_from`, replays from the stream sequence after it.
    Subscribe {
        topic: Topic,
        #[serde(default, alias = "symbols")]
        keys: Option<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume_from: Option<u64>,
    },
    /// Removes keys; none or an empty list removes all.
    Unsubscribe {
        topic: Topic,
        #[serde(default, alias = "symbols")]
        keys: Option<Vec<String>>,
    },
    Ping,
    /// Signs the socket in (or renews its sign-in before the token expires) with an access
    /// token. Never put a token in the URL: URLs end up in logs.
    Auth {
        token: String,
    },
    /// Follows a terminal session (one per socket; attaching again switches): its output from
    /// `offset` (default: the oldest the session holds), then live, as binary frames. Input
    /// goes back as binary frames too.
    Attach {
        session_id: SessionId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<u64>,
    },
    /// Stops following the attached session (the session goes on).
    Detach,
    /// Resizes the attached session's terminal.
    Resize {
        cols: u16,
        rows: u16,
    },
    /// The client has processed the attached session's output up to `offset`: the server
    /// sends at most the flow-control window past the last ack.
    Ack {
        offset: u64,
    },
}

/// A frame from the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The subscription now covers `keys` (all of them, sorted); events after `last_seq` are
    /// live (those up to it come only with a `resume_from`).
    Subscribed {
        topic: Topic,
        keys: Vec<String>,
        last_seq: u64,
    },
    /// What is left subscribed after an unsubscribe (all of it, sorted).
    Unsubscribed {
        topic: Topic,
        keys: Vec<String>,
    },
    /// One stored event; `seq` is its JetStream stream sequence, strictly increasing per socket.
    Event {
        topic: Topic,
        seq: u64,
        subject: String,
        data: serde_json::Value,
    },
    /// The client fell behind and its feed was stopped; every event up to `resume_from` was
    /// sent. Subscribe with this `resume_from` to continue without a gap.
    Lagged {
        topic: Topic,
        resume_from: u64,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
    Pong,
    /// The socket follows `session`; output from `from_offset` follows as binary frames.
    Attached {
        session: Box<TerminalSession>,
        from_offset: u64,
    },
    /// The socket no longer follows the session.
    Detached {
        session_id: SessionId,
    },
    /// Output between `from_offset` and `to_offset` is gone from the session's scrollback;
    /// what follows starts at `to_offset`.
    Truncated {
        session_id: SessionId,
        from_offset: u64,
        to_offset: u64,
    },
    /// The session's child exited, after all its output (which ends at `output_offset`) was
    /// sent; the socket is detached.
    Exited {
        session_id: SessionId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        output_offset: u64,
    },
    /// The attached session's new size.
    Resized {
        session: Box<TerminalSession>,
    },
    /// The socket is signed in as `user_id` until `expires_at`; send a new `auth` frame with a
    /// fresh token before then to stay signed in.
    Authenticated {
        user_id: uuid::Uuid,
        roles: Vec<String>,
        expires_at: chrono::DateTime<chrono::Utc>,
    },
}

impl ServerFrame {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Error {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn client_frames_read_as_documented() {
        let frame: ClientFrame = serde_json::from_value(
            json!({"type":"subscribe","topic":"prices","symbols":["AAPL"],"resume_from":41}),
        )
        .unwrap();
        assert_eq!(
            frame,
            ClientFrame::Subscribe {
                topic: Topic::Prices,
                keys: Some(vec!["AAPL".into()]),
                resume_from: Some(41)
            }
        );
        let frame: ClientFrame =
            serde_json::from_value(json!({"type":"unsubscribe","topic":"prices"})).unwrap();
        assert_eq!(
            frame,
            ClientFrame::Unsubscribe {
                topic: Topic::Prices,
                keys: None
            }
        );
        assert_eq!(
            serde_json::from_value::<ClientFrame>(json!({"type":"ping"})).unwrap(),
            ClientFrame::Ping
        );
    }

    #[test]
    fn auth_frames_read_and_write_as_documented() {
        assert_eq!(
            serde_json::from_value::<ClientFrame>(json!({"type":"auth","token":"t"})).unwrap(),
            ClientFrame::Auth { token: "t".into() }
        );
        let frame = ServerFrame::Authenticated {
            user_id: uuid::Uuid::nil(),
            roles: vec!["user".into()],
            expires_at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
        };
        assert_eq!(
            serde_json::to_value(frame).unwrap(),
            json!({"type":"authenticated","user_id":"00000000-0000-0000-0000-000000000000",
                   "roles":["user"],"expires_at":"1970-01-01T00:00:00Z"})
        );
    }

    #[test]
    fn unknown_types_and_topics_are_refused() {
        assert!(serde_json::from_value::<ClientFrame>(json!({"type":"dance"})).is_err());
        assert!(
            serde_json::from_value::<ClientFrame>(json!({"type":"subscribe","topic":"gossip"}))
                .is_err()
        );
    }

    #[test]
    fn server_frames_write_as_documented() {
        let lagged = ServerFrame::Lagged {
            topic: Topic::Prices,
            resume_from: 7,
        };
        assert_eq!(
            serde_json::to_value(lagged).unwrap(),
            json!({"type":"lagged","topic":"prices","resume_from":7})
        );
        let error = ServerFrame::error(ErrorCode::ValidationFailed, "bad symbol");
        assert_eq!(
            serde_json::to_value(error).unwrap(),
            json!({"type":"error","code":"validation_failed","message":"bad symbol"})
        );
        assert_eq!(
            serde_json::to_value(ServerFrame::Pong).unwrap(),
            json!({"type":"pong"})
        );
    }
}
