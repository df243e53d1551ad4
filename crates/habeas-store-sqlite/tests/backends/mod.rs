//! The two ways the projections are kept, for tests that run on both: a SQLite store on its
//! own, and a register on PostgreSQL written through a SQLite replica.

#![allow(dead_code)]

use habeas_register::merkle::leaf_hash;
use habeas_register::note::Signer;
use habeas_register::replicated::Replicated;
use habeas_register::store::{LogSink, RegisterInfo, Store as _};
use habeas_register::time::ManualClock;
use habeas_register::writer::{Register, SeededEntropy, WriterConfig, WriterParts};
use habeas_register::{Entry, SealedEntry};
use habeas_store_postgres::testing::ScratchSchema;
use habeas_store_postgres::PostgresStore;
use habeas_store_sqlite::SqliteStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The store whose projections a test reads, the writer's sink, and on PostgreSQL the
/// register itself.
pub struct Opened {
    pub store: Arc<SqliteStore>,
    pub sink: Box<dyn LogSink>,
    pub primary: Option<(PostgresStore, ScratchSchema)>,
}

#[expect(clippy::unwrap_used, reason = "test code fails loudly")]
pub fn open(backend: Backend, path: &Path, info: &RegisterInfo) -> Opened {
    let store = Arc::new(SqliteStore::create(path, info).unwrap());
    let local = Box::new(store.sink().unwrap());
    match backend {
        Backend::Sqlite => Opened {
            store,
            sink: local,
            primary: None,
        },
        Backend::Postgres => {
            let schema = ScratchSchema::new().unwrap();
            let primary = PostgresStore::create(&schema.url(), info).unwrap();
            let sink = Box::new(Replicated::new(Box::new(primary.sink().unwrap()), local));
            Opened {
                store,
                sink,
                primary: Some((primary, schema)),
            }
        }
    }
}

/// A new SQLite store at `path` holding every entry of the register on PostgreSQL, with the
/// projections built from them: what a replica made afresh would hold.
#[expect(clippy::unwrap_used, reason = "test code fails loudly")]
pub fn replayed(primary: &PostgresStore, path: &Path) -> PathBuf {
    let fresh = SqliteStore::create(path, &primary.info().unwrap()).unwrap();
    let mut sink = fresh.sink().unwrap();
    let mut entries = Vec::new();
    primary
        .scan(0, &mut |row| {
            entries.push(SealedEntry {
                entry: Entry::decode(row.bytes).unwrap(),
                bytes: row.bytes.to_vec(),
                leaf: leaf_hash(row.bytes),
            });
            Ok(true)
        })
        .unwrap();
    sink.import_batch(&entries).unwrap();
    path.to_owned()
}

/// A register's writer on `backend`, its projections in the SQLite file at `path`.
pub struct Started {
    pub store: Arc<SqliteStore>,
    pub register: Register,
    pub primary: Option<(PostgresStore, ScratchSchema)>,
}

/// Starts a writer on a new register named `origin` (its key from `key`), with `clock` and
/// entropy seeded by `seed`.
#[expect(clippy::unwrap_used, reason = "test code fails loudly")]
pub fn start(
    backend: Backend,
    path: &Path,
    origin: &str,
    key: u8,
    clock: Arc<ManualClock>,
    seed: u64,
) -> Started {
    let signer = Signer::from_seed(origin, [key; 32]).unwrap();
    let info = RegisterInfo {
        origin: origin.into(),
        verifier: signer.verifier(),
    };
    let opened = open(backend, path, &info);
    let register = Register::start(WriterParts {
        sink: opened.sink,
        store: opened.store.clone(),
        signer,
        clock,
        entropy: Arc::new(SeededEntropy::new(seed)),
        config: WriterConfig::default(),
    })
    .unwrap();
    Started {
        store: opened.store,
        register,
        primary: opened.primary,
    }
}

/// Records the facility, units and cells of an estate file.
#[expect(clippy::unwrap_used, reason = "test code fails loudly")]
pub fn load_estate(register: &Register, toml_text: &str) {
    let actor = habeas_core::ids::Actor::parse("actor", "prueba").unwrap();
    let estate = toml::from_str::<habeas_core::estate::EstateFile>(toml_text)
        .unwrap()
        .validate()
        .unwrap();
    let code = &estate.facility.code;
    let mut drafts = vec![estate.facility.to_draft(&actor)];
    drafts.extend(estate.units.iter().map(|u| u.to_draft(code, &actor)));
    drafts.extend(estate.cells.iter().map(|c| c.to_draft(code, &actor)));
    register.append_all(drafts).unwrap();
}
