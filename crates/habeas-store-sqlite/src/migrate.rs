//! Append-only schema migrations. A migration that has landed is never edited: add a new one.

use rusqlite::Connection;

/// (version, name, SQL), in order.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "register",
        include_str!("../migrations/0001_register.sql"),
    ),
    (2, "logbook", include_str!("../migrations/0002_logbook.sql")),
    (3, "custody", include_str!("../migrations/0003_custody.sql")),
    (4, "record", include_str!("../migrations/0004_record.sql")),
    (
        5,
        "accounts",
        include_str!("../migrations/0005_accounts.sql"),
    ),
    (6, "photos", include_str!("../migrations/0006_photos.sql")),
    (
        7,
        "person_names",
        include_str!("../migrations/0007_person_names.sql"),
    ),
    (
        8,
        "person_names_by_person",
        include_str!("../migrations/0008_person_names_by_person.sql"),
    ),
    (
        9,
        "contacts_without_person_index",
        include_str!("../migrations/0009_contacts_without_person_index.sql"),
    ),
    (
        10,
        "totp_last_step",
        include_str!("../migrations/0010_totp_last_step.sql"),
    ),
    (
        11,
        "tokens_and_machines",
        include_str!("../migrations/0011_tokens_and_machines.sql"),
    ),
    (
        12,
        "person_documents",
        include_str!("../migrations/0012_person_documents.sql"),
    ),
    (
        13,
        "juvenile_facilities",
        include_str!("../migrations/0013_juvenile_facilities.sql"),
    ),
    (
        14,
        "legal_basis_and_intake",
        include_str!("../migrations/0014_legal_basis_and_intake.sql"),
    ),
    (
        15,
        "head_count_indexes",
        include_str!("../migrations/0015_head_count_indexes.sql"),
    ),
    (
        16,
        "contacts_by_time",
        include_str!("../migrations/0016_contacts_by_time.sql"),
    ),
    (
        17,
        "cosignatures",
        include_str!("../migrations/0017_cosignatures.sql"),
    ),
    (
        18,
        "whereabouts_requests",
        include_str!("../migrations/0018_whereabouts_requests.sql"),
    ),
    (
        19,
        "oversight_visits",
        include_str!("../migrations/0019_oversight_visits.sql"),
    ),
    (
        20,
        "sentence_plans",
        include_str!("../migrations/0020_sentence_plans.sql"),
    ),
    (
        21,
        "emergency_regime",
        include_str!("../migrations/0021_emergency_regime.sql"),
    ),
    (
        22,
        "imported_admissions",
        include_str!("../migrations/0022_imported_admissions.sql"),
    ),
    (
        23,
        "visit_answers",
        include_str!("../migrations/0023_visit_answers.sql"),
    ),
    (
        24,
        "person_search",
        include_str!("../migrations/0024_person_search.sql"),
    ),
    (
        25,
        "local_time_and_fittings",
        include_str!("../migrations/0025_local_time_and_fittings.sql"),
    ),
    (
        26,
        "humidity_and_heat_index",
        include_str!("../migrations/0026_humidity_and_heat_index.sql"),
    ),
    (
        27,
        "food_services",
        include_str!("../migrations/0027_food_services.sql"),
    ),
    (
        28,
        "custodies_by_agreement",
        include_str!("../migrations/0028_custodies_by_agreement.sql"),
    ),
    (
        29,
        "notification_declines",
        include_str!("../migrations/0029_notification_declines.sql"),
    ),
    (
        30,
        "movements_by_facility",
        include_str!("../migrations/0030_movements_by_facility.sql"),
    ),
    (
        31,
        "register_frontier",
        include_str!("../migrations/0031_register_frontier.sql"),
    ),
    (
        32,
        "contacts_recorded_at",
        include_str!("../migrations/0032_contacts_recorded_at.sql"),
    ),
    (
        33,
        "harm_cases",
        include_str!("../migrations/0033_harm_cases.sql"),
    ),
];

/// Applies every migration not yet applied, each in its own transaction.
pub(crate) fn run(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT",
    )?;
    for (version, name, sql) in MIGRATIONS {
        let done: bool = conn.query_row(
            "SELECT count(*) > 0 FROM schema_migrations WHERE version = ?1",
            [version],
            |r| r.get(0),
        )?;
        if done {
            continue;
        }
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let applied = conn.execute_batch(sql).and_then(|()| {
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)",
                rusqlite::params![version, name],
            )
        });
        match applied {
            Ok(_) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                // Another process may have applied it between our check and our BEGIN.
                let done: bool = conn.query_row(
                    "SELECT count(*) > 0 FROM schema_migrations WHERE version = ?1",
                    [version],
                    |r| r.get(0),
                )?;
                if !done {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The plan SQLite chooses for `sql` on a migrated database, one line per step.
    fn plan(sql: &str) -> String {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        super::run(&conn).unwrap();
        plan_on(&conn, sql)
    }

    /// A database with every migration before `version` applied, as a store written then.
    fn migrated_before(version: i64) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT",
        )
        .unwrap();
        for (v, name, sql) in super::MIGRATIONS.iter().filter(|m| m.0 < version) {
            conn.execute_batch(sql).unwrap();
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)",
                rusqlite::params![v, name],
            )
            .unwrap();
        }
        conn
    }

    /// A store written before migration 30 gets each movement's facility from its entry.
    #[test]
    fn movements_recorded_before_they_named_their_facility_get_it_from_their_entries() {
        let conn = migrated_before(30);
        for (idx, facility) in [(7, "CP01"), (8, "CP02")] {
            let bytes = format!(
                r#"{{"facility":"{facility}","index":{idx},"kind":"custody.movement","payload":{{"cell":"S1-C01","kind":"out_of_cell"}}}}"#
            );
            conn.execute(
                "INSERT INTO register_log (idx, leaf, bytes) VALUES (?1, x'00', ?2)",
                rusqlite::params![idx, bytes.into_bytes()],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO movements (idx, booking, cell, people, kind, open_air, destination, at)
                 VALUES (?1, NULL, 'S1-C01', 80, 'out_of_cell', 1, NULL, '2025-05-01T13:00:00.000Z')",
                [idx],
            )
            .unwrap();
        }
        super::run(&conn).unwrap();
        let got: Vec<(i64, String)> = conn
            .prepare("SELECT idx, facility FROM movements ORDER BY idx")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(got, [(7, "CP01".to_owned()), (8, "CP02".to_owned())]);
        let p = plan_on(
            &conn,
            "SELECT idx FROM movements WHERE booking IS NULL AND facility = 'CP02' AND cell = 'S1-C01' AND at >= '2025-05-01'",
        );
        assert!(p.contains("movements_by_cell"), "{p}");
    }

    /// A store written before migration 32 gets each contact's time of writing from its entry.
    #[test]
    fn contacts_recorded_before_migration_32_get_when_they_were_written_from_their_entries() {
        let conn = migrated_before(32);
        for (idx, time) in [
            (7, "2025-05-01T13:00:00.000Z"),
            (8, "2025-05-04T09:30:00.000Z"),
        ] {
            let bytes = format!(
                r#"{{"facility":"CP01","index":{idx},"kind":"record.contact","payload":{{"at":"2025-05-01T12:00:00.000Z","booking":3,"kind":"call","party":"family"}},"time":"{time}","v":1}}"#
            );
            conn.execute(
                "INSERT INTO register_log (idx, leaf, bytes) VALUES (?1, x'00', ?2)",
                rusqlite::params![idx, bytes.into_bytes()],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO contacts (idx, booking, kind, party, at, minutes)
                 VALUES (?1, 3, 'call', 'family', '2025-05-01T12:00:00.000Z', NULL)",
                [idx],
            )
            .unwrap();
        }
        super::run(&conn).unwrap();
        let got: Vec<(i64, String)> = conn
            .prepare("SELECT idx, recorded_at FROM contacts ORDER BY idx")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            got,
            [
                (7, "2025-05-01T13:00:00.000Z".to_owned()),
                (8, "2025-05-04T09:30:00.000Z".to_owned())
            ]
        );
    }

    fn plan_on(conn: &rusqlite::Connection, sql: &str) -> String {
        let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows: Vec<String> = st
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.join("\n")
    }

    /// An agreement's people are read by the agreement, never by a scan of every custody.
    #[test]
    fn the_people_held_under_an_agreement_are_read_without_a_scan() {
        for sql in [
            "SELECT count(DISTINCT c.person) FROM custodies c WHERE c.agreement = 7",
            "SELECT c.booking FROM custodies c WHERE c.agreement = 7 ORDER BY c.person, c.booking",
        ] {
            let p = plan(sql);
            assert!(p.contains("custodies_by_agreement"), "{sql}: {p}");
            assert!(!p.contains("SCAN"), "{sql}: {p}");
            assert!(!p.contains("TEMP B-TREE"), "{sql}: {p}");
        }
    }

    /// An import looks each number up by the index on (facility, ref), never reading every
    /// admission imported before.
    #[test]
    fn an_imported_number_is_looked_up_by_its_index() {
        let p = plan(
            &crate::imports::IMPORTED_ADMISSION
                .replace("?1", "'SISTEMA'")
                .replace("?2", "'EXP-1'"),
        );
        assert!(p.contains("imported_admissions_by_ref"), "{p}");
        assert!(!p.contains("SCAN"), "{p}");
    }

    /// A search by name reads the full-text index and each person found, never every person.
    #[test]
    fn a_search_by_name_reads_the_full_text_index() {
        let p = plan(
            "SELECT p.person FROM person_search s JOIN persons p ON p.person = s.rowid
             WHERE person_search MATCH '\"flores\"*' ORDER BY s.rowid LIMIT 20",
        );
        assert!(p.contains("VIRTUAL TABLE INDEX"), "{p}");
        assert!(!p.contains("SCAN p"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
    }
}
