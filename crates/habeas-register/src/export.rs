//! The export format: the whole register as JSON Lines — a header (origin, verifier key, size
//! and the latest signed checkpoint), every entry's bytes, then every checkpoint (see
//! docs/register-format.md, "Export format"). Written here once for the command line and the
//! server.

use crate::store::{Store, StoreError};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::json;
use std::io::Write;

pub const FORMAT: &str = "habeas-register-export";
pub const VERSION: u64 = 1;

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the register has no checkpoint yet; sign one first (`habeas checkpoint`)")]
    NoCheckpoint,
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
}

/// What an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exported {
    pub entries: u64,
    pub checkpoints: usize,
    /// The size the latest checkpoint covers.
    pub signed: u64,
}

/// Writes the register to `w`. Entries appended meanwhile are left for the next export: the
/// header's size, read after the checkpoints, is what the export holds.
pub fn write_export(store: &dyn Store, w: &mut dyn Write) -> Result<Exported, ExportError> {
    let info = store.info()?;
    let checkpoints = store.checkpoints()?;
    let latest = checkpoints.last().ok_or(ExportError::NoCheckpoint)?;
    let size = store.size()?;
    let header = json!({
        "type": "header",
        "format": FORMAT,
        "version": VERSION,
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
    w.flush()?;
    Ok(Exported {
        entries: written,
        checkpoints: checkpoints.len(),
        signed: latest.size,
    })
}
