//! Register entries and their canonical encoding.
//!
//! An entry is stored as exactly the bytes that were hashed: the canonical JSON object
//!
//! ```text
//! {"actor":…,"corrects":{"index":N,"reason":…},"facility":…,"index":N,"kind":…,
//!  "payload":{…},"salt":"<32 hex>","subject":…,"time":"YYYY-MM-DDTHH:MM:SS.mmmZ","v":1}
//! ```
//!
//! (`corrects` only on corrections). See `docs/register-format.md`.

use crate::canonical::{self, write_string, CanonicalError};
use crate::merkle::{leaf_hash, Hash};
use crate::time::Timestamp;
use serde::Deserialize;
use serde_json::Value;
use std::fmt::Write as _;

/// The encoding version written in every entry (`"v":1`).
pub const ENTRY_VERSION: u64 = 1;
/// Largest entry the register accepts, in bytes.
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;
/// Longest actor, facility, kind or subject, in bytes.
pub const MAX_LABEL_BYTES: usize = 200;

/// An entry that says it corrects an earlier one, and why. Nothing is ever edited in place.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Correction {
    pub index: u64,
    pub reason: String,
}

/// What a caller asks the register to record. The writer adds index, time and salt.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub actor: String,
    pub facility: String,
    pub kind: String,
    pub subject: String,
    pub payload: Value,
    pub corrects: Option<Correction>,
}

/// A draft the register refuses before it reaches the writer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DraftError {
    #[error("field {field}: {problem}")]
    Field {
        field: &'static str,
        problem: String,
    },
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
    #[error("the entry would be {0} bytes; the register takes at most {MAX_ENTRY_BYTES}")]
    TooLarge(usize),
}

fn check_label(field: &'static str, value: &str) -> Result<(), DraftError> {
    if value.trim().is_empty() {
        return Err(DraftError::Field {
            field,
            problem: "must not be empty".into(),
        });
    }
    if value.len() > MAX_LABEL_BYTES {
        return Err(DraftError::Field {
            field,
            problem: format!("is {} bytes long; at most {MAX_LABEL_BYTES}", value.len()),
        });
    }
    if value.chars().any(char::is_control) {
        return Err(DraftError::Field {
            field,
            problem: "must not contain control characters".into(),
        });
    }
    Ok(())
}

impl Draft {
    /// Checks the envelope fields (the domain checks the payload before this).
    pub fn check(&self) -> Result<(), DraftError> {
        check_label("actor", &self.actor)?;
        check_label("facility", &self.facility)?;
        check_label("kind", &self.kind)?;
        check_label("subject", &self.subject)?;
        if !self.payload.is_object() {
            return Err(DraftError::Field {
                field: "payload",
                problem: "must be a JSON object".into(),
            });
        }
        if let Some(c) = &self.corrects {
            if c.reason.trim().is_empty() {
                return Err(DraftError::Field {
                    field: "corrects.reason",
                    problem: "a correction must say why".into(),
                });
            }
        }
        Ok(())
    }

    /// Encodes the entry this draft becomes at `index`, `time`, with `salt`.
    pub fn encode(
        &self,
        index: u64,
        time: Timestamp,
        salt: &[u8; 16],
    ) -> Result<Vec<u8>, DraftError> {
        Ok(self.pieces()?.assemble(index, &time.to_string(), salt))
    }

    /// Checks the draft and encodes everything but index, time and salt.
    pub fn prepare(self) -> Result<PreparedDraft, DraftError> {
        let pieces = self.pieces()?;
        Ok(PreparedDraft {
            draft: self,
            pieces,
        })
    }

    fn pieces(&self) -> Result<Pieces, DraftError> {
        self.check()?;
        let mut head = String::with_capacity(64);
        head.push_str("{\"actor\":");
        write_string(&mut head, &self.actor);
        if let Some(c) = &self.corrects {
            let _ = write!(head, ",\"corrects\":{{\"index\":{},\"reason\":", c.index);
            write_string(&mut head, &c.reason);
            head.push('}');
        }
        head.push_str(",\"facility\":");
        write_string(&mut head, &self.facility);
        let mut mid = String::with_capacity(256);
        mid.push_str(",\"kind\":");
        write_string(&mut mid, &self.kind);
        mid.push_str(",\"payload\":");
        canonical::write_value(&mut mid, &self.payload, "payload")?;
        let mut subject = String::with_capacity(48);
        subject.push_str("\",\"subject\":");
        write_string(&mut subject, &self.subject);
        // index (at most 16 digits), salt, time and the fixed keys add at most 120 bytes.
        let len = head.len() + mid.len() + subject.len() + 120;
        if len > MAX_ENTRY_BYTES {
            return Err(DraftError::TooLarge(len));
        }
        Ok(Pieces { head, mid, subject })
    }
}

/// The canonical encoding of a draft, cut where index, salt and time go.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pieces {
    /// `{"actor":…[,"corrects":{…}],"facility":…`
    head: String,
    /// `,"kind":…,"payload":{…}`
    mid: String,
    /// `","subject":…` (closes the salt string)
    subject: String,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl Pieces {
    fn assemble(&self, index: u64, time: &str, salt: &[u8; 16]) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(self.head.len() + self.mid.len() + self.subject.len() + 112);
        out.extend_from_slice(self.head.as_bytes());
        out.extend_from_slice(b",\"index\":");
        let mut digits = [0u8; 20];
        let mut n = index;
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        out.extend_from_slice(&digits[i..]);
        out.extend_from_slice(self.mid.as_bytes());
        out.extend_from_slice(b",\"salt\":\"");
        for b in salt {
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 15) as usize]);
        }
        out.extend_from_slice(self.subject.as_bytes());
        out.extend_from_slice(b",\"time\":\"");
        out.extend_from_slice(time.as_bytes());
        out.extend_from_slice(b"\",\"v\":1}");
        out
    }
}

/// A checked draft with its canonical encoding prepared (on the caller's thread), waiting for
/// the writer to give it an index, a time and a salt.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedDraft {
    draft: Draft,
    pieces: Pieces,
}

impl PreparedDraft {
    pub fn draft(&self) -> &Draft {
        &self.draft
    }
}

/// An entry as the writer sealed it: its exact bytes, leaf hash and decoded fields.
#[derive(Debug, Clone, PartialEq)]
pub struct SealedEntry {
    pub entry: Entry,
    pub bytes: Vec<u8>,
    pub leaf: Hash,
}

impl SealedEntry {
    pub fn seal(
        draft: &Draft,
        index: u64,
        time: Timestamp,
        salt: &[u8; 16],
    ) -> Result<Self, DraftError> {
        Ok(Self::seal_prepared(
            draft.clone().prepare()?,
            index,
            time,
            &time.to_string(),
            salt,
        ))
    }

    /// Seals a prepared draft without copying it. `time_text` is `time` as printed.
    pub fn seal_prepared(
        p: PreparedDraft,
        index: u64,
        time: Timestamp,
        time_text: &str,
        salt: &[u8; 16],
    ) -> Self {
        let bytes = p.pieces.assemble(index, time_text, salt);
        let leaf = leaf_hash(&bytes);
        let draft = p.draft;
        Self {
            entry: Entry {
                index,
                time,
                actor: draft.actor,
                facility: draft.facility,
                kind: draft.kind,
                subject: draft.subject,
                payload: draft.payload,
                corrects: draft.corrects,
                salt: *salt,
            },
            bytes,
            leaf,
        }
    }
}

/// A decoded entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub index: u64,
    pub time: Timestamp,
    pub actor: String,
    pub facility: String,
    pub kind: String,
    pub subject: String,
    pub payload: Value,
    pub corrects: Option<Correction>,
    pub salt: [u8; 16],
}

/// Why stored bytes are not a valid entry.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("not a register entry: {0}")]
    Json(String),
    #[error("field {field}: {problem}")]
    Field {
        field: &'static str,
        problem: String,
    },
    #[error("the bytes are not in canonical form")]
    NotCanonical,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    actor: String,
    corrects: Option<Correction>,
    facility: String,
    index: u64,
    kind: String,
    payload: Value,
    salt: String,
    subject: String,
    time: String,
    v: u64,
}

/// The end of every entry: `,"time":"YYYY-MM-DDTHH:MM:SS.mmmZ","v":1}`.
const TIME_SUFFIX_LEN: usize = 41;

/// Reads `index` and `time` from stored bytes without building the entry (verification's hot
/// path). The canonical order of keys puts `index` after the short `actor`, `corrects` and
/// `facility` fields and `time` just before the final `v`, so only the start and the end of
/// the bytes are read. Full validity is [`Entry::decode`]'s job.
pub fn decode_header(bytes: &[u8]) -> Result<(u64, Timestamp), DecodeError> {
    let mut p = Scan { b: bytes, i: 0 };
    p.eat(b'{')?;
    let index = loop {
        let key = p.string()?;
        p.eat(b':')?;
        match key {
            b"index" => break p.unsigned()?,
            b"actor" | b"corrects" | b"facility" => p.skip_value()?,
            _ => {
                return Err(p.fail("expected the key \"index\" after actor, corrects and facility"))
            }
        }
        p.eat(b',')?;
    };
    if bytes.len() < p.i + TIME_SUFFIX_LEN {
        return Err(p.fail("the entry is too short"));
    }
    let tail = &bytes[bytes.len() - TIME_SUFFIX_LEN..];
    if !tail.starts_with(b",\"time\":\"") || !tail.ends_with(b"\",\"v\":1}") {
        return Err(DecodeError::Json(
            "the entry does not end with its time and version".into(),
        ));
    }
    let text = std::str::from_utf8(&tail[9..33]).map_err(|_| DecodeError::Field {
        field: "time",
        problem: "not UTF-8".into(),
    })?;
    let time = Timestamp::parse(text).map_err(|e| DecodeError::Field {
        field: "time",
        problem: e.to_string(),
    })?;
    Ok((index, time))
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn fail(&self, what: &str) -> DecodeError {
        DecodeError::Json(format!("{what} at byte {}", self.i))
    }
    fn next(&mut self) -> Result<u8, DecodeError> {
        let c = *self
            .b
            .get(self.i)
            .ok_or_else(|| self.fail("unexpected end"))?;
        self.i += 1;
        Ok(c)
    }
    fn eat(&mut self, want: u8) -> Result<(), DecodeError> {
        if self.next()? == want {
            Ok(())
        } else {
            self.i -= 1;
            Err(self.fail(&format!("expected '{}'", want as char)))
        }
    }
    /// A string's raw contents (escapes left as they are).
    fn string(&mut self) -> Result<&'a [u8], DecodeError> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            let rest = self.b.get(self.i..).unwrap_or_default();
            let at = rest
                .iter()
                .position(|&c| c == b'"' || c == b'\\')
                .ok_or_else(|| self.fail("unterminated string"))?;
            self.i += at + 1;
            if rest[at] == b'"' {
                return Ok(&self.b[start..self.i - 1]);
            }
            self.next()?;
        }
    }
    fn unsigned(&mut self) -> Result<u64, DecodeError> {
        let start = self.i;
        let mut n: u64 = 0;
        while let Some(&c) = self.b.get(self.i) {
            if !c.is_ascii_digit() {
                break;
            }
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(c - b'0')))
                .ok_or_else(|| self.fail("number too large"))?;
            self.i += 1;
        }
        if self.i == start || (self.i - start > 1 && self.b[start] == b'0') {
            return Err(self.fail("expected a whole number"));
        }
        Ok(n)
    }
    fn skip_value(&mut self) -> Result<(), DecodeError> {
        match self.b.get(self.i).copied() {
            Some(b'"') => self.string().map(|_| ()),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                loop {
                    match self.b.get(self.i).copied() {
                        Some(b'"') => {
                            self.string()?;
                            continue;
                        }
                        Some(b'{' | b'[') => depth += 1,
                        Some(b'}' | b']') => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Ok(());
                            }
                        }
                        Some(_) => {}
                        None => return Err(self.fail("unexpected end")),
                    }
                    self.i += 1;
                }
            }
            Some(b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                while let Some(c) = self.b.get(self.i) {
                    if matches!(c, b',' | b'}' | b']') {
                        break;
                    }
                    self.i += 1;
                }
                Ok(())
            }
            _ => Err(self.fail("expected a value")),
        }
    }
}

impl Entry {
    /// Decodes stored bytes and checks that they are exactly the canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let w: Wire =
            serde_json::from_slice(bytes).map_err(|e| DecodeError::Json(e.to_string()))?;
        if w.v != ENTRY_VERSION {
            return Err(DecodeError::Field {
                field: "v",
                problem: format!("unknown version {}", w.v),
            });
        }
        let time = Timestamp::parse(&w.time).map_err(|e| DecodeError::Field {
            field: "time",
            problem: e.to_string(),
        })?;
        let mut salt = [0u8; 16];
        if w.salt.len() != 32 {
            return Err(DecodeError::Field {
                field: "salt",
                problem: "must be 32 lowercase hex digits".into(),
            });
        }
        for (i, slot) in salt.iter_mut().enumerate() {
            let pair = w.salt.get(2 * i..2 * i + 2).unwrap_or("");
            *slot = u8::from_str_radix(pair, 16).map_err(|_| DecodeError::Field {
                field: "salt",
                problem: "must be 32 lowercase hex digits".into(),
            })?;
        }
        let draft = Draft {
            actor: w.actor,
            facility: w.facility,
            kind: w.kind,
            subject: w.subject,
            payload: w.payload,
            corrects: w.corrects,
        };
        let again = draft
            .encode(w.index, time, &salt)
            .map_err(|_| DecodeError::NotCanonical)?;
        if again != bytes {
            return Err(DecodeError::NotCanonical);
        }
        Ok(Entry {
            index: w.index,
            time,
            actor: draft.actor,
            facility: draft.facility,
            kind: draft.kind,
            subject: draft.subject,
            payload: draft.payload,
            corrects: draft.corrects,
            salt,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn draft() -> Draft {
        Draft {
            actor: "officer:ana".into(),
            facility: "CECOT".into(),
            kind: "logbook.note".into(),
            subject: "facility:CECOT".into(),
            payload: json!({"text": "Recuento de las 06:00 sin novedad", "place": "Pabellón 3"}),
            corrects: None,
        }
    }

    #[test]
    fn encoding_is_the_documented_canonical_form() {
        let bytes = draft()
            .encode(7, Timestamp(1_709_210_096_789), &[0xab; 16])
            .unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(
            text,
            concat!(
                r#"{"actor":"officer:ana","facility":"CECOT","index":7,"kind":"logbook.note","#,
                r#""payload":{"place":"Pabellón 3","text":"Recuento de las 06:00 sin novedad"},"#,
                r#""salt":"abababababababababababababababab","subject":"facility:CECOT","#,
                r#""time":"2024-02-29T12:34:56.789Z","v":1}"#
            )
        );
        let back = Entry::decode(&bytes).unwrap();
        assert_eq!(back.index, 7);
        assert_eq!(back.payload, draft().payload);
        assert_eq!(
            decode_header(&bytes).unwrap(),
            (7, Timestamp(1_709_210_096_789))
        );
    }

    #[test]
    fn corrections_are_encoded_in_key_order() {
        let mut d = draft();
        d.corrects = Some(Correction {
            index: 3,
            reason: "wrong pavilion".into(),
        });
        let text = String::from_utf8(d.encode(9, Timestamp(0), &[0; 16]).unwrap()).unwrap();
        assert!(text.starts_with(
            r#"{"actor":"officer:ana","corrects":{"index":3,"reason":"wrong pavilion"},"facility""#
        ));
        assert_eq!(
            Entry::decode(text.as_bytes())
                .unwrap()
                .corrects
                .unwrap()
                .index,
            3
        );
    }

    #[test]
    fn the_header_scanner_reads_index_and_time_of_canonical_bytes() {
        let mut d = draft();
        d.actor = "a\\\",\"index\":4".into();
        d.payload = json!({"index": 99, "time": "x", "nested": [{"index": 5}]});
        d.corrects = Some(Correction {
            index: 3,
            reason: "\"index\":8 {[".into(),
        });
        let bytes = d.encode(12, Timestamp(1_000), &[7; 16]).unwrap();
        assert_eq!(decode_header(&bytes).unwrap(), (12, Timestamp(1_000)));
        let text = String::from_utf8(bytes).unwrap();
        assert!(decode_header(format!("{text} ").as_bytes()).is_err());
        assert!(
            decode_header(text.replacen("\"index\":12", "\"index\":012", 1).as_bytes()).is_err()
        );
        assert!(decode_header(&text.as_bytes()[..text.len() - 1]).is_err());
        assert!(decode_header(text.replacen("\"index\":12,", "", 1).as_bytes()).is_err());
        assert!(matches!(
            decode_header(
                text.replacen("1970-01-01T00:00:01.000Z", "1970-13-01T00:00:01.000Z", 1)
                    .as_bytes()
            ),
            Err(DecodeError::Field { field: "time", .. })
        ));
    }

    #[test]
    fn non_canonical_bytes_are_refused() {
        let bytes = draft().encode(1, Timestamp(0), &[1; 16]).unwrap();
        let mut spaced = b" ".to_vec();
        spaced.extend_from_slice(&bytes);
        assert_eq!(Entry::decode(&spaced), Err(DecodeError::NotCanonical));
        let text = String::from_utf8(bytes)
            .unwrap()
            .replace("\"v\":1}", "\"v\":1,\"x\":1}");
        assert!(matches!(
            Entry::decode(text.as_bytes()),
            Err(DecodeError::Json(_))
        ));
    }

    #[test]
    fn bad_drafts_name_the_field() {
        let mut d = draft();
        d.actor = " ".into();
        assert_eq!(
            d.encode(0, Timestamp(0), &[0; 16]),
            Err(DraftError::Field {
                field: "actor",
                problem: "must not be empty".into()
            })
        );
        let mut d = draft();
        d.payload = json!({"area_m2": 0.6});
        assert!(matches!(
            d.encode(0, Timestamp(0), &[0; 16]),
            Err(DraftError::Canonical(_))
        ));
        let mut d = draft();
        d.corrects = Some(Correction {
            index: 0,
            reason: "".into(),
        });
        assert!(matches!(
            d.check(),
            Err(DraftError::Field {
                field: "corrects.reason",
                ..
            })
        ));
    }
}
