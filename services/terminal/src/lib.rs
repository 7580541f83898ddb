//! The terminal service: shells and other allowed programs on PTYs, kept on the server, so a
//! browser that closes loses nothing and any number of sockets attach to one session.
//!
//! A session's output is drained from its PTY whether or not anyone watches (the child never
//! waits for a client), kept in a ring buffer addressed by byte offsets
//! (`BOURSE_TERMINAL_SCROLLBACK`, default 1 MiB) and published as it comes on
//! `evt.terminal.<session_id>.output` (raw bytes, the offset of the first in the header
//! `Bourse-Terminal-Offset`; at most 32 KiB a message, never held back to fill one). Output is
//! not stored in JetStream: the ring is the replay (`terminal.v1.session.history`), which is
//! how the gateway attaches a socket with no gap and no duplicate. `started` and `exited`
//! go to the `TERMINAL` stream.
//!
//! Session ids embed the instance (`contracts::terminal::SessionId`), and every request about
//! one session goes to `terminal.v1.session.<action>.<instance>`: several instances share one
//! NATS, create goes to any of them, and a request for an instance that is gone is `not_found`
//! at once. Listing a user's sessions and the overview ask every instance in the KV bucket
//! `terminal_instances`.
//!
//! Security: only the owner sees or drives a session (another user's is `not_found`); the
//! child's environment is built from allow-lists, never inherited; it starts in the owner's
//! workspace directory `<root>/<user id>` or a directory inside it, resolved by the filesystem.
//!
//! Modules:
//! - [`config`]: flags and environment.
//! - [`app`]: [`App`], the service as the kit starts it.
//! - [`handlers`]: the endpoints.
//! - [`sessions`]: the sessions of this instance, limits, reaping, gathering from instances.
//! - [`session`]: one session and its output pump.
//! - [`pty`]: the PTY and its child.
//! - [`ring`]: the scrollback, by offset.
//! - [`input`]: input keystrokes folded into command lines.
//! - [`workspace`]: where a session may start.
//! - [`stats`]: byte counters.

pub mod app;
pub mod config;
pub mod handlers;
pub mod input;
pub mod pty;
pub mod ring;
pub mod session;
pub mod sessions;
pub mod stats;
pub mod workspace;

pub use app::App;
pub use config::Config;
