//! Pure rules of the service, no IO: an activity as recorded ([`activity`]), and Ghostfolio's
//! CSV and JSON formats ([`ghostfolio`]).

pub mod activity;
pub mod ghostfolio;
