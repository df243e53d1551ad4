//! A register on PostgreSQL, read and checked through a local SQLite replica.
//!
//! PostgreSQL holds the register: every entry and checkpoint is durable there first, and it is
//! what `habeas verify` and inspectors check. Each process that needs the custody projections
//! (the server, the demo, the commands about people, places and findings) keeps a local
//! SQLite file that holds the same entries and the projections built from them: the replica.
//! It is caught up from PostgreSQL when it is opened; its writer checks every request against
//! the projections before PostgreSQL sees it ([`habeas_register::replicated::Replicated`]).
//! Because PostgreSQL is the truth, the replica commits without waiting for its disk: what a
//! power cut takes from it, the next catch-up puts back. A replica that disagrees with
//! PostgreSQL is refused, never mended silently.

use anyhow::{bail, Context as _, Result};
use habeas_register::merkle::leaf_hash;
use habeas_register::replicated::Replicated;
use habeas_register::store::{LogSink, Store, StoreError};
use habeas_register::{Entry, SealedEntry};
use habeas_store_postgres::PostgresStore;
use habeas_store_sqlite::{Durability, SqliteSink, SqliteStore};
use std::path::Path;
use std::sync::Arc;

/// Entries per replica transaction while catching up.
const BATCH: usize = 2_000;

/// Opens the replica of `primary` at `path` (creating it the first time) and catches it up,
/// unless another process holds its writer and so keeps it current.
pub fn open(primary: &PostgresStore, path: &Path) -> Result<Arc<SqliteStore>> {
    let local = open_local(primary, path)?;
    if let Ok(mut sink) = local.sink() {
        catch_up(primary, &local, &mut sink)?;
        catch_up_cosignatures(primary, &local)?;
    }
    Ok(local)
}

/// The writer of a register on PostgreSQL: PostgreSQL's writer lock (waiting up to `wait` for
/// the writer that holds it to let go, or with `None` as long as it takes, to take over), then
/// the replica, caught up under that lock, and the sink that writes both. `holder` names this
/// process to whoever waits.
pub fn writer(
    primary: &PostgresStore,
    path: &Path,
    wait: Option<std::time::Duration>,
    holder: &str,
) -> Result<(Arc<SqliteStore>, Box<dyn LogSink>)> {
    let primary_sink = match primary.sink_within(wait.unwrap_or_default(), holder) {
        Ok(s) => s,
        // Another process writes the register: wait for it to go (any other failure is said).
        Err(e) if wait.is_none() && e.to_string().contains("another process is writing") => {
            eprintln!("{e}; waiting to take over when it stops");
            primary.sink_waiting().map_err(|e| anyhow::anyhow!("{e}"))?
        }
        Err(e) => bail!("{e}"),
    };
    let local = open_local(primary, path)?;
    let mut local_sink = local.sink_within(wait.unwrap_or_default(), holder).map_err(|e| {
        anyhow::anyhow!(
            "--replica: {e}; every process that writes a register on PostgreSQL needs a replica of its own"
        )
    })?;
    catch_up(primary, &local, &mut local_sink)?;
    catch_up_cosignatures(primary, &local)?;
    Ok((
        local,
        Box::new(Replicated::new(
            Box::new(primary_sink),
            Box::new(local_sink),
        )),
    ))
}

/// The replica file of `primary`, made the first time, refused when it is another register's.
fn open_local(primary: &PostgresStore, path: &Path) -> Result<Arc<SqliteStore>> {
    let info = primary.info().map_err(|e| anyhow::anyhow!("{e}"))?;
    if !path.exists() {
        SqliteStore::create(path, &info)
            .map_err(|e| anyhow::anyhow!("--replica: cannot create {}: {e}", path.display()))?;
    }
    let local = SqliteStore::open_with(path, Durability::Normal)
        .map_err(|e| anyhow::anyhow!("--replica: {e}"))?;
    let local_info = local
        .info()
        .map_err(|e| anyhow::anyhow!("--replica: {e}"))?;
    if local_info != info {
        bail!(
            "--replica: {} is a replica of another register (origin {}), not of the {} (origin {})",
            path.display(),
            local_info.origin,
            primary.place(),
            info.origin
        );
    }
    Ok(Arc::new(local))
}

/// Brings the replica level with PostgreSQL: the entries it lacks (with their projections)
/// and the checkpoints it lacks. Returns how many entries it took. Refuses a replica that holds
/// more entries than PostgreSQL, or whose last entry is not PostgreSQL's.
pub fn catch_up(primary: &dyn Store, local: &SqliteStore, sink: &mut SqliteSink) -> Result<u64> {
    let have = local
        .size()
        .map_err(|e| anyhow::anyhow!("--replica: {e}"))?;
    let size = primary.size().map_err(|e| anyhow::anyhow!("{e}"))?;
    let place = local.path().display();
    if have > size {
        bail!(
            "--replica: {place} holds {have} entries and PostgreSQL only {size}: the database is not the one this replica was made from (or was restored from an earlier backup); verify the database, then move the replica away and it is rebuilt from PostgreSQL"
        );
    }
    if have > 0 {
        let mine = local
            .entry(have - 1)
            .map_err(|e| anyhow::anyhow!("--replica: {e}"))?;
        let theirs = primary
            .entry(have - 1)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if mine != theirs {
            bail!(
                "--replica: entry {} of {place} is not the same as PostgreSQL's; verify the database, then move the replica away and it is rebuilt from PostgreSQL",
                have - 1
            );
        }
    }
    let bar = if size - have > 10_000 {
        eprintln!(
            "bringing the replica {place} up to date: {} entries from PostgreSQL",
            size - have
        );
        indicatif::ProgressBar::new(size - have)
    } else {
        indicatif::ProgressBar::hidden()
    };
    in_batches(primary, have, size, &mut |batch| {
        sink.import_batch(batch).map_err(|e| {
            StoreError::Backend(format!(
                "the replica could not take the entries from {}: {e}",
                batch.first().map_or(0, |e| e.entry.index)
            ))
        })?;
        bar.inc(batch.len() as u64);
        Ok(())
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    bar.finish_and_clear();
    // The checkpoints come in the same order on both; the replica takes those it lacks over
    // the entries it now holds.
    let mine = local
        .checkpoints()
        .map_err(|e| anyhow::anyhow!("--replica: {e}"))?;
    let theirs = primary.checkpoints().map_err(|e| anyhow::anyhow!("{e}"))?;
    for cp in theirs.iter().skip(mine.len()) {
        if cp.size > size {
            break;
        }
        sink.put_checkpoint(cp)
            .with_context(|| format!("--replica: {place}"))?;
    }
    Ok(size - have)
}

/// Gives the replica the witnesses' cosignatures PostgreSQL keeps and it lacks (the server
/// publishes from its replica; PostgreSQL is where they are durable).
pub fn catch_up_cosignatures(primary: &PostgresStore, local: &SqliteStore) -> Result<usize> {
    let theirs = primary.cosignatures().map_err(|e| anyhow::anyhow!("{e}"))?;
    if theirs.is_empty() {
        return Ok(0);
    }
    local
        .put_cosignatures(&theirs)
        .map_err(|e| anyhow::anyhow!("--replica: {e}"))
}

/// Hands the entries `from..until` of `source` to `each`, sealed as they are stored, in batches
/// of at most 2,000.
pub fn in_batches(
    source: &dyn Store,
    from: u64,
    until: u64,
    each: &mut dyn FnMut(&[SealedEntry]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut batch: Vec<SealedEntry> = Vec::with_capacity(BATCH);
    source.scan(from, &mut |row| {
        if row.index >= until {
            return Ok(false);
        }
        let entry = Entry::decode(row.bytes)
            .map_err(|e| StoreError::Corrupt(format!("entry {}: {e}", row.index)))?;
        batch.push(SealedEntry {
            entry,
            bytes: row.bytes.to_vec(),
            leaf: leaf_hash(row.bytes),
        });
        if batch.len() == BATCH {
            each(&batch)?;
            batch.clear();
        }
        Ok(true)
    })?;
    if !batch.is_empty() {
        each(&batch)?;
    }
    Ok(())
}
