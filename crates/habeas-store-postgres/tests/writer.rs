#![expect(clippy::unwrap_used, reason = "test code fails loudly")]

//! What the PostgreSQL store adds to the conformance suite: one writer per register across
//! processes (an advisory lock), taking over when the writer goes, durable commits, and the
//! append-only triggers.

use habeas_register::conformance::draft;
use habeas_register::note::Signer;
use habeas_register::store::{RegisterInfo, Store, StoreError};
use habeas_register::time::{ManualClock, Timestamp};
use habeas_register::verify::verify;
use habeas_register::writer::{Register, SeededEntropy, WriterConfig, WriterParts};
use habeas_store_postgres::testing::ScratchSchema;
use habeas_store_postgres::{PostgresSink, PostgresStore};
use std::sync::Arc;

const ORIGIN: &str = "habeas.test/register/postgres";

fn signer() -> Signer {
    Signer::from_seed(ORIGIN, [9; 32]).unwrap()
}

fn info() -> RegisterInfo {
    RegisterInfo {
        origin: ORIGIN.into(),
        verifier: signer().verifier(),
    }
}

fn start(store: &Arc<PostgresStore>, sink: PostgresSink) -> Register {
    Register::start(WriterParts {
        sink: Box::new(sink),
        store: store.clone(),
        signer: signer(),
        clock: Arc::new(ManualClock::new(Timestamp(1_700_000_000_000))),
        entropy: Arc::new(SeededEntropy::new(3)),
        config: WriterConfig::default(),
    })
    .unwrap()
}

#[test]
fn postgres_one_writer_at_a_time_and_a_waiting_one_takes_over() {
    let schema = ScratchSchema::new().unwrap();
    let store = Arc::new(PostgresStore::create(&schema.url(), &info()).unwrap());
    let first = start(&store, store.sink().unwrap());
    for n in 0..10 {
        first.append(draft(n)).unwrap();
    }
    // A second process pointed at the same database: refused while the first writes.
    let other = Arc::new(PostgresStore::open(&schema.url()).unwrap());
    match other.sink() {
        Err(StoreError::Backend(m)) => assert!(m.contains("another process"), "{m}"),
        Ok(_) => panic!("two writers held the register at once"),
        Err(e) => panic!("unexpected refusal: {e}"),
    }
    // It reads meanwhile.
    assert_eq!(other.size().unwrap(), 10);
    // One that waits takes over when the first writer goes, and carries on at the next index.
    let waiting = {
        let other = other.clone();
        std::thread::spawn(move || other.sink_waiting())
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!waiting.is_finished(), "the waiting writer did not wait");
    first.checkpoint().unwrap();
    first.shutdown();
    let sink = waiting.join().unwrap().unwrap();
    let second = start(&other, sink);
    let r = second.append(draft(10)).unwrap();
    assert_eq!(r.index, 10);
    second.checkpoint().unwrap();
    second.shutdown();
    let report = verify(&*other, &signer().verifier()).unwrap();
    assert_eq!(report.entries, 11);
}

#[test]
fn postgres_the_writer_commits_synchronously() {
    let schema = ScratchSchema::new().unwrap();
    PostgresStore::create(&schema.url(), &info()).unwrap();
    // Even where the connection's default would let a commit return before it is on disk.
    let lax = schema.url_with("-csynchronous_commit%3Doff");
    let store = PostgresStore::open(&lax).unwrap();
    let mut reader = postgres::Client::connect(&lax, postgres::NoTls).unwrap();
    let default: String = reader
        .query_one("SHOW synchronous_commit", &[])
        .unwrap()
        .get(0);
    assert_eq!(default, "off", "the test did not change the default");
    let mut sink = store.sink().unwrap();
    assert_eq!(sink.synchronous_commit().unwrap(), "on");
}

#[test]
fn postgres_the_append_only_triggers_refuse_changes() {
    let schema = ScratchSchema::new().unwrap();
    let store = Arc::new(PostgresStore::create(&schema.url(), &info()).unwrap());
    let register = start(&store, store.sink().unwrap());
    for n in 0..3 {
        register.append(draft(n)).unwrap();
    }
    register.checkpoint().unwrap();
    register.shutdown();
    let mut c = schema.client().unwrap();
    for sql in [
        "UPDATE register_log SET bytes = '\\x00' WHERE idx = 1",
        "DELETE FROM register_log WHERE idx = 2",
        "TRUNCATE register_log",
        "DELETE FROM register_checkpoints",
        "UPDATE register_meta SET value = 'x' WHERE key = 'origin'",
    ] {
        let e = c.batch_execute(sql).unwrap_err();
        assert!(
            e.as_db_error().unwrap().message().contains("append-only"),
            "{sql}: {e}"
        );
    }
    assert_eq!(store.size().unwrap(), 3);
}

#[test]
fn postgres_a_second_create_is_refused_and_open_needs_a_register() {
    let schema = ScratchSchema::new().unwrap();
    match PostgresStore::open(&schema.url()) {
        Err(StoreError::NotInitialised(m)) => assert!(m.contains("habeas init"), "{m}"),
        other => panic!("an empty schema opened: {other:?}"),
    }
    PostgresStore::create(&schema.url(), &info()).unwrap();
    let e = PostgresStore::create(&schema.url(), &info()).unwrap_err();
    assert!(e.to_string().contains("already holds a register"), "{e}");
    let e = PostgresStore::open("postgres://nobody@127.0.0.1:1/none").unwrap_err();
    assert!(e.to_string().contains("cannot connect"), "{e}");
    assert!(!e.to_string().contains("nobody@"), "{e}");
}

#[test]
fn postgres_addresses_lose_their_password_in_messages() {
    use habeas_store_postgres::redacted;
    assert_eq!(
        redacted("postgres://habeas:s3cret@db.example:5432/national?sslmode=require"),
        "postgres://habeas@db.example:5432/national?sslmode=require"
    );
    assert_eq!(
        redacted("postgresql://habeas@db/national"),
        "postgresql://habeas@db/national"
    );
    assert_eq!(redacted("postgres://db/x?user=a"), "postgres://db/x?user=a");
}

/// The frontier is kept with each checkpoint, the one written with its batch and the one
/// signed on demand, and its root is the checkpoint's.
#[test]
fn postgres_keeps_the_frontier_of_each_checkpoint() {
    let schema = ScratchSchema::new().unwrap();
    let store = Arc::new(PostgresStore::create(&schema.url(), &info()).unwrap());
    let register = start(&store, store.sink().unwrap());
    let kept_root = |store: &PostgresStore| {
        let (size, hashes) = store.frontier().unwrap().expect("a frontier is kept");
        let root = habeas_register::merkle::Frontier::from_hashes(size, &hashes)
            .expect("it fits its size")
            .root();
        (size, root)
    };
    let root_of = |store: &PostgresStore| {
        let cp = store.latest_checkpoint().unwrap().unwrap();
        let opened =
            habeas_register::note::Checkpoint::open(&cp.note, &signer().verifier()).unwrap();
        (cp.size, opened.root)
    };
    // The first entry's checkpoint falls due with its batch.
    register.append(draft(0)).unwrap();
    assert_eq!(kept_root(&store), root_of(&store));
    assert_eq!(kept_root(&store).0, 1);
    for n in 1..6 {
        register.append(draft(n)).unwrap();
    }
    register.checkpoint().unwrap();
    assert_eq!(kept_root(&store), (6, root_of(&store).1));
    register.shutdown();
}
