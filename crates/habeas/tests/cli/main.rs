#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

//! End-to-end tests of the `habeas` binary: one test binary, one module per concern.

mod agreement;
mod browser;
mod commands;
mod compliance;
mod cosignatures;
mod crash;
mod custody;
mod demo;
mod export;
mod faults;
mod import_population;
mod integrity;
mod many_hands;
mod postgres;
mod serve;
mod statistics;
mod support;
mod tamper;
mod transparency;
mod users;
mod witness;
