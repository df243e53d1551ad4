//! The Habeas domain: value types ("parse, don't validate"), commands that become validated
//! register entries, and the meaning of each entry kind for the projections.
//!
//! Nothing here reads a clock, touches SQL or knows about HTTP.

pub mod accounts;
pub mod allocation;
pub mod answer;
pub mod compliance;
pub mod custody;
pub mod dates;
pub mod environment;
pub mod error;
pub mod estate;
pub mod events;
pub mod examples;
pub mod ids;
pub mod kinds;
pub mod logbook;
pub mod record;
pub mod statistics;

pub use error::DomainError;
