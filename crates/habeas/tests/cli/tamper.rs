//! Tampering with the SQLite file directly, as someone with access to the disk could: each
//! change is caught by `habeas verify`, which names the first bad index (or table).

use crate::support::{raw, Reg};

fn register_of_20() -> Reg {
    let reg = Reg::init(&[]);
    let r = reg.ok(&[
        "stress-append",
        "--threads",
        "1",
        "--count",
        "20",
        "--facility",
        "CECOT",
    ]);
    assert_eq!(r.stdout.lines().count(), 20);
    reg.ok(&["checkpoint"]);
    let ok = reg.verify();
    assert_eq!(
        ok.code, 0,
        "the untouched register must verify: {}",
        ok.stderr
    );
    reg
}

fn assert_caught(reg: &Reg, needle: &str) {
    let r = reg.verify();
    assert_eq!(
        r.code, 1,
        "tampering was not caught:\n{}\n{}",
        r.stdout, r.stderr
    );
    assert!(
        r.stderr.contains(needle),
        "{:?} does not say {needle:?}",
        r.stderr
    );
}

#[test]
fn a_changed_byte_in_the_file_is_caught_at_its_index() {
    let reg = register_of_20();
    // Move everything from the write-ahead log into the main file, as a closed database is.
    rusqlite::Connection::open(reg.db())
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let mut file = std::fs::read(reg.db()).unwrap();
    let marker = b"stress-00000007";
    let places: Vec<usize> = file
        .windows(marker.len())
        .enumerate()
        .filter(|(_, w)| *w == marker)
        .map(|(i, _)| i)
        .collect();
    assert!(!places.is_empty(), "entry 7 is in the file");
    // The entry's bytes, and any stale copy SQLite left in a free page, get one letter changed.
    for at in places {
        file[at + marker.len() - 1] = b'9';
    }
    std::fs::write(reg.db(), file).unwrap();
    assert_caught(&reg, "at index 7");
}

#[test]
fn a_deleted_row_is_caught_at_its_index() {
    let reg = register_of_20();
    raw(&reg.db())
        .execute("DELETE FROM register_log WHERE idx = 5", [])
        .unwrap();
    assert_caught(&reg, "at index 5");
}

#[test]
fn two_swapped_rows_are_caught_at_the_first() {
    let reg = register_of_20();
    let c = raw(&reg.db());
    c.execute_batch(
        "UPDATE register_log SET idx = -1 WHERE idx = 3;
         UPDATE register_log SET idx = 3 WHERE idx = 9;
         UPDATE register_log SET idx = 9 WHERE idx = -1;",
    )
    .unwrap();
    assert_caught(&reg, "at index 3");
}

#[test]
fn a_truncated_log_is_caught_at_the_first_missing_index() {
    let reg = register_of_20();
    raw(&reg.db())
        .execute("DELETE FROM register_log WHERE idx >= 15", [])
        .unwrap();
    assert_caught(&reg, "at index 15");
}

#[test]
fn a_rewrite_that_also_fixes_the_leaf_hash_is_caught_by_the_signed_checkpoint() {
    let reg = register_of_20();
    let c = raw(&reg.db());
    let bytes: Vec<u8> = c
        .query_row("SELECT bytes FROM register_log WHERE idx = 12", [], |r| {
            r.get(0)
        })
        .unwrap();
    let forged = String::from_utf8(bytes)
        .unwrap()
        .replace("stress-00000012", "stress-99999999");
    let leaf = habeas_register::merkle::leaf_hash(forged.as_bytes());
    c.execute(
        "UPDATE register_log SET bytes = ?1, leaf = ?2 WHERE idx = 12",
        rusqlite::params![forged.as_bytes(), &leaf[..]],
    )
    .unwrap();
    assert_caught(&reg, "do not hash to the signed root");
}

#[test]
fn a_changed_projection_is_caught_by_table() {
    let reg = register_of_20();
    raw(&reg.db())
        .execute("UPDATE logbook SET actor = 'alguien.mas' WHERE idx = 4", [])
        .unwrap();
    assert_caught(&reg, "table logbook");
    let rebuilt = reg.ok(&["rebuild"]);
    assert!(rebuilt.stdout.contains("from 20 entries"));
    assert_eq!(
        reg.verify().code,
        0,
        "a rebuild restores the projection from the register"
    );
}

#[test]
fn the_writer_refuses_to_extend_a_tampered_register() {
    let reg = register_of_20();
    raw(&reg.db())
        .execute("DELETE FROM register_log WHERE idx = 19", [])
        .unwrap();
    let r = reg.run(&[
        "logbook",
        "add",
        "--facility",
        "CECOT",
        "--text",
        "después del borrado",
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("missing"), "{}", r.stderr);
}

#[test]
fn the_append_only_triggers_refuse_ordinary_updates() {
    let reg = register_of_20();
    let c = rusqlite::Connection::open(reg.db()).unwrap();
    let e = c
        .execute("UPDATE register_log SET bytes = x'00' WHERE idx = 1", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    assert!(c.execute("DELETE FROM register_checkpoints", []).is_err());
}
