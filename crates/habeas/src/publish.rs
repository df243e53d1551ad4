//! `habeas publish --out DIR`: the published checkpoint and every tile of its tree as static
//! files (C2SP `tlog-tiles`, docs/register-format.md §15), in the layout `habeas serve`
//! answers, for any web server or object store; and the check of the witnesses' cosignatures
//! that `habeas verify --witness` adds.

use crate::open::DbArgs;
use anyhow::{bail, Context as _, Result};
use habeas_register::note::{Checkpoint, VerifierKey};
use habeas_register::store::{Store as _, StoredCheckpoint, StoredCosignature};
use habeas_register::tiles::{tile_path, tiles_for_size, TILE_WIDTH};
use habeas_register::witness::verify_cosignature;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// The directory to write (made if absent): `checkpoint` and `tile/…`, served as they are
    /// by any static web server under the register's public prefix.
    #[arg(long)]
    out: PathBuf,
    /// A witness whose cosignature the published checkpoint carries, as its verifier key
    /// (`<verifier key>@<url>`, as `habeas serve` takes it, is accepted too); repeat for
    /// several. Without one, the latest signed checkpoint is published as it is.
    #[arg(long = "witness", value_name = "VKEY")]
    witnesses: Vec<String>,
    /// How many of the witnesses must have cosigned [default: all of them].
    #[arg(long, requires = "witnesses")]
    witness_quorum: Option<usize>,
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// that a reader sees the old file or the new one, never a part.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("a file has a directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub fn publish(db: &DbArgs, args: PublishArgs) -> Result<ExitCode> {
    let t = crate::serve::transparency(&args.witnesses, args.witness_quorum, false)?;
    let store = db.open_store()?;
    let info = store.info().map_err(|e| anyhow::anyhow!("{e}"))?;
    let Some(p) = t.published(&store).map_err(|e| anyhow::anyhow!("{e}"))? else {
        bail!(
            "there is no checkpoint to publish yet: none is signed{}",
            if args.witnesses.is_empty() {
                ""
            } else {
                ", or the witnesses named have not cosigned one"
            }
        );
    };
    let dir = &args.out;
    // What the directory holds already must be this register's, at most as large, and a
    // prefix of this tree: published files are never taken back.
    let existing = dir.join("checkpoint");
    if existing.exists() {
        let text = std::fs::read_to_string(&existing)
            .with_context(|| format!("cannot read {}", existing.display()))?;
        let old = Checkpoint::open(&text, &info.verifier).map_err(|e| {
            anyhow::anyhow!(
                "{} is not a checkpoint of this register ({e}); publish into another directory",
                existing.display()
            )
        })?;
        if old.size > p.size {
            bail!(
                "{} holds a checkpoint of size {}, larger than this register's published one ({}): nothing was written (a restored backup, or another register's directory?)",
                existing.display(),
                old.size,
                p.size
            );
        }
        let ours = t
            .root_at(&store, old.size)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if ours != old.root {
            bail!(
                "{} holds a checkpoint of size {} whose tree is not this register's: the register was rewritten or forked; nothing was written",
                existing.display(),
                old.size
            );
        }
    }
    let (mut written, mut unchanged) = (0usize, 0usize);
    for (level, index, width) in tiles_for_size(p.size) {
        let bytes = t
            .tile(&store, p.size, level, index, width)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .context("a tile of the published size")?;
        let rel = tile_path(level, index, width);
        let path = dir.join(&rel);
        match std::fs::read(&path) {
            Ok(old) if old == bytes => {
                unchanged += 1;
                continue;
            }
            Ok(_) => bail!(
                "{} differs from this register's {rel}: a tile never changes, so the directory was published from another tree (the register was rewritten or forked); nothing more was written",
                path.display()
            ),
            Err(_) => {}
        }
        write_atomically(&path, &bytes)?;
        written += 1;
    }
    write_atomically(&existing, p.note.as_bytes())?;
    let full = tiles_for_size(p.size)
        .iter()
        .filter(|t| t.2 == TILE_WIDTH)
        .count();
    println!(
        "published the checkpoint of size {} to {}{}",
        p.size,
        dir.display(),
        if p.cosigners.is_empty() {
            String::new()
        } else {
            format!(", cosigned by {}", p.cosigners.join(", "))
        }
    );
    println!(
        "{written} tiles written, {unchanged} unchanged ({full} full, immutable); no entries (they hold personal data)"
    );
    Ok(ExitCode::SUCCESS)
}

/// The cosignatures kept with the register's checkpoints: in PostgreSQL for a register there.
fn kept_cosignatures(db: &DbArgs) -> Result<Vec<StoredCosignature>> {
    match db.postgres_url() {
        Some(url) => habeas_store_postgres::PostgresStore::open(url)
            .and_then(|p| p.cosignatures())
            .map_err(|e| anyhow::anyhow!("{e}")),
        None => habeas_store_sqlite::SqliteStore::open(&db.db)
            .and_then(|s| s.cosignatures())
            .map_err(|e| anyhow::anyhow!("{e}")),
    }
}

/// `habeas verify --witness`: every kept cosignature by the witnesses named verifies over the
/// checkpoint of its size, and some checkpoint is cosigned by a quorum of them. `Ok(Ok(what
/// was checked))`, or `Ok(Err(the failure))`.
pub fn check_witnesses(
    db: &DbArgs,
    witnesses: &[String],
    quorum: Option<usize>,
    checkpoints: &[StoredCheckpoint],
    register: &VerifierKey,
) -> Result<std::result::Result<String, String>> {
    let t = crate::serve::transparency(witnesses, quorum, false)?;
    let kept = kept_cosignatures(db)?;
    let mut by_size: BTreeMap<u64, BTreeSet<usize>> = BTreeMap::new();
    let (mut checked, mut others) = (0usize, 0usize);
    for c in &kept {
        let Some(i) = t.witnesses().iter().position(|w| {
            habeas_register::witness::CosignVerifierKey::parse(&c.witness)
                .ok()
                .as_ref()
                == Some(&w.key)
        }) else {
            others += 1;
            continue;
        };
        let w = &t.witnesses()[i];
        let Some(cp) = checkpoints.iter().rev().find(|cp| cp.size == c.size) else {
            return Ok(Err(format!(
                "a cosignature by {} is kept for a checkpoint of size {}, but the register has no checkpoint of that size",
                w.name, c.size
            )));
        };
        match verify_cosignature(&format!("{}{}", cp.note, c.line), &w.key) {
            Ok(ts) if ts == c.timestamp => {}
            _ => {
                return Ok(Err(format!(
                    "the cosignature by {} of the checkpoint of size {} does not verify",
                    w.name, c.size
                )))
            }
        }
        // The register's own signature is on the note (verify checked every checkpoint).
        if Checkpoint::open(&cp.note, register).is_err() {
            return Ok(Err(format!(
                "the checkpoint of size {} does not verify",
                c.size
            )));
        }
        checked += 1;
        by_size.entry(c.size).or_default().insert(i);
    }
    let published = by_size
        .iter()
        .rev()
        .find(|(_, ws)| ws.len() >= t.quorum())
        .map(|(size, ws)| (*size, ws.clone()));
    let Some((size, ws)) = published else {
        return Ok(Err(format!(
            "no checkpoint is cosigned by {} of the {} witnesses named ({checked} of their cosignatures checked)",
            t.quorum(),
            t.witnesses().len()
        )));
    };
    let names: Vec<&str> = ws.iter().map(|i| t.witnesses()[*i].name.as_str()).collect();
    let latest = checkpoints.last().map_or(0, |c| c.size);
    let mut out = format!(
        "witnesses: {checked} cosignatures checked; the latest published checkpoint, of size {size}, is cosigned by {} ({} of {} required)",
        names.join(", "),
        t.quorum(),
        t.witnesses().len()
    );
    if others > 0 {
        out.push_str(&format!(
            "; {others} cosignatures by other witnesses not checked"
        ));
    }
    if latest > size {
        out.push_str(&format!(
            "\nnote: the checkpoints after size {size} (up to {latest}) are not cosigned by a quorum yet"
        ));
    }
    Ok(Ok(out))
}
