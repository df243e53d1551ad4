//! C2SP `signed-note` with Ed25519 keys, and the C2SP `tlog-checkpoint` body it carries.
//!
//! A note is UTF-8 text ending in a newline, then a blank line, then one or more signature
//! lines `— <key name> <base64(key id ‖ signature)>`. The Ed25519 key id is the first four
//! bytes of `SHA-256(key name ‖ "\n" ‖ 0x01 ‖ public key)`. Verifier keys are written
//! `<name>+<key id as 8 hex digits>+<base64(0x01 ‖ public key)>`, signer keys
//! `PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ seed)>`.

use crate::merkle::Hash;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

const ALG_ED25519: u8 = 0x01;
pub(crate) const DASH: &str = "\u{2014} ";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    #[error("key name {0:?} is not valid: it must be non-empty and contain no '+' or white space")]
    KeyName(String),
    #[error("malformed key: {0}")]
    Key(&'static str),
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    #[error("the note carries no valid signature by key {0}")]
    NoSignature(String),
    #[error("malformed checkpoint: {0}")]
    Checkpoint(&'static str),
}

pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('+') && !name.chars().any(char::is_whitespace)
}

fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    key_id_for(ALG_ED25519, name, public)
}

/// `SHA-256(name ‖ "\n" ‖ signature type ‖ public key)[:4]`, the signed-note key id.
pub(crate) fn key_id_for(signature_type: u8, name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([signature_type]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

pub(crate) fn hex4(id: &[u8; 4]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// A verifier key: what an outside party needs to check the register's checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl VerifierKey {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Parses `<name>+<hex key id>+<base64(0x01 ‖ key)>`.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let text = text.trim();
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(hex), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::Key("expected <name>+<key id>+<key>"));
        };
        if !valid_name(name) {
            return Err(NoteError::KeyName(name.to_owned()));
        }
        let raw = B64
            .decode(b64)
            .map_err(|_| NoteError::Key("the key is not base64"))?;
        if raw.len() != 33 || raw[0] != ALG_ED25519 {
            return Err(NoteError::Key(
                "not an Ed25519 key (expected 0x01 and 32 bytes)",
            ));
        }
        let mut public = [0u8; 32];
        public.copy_from_slice(&raw[1..]);
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| NoteError::Key("not a valid Ed25519 point"))?;
        let id = key_id(name, &public);
        if hex != hex4(&id) {
            return Err(NoteError::Key("the key id does not match the name and key"));
        }
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, hex4(&self.id), B64.encode(raw))
    }
}

/// The register's signing key. Its `Debug` never shows the secret.
pub struct Signer {
    name: String,
    id: [u8; 4],
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Signer({}+{}, secret redacted)",
            self.name,
            hex4(&self.id)
        )
    }
}

impl Signer {
    /// A signer from a 32-byte seed (the caller supplies the randomness).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::KeyName(name.to_owned()));
        }
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, key.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ seed)>`.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::Key("a signer key starts with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hex), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::Key("expected PRIVATE+KEY+<name>+<key id>+<key>"));
        };
        let raw = B64
            .decode(b64)
            .map_err(|_| NoteError::Key("the key is not base64"))?;
        if raw.len() != 33 || raw[0] != ALG_ED25519 {
            return Err(NoteError::Key(
                "not an Ed25519 key (expected 0x01 and 32 bytes)",
            ));
        }
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&raw[1..]);
        let signer = Self::from_seed(name, seed)?;
        if hex != hex4(&signer.id) {
            return Err(NoteError::Key("the key id does not match the name and key"));
        }
        Ok(signer)
    }

    /// The secret key in the `PRIVATE+KEY+…` form (written only to the 0600 key file).
    pub fn to_secret_string(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex4(&self.id),
            B64.encode(raw)
        )
    }

    /// Signs `text` (which must end in a newline and contain no blank line) as a note.
    pub fn sign_note(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let sig = self.key.sign(text.as_bytes());
        let mut blob = self.id.to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        Ok(format!(
            "{text}\n{DASH}{} {}\n",
            self.name,
            B64.encode(blob)
        ))
    }
}

pub(crate) fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("the text must end with a newline"));
    }
    if text.contains("\n\n") || text.starts_with('\n') {
        return Err(NoteError::Malformed(
            "the text must not contain a blank line",
        ));
    }
    if text.contains('\r') {
        return Err(NoteError::Malformed(
            "the text must not contain carriage returns",
        ));
    }
    Ok(())
}

/// A note signature line: the key name and the decoded key id and signature.
pub(crate) type SignatureLine<'a> = (&'a str, Vec<u8>);

/// Splits a signed note into its text (ending in a newline) and its signature lines, as
/// C2SP `signed-note` says: the text ends at the last blank line; every signature line is
/// `— <name> <base64>` (§7.2).
pub(crate) fn split_note(note: &str) -> Result<(&str, Vec<SignatureLine<'_>>), NoteError> {
    let split = note
        .rfind("\n\n")
        .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
    let text = &note[..split + 1];
    check_text(text)?;
    let sigs = &note[split + 2..];
    let Some(sigs) = sigs.strip_suffix('\n').filter(|s| !s.is_empty()) else {
        return Err(NoteError::Malformed(
            "the signature block must end with a newline",
        ));
    };
    let lines = sigs
        .split('\n')
        .map(signature_line)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((text, lines))
}

/// `— <name> <base64>` → (name, decoded bytes).
pub(crate) fn signature_line(line: &str) -> Result<SignatureLine<'_>, NoteError> {
    let rest = line
        .strip_prefix(DASH)
        .ok_or(NoteError::Malformed("a signature line starts with '— '"))?;
    let (name, b64) = rest.split_once(' ').ok_or(NoteError::Malformed(
        "a signature line has a name and a signature",
    ))?;
    let blob = B64
        .decode(b64)
        .map_err(|_| NoteError::Malformed("a signature is not base64"))?;
    Ok((name, blob))
}

/// Checks `note` against `key` and returns its text (without the signatures).
/// Signatures by other keys are ignored, as the signed-note format says.
pub fn open_note<'a>(note: &'a str, key: &VerifierKey) -> Result<&'a str, NoteError> {
    let (text, lines) = split_note(note)?;
    for (name, blob) in lines {
        if name != key.name || blob.len() != 68 || blob[..4] != key.id {
            continue;
        }
        let mut sig = [0u8; 64];
        sig.copy_from_slice(&blob[4..]);
        if key
            .key
            .verify(text.as_bytes(), &Signature::from_bytes(&sig))
            .is_ok()
        {
            return Ok(text);
        }
    }
    Err(NoteError::NoSignature(key.to_string()))
}

/// A tree head: the body of a `tlog-checkpoint` (origin, size, root; no extension lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The checkpoint text: `<origin>\n<size>\n<base64 root>\n`.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Parses a checkpoint text (extension lines after the root are allowed and ignored).
    pub fn parse_body(text: &str) -> Result<Self, NoteError> {
        let mut lines = text.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or(NoteError::Checkpoint("missing origin"))?;
        let size_line = lines
            .next()
            .ok_or(NoteError::Checkpoint("missing tree size"))?;
        if size_line.is_empty()
            || !size_line.bytes().all(|b| b.is_ascii_digit())
            || (size_line.len() > 1 && size_line.starts_with('0'))
        {
            return Err(NoteError::Checkpoint(
                "the tree size must be a decimal number without leading zeros",
            ));
        }
        let size = size_line
            .parse()
            .map_err(|_| NoteError::Checkpoint("the tree size is too large"))?;
        let root_raw = B64
            .decode(
                lines
                    .next()
                    .ok_or(NoteError::Checkpoint("missing root hash"))?,
            )
            .map_err(|_| NoteError::Checkpoint("the root hash is not base64"))?;
        let root: Hash = root_raw
            .try_into()
            .map_err(|_| NoteError::Checkpoint("the root hash is not 32 bytes"))?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// Signs this checkpoint as a note.
    pub fn sign(&self, signer: &Signer) -> Result<String, NoteError> {
        signer.sign_note(&self.body())
    }

    /// Verifies a signed checkpoint note and returns the checkpoint.
    pub fn open(note: &str, key: &VerifierKey) -> Result<Self, NoteError> {
        Self::parse_body(open_note(note, key)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::from_seed("habeas.example/register/test", [7; 32]).unwrap()
    }

    #[test]
    fn keys_round_trip_through_text() {
        let s = signer();
        let again = Signer::parse(&s.to_secret_string()).unwrap();
        assert_eq!(again.verifier(), s.verifier());
        let v = VerifierKey::parse(&s.verifier().to_string()).unwrap();
        assert_eq!(v, s.verifier());
        assert!(format!("{s:?}").contains("redacted"));
        assert!(!format!("{s:?}").contains(&s.to_secret_string()));
    }

    #[test]
    fn signed_checkpoint_verifies_and_tampering_fails() {
        let s = signer();
        let cp = Checkpoint {
            origin: "habeas.example/register/test".into(),
            size: 42,
            root: [9; 32],
        };
        let note = cp.sign(&s).unwrap();
        assert!(note.starts_with("habeas.example/register/test\n42\nCQkJ"));
        assert!(note.contains("\n\n\u{2014} habeas.example/register/test "));
        assert_eq!(Checkpoint::open(&note, &s.verifier()).unwrap(), cp);
        let forged = note.replacen("\n42\n", "\n43\n", 1);
        assert!(matches!(
            Checkpoint::open(&forged, &s.verifier()),
            Err(NoteError::NoSignature(_))
        ));
        let other = Signer::from_seed("habeas.example/register/test", [8; 32]).unwrap();
        assert!(Checkpoint::open(&note, &other.verifier()).is_err());
    }

    #[test]
    fn bad_keys_and_checkpoints_are_refused() {
        assert!(matches!(
            Signer::from_seed("has space", [0; 32]),
            Err(NoteError::KeyName(_))
        ));
        assert!(VerifierKey::parse("name+00000000+AQ==").is_err());
        let good = signer().verifier().to_string();
        let wrong_id = good.replacen('+', "+0", 1);
        assert!(VerifierKey::parse(&wrong_id).is_err());
        assert!(Checkpoint::parse_body("o\n012\nAAAA\n").is_err());
        assert!(Checkpoint::parse_body("o\n12\nAAAA\n").is_err());
        assert!(signer().sign_note("no newline").is_err());
        assert!(signer().sign_note("a\n\nb\n").is_err());
    }
}
