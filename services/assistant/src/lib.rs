//! The assistant service: AI chat over the user's own portfolio, streamed through NATS.
//!
//! So far: [`provider`], the language-model providers behind one trait (Anthropic's Messages
//! API and OpenAI-compatible chat completions), each normalised to one stream of events.

pub mod provider;
