//! The workspace service: a user's projects on disk, their files, and git.
//!
//! A project is a directory, `<workspace root>/<user id>/<name>` (the same per-user directory
//! the terminal's sessions start in, so a file written in a terminal is seen here and the other
//! way round), and a git repository. Every path is resolved inside the project through a
//! directory handle (cap-std): nothing the API is given can reach outside it, symlinks
//! included, and the API never writes inside `.git`.
//!
//! Owns Postgres schema `workspace` (who owns which project). Answers `workspace.v1.*`;
//! publishes `evt.workspace.<project_id>.file_created|file_updated|file_deleted|committed|
//! pushed|pulled` on `WORKSPACE` (file events come from watching the projects, so changes made
//! by anything else are events too); consumes `evt.identity.user.<id>.deleted`.
//!
//! Modules:
//! - [`config`]: flags and environment.
//! - [`app`]: [`App`], the service as the kit starts it.
//! - [`handlers`]: the endpoints and the user-deletion consumer.
//! - [`sandbox`]: a project's files through its directory handle: list, read, atomic writes.
//! - [`listing`]: a directory's listing kept for its later pages.
//! - [`quota`]: a user's disk use against their quota.
//! - [`git`]: status, diff, log, branches, commit, and the remote (clone, push, pull).
//! - [`watch`]: the projects watched, file events published.
//! - [`templates`]: what a new project starts with.
//! - [`store`]: sqlx queries.

pub mod app;
pub mod config;
pub mod git;
pub mod handlers;
pub mod listing;
pub mod quota;
pub mod sandbox;
pub mod store;
pub mod templates;
pub mod watch;

pub use app::App;
pub use config::Config;

/// The service's Postgres schema.
pub const SCHEMA: &str = "workspace";

/// The migrations of [`SCHEMA`].
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/workspace");
