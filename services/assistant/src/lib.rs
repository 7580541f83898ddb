//! The assistant service: AI chat over the user's own portfolios. A reply is written by a
//! provider in a task of this service, published step by step on the `CHAT` stream
//! (`evt.chat.<conversation_id>.started|delta|tool_call|tool_result|completed|failed`), and
//! saved when it ends; a client that goes away never stops it, its owner can
//! (`assistant.v1.generation.stop.<instance>`).
//!
//! Owns Postgres schema `assistant`: folders, conversations and their messages (a tree with a
//! current leaf: editing or regenerating adds a sibling branch), and the tokens used per day.
//! Answers `assistant.v1.*`; consumes `evt.identity.user.<id>.deleted`.
//!
//! Modules:
//! - [`config`]: flags and environment.
//! - [`app`]: [`App`], the service as the kit starts it.
//! - [`handlers`]: the endpoints and the user-deletion consumer.
//! - [`generation`]: writing a reply: rounds of provider streams and tool calls, events, save.
//! - [`provider`]: Anthropic, OpenAI-compatible and the offline `bourse-local`, one event stream.
//! - [`providers`]: the configured providers and which serves a model.
//! - [`tools`]: the tools replies call, as the asking user.
//! - [`store`]: sqlx queries.

pub mod app;
pub mod config;
pub mod generation;
pub mod handlers;
pub mod provider;
pub mod providers;
pub mod store;
pub mod tools;

pub use app::App;
pub use config::Config;

/// The service's Postgres schema.
pub const SCHEMA: &str = "assistant";

/// The migrations of [`SCHEMA`].
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/assistant");
