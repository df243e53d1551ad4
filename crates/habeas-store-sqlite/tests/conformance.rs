#![expect(clippy::unwrap_used, reason = "test code fails loudly")]

//! The register's store conformance suite, run against SQLite.

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
