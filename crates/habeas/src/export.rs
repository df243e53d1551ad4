//! `habeas export` and `habeas import`: the whole register as JSON Lines (see
//! docs/register-format.md, "Export format").

use crate::open::DbArgs;
use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use habeas_register::merkle::{leaf_hash, to_hex};
use habeas_register::note::{Checkpoint, VerifierKey};
use habeas_register::store::{LogSink, RegisterInfo, Store, StoredCheckpoint, StoredCosignature};
use habeas_register::verify::verify;
use habeas_register::{Entry, SealedEntry, Timestamp};
use habeas_store_sqlite::SqliteStore;
use serde_json::Value;
use std::io::{BufRead, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use habeas_register::export::{check_cosignature, FORMAT, VERSION, VERSION_WITHOUT_COSIGNATURES};

pub fn export(db: &DbArgs, actor: &str, out: &Path) -> Result<ExitCode> {
    let store = db.open_store()?;
    // Read before the checkpoints (a cosignature is kept after its checkpoint), so that every
    // one's checkpoint is in the export.
    let cosignatures = store.cosignatures().map_err(|e| anyhow::anyhow!("{e}"))?;
    let tmp = sibling(out, ".partial");
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut w = BufWriter::new(file);
    let done = match habeas_register::export::write_export_with(&store, &cosignatures, &mut w) {
        Ok(d) => d,
        Err(e) => {
            drop(w);
            let _ = std::fs::remove_file(&tmp);
            return Err(anyhow::anyhow!("{e}"));
        }
    };
    let file = w
        .into_inner()
        .map_err(|e| anyhow::anyhow!("writing the export: {e}"))?;
    file.sync_all()?;
    // A copy of the whole register leaves the system: a disclosure, in the access log before
    // the file takes its name.
    db.log_access(&[habeas_web::access::Event::Disclosure {
        username: actor,
        facility: habeas_web::access::EVERY_FACILITY,
        what: "register export",
        to: &out.display().to_string(),
    }])?;
    std::fs::rename(&tmp, out)?;
    println!(
        "exported {} entries, {} checkpoints and {} cosignatures to {} (latest checkpoint covers {} entries)",
        done.entries,
        done.checkpoints,
        done.cosignatures,
        out.display(),
        done.signed
    );
    Ok(ExitCode::SUCCESS)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn field<'a>(v: &'a Value, line: usize, name: &str) -> Result<&'a Value> {
    v.get(name)
        .with_context(|| format!("line {line}: the field {name:?} is missing"))
}

fn str_field<'a>(v: &'a Value, line: usize, name: &str) -> Result<&'a str> {
    field(v, line, name)?
        .as_str()
        .with_context(|| format!("line {line}: the field {name:?} must be a string"))
}

fn u64_field(v: &Value, line: usize, name: &str) -> Result<u64> {
    field(v, line, name)?
        .as_u64()
        .with_context(|| format!("line {line}: the field {name:?} must be a whole number"))
}

pub fn import(db: &DbArgs, input: &Path, trusted: Option<&str>) -> Result<ExitCode> {
    if db.db.exists() {
        let store = db.open_store()?;
        if store.size().map_err(|e| anyhow::anyhow!("{e}"))? > 0 {
            bail!(
                "{} already holds entries; import only into a new store",
                db.db.display()
            );
        }
        bail!(
            "{} exists; import creates a new store: choose a --db that does not exist",
            db.db.display()
        );
    }
    let tmp = sibling(&db.db, ".importing");
    let cleanup = |p: &Path| {
        for suffix in ["", "-wal", "-shm", "-writer.lock"] {
            let _ = std::fs::remove_file(sibling(p, suffix));
        }
    };
    cleanup(&tmp);
    let result = import_into(&tmp, input, trusted);
    match result {
        Ok(Imported {
            entries,
            cosignatures,
            root,
        }) => {
            let _ = std::fs::remove_file(sibling(&tmp, "-writer.lock"));
            std::fs::rename(&tmp, &db.db)?;
            println!(
                "imported {entries} entries and {cosignatures} cosignatures into {}",
                db.db.display()
            );
            println!("root: {}", to_hex(&root));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            cleanup(&tmp);
            Err(e.context(format!("nothing was imported from {}", input.display())))
        }
    }
}

/// What an import loaded.
struct Imported {
    entries: u64,
    cosignatures: usize,
    root: [u8; 32],
}

fn import_into(tmp: &Path, input: &Path, trusted: Option<&str>) -> Result<Imported> {
    let file =
        std::fs::File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
    let mut lines = std::io::BufReader::new(file).lines();
    let first = lines.next().context("line 1: the file is empty")??;
    let header: Value = serde_json::from_str(&first).context("line 1: not JSON")?;
    if str_field(&header, 1, "type")? != "header" || str_field(&header, 1, "format")? != FORMAT {
        bail!("line 1: not a {FORMAT} header");
    }
    let version = u64_field(&header, 1, "version")?;
    if !(VERSION_WITHOUT_COSIGNATURES..=VERSION).contains(&version) {
        bail!(
            "line 1: unknown export version {version} (this habeas reads versions {VERSION_WITHOUT_COSIGNATURES} to {VERSION})"
        );
    }
    let origin = str_field(&header, 1, "origin")?.to_owned();
    let key = VerifierKey::parse(str_field(&header, 1, "verifier_key")?)
        .context("line 1: verifier_key")?;
    match trusted {
        Some(t) => {
            let t = VerifierKey::parse(t).context("--verifier-key")?;
            if t != key {
                bail!("line 1: the export is signed by {key}, not by the key you trust ({t})");
            }
        }
        None => eprintln!(
            "note: checking against the verifier key inside the export; pass --verifier-key to check against one you trust"
        ),
    }
    let head = Checkpoint::open(str_field(&header, 1, "checkpoint")?, &key)
        .context("line 1: checkpoint")?;
    if head.origin != origin {
        bail!("line 1: the checkpoint's origin differs from the header's");
    }
    let size = u64_field(&header, 1, "size")?;
    let store = SqliteStore::create(
        tmp,
        &RegisterInfo {
            origin,
            verifier: key.clone(),
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut sink = store.sink().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut batch = Vec::with_capacity(1000);
    let mut next = 0u64;
    let mut checkpoints = Vec::new();
    let mut cosignatures: Vec<StoredCosignature> = Vec::new();
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        let line = line?;
        let v: Value =
            serde_json::from_str(&line).with_context(|| format!("line {n}: not JSON"))?;
        match str_field(&v, n, "type")? {
            "entry" => {
                if !checkpoints.is_empty() || !cosignatures.is_empty() {
                    bail!("line {n}: entries must come before checkpoints");
                }
                let index = u64_field(&v, n, "index")?;
                if index != next {
                    bail!("line {n}: expected entry {next}, found {index}");
                }
                let bytes = B64
                    .decode(str_field(&v, n, "bytes")?)
                    .with_context(|| format!("line {n}: bytes are not base64"))?;
                let entry =
                    Entry::decode(&bytes).with_context(|| format!("line {n}: entry {index}"))?;
                if entry.index != index {
                    bail!("line {n}: the entry's bytes say index {}", entry.index);
                }
                let leaf = leaf_hash(&bytes);
                batch.push(SealedEntry { entry, bytes, leaf });
                next += 1;
                if batch.len() == 1000 {
                    sink.import_batch(&batch)
                        .map_err(|e| anyhow::anyhow!("line {n}: {e}"))?;
                    batch.clear();
                }
            }
            "checkpoint" => {
                if !cosignatures.is_empty() {
                    bail!("line {n}: checkpoints must come before cosignatures");
                }
                let made_at = Timestamp::parse(str_field(&v, n, "made_at")?)
                    .with_context(|| format!("line {n}: made_at"))?;
                checkpoints.push(StoredCheckpoint {
                    size: u64_field(&v, n, "size")?,
                    made_at,
                    note: str_field(&v, n, "note")?.to_owned(),
                });
            }
            "cosignature" => {
                if version < VERSION {
                    bail!("line {n}: a version {version} export holds no cosignatures (they came with version {VERSION})");
                }
                if checkpoints.is_empty() {
                    bail!("line {n}: cosignatures must come after the checkpoints");
                }
                let c = StoredCosignature {
                    size: u64_field(&v, n, "size")?,
                    witness: str_field(&v, n, "witness")?.to_owned(),
                    timestamp: u64_field(&v, n, "timestamp")?,
                    line: str_field(&v, n, "line")?.to_owned(),
                };
                if cosignatures
                    .iter()
                    .any(|k| k.size == c.size && k.witness == c.witness)
                {
                    bail!(
                        "line {n}: a second cosignature by {} of the checkpoint of size {}",
                        c.witness,
                        c.size
                    );
                }
                check_cosignature(&c, &checkpoints).with_context(|| format!("line {n}"))?;
                cosignatures.push(c);
            }
            other => bail!("line {n}: unknown line type {other:?}"),
        }
    }
    if !batch.is_empty() {
        sink.import_batch(&batch)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    if next != size {
        bail!("the header says {size} entries but the file holds {next}");
    }
    for cp in &checkpoints {
        sink.put_checkpoint(cp)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    drop(sink);
    let report = verify(&store, &key)
        .map_err(|e| anyhow::anyhow!("the imported register does not verify: {e}"))?;
    let header_note = str_field(&header, 1, "checkpoint")?;
    if checkpoints.last().map(|c| c.note.as_str()) != Some(header_note) {
        bail!("the header's checkpoint is not the last checkpoint in the file");
    }
    if report.latest_checkpoint_size != Some(head.size) {
        bail!(
            "the header's checkpoint (size {}) is not the newest checkpoint in the file",
            head.size
        );
    }
    if let Err(m) = store
        .check_projections()
        .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        bail!("{m}");
    }
    // Each was checked against the checkpoints of the file as it was read; those checkpoints
    // now verify with the register's key.
    store
        .put_cosignatures(&cosignatures)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    store.close().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Imported {
        entries: report.entries,
        cosignatures: cosignatures.len(),
        root: report.root,
    })
}
