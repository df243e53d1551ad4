//! Verification: recompute every leaf and the whole tree from the stored bytes, check every
//! checkpoint's signature, that each checkpoint's root is the root of that prefix of the
//! stored log, and that each checkpoint is consistent with the one before it (by an RFC 6962
//! consistency proof). Failures name the first bad index.
//!
//! The work is split over two threads: one reads the rows from the store, the other hashes
//! them, checks each entry's header and builds the tree.

use crate::entry::decode_header;
use crate::merkle::{leaf_hash, to_hex, verify_consistency, Hash, Tree};
use crate::note::{Checkpoint, VerifierKey};
use crate::store::{Store, StoreError};
use crate::time::Timestamp;
use std::sync::mpsc;

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub entries: u64,
    pub bytes: u64,
    pub checkpoints: usize,
    pub root: Hash,
    pub latest_checkpoint_size: Option<u64>,
}

/// The first problem found.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("entry {index}: {problem}")]
    Entry { index: u64, problem: String },
    #[error("checkpoint {position} (size {size}): {problem}")]
    Checkpoint {
        position: usize,
        size: u64,
        problem: String,
    },
    #[error("entries from index {first_missing} are missing: the register holds {stored} entries but checkpoint {position} covers {size}")]
    Truncated {
        first_missing: u64,
        stored: u64,
        position: usize,
        size: u64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl VerifyError {
    /// The first bad index, when the failure is about entries.
    pub fn first_bad_index(&self) -> Option<u64> {
        match self {
            Self::Entry { index, .. } => Some(*index),
            Self::Truncated { first_missing, .. } => Some(*first_missing),
            Self::Checkpoint { .. } | Self::Store(_) => None,
        }
    }
}

/// Rows handed from the reading thread to the tree-building thread.
struct Chunk {
    first: u64,
    data: Vec<u8>,
    ends: Vec<usize>,
    /// The leaf hashes recorded in the store (32 bytes each; anything else never matches).
    recorded: Vec<[u8; 32]>,
    /// Rows whose recorded leaf hash was not 32 bytes.
    malformed: Vec<bool>,
}

const CHUNK_ROWS: usize = 2048;

struct Built {
    tree: Tree,
    bytes: u64,
    failure: Option<VerifyError>,
}

/// Hashes and checks the rows of each chunk and grows the tree; hands emptied chunks back so
/// that the reader reuses their memory.
fn build(rx: mpsc::Receiver<Chunk>, back: mpsc::Sender<Chunk>, size: u64) -> Built {
    let mut tree = Tree::with_capacity(size);
    let mut bytes = 0u64;
    let mut last_time: Option<Timestamp> = None;
    for chunk in rx {
        let mut start = 0usize;
        for (i, &end) in chunk.ends.iter().enumerate() {
            let k = chunk.first + i as u64;
            let entry = &chunk.data[start..end];
            start = end;
            let fail = |problem: String| Some(VerifyError::Entry { index: k, problem });
            let leaf = leaf_hash(entry);
            if chunk.malformed[i] || chunk.recorded[i] != leaf {
                return Built {
                    tree,
                    bytes,
                    failure: fail(
                        "the stored bytes do not match the leaf hash recorded when it was written: the entry was changed"
                            .into(),
                    ),
                };
            }
            let (index, time) = match decode_header(entry) {
                Ok(h) => h,
                Err(e) => {
                    return Built {
                        tree,
                        bytes,
                        failure: fail(format!("the stored bytes are not an entry: {e}")),
                    }
                }
            };
            if index != k {
                return Built {
                    tree,
                    bytes,
                    failure: fail(format!(
                        "the stored bytes say index {index}: rows were swapped or moved"
                    )),
                };
            }
            if last_time.is_some_and(|t| time < t) {
                return Built {
                    tree,
                    bytes,
                    failure: fail("its time is earlier than the entry before it".into()),
                };
            }
            last_time = Some(time);
            bytes += entry.len() as u64;
            tree.push(leaf);
        }
        let mut empty = chunk;
        empty.data.clear();
        empty.ends.clear();
        empty.recorded.clear();
        empty.malformed.clear();
        let _ = back.send(empty);
    }
    Built {
        tree,
        bytes,
        failure: None,
    }
}

/// Verifies everything in `store` against `key` (the verifier key the caller trusts).
pub fn verify(store: &dyn Store, key: &VerifierKey) -> Result<VerifyReport, VerifyError> {
    let info = store.info()?;
    let stored = store.checkpoints()?;
    let mut heads: Vec<Checkpoint> = Vec::with_capacity(stored.len());
    for (position, cp) in stored.iter().enumerate() {
        let bad = |problem: String| VerifyError::Checkpoint {
            position,
            size: cp.size,
            problem,
        };
        let head = Checkpoint::open(&cp.note, key).map_err(|e| bad(e.to_string()))?;
        if head.origin != info.origin {
            return Err(bad(format!(
                "origin {:?} is not this register's {:?}",
                head.origin, info.origin
            )));
        }
        if head.size != cp.size {
            return Err(bad(format!("the signed size is {}", head.size)));
        }
        if let Some(prev) = heads.last() {
            if head.size < prev.size {
                return Err(bad(format!(
                    "it is smaller than the checkpoint before it ({})",
                    prev.size
                )));
            }
        }
        heads.push(head);
    }
    let size = store.size()?;

    let (read_failure, scan_result, built) = std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Chunk>(4);
        let (back, returned) = mpsc::channel::<Chunk>();
        let worker = scope.spawn(move || build(rx, back, size));
        let mut read_failure: Option<VerifyError> = None;
        let mut k = 0u64;
        let new_chunk = |first| match returned.try_recv() {
            Ok(mut c) => {
                c.first = first;
                c
            }
            Err(_) => Chunk {
                first,
                data: Vec::with_capacity(CHUNK_ROWS * 400),
                ends: Vec::with_capacity(CHUNK_ROWS),
                recorded: Vec::with_capacity(CHUNK_ROWS),
                malformed: Vec::with_capacity(CHUNK_ROWS),
            },
        };
        let mut chunk = new_chunk(0);
        let scan_result = store.scan(0, &mut |row| {
            let fail = |problem: String| Some(VerifyError::Entry { index: k, problem });
            if row.index != k {
                read_failure = fail(if row.index > k {
                    format!("missing: the next stored entry is {}", row.index)
                } else {
                    format!(
                        "out of place: the row stored at position {k} is numbered {}",
                        row.index
                    )
                });
                return Ok(false);
            }
            chunk.data.extend_from_slice(row.bytes);
            chunk.ends.push(chunk.data.len());
            let recorded: Option<[u8; 32]> = row.leaf.try_into().ok();
            chunk.recorded.push(recorded.unwrap_or([0; 32]));
            chunk.malformed.push(recorded.is_none());
            k += 1;
            if chunk.ends.len() == CHUNK_ROWS {
                let full = std::mem::replace(&mut chunk, new_chunk(k));
                if tx.send(full).is_err() {
                    return Ok(false);
                }
            }
            Ok(true)
        });
        if !chunk.ends.is_empty() {
            let _ = tx.send(chunk);
        }
        drop(tx);
        let built = worker.join();
        (read_failure, scan_result, built)
    });
    scan_result?;
    let built = built.map_err(|_| StoreError::Backend("the verification thread failed".into()))?;
    // The earliest failure wins: the builder only saw rows before the reader stopped.
    if let Some(f) = built.failure.or(read_failure) {
        return Err(f);
    }
    let tree = built.tree;
    if tree.len() != size {
        return Err(VerifyError::Entry {
            index: tree.len(),
            problem: format!(
                "the register says it holds {size} entries but only {} could be read",
                tree.len()
            ),
        });
    }
    for (position, head) in heads.iter().enumerate() {
        if head.size > size {
            return Err(VerifyError::Truncated {
                first_missing: size,
                stored: size,
                position,
                size: head.size,
            });
        }
        let root = tree.root_at(head.size).unwrap_or_default();
        if root == head.root {
            continue;
        }
        if position > 0 && heads[position - 1].size == head.size {
            return Err(VerifyError::Checkpoint {
                position,
                size: head.size,
                problem: "it disagrees with the checkpoint of the same size before it (a fork)"
                    .into(),
            });
        }
        let from = if position == 0 {
            0
        } else {
            heads[position - 1].size
        };
        return Err(VerifyError::Entry {
            index: from,
            problem: format!(
                "the entries from index {from} to {} do not hash to the signed root of checkpoint {position} (size {}): one of them was changed, removed or reordered",
                head.size.saturating_sub(1),
                head.size
            ),
        });
    }
    for (position, pair) in heads.windows(2).enumerate() {
        let (a, b) = (&pair[0], &pair[1]);
        if a.size == 0 || a.size == b.size {
            continue;
        }
        let proof =
            tree.consistency_proof(a.size, b.size)
                .map_err(|e| VerifyError::Checkpoint {
                    position: position + 1,
                    size: b.size,
                    problem: e.to_string(),
                })?;
        if !verify_consistency(a.size, b.size, &a.root, &b.root, &proof) {
            return Err(VerifyError::Checkpoint {
                position: position + 1,
                size: b.size,
                problem: format!(
                    "it is not consistent with checkpoint {position} (a fork); root {}",
                    to_hex(&b.root)
                ),
            });
        }
    }
    Ok(VerifyReport {
        entries: size,
        bytes: built.bytes,
        checkpoints: heads.len(),
        root: tree.root_at(size).unwrap_or_default(),
        latest_checkpoint_size: heads.last().map(|h| h.size),
    })
}
