//! One file per resource; each public function answers one request type.
//!
//! - [`register`]: creating accounts, `identity.v1.user.register` (and [`crate::create_user`]).
//! - [`session`]: sessions, `identity.v1.session.login|refresh|logout`.
//! - [`user`]: one account, `identity.v1.user.get|update|delete`, for the user themself or an admin.
//! - [`admin`]: admins only, `identity.v1.user.list|set_roles`.
//! - [`access`]: who is asking, and may they.

pub mod access;
pub mod admin;
pub mod register;
pub mod session;
pub mod user;
