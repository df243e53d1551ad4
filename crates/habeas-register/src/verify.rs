//! Verification: recompute every leaf and the whole tree from the stored bytes, check every
//! checkpoint's signature, that each checkpoint's root is the root of that prefix of the
//! stored log, and that each checkpoint is consistent with the one before it (by an RFC 6962
//! consistency proof). Failures name the first bad index.

use crate::entry::decode_header;
use crate::merkle::{leaf_hash, to_hex, verify_consistency, Hash, Tree};
use crate::note::{Checkpoint, VerifierKey};
use crate::store::{Store, StoreError};

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
    let mut tree = Tree::from_leaves(Vec::with_capacity(size as usize));
    let mut next_cp = 0usize;
    let mut bytes_total = 0u64;
    let mut last_time = None;
    let mut failure: Option<VerifyError> = None;
    let check_heads = |tree: &Tree, next_cp: &mut usize, failure: &mut Option<VerifyError>| {
        while *next_cp < heads.len() && heads[*next_cp].size == tree.len() {
            let head = &heads[*next_cp];
            let root = tree.root_at(head.size).unwrap_or_default();
            if root != head.root && failure.is_none() {
                if *next_cp > 0 && heads[*next_cp - 1].size == head.size {
                    *failure = Some(VerifyError::Checkpoint {
                        position: *next_cp,
                        size: head.size,
                        problem:
                            "it disagrees with the checkpoint of the same size before it (a fork)"
                                .into(),
                    });
                    *next_cp += 1;
                    continue;
                }
                let from = if *next_cp == 0 {
                    0
                } else {
                    heads[*next_cp - 1].size
                };
                *failure = Some(VerifyError::Entry {
                    index: from,
                    problem: format!(
                        "the entries from index {from} to {} do not hash to the signed root of checkpoint {} (size {}): one of them was changed, removed or reordered",
                        head.size.saturating_sub(1),
                        *next_cp,
                        head.size
                    ),
                });
            }
            *next_cp += 1;
        }
    };
    check_heads(&tree, &mut next_cp, &mut failure);
    store.scan(0, &mut |row| {
        let k = tree.len();
        let fail = |problem: String| VerifyError::Entry { index: k, problem };
        if row.index != k {
            failure = Some(fail(if row.index > k {
                format!("missing: the next stored entry is {}", row.index)
            } else {
                format!("out of place: the row stored at position {k} is numbered {}", row.index)
            }));
            return Ok(false);
        }
        let (index, time) = match decode_header(row.bytes) {
            Ok(h) => h,
            Err(e) => {
                failure = Some(fail(format!("the stored bytes are not an entry: {e}")));
                return Ok(false);
            }
        };
        if index != k {
            failure = Some(fail(format!("the stored bytes say index {index}: rows were swapped or moved")));
            return Ok(false);
        }
        if last_time.is_some_and(|t| time < t) {
            failure = Some(fail("its time is earlier than the entry before it".into()));
            return Ok(false);
        }
        last_time = Some(time);
        let leaf = leaf_hash(row.bytes);
        if row.leaf != leaf {
            failure = Some(fail("the stored bytes do not match the leaf hash recorded when it was written: the entry was changed".into()));
            return Ok(false);
        }
        bytes_total += row.bytes.len() as u64;
        tree.push(leaf);
        check_heads(&tree, &mut next_cp, &mut failure);
        Ok(failure.is_none())
    })?;
    if let Some(f) = failure {
        return Err(f);
    }
    if tree.len() != size {
        return Err(VerifyError::Entry {
            index: tree.len(),
            problem: format!(
                "the register says it holds {size} entries but only {} could be read",
                tree.len()
            ),
        });
    }
    if let Some((position, head)) = heads.iter().enumerate().find(|(_, h)| h.size > size) {
        return Err(VerifyError::Truncated {
            first_missing: size,
            stored: size,
            position,
            size: head.size,
        });
    }
    for (position, pair) in heads.windows(2).enumerate() {
        let (a, b) = (&pair[0], &pair[1]);
        if a.size == 0 || a.size == b.size {
            if a.size == b.size && a.root != b.root {
                return Err(VerifyError::Checkpoint {
                    position: position + 1,
                    size: b.size,
                    problem: "two checkpoints of the same size disagree (a fork)".into(),
                });
            }
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
        bytes: bytes_total,
        checkpoints: heads.len(),
        root: tree.root_at(size).unwrap_or_default(),
        latest_checkpoint_size: heads.last().map(|h| h.size),
    })
}
