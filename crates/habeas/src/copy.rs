//! `habeas copy --from DB --to DB`: a whole register from one store to another, SQLite or
//! PostgreSQL in either direction. The source is verified first; the copy is verified after,
//! and its root hash must be the source's.

use crate::open::DbArgs;
use anyhow::{bail, Result};
use habeas_register::merkle::to_hex;
use habeas_register::store::{LogSink, RegisterInfo, Store, StoreError};
use habeas_register::verify::verify;
use habeas_store_postgres::PostgresStore;
use habeas_store_sqlite::SqliteStore;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn copy(db: &DbArgs, actor: &str, from: PathBuf, to: PathBuf) -> Result<ExitCode> {
    let source_args = DbArgs {
        db: from,
        ..db.clone()
    };
    let target_args = DbArgs {
        db: to,
        ..db.clone()
    };
    let source = source_args.open_register()?;
    let info = source.info().map_err(|e| anyhow::anyhow!("--from: {e}"))?;
    let before = verify(&*source, &info.verifier).map_err(|e| {
        anyhow::anyhow!("--from: the register does not verify, so it is not copied: {e}")
    })?;
    let (target, mut sink) = create_target(&target_args, &info)?;
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
    let checkpoints = source.checkpoints().map_err(|e| anyhow::anyhow!("{e}"))?;
    for cp in &checkpoints {
        if cp.size <= before.entries {
            sink.put_checkpoint(cp)
                .map_err(|e| anyhow::anyhow!("--to: {e}"))?;
        }
    }
    drop(sink);
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
    println!(
        "copied {} entries and {} checkpoints from {} to {}",
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
fn create_target(
    target: &DbArgs,
    info: &RegisterInfo,
) -> Result<(std::sync::Arc<dyn Store>, Box<dyn LogSink>)> {
    match target.postgres_url() {
        Some(url) => {
            let store =
                PostgresStore::create(url, info).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
            let sink = store.sink().map_err(|e| anyhow::anyhow!("--to: {e}"))?;
            Ok((std::sync::Arc::new(store), Box::new(sink)))
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
            Ok((std::sync::Arc::new(store), Box::new(sink)))
        }
    }
}
