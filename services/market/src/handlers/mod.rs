//! One file per resource; each function answers one request type.

pub mod history;
pub mod quote;
pub mod symbol;
