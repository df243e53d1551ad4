//! The Habeas server: the JSON API with its OpenAPI document, the pages, sign-in with a second
//! factor, roles and facility scope, the access log, and the control channel.
//!
//! The modules form layers, and a test (`tests/modules.rs`) keeps them free of cycles: the
//! leaves (`error`, `auth`, `access`, `schema`, `users`, `limits`, `evaluations`,
//! `transparency`), the shared state (`state`), the handlers that depend on it (`session`,
//! `file`, `service`, `public`, `api`, `agreements`, `ui` and its pages, `control`), then the
//! OpenAPI document (`openapi`) and the route table (`routes`), which depend on the handlers
//! and on which no handler depends.

pub mod access;
pub(crate) mod agreements;
pub(crate) mod api;
pub mod auth;
pub mod control;
pub mod error;
pub mod evaluations;
pub mod file;
pub mod limits;
pub mod openapi;
pub(crate) mod public;
pub mod routes;
pub mod schema;
pub mod service;
pub mod session;
pub mod signin;
pub mod state;
pub mod transparency;
pub mod ui;
pub mod users;
pub mod whereabouts;
