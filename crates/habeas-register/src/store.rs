//! The narrow storage interface every backend implements.
//!
//! [`Store`] is the read side (many readers at once); [`LogSink`] is the write side, owned by
//! the single writer thread of [`crate::writer::Register`]. A backend applies its projections
//! inside [`LogSink::append`], in the same transaction as the entry.

use crate::entry::SealedEntry;
use crate::merkle::Hash;
use crate::note::VerifierKey;
use crate::time::Timestamp;

/// A storage failure. The message never contains personal data.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    #[error("no register here: {0}")]
    NotInitialised(String),
    #[error("storage failed: {0}")]
    Backend(String),
    #[error("the register is damaged: {0}")]
    Corrupt(String),
    #[error("the register is closed")]
    Closed,
}

/// Why one entry was refused while the rest of its batch went on. Nothing of it is written.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{message}")]
pub struct Rejection {
    /// A stable machine-readable code, e.g. `invalid_field` or `over_capacity`.
    pub code: String,
    /// The input field at fault, when there is one.
    pub field: Option<String>,
    /// A clear sentence for the user.
    pub message: String,
    /// The sentence as a message of a catalogue and its values, for a reader in another
    /// language; none where only `message` says it.
    pub words: Option<Words>,
}

/// A refusal's sentence as a catalogue's message and the values it names: `id` is the message
/// (`refusal-<id>` in the web UI's catalogue), `args` its values by name. The English sentence
/// (`message`) stays the API's; a page says these words in its reader's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words {
    pub id: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Words {
    pub fn new(id: &'static str, args: &[(&'static str, &dyn std::fmt::Display)]) -> Self {
        Self {
            id,
            args: args.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        }
    }
}

impl Rejection {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self {
            code: "invalid_field".into(),
            field: Some(field.into()),
            message: message.into(),
            words: None,
        }
    }
}

/// A refusal that can carry its words ([`Words`]) beside its English sentence.
pub trait Said: Sized {
    fn words_mut(&mut self) -> &mut Option<Words>;
    /// The same refusal, its sentence also said as the catalogue's message `id` with `args`
    /// (`refusal-<id>` in the web UI's catalogue).
    #[must_use]
    fn said(mut self, id: &'static str, args: &[(&'static str, &dyn std::fmt::Display)]) -> Self {
        *self.words_mut() = Some(Words::new(id, args));
        self
    }
}

impl Said for Rejection {
    fn words_mut(&mut self) -> &mut Option<Words> {
        &mut self.words
    }
}

/// An append that did not happen.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AppendError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppendError {
    /// A rejection, its sentence also said as the catalogue's message `id` with `args`
    /// ([`Rejection::said`]); a failure to write as it is.
    #[must_use]
    pub fn said(self, id: &'static str, args: &[(&'static str, &dyn std::fmt::Display)]) -> Self {
        match self {
            Self::Rejected(r) => Self::Rejected(r.said(id, args)),
            other => other,
        }
    }
}

/// What identifies a register to the outside: its origin line and verifier key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterInfo {
    pub origin: String,
    pub verifier: VerifierKey,
}

/// A signed checkpoint as stored. Every checkpoint is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    /// When the writer made it (not part of the signed text).
    pub made_at: Timestamp,
    /// The signed note, exactly.
    pub note: String,
}

/// A witness's cosignature of a checkpoint (C2SP `tlog-cosignature`), kept with it once it
/// verified. The register's own signed note plus the cosignature lines of the witnesses a
/// deployment requires is the checkpoint it publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCosignature {
    /// The tree size of the checkpoint cosigned (one checkpoint per size).
    pub size: u64,
    /// The witness's verifier key (`<name>+<key id>+<key>`).
    pub witness: String,
    /// When the witness cosigned, in POSIX seconds (from the cosignature itself).
    pub timestamp: u64,
    /// The signature line as the witness answered it (`— <name> <base64>`, ending in a
    /// newline), to append to the checkpoint's note.
    pub line: String,
}

/// One stored row of the log, as the backend holds it.
#[derive(Debug, Clone, Copy)]
pub struct StoredRow<'a> {
    /// The index column (which a tamperer may have changed; verification checks it).
    pub index: u64,
    /// The leaf hash recorded when the entry was written.
    pub leaf: &'a [u8],
    /// The entry's exact bytes.
    pub bytes: &'a [u8],
}

/// The read side of a register store.
pub trait Store: Send + Sync {
    fn info(&self) -> Result<RegisterInfo, StoreError>;
    /// The number of entries.
    fn size(&self) -> Result<u64, StoreError>;
    /// The exact bytes of entry `index`.
    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Visits stored rows in index order, starting at `from`, until `visit` returns `false`.
    fn scan(
        &self,
        from: u64,
        visit: &mut dyn FnMut(StoredRow<'_>) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError>;
    /// Every checkpoint, oldest first.
    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError>;
    /// The newest checkpoint.
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        Ok(self.checkpoints()?.pop())
    }
    /// The tree's frontier kept with a checkpoint (see [`LogSink::put_frontier`]): its size
    /// and the roots of its perfect subtrees, largest first. `None` when the store keeps none;
    /// a writer then reads every leaf hash as it starts.
    fn frontier(&self) -> Result<Option<(u64, Vec<Hash>)>, StoreError> {
        Ok(None)
    }
    /// The recorded leaf hashes of the first `size` entries, in order.
    fn leaf_hashes(&self, size: u64) -> Result<Vec<Hash>, StoreError> {
        self.leaf_hashes_from(0, size)
    }
    /// The recorded leaf hashes of the entries from index `from` up to `to` (excluded), in
    /// order; fewer when the store holds fewer.
    fn leaf_hashes_from(&self, from: u64, to: u64) -> Result<Vec<Hash>, StoreError> {
        let mut out = Vec::with_capacity(to.saturating_sub(from) as usize);
        self.scan(from, &mut |row| {
            if from + out.len() as u64 >= to {
                return Ok(false);
            }
            let leaf: Hash = row.leaf.try_into().map_err(|_| {
                StoreError::Corrupt(format!(
                    "entry {}: the leaf hash is not 32 bytes",
                    row.index
                ))
            })?;
            out.push(leaf);
            Ok(true)
        })?;
        Ok(out)
    }
}

/// The write side of a register store, used only by the writer thread.
pub trait LogSink: Send {
    /// Starts a transaction for one batch.
    fn begin(&mut self) -> Result<(), StoreError>;
    /// Stores the entries of one request (consecutive indices) and applies them to the
    /// projections, or refuses them all. A refused request leaves nothing behind (the backend
    /// rolls back to a savepoint) and the rest of the batch goes on.
    fn append_group(&mut self, entries: &[SealedEntry]) -> Result<(), AppendError>;
    /// Makes the batch durable. Nothing is acknowledged before this returns `Ok`.
    fn commit(&mut self) -> Result<(), StoreError>;
    /// Abandons the batch.
    fn rollback(&mut self);
    /// Stores a signed checkpoint durably.
    fn put_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> Result<(), StoreError>;
    /// Keeps the tree's frontier at the size of the checkpoint just put (the roots of its
    /// perfect subtrees, largest first), in the same commit, replacing the one kept before: a
    /// writer starting later checks it against that checkpoint's signed root and reads only
    /// the leaf hashes after it. A sink that keeps none makes every start read them all.
    fn put_frontier(&mut self, _size: u64, _hashes: &[Hash]) -> Result<(), StoreError> {
        Ok(())
    }
}
