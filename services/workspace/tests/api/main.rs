#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod events;
mod files;
mod git;
mod helpers;
mod projects;
mod traversal;
