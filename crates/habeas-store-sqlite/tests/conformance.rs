#![expect(clippy::unwrap_used, reason = "test code fails loudly")]

//! The register's store conformance suite, run against SQLite, and against PostgreSQL written
//! through a SQLite replica.

use habeas_register::conformance::Backend;
use habeas_register::store::{LogSink, RegisterInfo, Store, StoreError};
use habeas_store_sqlite::SqliteStore;
use std::sync::Arc;

struct Sqlite {
    dir: tempfile::TempDir,
}

impl Backend for Sqlite {
    fn open(&self, info: &RegisterInfo) -> Result<(Box<dyn LogSink>, Arc<dyn Store>), StoreError> {
        let store = SqliteStore::open_or_create(&self.dir.path().join("register.db"), info)?;
        let sink = store.sink()?;
        Ok((Box::new(sink), Arc::new(store)))
    }
}

fn sqlite() -> Box<dyn Backend> {
    Box::new(Sqlite {
        dir: tempfile::tempdir().unwrap(),
    })
}

mod sqlite {
    habeas_register::conformance_tests!(super::sqlite);
}

/// A register on PostgreSQL written through a SQLite replica, as `habeas serve` writes one:
/// the suite reads PostgreSQL, so it checks that what the replica refuses never gets there.
struct ThroughReplica {
    dir: tempfile::TempDir,
    schema: habeas_store_postgres::testing::ScratchSchema,
}

impl Backend for ThroughReplica {
    fn open(&self, info: &RegisterInfo) -> Result<(Box<dyn LogSink>, Arc<dyn Store>), StoreError> {
        let primary =
            habeas_store_postgres::PostgresStore::open_or_create(&self.schema.url(), info)?;
        let local = SqliteStore::open_or_create(&self.dir.path().join("replica.db"), info)?;
        let sink = habeas_register::replicated::Replicated::new(
            Box::new(primary.sink()?),
            Box::new(local.sink()?),
        );
        Ok((Box::new(sink), Arc::new(primary)))
    }
}

fn through_replica() -> Box<dyn Backend> {
    Box::new(ThroughReplica {
        dir: tempfile::tempdir().unwrap(),
        schema: habeas_store_postgres::testing::ScratchSchema::new().unwrap(),
    })
}

mod postgres_through_a_replica {
    habeas_register::conformance_tests!(super::through_replica);
}
