//! The Habeas server: accounts and sign-in, the access log, and (next) the JSON API.

pub mod access;
pub(crate) mod api;
pub mod auth;
pub mod control;
pub mod evaluations;
pub mod limits;
pub mod openapi;
pub mod server;
pub mod signin;
pub mod ui;
pub mod users;
