//! What the store's tests that write through the register share: a store and its writer at a
//! fixed time, and the drafts of an estate file.

use habeas_core::ids::Actor;
use habeas_register::note::Signer;
use habeas_register::store::RegisterInfo;
use habeas_register::time::ManualClock;
use habeas_register::writer::{Register, SeededEntropy, WriterConfig, WriterParts};
use habeas_register::{Draft, Timestamp};
use habeas_store_sqlite::SqliteStore;
use std::sync::Arc;

/// A store in a directory of its own, its register's writer and the actor who writes.
pub struct World {
    _dir: tempfile::TempDir,
    pub store: Arc<SqliteStore>,
    pub register: Register,
    pub actor: Actor,
}

impl World {
    /// A new store whose register is named `origin` and whose clock stays at `now`, holding
    /// the facilities `estates` (code, cells, what more `[facility]` says; see [`estate`]).
    pub fn new(origin: &str, now: i64, estates: &[(&str, u32, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (store, register) = started(dir.path(), origin, now);
        let w = Self {
            _dir: dir,
            store,
            register,
            actor: Actor::parse("actor", "test").unwrap(),
        };
        for (code, cells, more) in estates {
            w.register
                .append_all(estate(code, *cells, more, &w.actor))
                .unwrap();
        }
        w
    }

    /// Appends `draft`; its index.
    pub fn append(&self, draft: Draft) -> u64 {
        self.register.append(draft).unwrap().index
    }
}

/// A new store in `dir` and its register's writer, named `origin`, whose clock stays at `now`.
fn started(dir: &std::path::Path, origin: &str, now: i64) -> (Arc<SqliteStore>, Register) {
    let signer = Signer::from_seed(origin, [3; 32]).unwrap();
    let store = Arc::new(
        SqliteStore::create(
            &dir.join("store.db"),
            &RegisterInfo {
                origin: origin.into(),
                verifier: signer.verifier(),
            },
        )
        .unwrap(),
    );
    let register = Register::start(WriterParts {
        sink: Box::new(store.sink().unwrap()),
        store: store.clone(),
        signer,
        clock: Arc::new(ManualClock::new(Timestamp(now))),
        entropy: Arc::new(SeededEntropy::new(1)),
        config: WriterConfig::default(),
    })
    .unwrap();
    (store, register)
}

/// The drafts of a facility `code` with one unit, M1, of `cells` cells of 40 m² for 10 from
/// one template (`M1-C01`, …); `more` is added under `[facility]` (`utc_offset = "-06:00"`).
fn estate(code: &str, cells: u32, more: &str, actor: &Actor) -> Vec<Draft> {
    let file: habeas_core::estate::EstateDocument = toml::from_str(&format!(
        "[facility]\ncode = \"{code}\"\nname = \"{code}\"\ncountry = \"SV\"\n{more}\n[[unit]]\ncode = \"M1\"\nname = \"M1\"\ncell_count = {cells}\ncell_template = {{ area_m2 = 40, bunks = 10, cna = 10, operational_capacity = 10 }}\n"
    ))
    .unwrap();
    let e = file.validate().unwrap();
    let mut drafts = vec![e.facility.to_draft(actor)];
    drafts.extend(e.units.iter().map(|u| u.to_draft(&e.facility.code, actor)));
    drafts.extend(e.cells.iter().map(|c| c.to_draft(&e.facility.code, actor)));
    drafts
}
