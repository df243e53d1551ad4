//! Scratch schemas for tests and benchmarks, in the database `HABEAS_TEST_POSTGRES` names
//! (default `postgres://postgres@127.0.0.1:5432/test`; `scripts/postgres` starts one).

use postgres::{Client, NoTls};

/// The variable naming the test database.
pub const TEST_DATABASE_VAR: &str = "HABEAS_TEST_POSTGRES";
const DEFAULT_TEST_DATABASE: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The address of the test database.
pub fn test_database_url() -> String {
    std::env::var(TEST_DATABASE_VAR).unwrap_or_else(|_| DEFAULT_TEST_DATABASE.to_owned())
}

/// A schema of its own in the test database, dropped with everything in it when this goes.
#[derive(Debug)]
pub struct ScratchSchema {
    base: String,
    name: String,
}

impl ScratchSchema {
    /// Makes a new, empty schema in the test database. The error says how to get one.
    pub fn new() -> Result<Self, String> {
        let base = test_database_url();
        Self::in_database(&base, "habeas_test").map_err(|e| {
            format!("{e}; start a test database with scripts/postgres and set {TEST_DATABASE_VAR}")
        })
    }

    /// Makes a new, empty schema named `<prefix>_<random>` in the database `base` names.
    pub fn in_database(base: &str, prefix: &str) -> Result<Self, String> {
        let base = base.to_owned();
        let mut client = Client::connect(&base, NoTls).map_err(|e| {
            format!(
                "cannot connect to PostgreSQL at {} ({e})",
                crate::redacted(&base)
            )
        })?;
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| format!("no randomness: {e}"))?;
        let name = format!(
            "{prefix}_{}",
            random
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .map_err(|e| format!("cannot create the schema {name}: {e}"))?;
        Ok(Self { base, name })
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// An address whose connections work in this schema.
    pub fn url(&self) -> String {
        self.url_with("")
    }

    /// An address whose connections work in this schema, with more server options
    /// (URL-encoded, e.g. `-cstatement_timeout%3D1000`).
    pub fn url_with(&self, options: &str) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        let more = if options.is_empty() {
            String::new()
        } else {
            format!("%20{options}")
        };
        format!(
            "{}{sep}options=-csearch_path%3D{}{more}",
            self.base, self.name
        )
    }

    /// A plain connection to the schema, for a test that changes rows behind the store's back.
    pub fn client(&self) -> Result<Client, String> {
        Client::connect(&self.url(), NoTls).map_err(|e| e.to_string())
    }
}

impl Drop for ScratchSchema {
    fn drop(&mut self) {
        if let Ok(mut client) = Client::connect(&self.base, NoTls) {
            // With the companion registers made beside it (the access log).
            let _ = client.batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {0} CASCADE; DROP SCHEMA IF EXISTS {0}_access CASCADE",
                self.name
            ));
        }
    }
}
