//! What the web crate's integration tests share: a store with its running writer, the test
//! actor, and a small estate.

use habeas_register::note::Signer;
use habeas_register::store::RegisterInfo;
use habeas_register::time::ManualClock;
use habeas_register::writer::{Register, SeededEntropy, WriterConfig, WriterParts};
use habeas_register::Draft;
use habeas_store_sqlite::SqliteStore;
use std::sync::Arc;

/// A new store at `path` for `origin`, and its writer on `clock`.
pub fn start(
    path: &std::path::Path,
    origin: &str,
    clock: Arc<ManualClock>,
) -> (Arc<SqliteStore>, Register) {
    let signer = Signer::from_seed(origin, [4; 32]).unwrap();
    let store = Arc::new(
        SqliteStore::create(
            path,
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
        clock,
        entropy: Arc::new(SeededEntropy::new(9)),
        config: WriterConfig::default(),
    })
    .unwrap();
    (store, register)
}

/// Who the tests' own entries are by.
pub fn actor() -> habeas_core::ids::Actor {
    habeas_core::ids::Actor::parse("actor", "test").unwrap()
}

/// A facility's estate (one unit `M1` of two cells of 40 m², 10 bunks each), at local time
/// `offset` (`-06:00`) when given.
pub fn estate(code: &str, offset: Option<&str>) -> Vec<Draft> {
    let offset = offset.map_or(String::new(), |o| format!("utc_offset = \"{o}\"\n"));
    let doc: habeas_core::estate::EstateDocument = toml::from_str(&format!(
        "[facility]\ncode = \"{code}\"\nname = \"{code}\"\ncountry = \"SV\"\n{offset}[[unit]]\ncode = \"M1\"\nname = \"M1\"\ncell_count = 2\ncell_template = {{ area_m2 = 40, bunks = 10, cna = 10, operational_capacity = 10 }}\n"
    ))
    .unwrap();
    let e = doc.validate().unwrap();
    let mut out = vec![e.facility.to_draft(&actor())];
    out.extend(
        e.units
            .iter()
            .map(|u| u.to_draft(&e.facility.code, &actor())),
    );
    out.extend(
        e.cells
            .iter()
            .map(|c| c.to_draft(&e.facility.code, &actor())),
    );
    out
}
