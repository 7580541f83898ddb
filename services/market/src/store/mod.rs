//! Postgres queries of the market schema, one file per aggregate. Every function takes
//! `&mut PgConnection`, so the caller decides what runs in one transaction.

pub mod daily_close;
pub mod symbol;
