//! sqlx queries, one file per table.

pub mod project;
