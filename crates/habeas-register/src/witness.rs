//! Witnesses: C2SP `tlog-cosignature` (the Ed25519 `cosignature/v1` type) and the request,
//! response and decision of C2SP `tlog-witness`'s `add-checkpoint`.
//!
//! A witness keeps, for each log it is configured with, the latest checkpoint it cosigned. It
//! cosigns a new checkpoint only if the log signed it and it extends (or equals) the one it
//! holds, as an RFC 6962 consistency proof shows. Two different trees of one size, or a tree
//! that does not contain the one it holds, are refused: a register operator cannot show
//! different histories to different people and have both cosigned by the same witness.
//!
//! * A cosignature is a note signature line `— <witness name> base64(key id ‖ timestamp ‖
//!   signature)`: the key id is `SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[:4]`, the
//!   timestamp 8 bytes big-endian (POSIX seconds), and the Ed25519 signature is over
//!   `"cosignature/v1\ntime <timestamp>\n" ‖ checkpoint text`.
//! * Verifier keys are `<name>+<key id>+base64(0x04 ‖ public key)`; secret keys
//!   `PRIVATE+KEY+<name>+<key id>+base64(0x04 ‖ seed)`.
//!
//! Time is a parameter: the caller passes the timestamp to cosign with.

use crate::merkle::{empty_root, verify_consistency, Hash};
use crate::note::{
    check_text, hex4, key_id_for, valid_name, Checkpoint, NoteError, VerifierKey, DASH,
};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use std::collections::BTreeMap;

/// The signed-note signature type of timestamped Ed25519 cosignatures.
pub const COSIGNATURE_V1: u8 = 0x04;
/// The most consistency proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;
/// The content type of a 409 response body (the witness's tree size and a newline).
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";
/// The largest timestamp a cosignature may carry (2^63 − 1).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

const HEADER: &str = "cosignature/v1\n";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WitnessError {
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error("malformed cosigner key: {0}")]
    Key(&'static str),
    #[error("malformed add-checkpoint request: {0}")]
    Request(&'static str),
    #[error("malformed witness response: {0}")]
    Response(&'static str),
    #[error("the note carries no valid cosignature by {0}")]
    NoCosignature(String),
    #[error("the timestamp {0} is larger than 2^63 - 1")]
    Timestamp(u64),
}

/// The message a `cosignature/v1` signature covers.
pub fn cosigned_message(checkpoint_text: &str, timestamp: u64) -> String {
    format!("{HEADER}time {timestamp}\n{checkpoint_text}")
}

/// A witness's public key: what a verifier configures to check its cosignatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignVerifierKey {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl CosignVerifierKey {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn key_id(&self) -> [u8; 4] {
        self.id
    }
    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Parses `<name>+<hex key id>+<base64(0x04 ‖ key)>`.
    pub fn parse(text: &str) -> Result<Self, WitnessError> {
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(hex), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(WitnessError::Key("expected <name>+<key id>+<key>"));
        };
        if !valid_name(name) {
            return Err(NoteError::KeyName(name.to_owned()).into());
        }
        let public = decode_key(b64)?;
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| WitnessError::Key("not a valid Ed25519 point"))?;
        let id = key_id_for(COSIGNATURE_V1, name, &public);
        if hex != hex4(&id) {
            return Err(WitnessError::Key(
                "the key id does not match the name and key",
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }
}

impl std::fmt::Display for CosignVerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = vec![COSIGNATURE_V1];
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, hex4(&self.id), B64.encode(raw))
    }
}

/// `base64(0x04 ‖ 32 bytes)` → the 32 bytes.
fn decode_key(b64: &str) -> Result<[u8; 32], WitnessError> {
    let raw = B64
        .decode(b64)
        .map_err(|_| WitnessError::Key("the key is not base64"))?;
    if raw.len() != 33 || raw[0] != COSIGNATURE_V1 {
        return Err(WitnessError::Key(
            "not a cosignature/v1 key (expected 0x04 and 32 bytes)",
        ));
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(&raw[1..]);
    Ok(out)
}

/// A witness's signing key. Its `Debug` never shows the secret.
pub struct CosignerKey {
    name: String,
    id: [u8; 4],
    key: SigningKey,
}

impl std::fmt::Debug for CosignerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CosignerKey({}+{}, secret redacted)",
            self.name,
            hex4(&self.id)
        )
    }
}

impl CosignerKey {
    /// A cosigner key from a 32-byte seed (the caller supplies the randomness).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, WitnessError> {
        if !valid_name(name) {
            return Err(NoteError::KeyName(name.to_owned()).into());
        }
        let key = SigningKey::from_bytes(&seed);
        let id = key_id_for(COSIGNATURE_V1, name, key.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier(&self) -> CosignVerifierKey {
        CosignVerifierKey {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key id>+<base64(0x04 ‖ seed)>`.
    pub fn parse(text: &str) -> Result<Self, WitnessError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(WitnessError::Key("a secret key starts with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hex), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(WitnessError::Key(
                "expected PRIVATE+KEY+<name>+<key id>+<key>",
            ));
        };
        let key = Self::from_seed(name, decode_key(b64)?)?;
        if hex != hex4(&key.id) {
            return Err(WitnessError::Key(
                "the key id does not match the name and key",
            ));
        }
        Ok(key)
    }

    /// The secret key in the `PRIVATE+KEY+…` form (for the 0600 key file only).
    pub fn to_secret_string(&self) -> String {
        let mut raw = vec![COSIGNATURE_V1];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex4(&self.id),
            B64.encode(raw)
        )
    }

    /// The cosignature line (`— <name> <base64>\n`) over a checkpoint text (the note's text:
    /// its lines up to and including the last newline before the blank line) at `timestamp`
    /// (POSIX seconds, at most 2^63 − 1).
    pub fn cosign(&self, checkpoint_text: &str, timestamp: u64) -> Result<String, WitnessError> {
        check_text(checkpoint_text)?;
        if timestamp > MAX_TIMESTAMP {
            return Err(WitnessError::Timestamp(timestamp));
        }
        let sig = self
            .key
            .sign(cosigned_message(checkpoint_text, timestamp).as_bytes());
        let mut blob = Vec::with_capacity(76);
        blob.extend_from_slice(&self.id);
        blob.extend_from_slice(&timestamp.to_be_bytes());
        blob.extend_from_slice(&sig.to_bytes());
        Ok(format!("{DASH}{} {}\n", self.name, B64.encode(blob)))
    }
}

use crate::note::SignatureLine;

/// A note's text and signature lines ([`crate::note::split_note`]), every line's key name a
/// valid one (a witness refuses a note it could not answer in kind).
fn split_note(note: &str) -> Result<(&str, Vec<SignatureLine<'_>>), NoteError> {
    let (text, lines) = crate::note::split_note(note)?;
    if lines.iter().any(|(name, _)| !valid_name(name)) {
        return Err(NoteError::Malformed("a signature line has a bad key name"));
    }
    Ok((text, lines))
}

/// One signature line ([`crate::note::signature_line`]) with a valid key name.
fn signature_line(line: &str) -> Result<SignatureLine<'_>, NoteError> {
    let (name, blob) = crate::note::signature_line(line)?;
    if !valid_name(name) {
        return Err(NoteError::Malformed("a signature line has a bad key name"));
    }
    Ok((name, blob))
}

/// Finds `key`'s cosignature in a signed note (a checkpoint with signature lines, or a
/// checkpoint text followed by a blank line and the witness's response) and checks it.
/// Returns the cosignature's timestamp (POSIX seconds). Lines of other keys are ignored.
pub fn verify_cosignature(note: &str, key: &CosignVerifierKey) -> Result<u64, WitnessError> {
    let (text, lines) = split_note(note)?;
    for (name, blob) in lines {
        if name != key.name || blob.len() != 76 || blob[..4] != key.id {
            continue;
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&blob[4..12]);
        let timestamp = u64::from_be_bytes(ts);
        if timestamp > MAX_TIMESTAMP {
            continue;
        }
        let mut sig = [0u8; 64];
        sig.copy_from_slice(&blob[12..]);
        if key
            .key
            .verify(
                cosigned_message(text, timestamp).as_bytes(),
                &Signature::from_bytes(&sig),
            )
            .is_ok()
        {
            return Ok(timestamp);
        }
    }
    Err(WitnessError::NoCosignature(key.to_string()))
}

/// The body of a `POST <prefix>/add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the latest checkpoint the witness is believed to have cosigned (0 if none).
    pub old_size: u64,
    /// The RFC 6962 consistency proof from `old_size` to the checkpoint's size (empty when
    /// `old_size` is 0 or equals the checkpoint's size).
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub note: String,
}

impl AddCheckpoint {
    /// `old <size>\n`, one base64 hash per line, a blank line, then the note.
    pub fn to_body(&self) -> String {
        let mut body = format!("old {}\n", self.old_size);
        for h in &self.proof {
            body.push_str(&B64.encode(h));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&self.note);
        body
    }

    /// Parses a request body. The old size is a decimal without leading zeros, each proof
    /// line the canonical base64 of 32 bytes (at most 63 of them), and a non-empty note
    /// follows the blank line (it is checked when the request is decided).
    pub fn parse(body: &str) -> Result<Self, WitnessError> {
        let (first, mut rest) = body.split_once('\n').ok_or(WitnessError::Request(
            "the body starts with an old size line",
        ))?;
        let old = first
            .strip_prefix("old ")
            .ok_or(WitnessError::Request("the first line is `old <size>`"))?;
        let old_size = canonical_decimal(old).ok_or(WitnessError::Request(
            "the old size is a decimal number without leading zeros",
        ))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest.split_once('\n').ok_or(WitnessError::Request(
                "a blank line separates the proof from the checkpoint",
            ))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(WitnessError::Request("more than 63 proof lines"));
            }
            let hash: Hash = B64
                .decode(line)
                .ok()
                .and_then(|raw| raw.try_into().ok())
                .ok_or(WitnessError::Request(
                    "a proof line is the base64 of a 32-byte hash",
                ))?;
            proof.push(hash);
        }
        if rest.is_empty() {
            return Err(WitnessError::Request("the checkpoint is missing"));
        }
        Ok(Self {
            old_size,
            proof,
            note: rest.to_owned(),
        })
    }

    /// The origin (first line) of the request's checkpoint, if the note has one.
    pub fn origin(&self) -> Option<&str> {
        let (text, _) = split_note(&self.note).ok()?;
        text.split('\n').next().filter(|o| !o.is_empty())
    }
}

fn canonical_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Parses a 200 response body: one or more note signature lines, each `— <name>
/// <base64>\n`. Returns the lines, each with its newline, ready to be appended to the note.
pub fn parse_cosignature_lines(body: &str) -> Result<Vec<&str>, WitnessError> {
    if body.is_empty() || !body.ends_with('\n') {
        return Err(WitnessError::Response(
            "the body is one or more lines, each ending in a newline",
        ));
    }
    body.split_inclusive('\n')
        .map(|line| {
            let bare = line.strip_suffix('\n').unwrap_or(line);
            signature_line(bare)
                .map(|_| line)
                .map_err(|_| WitnessError::Response("a line is not a note signature line"))
        })
        .collect()
}

/// Parses a 409 response body: the witness's tree size in decimal and a newline.
pub fn parse_size_body(body: &str) -> Result<u64, WitnessError> {
    body.strip_suffix('\n')
        .and_then(canonical_decimal)
        .ok_or(WitnessError::Response(
            "a size body is a decimal number and a newline",
        ))
}

/// What a witness holds for one log: the latest checkpoint it cosigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogState {
    pub size: u64,
    pub root: Hash,
    /// The signed checkpoint note as the log sent it.
    pub note: String,
}

/// Why a witness refuses a request, with the HTTP status C2SP `tlog-witness` gives it.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    /// 400: the body or the checkpoint cannot be parsed.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// 404: the witness is not configured for this origin.
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// 403: no signature by the log's key verifies.
    #[error("the checkpoint is not signed by the key configured for {0:?}")]
    BadSignature(String),
    /// 400: the old size is larger than the checkpoint's size.
    #[error("the old size {old} is larger than the checkpoint's size {size}")]
    OldSizeTooLarge { old: u64, size: u64 },
    /// 409: the old size is not the size the witness holds; the body carries that size.
    #[error("the witness holds a checkpoint of size {witness_size}, not {old}")]
    Conflict { old: u64, witness_size: u64 },
    /// 409: the witness holds a checkpoint of this very size with a different root: the log
    /// has forked (two trees of one size). The body carries the witness's size.
    #[error("the witness holds a different root for size {size}: the log has forked")]
    Fork { size: u64 },
    /// 422: the consistency proof does not show the new tree extends the one the witness
    /// holds (a rewritten history, or a bad proof).
    #[error("the consistency proof from {old} to {size} does not verify")]
    Inconsistent { old: u64, size: u64 },
    /// 500: the witness could not cosign.
    #[error("the witness cannot cosign: {0}")]
    Internal(String),
}

impl Refusal {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed(_) | Self::OldSizeTooLarge { .. } => 400,
            Self::BadSignature(_) => 403,
            Self::UnknownOrigin(_) => 404,
            Self::Conflict { .. } | Self::Fork { .. } => 409,
            Self::Inconsistent { .. } => 422,
            Self::Internal(_) => 500,
        }
    }

    /// The response's content type and body: for a 409, the witness's size and a newline as
    /// `text/x.tlog.size`; otherwise the message as plain text.
    pub fn response(&self) -> (&'static str, String) {
        match self {
            Self::Conflict { witness_size, .. } => (SIZE_CONTENT_TYPE, format!("{witness_size}\n")),
            Self::Fork { size } => (SIZE_CONTENT_TYPE, format!("{size}\n")),
            other => ("text/plain; charset=utf-8", format!("{other}\n")),
        }
    }

    /// Whether the request carried a checkpoint validly signed by the log that the witness
    /// will not cosign because of what it holds: evidence of misbehaviour worth keeping.
    pub fn is_evidence(&self) -> bool {
        matches!(self, Self::Fork { .. } | Self::Inconsistent { .. })
    }
}

/// A request the witness accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub origin: String,
    /// The witness's new latest checkpoint for the origin, to be stored before answering.
    pub state: LogState,
    /// The response body: the cosignature line.
    pub cosignature: String,
    pub timestamp: u64,
}

/// A witness: its key and the logs it is configured with (origin → the log's verifier key).
#[derive(Debug)]
pub struct Witness {
    cosigner: CosignerKey,
    logs: BTreeMap<String, VerifierKey>,
}

impl Witness {
    pub fn new(cosigner: CosignerKey, logs: BTreeMap<String, VerifierKey>) -> Self {
        Self { cosigner, logs }
    }

    pub fn cosigner(&self) -> &CosignerKey {
        &self.cosigner
    }

    pub fn logs(&self) -> &BTreeMap<String, VerifierKey> {
        &self.logs
    }

    /// Decides an add-checkpoint request, given what the witness holds for the request's
    /// origin ([`AddCheckpoint::origin`]; `None` if it never cosigned for it). The checks, in
    /// the order of C2SP `tlog-witness`:
    ///
    /// 1. the note parses and its origin is configured (else 404), a signature by the
    ///    origin's key verifies (else 403) and its body is a checkpoint (else 400);
    /// 2. the old size is at most the checkpoint's size (else 400);
    /// 3. the old size is the size the witness holds, 0 if none (else 409 with that size);
    /// 4. if the sizes are equal, the root is the one the witness holds (the empty tree's
    ///    for size 0; else 409: a fork) and the proof is empty (else 422);
    /// 5. otherwise, from size 0 the proof is empty, and from a larger size it is a valid
    ///    consistency proof from the held root to the new one (else 422).
    ///
    /// On success the caller stores [`Accepted::state`] (atomically with reading the held
    /// state) and only then answers with [`Accepted::cosignature`].
    pub fn decide(
        &self,
        req: &AddCheckpoint,
        stored: Option<&LogState>,
        timestamp: u64,
    ) -> Result<Accepted, Refusal> {
        let (text, _) = split_note(&req.note).map_err(|e| Refusal::Malformed(e.to_string()))?;
        let origin = text.split('\n').next().unwrap_or_default();
        let key = self
            .logs
            .get(origin)
            .ok_or_else(|| Refusal::UnknownOrigin(origin.to_owned()))?;
        let checkpoint = match Checkpoint::open(&req.note, key) {
            Ok(c) => c,
            Err(NoteError::NoSignature(_)) => return Err(Refusal::BadSignature(origin.to_owned())),
            Err(e) => return Err(Refusal::Malformed(e.to_string())),
        };
        let (old, size) = (req.old_size, checkpoint.size);
        if old > size {
            return Err(Refusal::OldSizeTooLarge { old, size });
        }
        let held_size = stored.map_or(0, |s| s.size);
        if old != held_size {
            return Err(Refusal::Conflict {
                old,
                witness_size: held_size,
            });
        }
        let held_root = stored.map_or_else(empty_root, |s| s.root);
        if size == old {
            if checkpoint.root != held_root {
                return Err(Refusal::Fork { size });
            }
            if !req.proof.is_empty() {
                return Err(Refusal::Inconsistent { old, size });
            }
        } else if old == 0 {
            if !req.proof.is_empty() {
                return Err(Refusal::Inconsistent { old, size });
            }
        } else if !verify_consistency(old, size, &held_root, &checkpoint.root, &req.proof) {
            return Err(Refusal::Inconsistent { old, size });
        }
        let cosignature = self
            .cosigner
            .cosign(text, timestamp)
            .map_err(|e| Refusal::Internal(e.to_string()))?;
        Ok(Accepted {
            origin: checkpoint.origin,
            state: LogState {
                size,
                root: checkpoint.root,
                note: req.note.clone(),
            },
            cosignature,
            timestamp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, Tree};
    use crate::note::Signer;

    const ORIGIN: &str = "habeas.example/register/test";

    fn register() -> Signer {
        Signer::from_seed(ORIGIN, [7; 32]).unwrap()
    }

    fn cosigner() -> CosignerKey {
        CosignerKey::from_seed("habeas.example/witness/test", [11; 32]).unwrap()
    }

    fn witness() -> Witness {
        let mut logs = BTreeMap::new();
        logs.insert(ORIGIN.to_owned(), register().verifier());
        Witness::new(cosigner(), logs)
    }

    fn tree(n: u64, salt: u8) -> Tree {
        Tree::from_leaves(
            (0..n)
                .map(|i| leaf_hash(&[&i.to_be_bytes()[..], &[salt]].concat()))
                .collect(),
        )
    }

    fn note(t: &Tree, size: u64, signer: &Signer) -> String {
        Checkpoint {
            origin: signer.name().to_owned(),
            size,
            root: t.root_at(size).unwrap(),
        }
        .sign(signer)
        .unwrap()
    }

    fn request(t: &Tree, old: u64, size: u64) -> AddCheckpoint {
        AddCheckpoint {
            old_size: old,
            proof: if old == 0 || old == size {
                vec![]
            } else {
                t.consistency_proof(old, size).unwrap()
            },
            note: note(t, size, &register()),
        }
    }

    /// The worked example of docs/register-format.md §16: the §7.2 checkpoint cosigned by
    /// the witness key of seed 32 × 0x0b at 2026-01-01T00:00:00Z.
    #[test]
    fn worked_example() {
        let key = cosigner();
        let vkey = key.verifier();
        assert_eq!(to_hex4(vkey.key_id()), "bb63acb8");
        assert_eq!(
            vkey.to_string(),
            "habeas.example/witness/test+bb63acb8+BGa+fjMsekUzMr2dCn99sFX1xe8aBq2mbZizn7aBDEc6"
        );
        assert_eq!(
            key.to_secret_string(),
            "PRIVATE+KEY+habeas.example/witness/test+bb63acb8+BAsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsL"
        );
        let checkpoint = Checkpoint {
            origin: ORIGIN.into(),
            size: 42,
            root: [9; 32],
        };
        let signed = checkpoint.sign(&register()).unwrap();
        assert_eq!(
            cosigned_message(&checkpoint.body(), 1_767_225_600),
            "cosignature/v1\ntime 1767225600\nhabeas.example/register/test\n42\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n"
        );
        let line = key.cosign(&checkpoint.body(), 1_767_225_600).unwrap();
        assert_eq!(
            crate::merkle::to_hex(&vkey.public_key_bytes()),
            "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"
        );
        assert_eq!(
            line,
            "\u{2014} habeas.example/witness/test u2OsuAAAAABpVbkAJ7BZIBXhhA76imWcamrjoQB3gA7MD3lPuORrHzJq3mTt6YTQCNgqU3iHO3sueOHQ3YQD7dUReupCNb1S4zImBw==\n"
        );
        // The key id, then the timestamp as 8 big-endian bytes (00 00 00 00 69 55 b9 00).
        let blob = B64
            .decode(line.trim_end().rsplit(' ').next().unwrap())
            .unwrap();
        assert_eq!(blob.len(), 76);
        assert_eq!(blob[..4], vkey.key_id());
        assert_eq!(blob[4..12], 1_767_225_600u64.to_be_bytes());
        let cosigned = format!("{signed}{line}");
        assert_eq!(verify_cosignature(&cosigned, &vkey), Ok(1_767_225_600));
        // The register's own signature still verifies beside the cosignature.
        assert_eq!(
            Checkpoint::open(&cosigned, &register().verifier()),
            Ok(checkpoint)
        );
    }

    fn to_hex4(id: [u8; 4]) -> String {
        hex4(&id)
    }

    #[test]
    fn keys_round_trip_and_refuse_the_wrong_type() {
        let key = cosigner();
        let again = CosignerKey::parse(&key.to_secret_string()).unwrap();
        assert_eq!(again.verifier(), key.verifier());
        assert_eq!(
            CosignVerifierKey::parse(&key.verifier().to_string()).unwrap(),
            key.verifier()
        );
        assert!(format!("{key:?}").contains("redacted"));
        assert!(!format!("{key:?}").contains(&key.to_secret_string()));
        // A register (0x01) key is not a cosigner key, and the other way round.
        assert!(CosignerKey::parse(&register().to_secret_string()).is_err());
        assert!(CosignVerifierKey::parse(&register().verifier().to_string()).is_err());
        assert!(VerifierKey::parse(&key.verifier().to_string()).is_err());
        let wrong_id = key.verifier().to_string().replacen('+', "+0", 1);
        assert!(CosignVerifierKey::parse(&wrong_id).is_err());
        assert!(CosignerKey::from_seed("a b", [1; 32]).is_err());
        // The key id uses signature type 0x04: the same key as an Ed25519 note key has
        // another id.
        let as_note_key = Signer::from_seed("habeas.example/witness/test", [11; 32]).unwrap();
        assert_ne!(
            as_note_key.verifier().to_string().split('+').nth(1),
            key.verifier().to_string().split('+').nth(1)
        );
    }

    #[test]
    fn cosignatures_verify_and_tampering_fails() {
        let key = cosigner();
        let t = tree(10, 0);
        let signed = note(&t, 10, &register());
        let text = signed.split("\n\n").next().unwrap().to_owned() + "\n";
        let line = key.cosign(&text, 1_700_000_000).unwrap();
        let cosigned = format!("{signed}{line}");
        assert_eq!(
            verify_cosignature(&cosigned, &key.verifier()),
            Ok(1_700_000_000)
        );
        // Another witness's key, or a note without this witness's line, does not verify.
        let other = CosignerKey::from_seed("habeas.example/witness/test", [12; 32]).unwrap();
        assert!(verify_cosignature(&cosigned, &other.verifier()).is_err());
        assert!(verify_cosignature(&signed, &key.verifier()).is_err());
        // A changed checkpoint or a changed timestamp does not verify.
        let forged = cosigned.replacen("\n10\n", "\n11\n", 1);
        assert!(verify_cosignature(&forged, &key.verifier()).is_err());
        let blob_at = cosigned.rfind(' ').unwrap() + 1;
        let mut blob = B64.decode(cosigned[blob_at..].trim_end()).unwrap();
        blob[11] ^= 1;
        let retimed = format!("{}{}\n", &cosigned[..blob_at], B64.encode(&blob));
        assert!(verify_cosignature(&retimed, &key.verifier()).is_err());
        // The register's verifier ignores the cosignature line; an Ed25519 note signature by
        // the witness's key over the bare text is not a cosignature.
        assert!(Checkpoint::open(&cosigned, &register().verifier()).is_ok());
        assert!(key.cosign("no newline", 1).is_err());
        assert_eq!(
            key.cosign(&text, MAX_TIMESTAMP + 1),
            Err(WitnessError::Timestamp(MAX_TIMESTAMP + 1))
        );
        assert!(key.cosign(&text, MAX_TIMESTAMP).is_ok());
    }

    #[test]
    fn requests_round_trip_and_bad_bodies_are_refused() {
        let t = tree(20, 0);
        let req = request(&t, 7, 20);
        let body = req.to_body();
        assert!(body.starts_with("old 7\n"));
        assert_eq!(
            body.lines().filter(|l| l.len() == 44).count(),
            req.proof.len() + 1
        );
        assert_eq!(AddCheckpoint::parse(&body), Ok(req.clone()));
        assert_eq!(req.origin(), Some(ORIGIN));
        let zero = request(&t, 0, 20);
        assert!(zero
            .to_body()
            .starts_with("old 0\n\nhabeas.example/register/test\n20\n"));
        assert_eq!(AddCheckpoint::parse(&zero.to_body()), Ok(zero));

        let cp = note(&t, 20, &register());
        for bad in [
            String::new(),
            "old 7".into(),
            format!("old 07\n\n{cp}"),
            format!("old -1\n\n{cp}"),
            format!("old  7\n\n{cp}"),
            format!("Old 7\n\n{cp}"),
            format!("old 7\nnot base64\n\n{cp}"),
            format!("old 7\nAAAA\n\n{cp}"),
            format!(
                "old 7\n{}\n\n{cp}",
                B64.encode([0u8; 32]).trim_end_matches('=')
            ),
            "old 7\n\n".into(),
            format!("old 7\n{cp}"),
            format!("old 18446744073709551616\n\n{cp}"),
            format!(
                "old 7\n{}\n{cp}",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(64)
            ),
        ] {
            assert!(AddCheckpoint::parse(&bad).is_err(), "{bad:?} was accepted");
        }
        let max = format!(
            "old 7\n{}\n{cp}",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(63)
        );
        assert_eq!(AddCheckpoint::parse(&max).unwrap().proof.len(), 63);
    }

    #[test]
    fn responses_parse() {
        let line = cosigner().cosign("o\n1\nAAAA\n", 5).unwrap();
        let two = format!("{line}{line}");
        assert_eq!(
            parse_cosignature_lines(&two).unwrap(),
            vec![&line[..], &line[..]]
        );
        assert!(parse_cosignature_lines("").is_err());
        assert!(parse_cosignature_lines(line.trim_end()).is_err());
        assert!(parse_cosignature_lines("- name AAAA\n").is_err());
        assert!(parse_cosignature_lines("\u{2014} name !!!\n").is_err());
        assert_eq!(parse_size_body("42\n"), Ok(42));
        assert_eq!(parse_size_body("0\n"), Ok(0));
        assert!(parse_size_body("42").is_err());
        assert!(parse_size_body("042\n").is_err());
        assert!(parse_size_body("\n").is_err());
    }

    fn accept(w: &Witness, req: &AddCheckpoint, held: Option<&LogState>) -> LogState {
        let a = w.decide(req, held, 1_767_225_600).unwrap();
        assert_eq!(a.origin, ORIGIN);
        let cosigned = format!("{}{}", req.note, a.cosignature);
        assert_eq!(
            verify_cosignature(&cosigned, &w.cosigner().verifier()),
            Ok(1_767_225_600)
        );
        a.state
    }

    #[test]
    fn the_witness_cosigns_a_growing_log() {
        let w = witness();
        let t = tree(100, 0);
        let s0 = accept(&w, &request(&t, 0, 0), None);
        assert_eq!((s0.size, s0.root), (0, empty_root()));
        // First contact trusts the checkpoint (old size 0, no proof).
        let s5 = accept(&w, &request(&t, 0, 5), Some(&s0));
        assert_eq!(s5.size, 5);
        let s5b = accept(&w, &request(&t, 0, 5), None);
        assert_eq!(s5b, s5);
        let s8 = accept(&w, &request(&t, 5, 8), Some(&s5));
        let s8again = accept(&w, &request(&t, 8, 8), Some(&s8));
        assert_eq!(s8again, s8);
        let s100 = accept(&w, &request(&t, 8, 100), Some(&s8));
        assert_eq!((s100.size, s100.root), (100, t.root_at(100).unwrap()));
        assert_eq!(s100.note, note(&t, 100, &register()));
    }

    #[test]
    fn every_refusal() {
        let w = witness();
        let t = tree(100, 0);
        let held = accept(&w, &request(&t, 0, 50), None);
        let held = Some(&held);

        // 400: malformed checkpoint, or an old size beyond the checkpoint.
        let mut req = request(&t, 50, 60);
        req.note = "habeas.example/register/test\n60\n".into();
        assert_eq!(w.decide(&req, held, 1).unwrap_err().status(), 400);
        let mut req = request(&t, 50, 60);
        req.old_size = 61;
        req.proof.clear();
        let r = w.decide(&req, held, 1).unwrap_err();
        assert_eq!(
            (r.status(), &r),
            (400, &Refusal::OldSizeTooLarge { old: 61, size: 60 })
        );

        // 404: an origin the witness does not know.
        let stranger = Signer::from_seed("habeas.example/register/other", [7; 32]).unwrap();
        let req = AddCheckpoint {
            old_size: 0,
            proof: vec![],
            note: note(&t, 60, &stranger),
        };
        assert_eq!(req.origin(), Some("habeas.example/register/other"));
        let r = w.decide(&req, None, 1).unwrap_err();
        assert_eq!(
            r,
            Refusal::UnknownOrigin("habeas.example/register/other".into())
        );
        assert_eq!(r.status(), 404);

        // 403: the right origin, signed by another key.
        let impostor = Signer::from_seed(ORIGIN, [8; 32]).unwrap();
        let mut req = request(&t, 50, 60);
        req.note = note(&t, 60, &impostor);
        let r = w.decide(&req, held, 1).unwrap_err();
        assert_eq!((r.status(), r), (403, Refusal::BadSignature(ORIGIN.into())));

        // 409: the old size is not the one the witness holds; the body says which it is.
        let r = w.decide(&request(&t, 40, 60), held, 1).unwrap_err();
        assert_eq!(
            r,
            Refusal::Conflict {
                old: 40,
                witness_size: 50
            }
        );
        assert_eq!(r.status(), 409);
        assert_eq!(r.response(), (SIZE_CONTENT_TYPE, "50\n".to_owned()));
        let r = w.decide(&request(&t, 0, 60), held, 1).unwrap_err();
        assert_eq!(r.response().1, "50\n");
        let r = w.decide(&request(&t, 10, 60), None, 1).unwrap_err();
        assert_eq!(r.response().1, "0\n");

        // 409: a fork, another tree of the size the witness holds.
        let other = tree(100, 1);
        let r = w.decide(&request(&other, 50, 50), held, 1).unwrap_err();
        assert_eq!(r, Refusal::Fork { size: 50 });
        assert_eq!(r.status(), 409);
        assert_eq!(r.response(), (SIZE_CONTENT_TYPE, "50\n".to_owned()));
        assert!(r.is_evidence());

        // 422: a rewrite, a larger tree that does not contain the one the witness holds,
        // with a proof that is valid within the rewritten tree.
        let r = w.decide(&request(&other, 50, 80), held, 1).unwrap_err();
        assert_eq!(r, Refusal::Inconsistent { old: 50, size: 80 });
        assert_eq!(r.status(), 422);
        // 422: a damaged proof, a missing proof, a proof when none is due.
        let mut req = request(&t, 50, 80);
        req.proof[0][0] ^= 1;
        assert_eq!(w.decide(&req, held, 1).unwrap_err().status(), 422);
        let mut req = request(&t, 50, 80);
        req.proof.clear();
        assert_eq!(w.decide(&req, held, 1).unwrap_err().status(), 422);
        let mut req = request(&t, 50, 50);
        req.proof = vec![[0; 32]];
        assert_eq!(w.decide(&req, held, 1).unwrap_err().status(), 422);
        let mut req = request(&t, 0, 20);
        req.proof = vec![[0; 32]];
        assert_eq!(w.decide(&req, None, 1).unwrap_err().status(), 422);

        // 500: a timestamp beyond 2^63 - 1 cannot be cosigned.
        let r = w.decide(&request(&t, 50, 60), held, u64::MAX).unwrap_err();
        assert_eq!(r.status(), 500);

        // And the proper extension is still accepted.
        accept(&w, &request(&t, 50, 100), held);
    }
}
