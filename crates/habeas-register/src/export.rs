//! The export format: the whole register as JSON Lines — a header (origin, verifier key, size
//! and the latest signed checkpoint), every entry's bytes, every checkpoint, then the
//! witnesses' cosignatures of those checkpoints (see docs/register-format.md, "Export
//! format"). Written here once for the command line and the server.

use crate::store::{Store, StoreError, StoredCheckpoint, StoredCosignature};
use crate::witness::{verify_cosignature, CosignVerifierKey};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::json;
use std::io::Write;

pub const FORMAT: &str = "habeas-register-export";
/// The newest version this code reads and writes: version 1 and cosignature lines.
pub const VERSION: u64 = 2;
/// The version of an export without cosignature lines, which is exactly a version 1 export
/// (and written as one, so that every reader of version 1 reads it).
pub const VERSION_WITHOUT_COSIGNATURES: u64 = 1;

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the register has no checkpoint yet; sign one first (`habeas checkpoint`)")]
    NoCheckpoint,
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Cosignature(#[from] CosignatureError),
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
}

/// A kept cosignature that does not hold: the register that keeps it is damaged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    #[error("the cosignature by {witness} is kept for a checkpoint of size {size}, but the register has no checkpoint of that size")]
    NoCheckpoint { size: u64, witness: String },
    #[error(
        "the cosignature by {witness} of the checkpoint of size {size} does not verify: {why}"
    )]
    Invalid {
        size: u64,
        witness: String,
        why: String,
    },
}

/// Checks a kept cosignature against the register's checkpoints, as `habeas copy` and `habeas
/// import` do before keeping it: its witness's key parses, its line is one signature line, a
/// checkpoint of its size exists and the line verifies over that checkpoint's note with the
/// witness's key, at the timestamp kept with it.
pub fn check_cosignature(
    c: &StoredCosignature,
    checkpoints: &[StoredCheckpoint],
) -> Result<(), CosignatureError> {
    let invalid = |why: String| CosignatureError::Invalid {
        size: c.size,
        witness: c.witness.clone(),
        why,
    };
    let key = CosignVerifierKey::parse(&c.witness)
        .map_err(|e| invalid(format!("the witness's key: {e}")))?;
    let one_line = c
        .line
        .strip_suffix('\n')
        .is_some_and(|l| !l.is_empty() && !l.contains('\n'));
    if !one_line {
        return Err(invalid(
            "the cosignature is not one line ending in a newline".into(),
        ));
    }
    let mut of_size = checkpoints.iter().filter(|cp| cp.size == c.size).peekable();
    if of_size.peek().is_none() {
        return Err(CosignatureError::NoCheckpoint {
            size: c.size,
            witness: c.witness.clone(),
        });
    }
    let mut why = String::new();
    for cp in of_size {
        match verify_cosignature(&format!("{}{}", cp.note, c.line), &key) {
            Ok(ts) if ts == c.timestamp => return Ok(()),
            Ok(ts) => {
                why = format!(
                    "it was made at {ts}, not at the timestamp {} kept with it",
                    c.timestamp
                );
            }
            Err(e) => why = e.to_string(),
        }
    }
    Err(invalid(why))
}

/// What an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exported {
    pub entries: u64,
    pub checkpoints: usize,
    pub cosignatures: usize,
    /// The size the latest checkpoint covers.
    pub signed: u64,
}

/// Writes the register to `w`, without cosignatures. Entries appended meanwhile are left for
/// the next export: the header's size, read after the checkpoints, is what the export holds.
pub fn write_export(store: &dyn Store, w: &mut dyn Write) -> Result<Exported, ExportError> {
    write_export_with(store, &[], w)
}

/// Writes the register to `w` with the witnesses' `cosignatures` of its checkpoints (read from
/// the store before it, so that every one's checkpoint is among those written; the one of a
/// checkpoint that is not is damage). Each is checked as [`check_cosignature`] says before
/// anything is written.
pub fn write_export_with(
    store: &dyn Store,
    cosignatures: &[StoredCosignature],
    w: &mut dyn Write,
) -> Result<Exported, ExportError> {
    let info = store.info()?;
    let checkpoints = store.checkpoints()?;
    let latest = checkpoints.last().ok_or(ExportError::NoCheckpoint)?;
    for c in cosignatures {
        check_cosignature(c, &checkpoints)?;
    }
    let size = store.size()?;
    let version = if cosignatures.is_empty() {
        VERSION_WITHOUT_COSIGNATURES
    } else {
        VERSION
    };
    let header = json!({
        "type": "header",
        "format": FORMAT,
        "version": version,
        "origin": info.origin,
        "verifier_key": info.verifier.to_string(),
        "size": size,
        "checkpoint": latest.note,
    });
    writeln!(w, "{header}")?;
    let mut written = 0u64;
    let mut io_error = None;
    store.scan(0, &mut |row| {
        if row.index >= size {
            return Ok(false);
        }
        let line = json!({"type": "entry", "index": row.index, "bytes": B64.encode(row.bytes)});
        if let Err(e) = writeln!(w, "{line}") {
            io_error = Some(e);
            return Ok(false);
        }
        written += 1;
        Ok(true)
    })?;
    if let Some(e) = io_error {
        return Err(e.into());
    }
    for cp in &checkpoints {
        let line = json!({"type": "checkpoint", "size": cp.size, "made_at": cp.made_at.to_string(), "note": cp.note});
        writeln!(w, "{line}")?;
    }
    for c in cosignatures {
        let line = json!({"type": "cosignature", "size": c.size, "witness": c.witness, "timestamp": c.timestamp, "line": c.line});
        writeln!(w, "{line}")?;
    }
    w.flush()?;
    Ok(Exported {
        entries: written,
        checkpoints: checkpoints.len(),
        cosignatures: cosignatures.len(),
        signed: latest.size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, Tree};
    use crate::note::{Checkpoint, Signer};
    use crate::witness::CosignerKey;
    use crate::Timestamp;

    const ORIGIN: &str = "habeas.example/register/test";

    fn checkpoint(size: u64) -> StoredCheckpoint {
        let tree = Tree::from_leaves((0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect());
        let note = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root: tree.root_at(size).unwrap(),
        }
        .sign(&Signer::from_seed(ORIGIN, [7; 32]).unwrap())
        .unwrap();
        StoredCheckpoint {
            size,
            made_at: Timestamp(0),
            note,
        }
    }

    fn cosigned(cp: &StoredCheckpoint, key: &CosignerKey, timestamp: u64) -> StoredCosignature {
        let (text, _) = cp.note.split_once("\n\n").unwrap();
        StoredCosignature {
            size: cp.size,
            witness: key.verifier().to_string(),
            timestamp,
            line: key.cosign(&format!("{text}\n"), timestamp).unwrap(),
        }
    }

    #[test]
    fn a_cosignature_is_kept_only_when_it_verifies_over_its_checkpoint() {
        let key = CosignerKey::from_seed("habeas.example/witness/test", [11; 32]).unwrap();
        let checkpoints = [checkpoint(0), checkpoint(5), checkpoint(9)];
        let good = cosigned(&checkpoints[1], &key, 1_767_225_600);
        assert_eq!(check_cosignature(&good, &checkpoints), Ok(()));

        // Its checkpoint is not there.
        let missing = StoredCosignature {
            size: 7,
            ..good.clone()
        };
        assert!(matches!(
            check_cosignature(&missing, &checkpoints),
            Err(CosignatureError::NoCheckpoint { size: 7, .. })
        ));
        // Moved to another checkpoint.
        let moved = StoredCosignature {
            size: 9,
            ..good.clone()
        };
        let e = check_cosignature(&moved, &checkpoints).unwrap_err();
        assert!(
            matches!(e, CosignatureError::Invalid { size: 9, .. }),
            "{e}"
        );
        assert!(e.to_string().contains(&good.witness), "{e}");
        // Another timestamp kept with it.
        let later = StoredCosignature {
            timestamp: good.timestamp + 1,
            ..good.clone()
        };
        assert!(check_cosignature(&later, &checkpoints).is_err());
        // One character of the signature changed.
        let mut line = good.line.clone().into_bytes();
        let at = line.len() - 5;
        line[at] = if line[at] == b'A' { b'B' } else { b'A' };
        let changed = StoredCosignature {
            line: String::from_utf8(line).unwrap(),
            ..good.clone()
        };
        assert!(check_cosignature(&changed, &checkpoints).is_err());
        // Another witness's key named with it.
        let other = CosignerKey::from_seed("habeas.example/witness/test", [12; 32]).unwrap();
        let claimed = StoredCosignature {
            witness: other.verifier().to_string(),
            ..good.clone()
        };
        assert!(check_cosignature(&claimed, &checkpoints).is_err());
        // A second line smuggled in after it.
        let two = StoredCosignature {
            line: format!("{}{}", good.line, good.line),
            ..good.clone()
        };
        assert!(check_cosignature(&two, &checkpoints).is_err());
        // Not a key at all.
        let nonsense = StoredCosignature {
            witness: "nobody".into(),
            ..good
        };
        assert!(check_cosignature(&nonsense, &checkpoints).is_err());
    }
}
