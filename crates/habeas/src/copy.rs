//! `habeas copy --from DB --to DB`: a whole register from one store to another, SQLite or
//! PostgreSQL in either direction, with the witnesses' cosignatures of its checkpoints. The
//! source is verified first, and each cosignature checked against its checkpoint before
//! anything is written; the copy is verified after, and its root hash must be the source's.

use crate::open::DbArgs;
use anyhow::{bail, Result};
use habeas_register::export::check_cosignature;
use habeas_register::merkle::to_hex;
use habeas_register::store::{LogSink, RegisterInfo, Store, StoreError, StoredCosignature};
use habeas_register::verify::verify;
use habeas_store_postgres::PostgresStore;
use habeas_store_sqlite::SqliteStore;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// A store of either backend, as itself: the cosignatures are kept beside the register, not
/// through [`Store`].
enum Backend {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PostgresStore>),
}

impl Backend {
    fn register(&self) -> Arc<dyn Store> {
        match self {
            Backend::Sqlite(s) => s.clone(),
            Backend::Postgres(p) => p.clone(),
        }
    }

    fn cosignatures(&self) -> Result<Vec<StoredCosignature>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.cosignatures(),
            Backend::Postgres(p) => p.cosignatures(),
        }
    }

    fn put_cosignatures(&self, rows: &[StoredCosignature]) -> Result<usize, StoreError> {
        match self {
            Backend::Sqlite(s) => s.put_cosignatures(rows),
            Backend::Postgres(p) => p.put_cosignatures(rows),
        }
    }
}

/// The source, opened as [`DbArgs::open_register`] opens it.
fn open_source(source: &DbArgs) -> Result<Backend> {
    Ok(match source.postgres_url() {
        Some(url) => Backend::Postgres(Arc::new(
            PostgresStore::open(url).map_err(|e| anyhow::anyhow!("{e}"))?,
        )),
        None => Backend::Sqlite(Arc::new(source.open_store()?)),
    })
}

pub fn copy(db: &DbArgs, actor: &str, from: PathBuf, to: PathBuf) -> Result<ExitCode> {
    let source_args = DbArgs {
        db: from,
        ..db.clone()
    };
    let target_args = DbArgs {
        db: to,
        ..db.clone()
    };
    let source_backend = open_source(&source_args)?;
    let source = source_backend.register();
    let info = source.info().map_err(|e| anyhow::anyhow!("--from: {e}"))?;
    let before = verify(&*source, &info.verifier).map_err(|e| {
        anyhow::anyhow!("--from: the register does not verify, so it is not copied: {e}")
    })?;
    // The cosignatures are read before the checkpoints (a cosignature is kept after its
    // checkpoint), those of the checkpoints copied each checked before anything is written.
    let cosignatures: Vec<StoredCosignature> = source_backend
        .cosignatures()
        .map_err(|e| anyhow::anyhow!("--from: {e}"))?
        .into_iter()
        .filter(|c| c.size <= before.entries)
        .collect();
    let checkpoints = source.checkpoints().map_err(|e| anyhow::anyhow!("{e}"))?;
    for c in &cosignatures {
        check_cosignature(c, &checkpoints).map_err(|e| {
            anyhow::anyhow!(
                "--from: {e}; the register's kept cosignatures are damaged, so it is not copied"
            )
        })?;
    }
    let (target_backend, mut sink) = create_target(&target_args, &info)?;
    let target = target_backend.register();
    // The whole register leaves its store: a disclosure, in the source's access log before any
    // of it is written elsewhere (a PostgreSQL register has no access log yet).
    if source_args.postgres_url().is_none() {
        source_args.log_access(&[habeas_web::access::Event::Disclosure {
            username: actor,
            facility: habeas_web::access::EVERY_FACILITY,
            what: "register copy",
            to: &target_args.shown(),
        }])?;
    }
    let bar = indicatif::ProgressBar::new(before.entries);
    crate::replica::in_batches(&*source, 0, before.entries, &mut |batch| {
        sink.begin()?;
        let first = batch.first().map_or(0, |e| e.entry.index);
        let written = sink.append_group(batch).map_err(|e| {
            StoreError::Backend(format!("--to: the entries from {first} were refused: {e}"))
        });
        if let Err(e) = written {
            sink.rollback();
            return Err(e);
        }
        sink.commit()?;
        bar.inc(batch.len() as u64);
        Ok(())
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    bar.finish_and_clear();
    for cp in &checkpoints {
        if cp.size <= before.entries {
            sink.put_checkpoint(cp)
                .map_err(|e| anyhow::anyhow!("--to: {e}"))?;
        }
    }
    drop(sink);
    let kept = target_backend
        .put_cosignatures(&cosignatures)
        .map_err(|e| anyhow::anyhow!("--to: the cosignatures: {e}"))?;
    let after = verify(&*target, &info.verifier)
        .map_err(|e| anyhow::anyhow!("--to: the copy does not verify: {e}"))?;
    if after.root != before.root || after.entries != before.entries {
        bail!(
            "--to: the copy's root {} over {} entries is not the source's {} over {}",
            to_hex(&after.root),
            after.entries,
            to_hex(&before.root),
            before.entries
        );
    }
    if kept != cosignatures.len() {
        bail!(
            "--to: {kept} of the {} cosignatures were kept: the copy holds others already",
            cosignatures.len()
        );
    }
    println!(
        "copied {} entries, {} checkpoints and {kept} cosignatures from {} to {}",
        after.entries,
        after.checkpoints,
        source_args.shown(),
        target_args.shown()
    );
    println!("root: {} (identical in both)", to_hex(&after.root));
    if target_args.postgres_url().is_none() {
        println!("the projections of the copy were built from its entries");
    }
    println!("not copied (they are not part of the register): accounts, sessions, the access log and the signing key; use the same signing key with the copy (--key)");
    Ok(ExitCode::SUCCESS)
}

/// Creates the target register with the source's identity, refusing a target that already
/// holds one.
fn create_target(target: &DbArgs, info: &RegisterInfo) -> Result<(Backend, Box<dyn LogSink>)> {
    match target.postgres_url() {
        Some(url) => {
            let store =
                PostgresStore::create(url, info).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
            let sink = store.sink().map_err(|e| anyhow::anyhow!("--to: {e}"))?;
            Ok((Backend::Postgres(Arc::new(store)), Box::new(sink)))
        }
        None => {
            if target.db.exists() {
                bail!(
                    "--to: {} exists already; a copy goes into a new store",
                    target.db.display()
                );
            }
            let store =
                SqliteStore::create(&target.db, info).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
            let sink = store.sink().map_err(|e| anyhow::anyhow!("--to: {e}"))?;
            Ok((Backend::Sqlite(Arc::new(store)), Box::new(sink)))
        }
    }
}
