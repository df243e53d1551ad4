//! Checking a whereabouts answer file (`habeas.whereabouts/1`, docs/register-format.md §17)
//! without trusting the server that gave it: the register's signature over the answer, the
//! checkpoint and its witnesses' cosignatures, each entry's inclusion proof, and that what the
//! answer says rests on those entries.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use habeas_register::merkle::{from_hex, leaf_hash, verify_inclusion, Hash};
use habeas_register::note::{open_note, Checkpoint, VerifierKey};
use habeas_register::witness::{verify_cosignature, CosignVerifierKey};
use habeas_register::Entry;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The answer file's format.
pub const FORMAT: &str = "habeas.whereabouts/1";

/// What a check found: each step passed, in order, and the entries not proven (recorded after
/// the checkpoint), which are reported but are no failure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    pub status: String,
    pub passed: Vec<String>,
    pub unproven: Vec<u64>,
    pub cosigned_by: Vec<String>,
}

fn text<'a>(v: &'a Value, what: &str) -> Result<&'a str, String> {
    v.as_str().ok_or_else(|| format!("the file has no {what}"))
}

/// Folds a document as admissions do: kind upper-cased, number upper-cased without spaces,
/// dots or hyphens.
fn folded_document(kind: &str, number: &str) -> (String, String) {
    (
        kind.trim().to_uppercase(),
        number
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.'))
            .flat_map(char::to_uppercase)
            .collect(),
    )
}

/// The status of an answer about a custody that ended, from its reason (a release's `reason`,
/// `death`, `transfer_out`): dead, transferred, escaped (left custody unlawfully: the custody
/// ended, the person was not released) or released.
pub fn ended_status(reason: &str) -> &'static str {
    if reason.contains("death") || reason == "died" {
        "dead"
    } else if reason == "escape" {
        "escaped"
    } else if reason.contains("transfer") {
        "transferred"
    } else {
        "released"
    }
}

/// Checks an answer file against the register key the checker trusts and the witnesses it
/// names (at least `quorum` of them must have cosigned the checkpoint).
pub fn check(
    file: &Value,
    key: &VerifierKey,
    witnesses: &[CosignVerifierKey],
    quorum: usize,
) -> Result<Checked, String> {
    let mut out = Checked::default();
    let answer = &file["answer"];
    if answer["format"] != FORMAT {
        return Err(format!("not a {FORMAT} answer file"));
    }
    let origin = text(&answer["origin"], "answer.origin")?;
    out.status = text(&answer["status"], "answer.status")?.to_owned();
    // a. The register's signature over the answer's canonical JSON.
    let signed = open_note(text(&file["signature"], "signature")?, key)
        .map_err(|e| format!("the answer's signature: {e}"))?;
    let canonical = habeas_register::canonical::to_vec(answer)
        .map_err(|e| format!("the answer is not canonical JSON: {e}"))?;
    let expected = format!(
        "{FORMAT}\n{origin}\n{}\n",
        B64.encode(Sha256::digest(&canonical))
    );
    if signed != expected {
        return Err("the signature is over another answer: the answer was changed".into());
    }
    out.passed
        .push(format!("signed by the register {}", key.name()));
    // b. The checkpoint, by the same key, with the witnesses' cosignatures.
    let note = text(&file["evidence"]["checkpoint"], "evidence.checkpoint")?;
    let cp = Checkpoint::open(note, key).map_err(|e| format!("the checkpoint: {e}"))?;
    let size = answer["checkpoint"]["size"].as_u64().unwrap_or(u64::MAX);
    let root = text(&answer["checkpoint"]["root"], "answer.checkpoint.root")?;
    if cp.origin != origin || cp.size != size || B64.encode(cp.root) != root {
        return Err(format!(
            "the checkpoint ({} entries) is not the one the answer names ({size})",
            cp.size
        ));
    }
    out.passed
        .push(format!("checkpoint of {} entries", cp.size));
    for w in witnesses {
        match verify_cosignature(note, w) {
            Ok(_) => out.cosigned_by.push(w.name().to_owned()),
            Err(e) => out
                .passed
                .push(format!("witness {}: no valid cosignature ({e})", w.name())),
        }
    }
    if out.cosigned_by.len() < quorum {
        return Err(format!(
            "{} of the {} witnesses cosigned the checkpoint; {quorum} needed",
            out.cosigned_by.len(),
            witnesses.len()
        ));
    }
    if !witnesses.is_empty() {
        out.passed
            .push(format!("cosigned by {}", out.cosigned_by.join(", ")));
    }
    // c. Each entry: its leaf hash, its proof, what it is.
    let mut entries: std::collections::BTreeMap<u64, Option<Entry>> = Default::default();
    for e in file["evidence"]["entries"]
        .as_array()
        .ok_or("the file has no evidence.entries")?
    {
        let index = e["index"]
            .as_u64()
            .ok_or("an evidence entry has no index")?;
        let leaf: Hash = from_hex(text(&e["leaf_hash"], "leaf_hash")?)
            .ok_or_else(|| format!("entry {index}: the leaf hash is not hex"))?;
        let shown = match e["entry"].as_str() {
            Some(b64) => {
                let bytes = B64
                    .decode(b64)
                    .map_err(|_| format!("entry {index}: not base64"))?;
                if leaf_hash(&bytes) != leaf {
                    return Err(format!("entry {index}: its bytes do not hash to its leaf"));
                }
                let entry = Entry::decode(&bytes).map_err(|e| format!("entry {index}: {e}"))?;
                if entry.index != index {
                    return Err(format!("entry {index} says it is entry {}", entry.index));
                }
                Some(entry)
            }
            None => None,
        };
        match e["proof"].as_array() {
            Some(p) if index < cp.size => {
                let proof: Vec<Hash> = p
                    .iter()
                    .map(|h| h.as_str().and_then(from_hex))
                    .collect::<Option<_>>()
                    .ok_or_else(|| format!("entry {index}: a proof hash is not hex"))?;
                if !verify_inclusion(index, cp.size, &leaf, &proof, &cp.root) {
                    return Err(format!(
                        "entry {index} is not in the checkpoint's tree (its proof fails)"
                    ));
                }
            }
            _ => out.unproven.push(index),
        }
        entries.insert(index, shown);
    }
    out.passed.push(format!(
        "{} entries in the tree{}",
        entries.len() - out.unproven.len(),
        if out.unproven.is_empty() {
            String::new()
        } else {
            format!(" ({} recorded after the checkpoint)", out.unproven.len())
        }
    ));
    // d. What the answer says rests on the entries.
    let get = |field: &str| -> Result<Option<&Entry>, String> {
        match answer[field].as_u64() {
            None => Ok(None),
            Some(i) => match entries.get(&i) {
                Some(Some(e)) => Ok(Some(e)),
                Some(None) => Err(format!("the {field} entry {i} is withheld")),
                None => Err(format!("the {field} entry {i} is not in the evidence")),
            },
        }
    };
    if matches!(
        out.status.as_str(),
        "held" | "released" | "transferred" | "dead" | "escaped"
    ) {
        let person = get("person")?.ok_or("the answer names no person")?;
        if person.kind != crate::kinds::ADMITTED {
            return Err(format!("entry {} is not an admission", person.index));
        }
        if let Some(d) = answer["asked"]["person"].get("document") {
            let want = folded_document(
                d["kind"].as_str().unwrap_or(""),
                d["number"].as_str().unwrap_or(""),
            );
            let has = person.payload["person"]["documents"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|doc| {
                    folded_document(
                        doc["kind"].as_str().unwrap_or(""),
                        doc["number"].as_str().unwrap_or(""),
                    ) == want
                });
            if !has {
                return Err("the admission does not carry the document asked about".into());
            }
        }
        let custody = get("custody")?.ok_or("the answer names no custody")?;
        let (facility, since) = if custody.kind == crate::kinds::TRANSFERRED {
            (
                custody.payload["to"].as_str().unwrap_or(""),
                custody.payload["at"].as_str().unwrap_or(""),
            )
        } else {
            (
                custody.facility.as_str(),
                custody.payload["admitted_at"].as_str().unwrap_or(""),
            )
        };
        if answer["facility"] != facility || answer["since"] != since {
            return Err(format!(
                "the answer says {} since {}; entry {} says {facility} since {since}",
                answer["facility"], answer["since"], custody.index
            ));
        }
        let basis = &answer["legal_basis"];
        if let Some(i) = basis["entry"].as_u64() {
            let Some(Some(e)) = entries.get(&i) else {
                return Err(format!("the legal basis entry {i} is not shown"));
            };
            let orders: Vec<&Value> = match e.payload["orders"].as_array() {
                Some(a) => a.iter().collect(),
                None => vec![&e.payload],
            };
            let found = orders.iter().any(|o| {
                o["kind"] == basis["kind"]
                    && o["authority"] == basis["authority"]
                    && o["reference"] == basis["reference"]
            });
            if !found {
                return Err(format!(
                    "entry {i} does not record the order the answer cites"
                ));
            }
        }
        if let Some(i) = answer["ended"]["entry"].as_u64() {
            let Some(Some(e)) = entries.get(&i) else {
                return Err(format!("the entry {i} that ended the custody is not shown"));
            };
            if e.payload["at"] != answer["ended"]["at"] {
                return Err(format!("entry {i} ended the custody at another time"));
            }
            let reason = match e.kind.as_str() {
                crate::kinds::RELEASED => e.payload["reason"].as_str().unwrap_or(""),
                crate::kinds::DEATH => "death",
                crate::kinds::TRANSFERRED => "transfer_out",
                other => return Err(format!("entry {i} ({other}) does not end a custody")),
            };
            if answer["ended"]["reason"] != reason {
                return Err(format!(
                    "the answer says the custody ended by {}; entry {i} says {reason}",
                    answer["ended"]["reason"]
                ));
            }
            if out.status != ended_status(reason) {
                return Err(format!(
                    "the answer says {}; the reason {reason} of entry {i} means {}",
                    out.status,
                    ended_status(reason)
                ));
            }
        } else if out.status != "held" {
            return Err(format!(
                "a {} answer says nothing of how the custody ended",
                out.status
            ));
        }
        out.passed
            .push("the answer says what its entries say".to_owned());
    }
    Ok(out)
}
