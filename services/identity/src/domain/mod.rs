//! Pure rules of the identity service, no IO: what an acceptable email, name, password and role
//! set are, and what of a client's details is kept. (Pages of users are counted by the shared
//! `contracts::Page` and `contracts::Limit`.)

pub mod account;
