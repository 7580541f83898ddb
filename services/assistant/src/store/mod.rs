//! sqlx queries, one file per table; every function takes `&mut PgConnection` so the caller
//! owns the transaction, and every query is scoped to its owner.

pub mod conversation;
pub mod folder;
pub mod message;
pub mod usage;
