//! The Habeas server: accounts and sign-in, the access log, and (next) the JSON API.

pub mod access;
pub mod auth;
pub mod server;
pub mod signin;
