//! The store conformance suite. Every backend runs every check, through
//! [`conformance_tests!`](crate::conformance_tests), so that test names say which backend ran.
//!
//! A check returns `Err` with a sentence saying what the backend got wrong.

use crate::entry::{decode_header, Draft, Entry};
use crate::merkle::leaf_hash;
use crate::note::{Checkpoint, Signer};
use crate::store::{AppendError, LogSink, RegisterInfo, Store, StoreError, StoredCheckpoint};
use crate::time::{ManualClock, Timestamp};
use crate::verify::{verify, VerifyError};
use crate::writer::{Register, SeededEntropy, WriterConfig, WriterParts};
use serde_json::json;
use std::sync::Arc;

/// A store opened for the suite: its writer side and its reader side.
pub type Opened = (Box<dyn LogSink>, Arc<dyn Store>);

/// One empty database of the backend under test, which can be opened several times.
pub trait Backend {
    /// Opens the store, creating it with `info` if it holds no register yet.
    fn open(&self, info: &RegisterInfo) -> Result<Opened, StoreError>;
}

/// A fresh, empty backend database.
pub type MakeBackend<'a> = &'a dyn Fn() -> Box<dyn Backend>;

type Check = Result<(), String>;

fn ensure(cond: bool, what: impl FnOnce() -> String) -> Check {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

const ORIGIN: &str = "habeas.test/register/conformance";

fn signer() -> Result<Signer, String> {
    Signer::from_seed(ORIGIN, [42; 32]).map_err(|e| e.to_string())
}

fn info() -> Result<RegisterInfo, String> {
    Ok(RegisterInfo {
        origin: ORIGIN.into(),
        verifier: signer()?.verifier(),
    })
}

struct Running {
    register: Register,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
}

fn start(
    backend: &dyn Backend,
    config: WriterConfig,
    clock: Arc<ManualClock>,
) -> Result<Running, String> {
    let (sink, store) = backend.open(&info()?).map_err(|e| format!("open: {e}"))?;
    let register = Register::start(WriterParts {
        sink,
        store: store.clone(),
        signer: signer()?,
        clock: clock.clone(),
        entropy: Arc::new(SeededEntropy::new(7)),
        config,
    })
    .map_err(|e| format!("start: {e}"))?;
    Ok(Running {
        register,
        store,
        clock,
    })
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Timestamp(1_700_000_000_000)))
}

/// A valid draft numbered `n`.
pub fn draft(n: u64) -> Draft {
    Draft {
        actor: "officer:conformance".into(),
        facility: "TEST".into(),
        kind: "test.note".into(),
        subject: format!("cell:A-{:02}", n % 32),
        payload: json!({"n": n, "text": format!("entry número {n}")}),
        corrects: None,
    }
}

fn check_verifies(store: &dyn Store) -> Result<crate::verify::VerifyReport, String> {
    verify(store, &signer()?.verifier()).map_err(|e| format!("verify failed: {e}"))
}

/// A new store is empty and keeps the register's identity.
pub fn empty_store(make: MakeBackend<'_>) -> Check {
    let backend = make();
    let (_, store) = backend.open(&info()?).map_err(|e| e.to_string())?;
    ensure(store.size() == Ok(0), || "a new store is not empty".into())?;
    ensure(
        store.checkpoints().map(|c| c.is_empty()) == Ok(true),
        || "a new store has checkpoints".into(),
    )?;
    ensure(store.info() == Ok(info()?), || {
        "the store does not keep origin and verifier key".into()
    })?;
    ensure(store.entry(0) == Ok(None), || {
        "entry 0 of an empty store exists".into()
    })?;
    Ok(())
}

/// Entries come back byte for byte, in order, with the recorded leaf hashes.
pub fn append_and_read(make: MakeBackend<'_>) -> Check {
    let backend = make();
    let r = start(&*backend, WriterConfig::default(), clock())?;
    for n in 0..25u64 {
        let receipt = r.register.append(draft(n)).map_err(|e| e.to_string())?;
        ensure(receipt.index == n, || {
            format!("append {n} got index {}", receipt.index)
        })?;
        r.clock.advance_millis(5);
    }
    ensure(r.store.size() == Ok(25), || {
        "size is not 25 after 25 appends".into()
    })?;
    let mut seen = 0u64;
    r.store
        .scan(0, &mut |row| {
            if row.index != seen || row.leaf != leaf_hash(row.bytes) {
                return Err(StoreError::Corrupt(format!("row {seen} came back wrong")));
            }
            seen += 1;
            Ok(true)
        })
        .map_err(|e| e.to_string())?;
    ensure(seen == 25, || format!("scan visited {seen} rows, not 25"))?;
    // The leaf hashes a writer reads as it starts: the first `size`, in order.
    let mut leaves = Vec::new();
    r.store
        .scan(0, &mut |row| {
            leaves.push(leaf_hash(row.bytes));
            Ok(true)
        })
        .map_err(|e| e.to_string())?;
    for size in [0u64, 1, 13, 25] {
        let got = r.store.leaf_hashes(size).map_err(|e| e.to_string())?;
        ensure(got.as_slice() == &leaves[..size as usize], || {
            format!(
                "leaf_hashes({size}) gave {} hashes, not the first {size}",
                got.len()
            )
        })?;
    }
    let mut from_ten = Vec::new();
    r.store
        .scan(10, &mut |row| {
            from_ten.push(row.index);
            Ok(from_ten.len() < 3)
        })
        .map_err(|e| e.to_string())?;
    ensure(from_ten == vec![10, 11, 12], || {
        format!("scan from 10 with early stop gave {from_ten:?}")
    })?;
    for n in [0u64, 13, 24] {
        let bytes = r
            .store
            .entry(n)
            .map_err(|e| e.to_string())?
            .ok_or(format!("entry {n} is missing"))?;
        let e = Entry::decode(&bytes).map_err(|e| format!("entry {n} does not decode: {e}"))?;
        ensure(e.index == n && e.payload["n"] == json!(n), || {
            format!("entry {n} has the wrong content")
        })?;
        ensure(
            e.time == Timestamp(1_700_000_000_000 + 5 * n as i64),
            || format!("entry {n} has the wrong time"),
        )?;
    }
    r.register.shutdown();
    Ok(())
}

/// Many threads appending at once: every acknowledged entry is present once, indices are
/// contiguous, commits were shared (group commit), and the register verifies.
pub fn concurrent_appends(make: MakeBackend<'_>) -> Check {
    let backend = make();
    let r = start(
        &*backend,
        WriterConfig {
            checkpoint_every_entries: 100,
            ..WriterConfig::default()
        },
        clock(),
    )?;
    let threads = 16u64;
    let per = 40u64;
    let mut handles = Vec::new();
    for t in 0..threads {
        let reg = r.register.clone();
        handles.push(std::thread::spawn(move || {
            (0..per)
                .map(|i| reg.append(draft(t * 1000 + i)).map(|rc| rc.index))
                .collect::<Vec<_>>()
        }));
    }
    let mut indices = Vec::new();
    for h in handles {
        for res in h
            .join()
            .map_err(|_| "an appending thread panicked".to_string())?
        {
            indices.push(res.map_err(|e| e.to_string())?);
        }
    }
    indices.sort_unstable();
    let want: Vec<u64> = (0..threads * per).collect();
    ensure(indices == want, || {
        "acknowledged indices are not exactly 0..640".into()
    })?;
    ensure(r.store.size() == Ok(threads * per), || {
        "the store size differs from the acknowledged count".into()
    })?;
    let batches = r
        .register
        .stats()
        .batches
        .load(std::sync::atomic::Ordering::Relaxed);
    ensure(batches <= threads * per, || {
        format!("{batches} batches for {} entries", threads * per)
    })?;
    let report = check_verifies(&*r.store)?;
    ensure(report.checkpoints >= 6, || {
        format!(
            "only {} automatic checkpoints for 640 entries every 100",
            report.checkpoints
        )
    })?;
    r.register.shutdown();
    Ok(())
}

/// A refused draft takes no index and writes nothing; a refused group writes none of it.
pub fn rejected_appends_write_nothing(make: MakeBackend<'_>) -> Check {
    let backend = make();
    let r = start(&*backend, WriterConfig::default(), clock())?;
    r.register.append(draft(0)).map_err(|e| e.to_string())?;
    let mut bad = draft(1);
    bad.actor = String::new();
    match r.register.append(bad.clone()) {
        Err(AppendError::Rejected(rej)) => ensure(rej.field.as_deref() == Some("actor"), || {
            format!("the refusal names {:?}, not actor", rej.field)
        })?,
        other => return Err(format!("an empty actor was not refused: {other:?}")),
    }
    let mut fraction = draft(2);
    fraction.payload = json!({"area_m2": 0.6});
    ensure(
        matches!(r.register.append(fraction), Err(AppendError::Rejected(_))),
        || "a fraction was accepted".into(),
    )?;
    ensure(
        matches!(
            r.register.append_all(vec![draft(3), bad]),
            Err(AppendError::Rejected(_))
        ),
        || "a group with one bad draft was accepted".into(),
    )?;
    ensure(r.store.size() == Ok(1), || {
        "a refused append left something behind".into()
    })?;
    let next = r.register.append(draft(4)).map_err(|e| e.to_string())?;
    ensure(next.index == 1, || {
        format!("the next append got index {}, not 1", next.index)
    })?;
    let group = r
        .register
        .append_all(vec![draft(5), draft(6)])
        .map_err(|e| e.to_string())?;
    ensure(
        group.iter().map(|g| g.index).collect::<Vec<_>>() == vec![2, 3],
        || "a group is not consecutive".into(),
    )?;
    r.register.shutdown();
    Ok(())
}

/// Checkpoints are made every N entries, every T milliseconds and on demand; all are kept.
pub fn checkpoints_are_made_and_kept(make: MakeBackend<'_>) -> Check {
    let backend = make();
    let config = WriterConfig {
        checkpoint_every_entries: 5,
        checkpoint_every_millis: 0,
        ..WriterConfig::default()
    };
    let r = start(&*backend, config, clock())?;
    for n in 0..12 {
        r.register.append(draft(n)).map_err(|e| e.to_string())?;
    }
    let sizes = |s: &dyn Store| {
        s.checkpoints()
            .map(|c| c.iter().map(|c| c.size).collect::<Vec<_>>())
    };
    ensure(sizes(&*r.store) == Ok(vec![5, 10]), || {
        format!(
            "automatic checkpoints at {:?}, not [5, 10]",
            sizes(&*r.store)
        )
    })?;
    let latest = r
        .register
        .checkpoint()
        .map_err(|e| e.to_string())?
        .ok_or("no checkpoint on demand")?;
    ensure(latest.size == 12, || {
        format!("the checkpoint on demand has size {}", latest.size)
    })?;
    let again = r
        .register
        .checkpoint()
        .map_err(|e| e.to_string())?
        .ok_or("no checkpoint")?;
    ensure(again == latest, || {
        "a second request without new entries made a new checkpoint".into()
    })?;
    ensure(sizes(&*r.store) == Ok(vec![5, 10, 12]), || {
        "not every checkpoint was kept".into()
    })?;
    let head = Checkpoint::open(&latest.note, &signer()?.verifier()).map_err(|e| e.to_string())?;
    let report = check_verifies(&*r.store)?;
    ensure(head.root == report.root, || {
        "the signed root differs from the recomputed root".into()
    })?;
    r.register.shutdown();

    let backend = make();
    let config = WriterConfig {
        checkpoint_every_entries: 0,
        checkpoint_every_millis: 1000,
        ..WriterConfig::default()
    };
    let r = start(&*backend, config, clock())?;
    r.register.append(draft(0)).map_err(|e| e.to_string())?;
    r.register.append(draft(1)).map_err(|e| e.to_string())?;
    ensure(sizes(&*r.store) == Ok(vec![1]), || {
        format!(
            "checkpoints at {:?} before the time passed, not [1]",
            sizes(&*r.store)
        )
    })?;
    r.clock.advance_millis(1500);
    r.register.append(draft(2)).map_err(|e| e.to_string())?;
    // The writer may notice the time while idle (size 2) or at the next append (size 3).
    let cps = r.store.checkpoints().map_err(|e| e.to_string())?;
    ensure(
        cps.len() == 2 && cps[1].size >= 2 && cps[1].made_at == Timestamp(1_700_000_001_500),
        || format!("time-based checkpoints are {cps:?}"),
    )?;
    r.register.shutdown();
    Ok(())
}

/// Reopening continues the same tree, and time never goes backwards in the register.
pub fn reopen_continues(make: MakeBackend<'_>) -> Check {
    let backend = make();
    let c = clock();
    let r = start(&*backend, WriterConfig::default(), c.clone())?;
    for n in 0..7 {
        r.register.append(draft(n)).map_err(|e| e.to_string())?;
    }
    r.register.checkpoint().map_err(|e| e.to_string())?;
    r.register.shutdown();
    c.advance_millis(-60_000);
    let r = start(&*backend, WriterConfig::default(), c)?;
    let next = r.register.append(draft(7)).map_err(|e| e.to_string())?;
    ensure(next.index == 7, || {
        format!("after reopening the next index is {}", next.index)
    })?;
    let bytes = r
        .store
        .entry(6)
        .map_err(|e| e.to_string())?
        .ok_or("entry 6 is missing")?;
    let (_, t6) = decode_header(&bytes).map_err(|e| e.to_string())?;
    ensure(next.time >= t6, || {
        "a clock that went back made the register's time go back".into()
    })?;
    r.register.checkpoint().map_err(|e| e.to_string())?;
    let report = check_verifies(&*r.store)?;
    let sizes: Vec<u64> = r
        .store
        .checkpoints()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|c| c.size)
        .collect();
    ensure(sizes == vec![1, 7, 8], || {
        format!("checkpoints at {sizes:?}, not [1, 7, 8] (first entry, on demand, on demand)")
    })?;
    ensure(report.entries == 8 && report.checkpoints == 3, || {
        format!("unexpected report {report:?}")
    })?;
    r.register.shutdown();
    Ok(())
}

/// A checkpoint signed by another key, or one that forks the log, fails verification, and
/// the writer refuses a key that is not the register's.
pub fn forged_checkpoints_are_caught(make: MakeBackend<'_>) -> Check {
    let backend = make();
    let r = start(&*backend, WriterConfig::default(), clock())?;
    for n in 0..4 {
        r.register.append(draft(n)).map_err(|e| e.to_string())?;
    }
    r.register.checkpoint().map_err(|e| e.to_string())?;
    r.register.shutdown();
    let (mut sink, store) = backend.open(&info()?).map_err(|e| e.to_string())?;
    let fork = Checkpoint {
        origin: ORIGIN.into(),
        size: 4,
        root: [7; 32],
    };
    let note = fork.sign(&signer()?).map_err(|e| e.to_string())?;
    sink.put_checkpoint(&StoredCheckpoint {
        size: 4,
        made_at: Timestamp(0),
        note,
    })
    .map_err(|e| e.to_string())?;
    drop(sink);
    match verify(&*store, &signer()?.verifier()) {
        Err(VerifyError::Checkpoint { size: 4, .. }) => {}
        other => return Err(format!("a forked checkpoint was not caught: {other:?}")),
    }
    let other = Signer::from_seed(ORIGIN, [1; 32]).map_err(|e| e.to_string())?;
    ensure(
        matches!(
            verify(&*store, &other.verifier()),
            Err(VerifyError::Checkpoint { position: 0, .. })
        ),
        || "checkpoints verified against a different key".into(),
    )?;
    let (sink, store) = backend.open(&info()?).map_err(|e| e.to_string())?;
    let refused = Register::start(WriterParts {
        sink,
        store,
        signer: other,
        clock: clock(),
        entropy: Arc::new(SeededEntropy::new(1)),
        config: WriterConfig::default(),
    });
    ensure(refused.is_err(), || {
        "the writer started with a key that is not the register's".into()
    })?;
    Ok(())
}

/// A writer starts from the frontier kept with the latest checkpoint, reading only the leaf
/// hashes after it, and grows the same tree as one that read them all; a kept frontier that
/// is not the checkpoint's is not used, and a checkpoint the entries do not match still stops
/// the writer from starting. (A backend that keeps no frontier passes by reading them all.)
pub fn kept_frontier_starts_the_writer(make: MakeBackend<'_>) -> Check {
    let backend = make();
    let r = start(&*backend, WriterConfig::default(), clock())?;
    for n in 0..10 {
        r.register.append(draft(n)).map_err(|e| e.to_string())?;
    }
    let cp = r
        .register
        .checkpoint()
        .map_err(|e| e.to_string())?
        .ok_or("no checkpoint at 10")?;
    for n in 10..13 {
        r.register.append(draft(n)).map_err(|e| e.to_string())?;
    }
    r.register.shutdown();
    let opened = Checkpoint::open(&cp.note, &signer()?.verifier()).map_err(|e| e.to_string())?;
    if let Some((size, hashes)) = r.store.frontier().map_err(|e| e.to_string())? {
        let kept = crate::merkle::Frontier::from_hashes(size, &hashes)
            .ok_or("the kept frontier does not fit its size")?;
        ensure(size == 10 && kept.root() == opened.root, || {
            format!("the frontier kept is of size {size}, not the checkpoint's 10 and its root")
        })?;
    }
    // Started again: the next index follows, and the tree is the one every leaf makes.
    let r = start(&*backend, WriterConfig::default(), clock())?;
    let next = r.register.append(draft(13)).map_err(|e| e.to_string())?;
    ensure(next.index == 13, || {
        format!("after starting again the next index is {}", next.index)
    })?;
    r.register.checkpoint().map_err(|e| e.to_string())?;
    r.register.shutdown();
    check_verifies(&*r.store)?;
    // A kept frontier that is not the latest checkpoint's root is not used.
    let (mut sink, _) = backend.open(&info()?).map_err(|e| e.to_string())?;
    sink.put_frontier(14, &[[9; 32]; 3])
        .map_err(|e| e.to_string())?;
    drop(sink);
    let r = start(&*backend, WriterConfig::default(), clock())?;
    r.register.append(draft(14)).map_err(|e| e.to_string())?;
    r.register.checkpoint().map_err(|e| e.to_string())?;
    r.register.shutdown();
    check_verifies(&*r.store)?;
    // A checkpoint the entries do not match (a fork at 15): the writer does not start,
    // whatever frontier is kept.
    let (mut sink, _) = backend.open(&info()?).map_err(|e| e.to_string())?;
    let fork = Checkpoint {
        origin: ORIGIN.into(),
        size: 15,
        root: [7; 32],
    };
    sink.put_checkpoint(&StoredCheckpoint {
        size: 15,
        made_at: Timestamp(0),
        note: fork.sign(&signer()?).map_err(|e| e.to_string())?,
    })
    .map_err(|e| e.to_string())?;
    drop(sink);
    ensure(
        start(&*backend, WriterConfig::default(), clock()).is_err(),
        || "the writer started on entries that do not match the latest checkpoint".into(),
    )?;
    Ok(())
}

/// Generates one `#[test]` per conformance check for a backend.
///
/// ```text
/// habeas_register::conformance_tests!(|| Box::new(MyBackend::temporary()) as Box<dyn Backend>);
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        #[test]
        fn conformance_empty_store() {
            $crate::conformance::empty_store(&$make).unwrap()
        }
        #[test]
        fn conformance_append_and_read() {
            $crate::conformance::append_and_read(&$make).unwrap()
        }
        #[test]
        fn conformance_concurrent_appends() {
            $crate::conformance::concurrent_appends(&$make).unwrap()
        }
        #[test]
        fn conformance_rejected_appends_write_nothing() {
            $crate::conformance::rejected_appends_write_nothing(&$make).unwrap()
        }
        #[test]
        fn conformance_checkpoints_are_made_and_kept() {
            $crate::conformance::checkpoints_are_made_and_kept(&$make).unwrap()
        }
        #[test]
        fn conformance_reopen_continues() {
            $crate::conformance::reopen_continues(&$make).unwrap()
        }
        #[test]
        fn conformance_forged_checkpoints_are_caught() {
            $crate::conformance::forged_checkpoints_are_caught(&$make).unwrap()
        }
        #[test]
        fn conformance_kept_frontier_starts_the_writer() {
            $crate::conformance::kept_frontier_starts_the_writer(&$make).unwrap()
        }
    };
}
