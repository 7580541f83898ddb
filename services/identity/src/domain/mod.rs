//! Pure rules of the identity service, no IO: what an acceptable email, name, password and role
//! set are, what of a client's details is kept, and how pages of users are counted.

pub mod account;
pub mod page;
