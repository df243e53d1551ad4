//! The Habeas register: one append-only, tamper-evident log of every fact.
//!
//! * [`entry`]: the entry and its canonical encoding (the stored bytes are the hashed bytes);
//! * [`merkle`]: the RFC 6962 Merkle tree, inclusion and consistency proofs;
//! * [`note`]: C2SP `signed-note` and `tlog-checkpoint` with Ed25519;
//! * [`writer`]: the single writer that commits concurrent appends in batches (group commit);
//! * [`store`]: the narrow [`store::Store`] trait every backend implements, and its
//!   conformance suite;
//! * [`verify`]: recomputing the whole tree and every checkpoint from the stored bytes;
//! * [`tiles`]: the tree as C2SP `tlog-tiles` (static tiles of hashes, no entries);
//! * [`witness`]: C2SP `tlog-cosignature` and the `tlog-witness` add-checkpoint exchange.
//!
//! This crate knows nothing of SQL, HTTP or clocks: time and randomness are parameters.

pub mod canonical;
pub mod conformance;
pub mod entry;
pub mod export;
pub mod merkle;
pub mod note;
pub mod replicated;
pub mod store;
pub mod tiles;
pub mod time;
pub mod verify;
pub mod witness;
pub mod writer;

pub use entry::{Correction, Draft, Entry, PreparedDraft, SealedEntry};
pub use merkle::Hash;
pub use note::{Checkpoint, Signer, VerifierKey};
pub use store::{Store, StoreError};
pub use time::Timestamp;
