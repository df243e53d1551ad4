//! QUALITY.md's concurrency bar: 32 clients allocating people to cells at once never exceed a
//! cell's operational capacity and never break a separation rule without a recorded override.

use habeas_core::allocation::Allocation;
use habeas_core::custody::AdmissionInput;
use habeas_core::ids::Actor;
use habeas_register::store::AppendError;
use habeas_register::time::ManualClock;
use habeas_register::{Draft, Timestamp};
use serde_json::json;
use std::sync::Arc;

mod backends;
use backends::Backend;

#[test]
fn sqlite_thirty_two_clients_allocating_at_once_keep_every_constraint() {
    thirty_two_clients(Backend::Sqlite);
}

/// On PostgreSQL the checks run in the writer's replica, before PostgreSQL sees a request.
#[test]
fn postgres_thirty_two_clients_allocating_at_once_keep_every_constraint() {
    thirty_two_clients(Backend::Postgres);
}

#[expect(clippy::unwrap_used, clippy::panic, reason = "test code fails loudly")]
fn thirty_two_clients(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2025-01-01T08:00:00.000Z").unwrap(),
    ));
    let started = backends::start(backend, &path, "habeas.test/concurrency", 8, clock, 9);
    let (store, register) = (started.store.clone(), started.register.clone());
    let actor = Actor::parse("actor", "prueba").unwrap();
    backends::load_estate(
        &register,
        r#"
[facility]
code = "CECOT"
name = "Centro"
country = "SV"
[[unit]]
code = "M1"
name = "Módulo 1"
cell_count = 10
cell_template = { area_m2 = 20, bunks = 4, cna = 4, operational_capacity = 6 }
"#,
    );
    let now = Timestamp::parse("2025-06-01T00:00:00.000Z").unwrap();
    // 120 people of four Rule 11 classes for 60 places.
    let admissions: Vec<Draft> = (0..120)
        .map(|i| {
            let v = json!({
                "facility": "CECOT",
                "person": {"given_names": format!("P{i}"), "surnames": ["Q"], "birth_date": "1990-01-01",
                           "sex": if i % 2 == 0 { "male" } else { "female" }, "nationalities": ["SV"]},
                "admitted_at": "2025-01-01T08:00:00.000Z",
                "legal_status": if i % 4 < 2 { "remand" } else { "sentenced" },
                "orders": [{"kind": "pretrial_detention", "authority": "J", "reference": "R", "issued": "2024-12-30"}]
            });
            serde_json::from_value::<AdmissionInput>(v).unwrap().validate(now).unwrap().to_draft(&actor)
        })
        .collect();
    let bookings: Vec<u64> = register
        .append_all(admissions)
        .unwrap()
        .into_iter()
        .map(|r| r.index)
        .collect();
    let bookings = Arc::new(bookings);
    let handles: Vec<_> = (0..32u64)
        .map(|t| {
            let register = register.clone();
            let bookings = bookings.clone();
            let actor = actor.clone();
            std::thread::spawn(move || {
                let mut outcomes = (0, 0);
                for k in 0..40u64 {
                    let booking = bookings[((t * 7 + k * 13) % bookings.len() as u64) as usize];
                    let cell = format!("M1-C{:02}", (t + k * 3) % 10 + 1);
                    // One request in eight asks for an override.
                    let forced = (t + k) % 8 == 0;
                    let a = Allocation::new(
                        "CECOT",
                        booking,
                        &cell,
                        forced.then_some("prueba de concurrencia"),
                        forced.then_some("director"),
                    )
                    .unwrap();
                    match register.append(a.to_draft(&actor)) {
                        Ok(_) => outcomes.0 += 1,
                        Err(AppendError::Rejected(_)) => outcomes.1 += 1,
                        Err(e) => panic!("storage failed: {e}"),
                    }
                }
                outcomes
            })
        })
        .collect();
    let (mut placed, mut refused) = (0, 0);
    for h in handles {
        let (p, r) = h.join().unwrap();
        placed += p;
        refused += r;
    }
    register.shutdown();
    assert!(
        placed > 50 && refused > 50,
        "{placed} placed, {refused} refused: the test must exercise both"
    );
    assert_eq!(store.check_projections().unwrap(), Ok(()));
    let c = rusqlite::Connection::open(&path).unwrap();
    let over: i64 = c
        .query_row(
            "SELECT count(*) FROM cells WHERE (SELECT count(*) FROM custodies WHERE cell = cells.code AND ended IS NULL) > operational",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(over, 0, "a cell is over operational capacity");
    // Every cell holding more than one Rule 11 class got there through a recorded override.
    let mut st = c
        .prepare(
            "SELECT c.cell, count(DISTINCT p.sex || CASE WHEN c.legal_status = 'remand' THEN 'u' ELSE 'c' END)
             FROM custodies c JOIN persons p ON p.person = c.person WHERE c.cell IS NOT NULL AND c.ended IS NULL GROUP BY c.cell",
        )
        .unwrap();
    let mixed: Vec<String> = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .filter(|(_, classes)| *classes > 1)
        .map(|(cell, _)| cell)
        .collect();
    for cell in mixed {
        let overrides: i64 = c
            .query_row(
                "SELECT count(*) FROM allocation_overrides WHERE cell = ?1",
                [&cell],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            overrides > 0,
            "cell {cell} mixes Rule 11 classes without a recorded override"
        );
    }
    // PostgreSQL holds exactly what the replica took, and a replica made afresh from it
    // places everyone where the live one does.
    if let Some((primary, _schema)) = &started.primary {
        use habeas_register::store::Store as _;
        assert_eq!(primary.size().unwrap(), store.size().unwrap());
        let fresh = habeas_store_sqlite::SqliteStore::open(&backends::replayed(
            primary,
            &dir.path().join("fresh.db"),
        ))
        .unwrap();
        assert_eq!(
            format!("{:?}", fresh.cells(None).unwrap()),
            format!("{:?}", store.cells(None).unwrap())
        );
    }
}
