#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod crash;
mod events;
mod helpers;
mod register;
mod sessions;
mod startup;
mod users;
