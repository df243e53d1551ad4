//! For random sequences of custody commands (valid or not), the live projections equal a
//! rebuild from the register, table by table and row by row, and no custody holds an event
//! dated before it began.

use habeas_core::allocation::Allocation;
use habeas_core::custody::{AdmissionInput, NonAssociation, Release};
use habeas_core::events::{CellCount, Death, Movement, RollCount};
use habeas_core::ids::Actor;
use habeas_register::time::ManualClock;
use habeas_register::{Draft, Timestamp};
use habeas_store_sqlite::PROJECTION_TABLES;
use proptest::prelude::*;
use serde_json::json;
use std::sync::Arc;

mod backends;
use backends::Backend;

const ESTATE: &str = r#"
[facility]
code = "CECOT"
name = "Centro"
country = "SV"
[[unit]]
code = "M1"
name = "Módulo 1"
cell_count = 2
cell_template = { area_m2 = 100, bunks = 8, cna = 2, operational_capacity = 3 }
[[unit]]
code = "M2"
name = "Módulo 2"
cell_count = 2
cell_template = { area_m2 = 50, bunks = 4, cna = 1, operational_capacity = 2 }
"#;

const CELLS: [&str; 4] = ["M1-C01", "M1-C02", "M2-C01", "M2-C02"];

#[derive(Debug, Clone)]
enum Op {
    Admit {
        female: bool,
        sentenced: bool,
        /// Which of three times of the day the admission is dated.
        hour: usize,
    },
    Allocate {
        who: usize,
        cell: usize,
        force: bool,
    },
    Move {
        who: usize,
        kind: usize,
        whole_cell: bool,
    },
    Count {
        cell: usize,
        n: u32,
    },
    Apart {
        a: usize,
        b: usize,
        scope: usize,
    },
    Release {
        who: usize,
    },
    Die {
        who: usize,
    },
    Hearing {
        first: usize,
        n: usize,
        counsel: bool,
    },
    Complain {
        who: usize,
    },
    Reply {
        which: usize,
    },
    File {
        who: usize,
        what: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<bool>(), any::<bool>(), 0usize..3).prop_map(|(female, sentenced, hour)| Op::Admit { female, sentenced, hour }),
        4 => (0usize..12, 0usize..4, any::<bool>()).prop_map(|(who, cell, force)| Op::Allocate { who, cell, force }),
        3 => (0usize..12, 0usize..4, any::<bool>()).prop_map(|(who, kind, whole_cell)| Op::Move { who, kind, whole_cell }),
        1 => (0usize..4, 0u32..4).prop_map(|(cell, n)| Op::Count { cell, n }),
        1 => (0usize..12, 0usize..12, 0usize..3).prop_map(|(a, b, scope)| Op::Apart { a, b, scope }),
        1 => (0usize..12).prop_map(|who| Op::Release { who }),
        1 => (0usize..12).prop_map(|who| Op::Die { who }),
        1 => (0usize..12, 1usize..5, any::<bool>()).prop_map(|(first, n, counsel)| Op::Hearing { first, n, counsel }),
        1 => (0usize..12).prop_map(|who| Op::Complain { who }),
        1 => (0usize..6).prop_map(|which| Op::Reply { which }),
        2 => (0usize..12, 0usize..8).prop_map(|(who, what)| Op::File { who, what }),
    ]
}

#[expect(clippy::unwrap_used, reason = "test code fails loudly")]
fn dump(path: &std::path::Path) -> Vec<(String, Vec<String>)> {
    let c = rusqlite::Connection::open(path).unwrap();
    PROJECTION_TABLES
        .iter()
        .map(|t| {
            let mut st = c.prepare(&format!("SELECT * FROM {t}")).unwrap();
            let n = st.column_count();
            let mut rows: Vec<String> = st
                .query_map([], |r| {
                    let mut s = String::new();
                    for i in 0..n {
                        s.push_str(&format!("{:?}|", r.get_ref(i)?));
                    }
                    Ok(s)
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            rows.sort();
            ((*t).to_string(), rows)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10))]

    #[test]
    fn sqlite_rebuild_equals_live_custody_projections(ops in proptest::collection::vec(op(), 1..70)) {
        custody_run(ops, Backend::Sqlite)?;
    }

    /// On PostgreSQL the projections live in the writer's replica; a replica made afresh from
    /// the entries in PostgreSQL must equal it, and PostgreSQL must hold exactly the entries
    /// the replica took (nothing it refused).
    #[test]
    fn postgres_rebuild_equals_live_custody_projections(ops in proptest::collection::vec(op(), 1..70)) {
        custody_run(ops, Backend::Postgres)?;
    }
}

#[expect(clippy::unwrap_used, reason = "test code fails loudly")]
fn custody_run(ops: Vec<Op>, backend: Backend) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2025-01-01T08:00:00.000Z").unwrap(),
    ));
    let started = backends::start(backend, &path, "habeas.test/custody", 6, clock.clone(), 4);
    let (store, register) = (started.store.clone(), started.register.clone());
    let actor = Actor::parse("actor", "prueba").unwrap();
    backends::load_estate(&register, ESTATE);
    let mut bookings: Vec<u64> = Vec::new();
    let now = Timestamp::parse("2025-06-01T00:00:00.000Z").unwrap();
    // Events are dated at three times of the day, admissions at three others: some events
    // fall before the custody they name began, and must be refused.
    const EVENT_TIMES: [&str; 3] = [
        "2025-01-01T07:30:00.000Z",
        "2025-01-01T09:00:00.000Z",
        "2025-01-01T11:00:00.000Z",
    ];
    const ADMISSION_TIMES: [&str; 3] = [
        "2025-01-01T07:00:00.000Z",
        "2025-01-01T08:00:00.000Z",
        "2025-01-01T10:00:00.000Z",
    ];
    let mut step = 0usize;
    let pick = |v: &Vec<u64>, i: usize| v.get(i % v.len().max(1)).copied().unwrap_or(999);
    let (mut accepted, mut refused) = (0, 0);
    let mut complaints: Vec<u64> = Vec::new();
    let record = |v: serde_json::Value| -> Option<Draft> {
        serde_json::from_value::<habeas_core::record::RecordInput>(v)
            .ok()?
            .validate(now, &actor)
            .ok()
    };
    for op in ops {
        clock.advance_millis(60_000);
        step += 1;
        let at = EVENT_TIMES[step % 3];
        let draft: Option<Draft> = match op {
            Op::Admit {
                female,
                sentenced,
                hour,
            } => {
                let v = json!({
                    "facility": "CECOT",
                    "person": {"given_names": "P", "surnames": ["Q"], "birth_date": "1990-01-01",
                               "sex": if female { "female" } else { "male" }, "nationalities": ["SV"]},
                    "admitted_at": ADMISSION_TIMES[hour],
                    "legal_status": if sentenced { "sentenced" } else { "remand" },
                    "orders": [{"kind": "pretrial_detention", "authority": "J", "reference": "R", "issued": "2024-12-30"}]
                });
                Some(
                    serde_json::from_value::<AdmissionInput>(v)
                        .unwrap()
                        .validate(now)
                        .unwrap()
                        .to_draft(&actor),
                )
            }
            Op::Allocate { who, cell, force } => {
                let (r, a) = if force {
                    (Some("prueba"), Some("director"))
                } else {
                    (None, None)
                };
                Allocation::new("CECOT", pick(&bookings, who), CELLS[cell], r, a)
                    .ok()
                    .map(|x| x.to_draft(&actor))
            }
            Op::Move {
                who,
                kind,
                whole_cell,
            } => {
                let kinds = ["out_of_cell", "back_to_cell", "out", "return"];
                let dest = (kind == 2).then_some("court");
                let b = [pick(&bookings, who)];
                let (list, cell): (&[u64], Option<&str>) = if whole_cell {
                    (&[], Some(CELLS[who % 4]))
                } else {
                    (&b, None)
                };
                Movement::new("CECOT", kinds[kind], list, cell, kind == 0, dest, at, now)
                    .ok()
                    .map(|m| m.to_draft(&actor))
            }
            Op::Count { cell, n } => {
                let present = (n % 2 == 0).then(|| {
                    bookings
                        .iter()
                        .take(n as usize)
                        .copied()
                        .collect::<Vec<_>>()
                });
                let counted = present.as_ref().map_or(n, |p| p.len() as u32);
                let c = CellCount {
                    cell: CELLS[cell].to_string(),
                    counted,
                    present,
                };
                RollCount::new("CECOT", at, &[c], now)
                    .ok()
                    .map(|c| c.to_draft(&actor))
            }
            Op::Apart { a, b, scope } => NonAssociation::new(
                "CECOT",
                pick(&bookings, a),
                pick(&bookings, b),
                ["cell", "unit", "facility"][scope],
                "riesgo",
                "director",
            )
            .ok()
            .map(|n| n.to_draft(&actor)),
            Op::Release { who } => Release::new(
                "CECOT",
                pick(&bookings, who),
                Some("bail"),
                "Juez",
                "R-1",
                at,
                now,
                &actor,
            )
            .ok()
            .map(|r| r.to_draft(&actor)),
            Op::Hearing { first, n, counsel } => {
                let mut list: Vec<u64> = (0..n).map(|k| pick(&bookings, first + k)).collect();
                list.sort_unstable();
                list.dedup();
                let mut v = json!({"record": "hearing", "facility": "CECOT", "bookings": list, "court": "T", "at": at, "mode": "video", "people_heard": 300});
                if counsel {
                    v["counsel"] = json!("Lcda. Ruiz");
                }
                record(v)
            }
            Op::Complain { who } => record(
                json!({"record": "complaint", "facility": "CECOT", "booking": pick(&bookings, who), "at": at,
                    "subject": "s", "text": "t", "alleges_ill_treatment": who % 2 == 0, "reply_due": "2025-01-15"}),
            ),
            Op::Reply { which } => record(
                json!({"record": "complaint_reply", "facility": "CECOT", "complaint": pick(&complaints, which),
                    "at": "2025-01-02T09:00:00.000Z", "reply": "respuesta"}),
            ),
            Op::File { who, what } => {
                let b = pick(&bookings, who);
                if what == 7 {
                    habeas_core::environment::Reading::new(
                        "CECOT",
                        CELLS[who % 4],
                        at,
                        habeas_core::environment::Measured {
                            temperature_c: Some("31.5"),
                            humidity_pct: Some("80"),
                            lighting: Some("on"),
                            ventilation: None,
                        },
                        now,
                    )
                    .ok()
                    .map(|r| r.to_draft(&actor))
                } else {
                    record(match what {
                        0 => {
                            json!({"record": "contact", "facility": "CECOT", "booking": b, "kind": "visit", "party": "family", "at": at, "with": "madre", "minutes": 60})
                        }
                        1 => {
                            json!({"record": "contact_request", "facility": "CECOT", "booking": b, "kind": "call", "party": "legal", "at": at, "granted": true})
                        }
                        2 => {
                            json!({"record": "incident", "facility": "CECOT", "at": at, "place": "M1", "description": "riña", "bookings": [b], "force_used": who % 2 == 0, "authorised_by": "jefe"})
                        }
                        3 => {
                            json!({"record": "sanction", "facility": "CECOT", "booking": b, "at": at, "offence": "riña", "sanction": if who % 3 == 0 { "dark_cell" } else { "warning" }, "authority": "consejo"})
                        }
                        4 => {
                            json!({"record": "health", "facility": "CECOT", "booking": b, "at": at, "kind": "visit", "notes": "control"})
                        }
                        5 => {
                            json!({"record": "programme", "facility": "CECOT", "booking": b, "at": at, "programme": "taller", "kind": "work", "minutes": 120})
                        }
                        6 if who % 2 == 0 => {
                            json!({"record": "notification_declined", "facility": "CECOT", "booking": b, "at": at, "statement": "no quiere que se avise a nadie", "witnessed_by": "trabajo social"})
                        }
                        _ => {
                            json!({"record": "review", "facility": "CECOT", "booking": b, "at": at, "authority": "juez", "outcome": "continúa"})
                        }
                    })
                }
            }
            Op::Die { who } => Death::new(
                "CECOT",
                pick(&bookings, who),
                at,
                "celda",
                "causa",
                false,
                now,
            )
            .ok()
            .map(|d| d.to_draft(&actor)),
        };
        let Some(draft) = draft else {
            refused += 1;
            continue;
        };
        let admit = draft.kind == habeas_core::kinds::ADMITTED;
        let complaint = draft.kind == habeas_core::kinds::COMPLAINT;
        match register.append(draft) {
            Ok(r) => {
                accepted += 1;
                if admit {
                    bookings.push(r.index);
                }
                if complaint {
                    complaints.push(r.index);
                }
            }
            Err(habeas_register::store::AppendError::Rejected(_)) => refused += 1,
            Err(e) => prop_assert!(false, "storage failed: {e}"),
        }
    }
    register.shutdown();
    prop_assert!(accepted + refused > 0);
    prop_assert_eq!(store.check_projections().unwrap(), Ok(()));
    let live = dump(&path);
    store.rebuild_projections().unwrap();
    prop_assert_eq!(&dump(&path), &live);
    // Populations in the cells table agree with the custodies in each cell, and never
    // exceed operational capacity.
    let c = rusqlite::Connection::open(&path).unwrap();
    let bad: i64 = c
        .query_row(
            "SELECT count(*) FROM cells WHERE population > operational OR population !=
             (SELECT count(*) FROM custodies WHERE custodies.cell = cells.code AND ended IS NULL)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    prop_assert_eq!(bad, 0);
    // Every event of every custody is dated at or after the custody began.
    let early: Vec<(i64, i64, String, String)> = c
        .prepare(
            "SELECT c.booking, e.idx, c.admitted_at, json_extract(CAST(l.bytes AS TEXT), '$.payload.at')
             FROM custodies c JOIN custody_events e ON e.booking = c.booking
             JOIN register_log l ON l.idx = e.idx
             WHERE e.idx != c.booking AND json_extract(CAST(l.bytes AS TEXT), '$.payload.at') < c.admitted_at",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    prop_assert!(early.is_empty(), "events before their custody: {:?}", early);
    // A person's file read with its entries is the file read alone, and the entries handed
    // over are those the file lists, in order; stopping early stops the list there too.
    for &person in &bookings {
        let alone = store.person_file(person).unwrap();
        let (with_entries, history) = store.person_record(person).unwrap().unwrap();
        prop_assert_eq!(Some(&with_entries), alone.as_ref());
        let listed: Vec<u64> = with_entries
            .custodies
            .iter()
            .flat_map(|c| c.events.iter().copied())
            .collect();
        let handed: Vec<u64> = history
            .iter()
            .map(|h| h["index"].as_u64().unwrap())
            .collect();
        prop_assert_eq!(&handed, &listed);
        let mut seen = 0;
        let first_only = store
            .person_entries(person, &mut |_, _, _| {
                seen += 1;
                Ok(false)
            })
            .unwrap()
            .unwrap();
        prop_assert_eq!(seen, 1);
        prop_assert_eq!(
            first_only
                .custodies
                .iter()
                .map(|c| c.events.len())
                .sum::<usize>(),
            1
        );
    }
    if let Some((primary, _schema)) = &started.primary {
        use habeas_register::store::Store as _;
        prop_assert_eq!(primary.size().unwrap(), store.size().unwrap());
        let fresh = backends::replayed(primary, &dir.path().join("fresh.db"));
        prop_assert_eq!(dump(&fresh), live);
    }
    Ok(())
}
