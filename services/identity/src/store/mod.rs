//! Postgres queries of the identity schema, one file per table. Every function takes
//! `&mut PgConnection`, so the caller decides what runs in one transaction.

pub mod refresh_token;
pub mod user;
