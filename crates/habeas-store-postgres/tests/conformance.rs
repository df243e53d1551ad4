#![expect(clippy::unwrap_used, reason = "test code fails loudly")]

//! The register's store conformance suite, run against PostgreSQL (each backend in a scratch
//! schema of the database `HABEAS_TEST_POSTGRES` names).

use habeas_register::conformance::Backend;
use habeas_register::store::{LogSink, RegisterInfo, Store, StoreError};
use habeas_store_postgres::testing::ScratchSchema;
use habeas_store_postgres::PostgresStore;
use std::sync::Arc;

struct Postgres {
    schema: ScratchSchema,
}

impl Backend for Postgres {
    fn open(&self, info: &RegisterInfo) -> Result<(Box<dyn LogSink>, Arc<dyn Store>), StoreError> {
        let store = PostgresStore::open_or_create(&self.schema.url(), info)?;
        let sink = store.sink()?;
        Ok((Box::new(sink), Arc::new(store)))
    }
}

fn postgres() -> Box<dyn Backend> {
    Box::new(Postgres {
        schema: ScratchSchema::new().unwrap(),
    })
}

mod postgres {
    habeas_register::conformance_tests!(super::postgres);
}
