//! Projections equal a rebuild from the register, whatever sequence of notes and corrections
//! was written, and a rebuild after dropping them gives the same state.

use habeas_core::logbook::NewNote;
use habeas_register::store::AppendError;
use habeas_register::time::ManualClock;
use habeas_register::Timestamp;
use habeas_store_sqlite::{LogbookFilter, SqliteStore};
use proptest::prelude::*;
use std::sync::Arc;

mod backends;
use backends::Backend;

#[derive(Debug, Clone)]
enum Op {
    Note {
        facility: u8,
        place: Option<u8>,
        text: String,
    },
    Correct {
        target: usize,
        facility: u8,
        reason: String,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..3, proptest::option::of(0u8..4), "[a-zA-Z0-9 áéñ]{1,40}")
            .prop_map(|(facility, place, text)| Op::Note { facility, place, text }),
        1 => (0usize..50, 0u8..3, "[a-z ]{0,20}")
            .prop_map(|(target, facility, reason)| Op::Correct { target, facility, reason }),
    ]
}

const FACILITIES: [&str; 3] = ["CECOT", "LA-ESPERANZA", "IZALCO"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn sqlite_live_projections_equal_a_rebuild(ops in proptest::collection::vec(op(), 1..60)) {
        logbook_run(ops, Backend::Sqlite)?;
    }

    #[test]
    fn postgres_live_projections_equal_a_rebuild(ops in proptest::collection::vec(op(), 1..60)) {
        logbook_run(ops, Backend::Postgres)?;
    }
}

#[expect(clippy::unwrap_used, reason = "test code fails loudly")]
fn logbook_run(ops: Vec<Op>, backend: Backend) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let clock = Arc::new(ManualClock::new(Timestamp(1_700_000_000_000)));
    let started = backends::start(backend, &path, "habeas.test/projections", 5, clock, 3);
    let (store, register) = (started.store.clone(), started.register.clone());
    let mut written = 0usize;
    let mut refused = 0usize;
    for op in ops {
        let new = match op {
            Op::Note {
                facility,
                place,
                text,
            } => NewNote {
                facility: FACILITIES[facility as usize].into(),
                actor: "custodia.prop".into(),
                text,
                place: place.map(|p| format!("Pabellón {p}")),
                corrects: None,
            },
            Op::Correct {
                target,
                facility,
                reason,
            } => NewNote {
                facility: FACILITIES[facility as usize].into(),
                actor: "custodia.prop".into(),
                text: "corrección".into(),
                place: None,
                corrects: Some((target as u64, reason)),
            },
        };
        let Ok(note) = new.validate() else {
            refused += 1;
            continue;
        };
        match register.append(note.to_draft()) {
            Ok(_) => written += 1,
            // A correction of a missing note or of another facility's note is refused.
            Err(AppendError::Rejected(r)) => {
                prop_assert_eq!(r.field.as_deref(), Some("corrects"));
                refused += 1;
            }
            Err(e) => prop_assert!(false, "storage failed: {e}"),
        }
    }
    register.shutdown();
    let all = LogbookFilter {
        limit: 10_000,
        ..LogbookFilter::default()
    };
    let before = store.logbook(&all).unwrap();
    prop_assert_eq!(before.len(), written, "{} refused", refused);
    prop_assert_eq!(store.check_projections().unwrap(), Ok(()));
    prop_assert_eq!(store.rebuild_projections().unwrap(), written as u64);
    prop_assert_eq!(&store.logbook(&all).unwrap(), &before);
    for f in FACILITIES {
        let rows = store
            .logbook(&LogbookFilter {
                facility: Some(f.into()),
                limit: 10_000,
                ..LogbookFilter::default()
            })
            .unwrap();
        prop_assert!(rows.iter().all(|r| r.facility == f));
        for r in rows.iter().filter(|r| r.corrects.is_some()) {
            let target = before.iter().find(|t| Some(t.index) == r.corrects).unwrap();
            prop_assert_eq!(
                &target.facility,
                &r.facility,
                "a correction stays within its facility"
            );
        }
    }
    if let Some((primary, _schema)) = &started.primary {
        use habeas_register::store::Store as _;
        prop_assert_eq!(primary.size().unwrap(), store.size().unwrap());
        let fresh =
            SqliteStore::open(&backends::replayed(primary, &dir.path().join("fresh.db"))).unwrap();
        prop_assert_eq!(&fresh.logbook(&all).unwrap(), &before);
    }
    Ok(())
}
