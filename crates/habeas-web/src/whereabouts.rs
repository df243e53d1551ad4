//! The whereabouts answer (habeas corpus): a court or the ombudsman asks whether a person is
//! held, where, since when and on what legal basis, and gets that and nothing else of the
//! file — signed by the register's key, with the entries it rests on, their inclusion proofs
//! and the witnessed checkpoint, so that it can be checked without trusting the prison
//! (`habeas check-answer`, the `/verify` page, `tools/verify_answer.py`).
//!
//! "Not held" is an answer too: signed and logged with the checkpoint it was given against, so
//! that an admission back-dated later (an entry after that checkpoint dated before the
//! answer) shows the lie. Every question and answer goes to the access log, which only
//! inspectors read: a facility never learns who asked about whom.
//!
//! The answer file (`habeas.whereabouts/1`) is specified in docs/register-format.md §17.

use crate::access::{Event, EVERY_FACILITY};
use crate::auth::Role;
use crate::error::{ApiError, ApiResult};
use crate::state::{blocking, AppState, Caller};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use habeas_register::merkle::{leaf_hash, to_hex};
use habeas_register::store::Store as _;
use habeas_store_sqlite::{Sought, Whereabouts};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The answer file's format.
pub const FORMAT: &str = "habeas.whereabouts/1";

/// The roles that ask.
pub const ASKERS: &[Role] = &[Role::Court, Role::Ombudsman];

/// An identity document as the question names it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentQuestion {
    /// `DUI`, `passport`, … as admissions record it.
    pub kind: String,
    pub number: String,
    /// The issuing country (ISO 3166-1 alpha-2); any issuer when absent.
    #[serde(default)]
    pub issuer: Option<String>,
}

/// A whereabouts question: the person by identity document, or by name and birth date; the
/// purpose and the case it is asked in.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    #[serde(default)]
    pub document: Option<DocumentQuestion>,
    /// The person's name (every word must match, case and accents ignored); with `birth_date`.
    #[serde(default)]
    pub name: Option<String>,
    /// `YYYY-MM-DD`; with `name`.
    #[serde(default)]
    pub birth_date: Option<String>,
    /// Why it is asked (`habeas corpus`, `amparo`, `visita de monitoreo`…).
    pub purpose: String,
    /// The case or file it is asked in.
    pub case_reference: String,
}

/// The answer file (`habeas.whereabouts/1`, docs/register-format.md §17).
#[derive(Debug, utoipa::ToSchema)]
pub struct AnswerFile {
    /// What is signed: the question, the status (held, released, transferred, dead, not_held,
    /// ambiguous), the facts of the latest custody and the checkpoint it rests on.
    #[schema(value_type = Object)]
    pub answer: Value,
    pub evidence: AnswerEvidence,
    /// A signed note by the register's key over the answer's canonical JSON.
    pub signature: String,
    /// The register's verifier key as this server gives it (check against the one you trust).
    pub verifier_key: String,
}

/// The witnessed checkpoint and the entries an answer rests on.
#[derive(Debug, utoipa::ToSchema)]
pub struct AnswerEvidence {
    /// The checkpoint note, with the witnesses' cosignatures.
    pub checkpoint: String,
    pub entries: Vec<EvidenceEntry>,
}

/// One entry an answer rests on.
#[derive(Debug, utoipa::ToSchema)]
pub struct EvidenceEntry {
    pub index: u64,
    pub leaf_hash: String,
    /// The entry's exact bytes (base64), unless withheld.
    pub entry: Option<String>,
    /// Why the entry is not shown (it names other people): its leaf hash is proven.
    pub withheld: Option<String>,
    /// The inclusion proof in the checkpoint's tree (hex), unless recorded after it.
    pub proof: Option<Vec<String>>,
    pub after_checkpoint: bool,
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::bad_request("invalid_field", message).field(field)
}

fn one_line(field: &str, raw: &str, max: usize) -> ApiResult<String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(invalid(field, "is required"));
    }
    if t.chars().count() > max {
        return Err(invalid(field, &format!("at most {max} characters")));
    }
    if t.chars().any(char::is_control) {
        return Err(invalid(
            field,
            "must be one line without control characters",
        ));
    }
    Ok(t.to_owned())
}

impl Question {
    /// The person sought, checked: a document, or a name and a birth date (not both, not
    /// neither), and a purpose and case reference.
    pub fn checked(&self) -> ApiResult<(Sought, String, String)> {
        let purpose = one_line("purpose", &self.purpose, 200)?;
        let case = one_line("case_reference", &self.case_reference, 200)?;
        let sought = match (&self.document, &self.name, &self.birth_date) {
            (Some(d), None, None) => Sought::Document {
                kind: one_line("document.kind", &d.kind, 40)?,
                number: one_line("document.number", &d.number, 60)?,
                issuer: d
                    .issuer
                    .as_deref()
                    .map(|i| one_line("document.issuer", i, 10))
                    .transpose()?,
            },
            (None, Some(name), Some(birth)) => {
                let name = one_line("name", name, 200)?;
                let words: Vec<String> = habeas_core::ids::search_key(&name)
                    .split(' ')
                    .filter(|w| !w.is_empty())
                    .map(String::from)
                    .collect();
                if words.len() < 2 {
                    return Err(invalid("name", "give at least a given name and a surname"));
                }
                let date = habeas_core::dates::Date::parse("birth_date", birth.trim())
                    .map_err(|e| invalid("birth_date", &e.to_string()))?;
                Sought::NameAndBirth {
                    words,
                    birth_date: date.to_string(),
                }
            }
            (Some(_), _, _) => {
                return Err(invalid(
                    "document",
                    "ask by identity document or by name and birth date, not both",
                ))
            }
            (None, None, _) => {
                return Err(invalid(
                    "document",
                    "name the person: an identity document, or a name and a birth date",
                ))
            }
            (None, Some(_), None) => {
                return Err(invalid(
                    "birth_date",
                    "a name is asked with the birth date: a name alone names too many people",
                ))
            }
        };
        Ok((sought, purpose, case))
    }
}

/// What the question named, as the answer and the access log repeat it.
fn sought_json(s: &Sought) -> Value {
    match s {
        Sought::Document {
            kind,
            number,
            issuer,
        } => json!({"document": {"kind": kind, "number": number, "issuer": issuer}}),
        Sought::NameAndBirth { words, birth_date } => {
            json!({"name": words.join(" "), "birth_date": birth_date})
        }
    }
}

/// The entries an answer about `w` rests on, each with whether its content may be shown: an
/// entry that names other people (a group hearing) is proven without being shown.
fn evidence_of(w: &Whereabouts) -> Vec<(u64, bool)> {
    let mut out = vec![(w.person, true), (w.booking, true)];
    if let Some(b) = &w.basis {
        out.push((b.entry, true));
    }
    if let Some(h) = &w.hearing {
        out.push((h.entry, h.people_heard <= 1));
    }
    if let Some((e, _)) = &w.ended {
        out.push((*e, true));
    }
    out.sort_unstable();
    out.dedup_by_key(|(i, _)| *i);
    out
}

/// An answer before it is signed: the answer, the entries it rests on (each with whether it
/// is shown), the person it names, and the checkpoint note it was given against.
pub(crate) struct Drafted {
    pub(crate) answer: Value,
    pub(crate) evidence: Vec<(u64, bool)>,
    pub(crate) person: Option<u64>,
    pub(crate) checkpoint: String,
}

/// The answer, built from the records as they stand and the published checkpoint, before it
/// is signed. `today` decides whether the basis is in force and which hearing is next.
pub(crate) fn answer_of(
    state: &AppState,
    caller: &Caller,
    sought: &Sought,
    purpose: &str,
    case: &str,
    asked_at: &str,
    today: &str,
) -> ApiResult<Drafted> {
    let origin = state.store.info()?.origin;
    let people = state.store.whereabouts_people(sought, 5)?;
    let found = match people.as_slice() {
        [one] => state.store.whereabouts(*one)?,
        _ => None,
    };
    let evidence = found.as_ref().map(evidence_of).unwrap_or_default();
    let needed = evidence.iter().map(|(i, _)| i + 1).max().unwrap_or(1);
    let published = published_covering(state, needed)?;
    let mut answer = json!({
        "format": FORMAT,
        "origin": origin,
        "asked": {
            "by": caller.user.username,
            "role": caller.role.as_str(),
            "at": asked_at,
            "purpose": purpose,
            "case_reference": case,
            "person": sought_json(sought),
        },
        "checkpoint": {"size": published.size, "root": B64.encode(published.root)},
    });
    let person = found.as_ref().map(|w| w.person);
    let found = match (people.as_slice(), &found) {
        ([_], Some(w)) => whereabouts_json(state, w, today)?,
        ([] | [_], _) => {
            json!({"status": "not_held", "detail": "nobody recorded in this register matches the question"})
        }
        (many, _) => json!({
            "status": "ambiguous",
            "detail": format!("{} people recorded match the question: ask by identity document", many.len()),
            "matches": many.len(),
        }),
    };
    if let (Some(o), Some(f)) = (answer.as_object_mut(), found.as_object()) {
        for (k, v) in f {
            o.insert(k.clone(), v.clone());
        }
    }
    Ok(Drafted {
        answer,
        evidence,
        person,
        checkpoint: published.note,
    })
}

/// The published checkpoint, covering the first `needed` entries if it can: a register whose
/// published checkpoint is older signs one now, and waits a little for its witnesses (the
/// answer then marks what the checkpoint does not cover as recorded after it).
fn published_covering(state: &AppState, needed: u64) -> ApiResult<crate::transparency::Published> {
    let mut published = state.transparency.published(&state.store)?;
    let covers =
        |p: &Option<crate::transparency::Published>| p.as_ref().is_some_and(|p| p.size >= needed);
    if !covers(&published) {
        if let Some(r) = &state.register {
            r.checkpoint()?;
            state.transparency.nudge();
            for _ in 0..WITNESS_WAIT_STEPS {
                published = state.transparency.published(&state.store)?;
                if covers(&published) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(WITNESS_WAIT_STEP_MS));
            }
        }
    }
    published.ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_checkpoint",
            "the register has no published checkpoint yet: ask again shortly",
        )
    })
}

/// How long an answer waits for the witnesses to cosign a new checkpoint: at most 20 steps of
/// 50 ms.
const WITNESS_WAIT_STEPS: u32 = 20;
const WITNESS_WAIT_STEP_MS: u64 = 50;

/// The answer's facts about one person's latest custody.
fn whereabouts_json(state: &AppState, w: &Whereabouts, today: &str) -> ApiResult<Value> {
    let mut out =
        json!({"person": w.person, "facility": w.facility, "since": w.since, "custody": w.booking});
    let o = out
        .as_object_mut()
        .ok_or_else(|| ApiError::internal("answer"))?;
    match &w.ended {
        None => {
            o.insert("status".into(), json!("held"));
            o.insert("legal_status".into(), json!(w.legal_status));
            o.insert(
                "legal_basis".into(),
                match &w.basis {
                    Some(b) => json!({
                        "kind": b.kind, "authority": b.authority, "reference": b.reference,
                        "issued": b.issued, "expires": b.expires, "review": b.review,
                        "in_force": b.expires.as_deref().is_none_or(|e| e >= today),
                        "entry": b.entry,
                    }),
                    None => Value::Null,
                },
            );
            let next = w.hearing.as_ref().and_then(|h| {
                let date = if h.at.as_str() >= today {
                    Some(h.at.clone())
                } else {
                    h.next_date.clone().filter(|d| d.as_str() >= today)
                };
                date.map(|d| json!({"date": d, "court": h.court, "entry": h.entry}))
            });
            o.insert("next_hearing".into(), next.unwrap_or(Value::Null));
        }
        Some((entry, reason)) => {
            let status = habeas_core::answer::ended_status(reason);
            let payload = state
                .store
                .entry(*entry)?
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .map(|e| e["payload"].clone())
                .unwrap_or(Value::Null);
            let at = payload.get("at").and_then(Value::as_str).map(str::to_owned);
            let to = ["to", "destination", "counterpart"]
                .iter()
                .find_map(|k| payload.get(*k).and_then(Value::as_str))
                .map(str::to_owned);
            o.insert("status".into(), json!(status));
            o.insert(
                "ended".into(),
                json!({"reason": reason, "at": at, "to": to, "entry": entry}),
            );
        }
    }
    Ok(out)
}

/// The signed note of an answer: its format, the register's origin and the SHA-256 of its
/// canonical JSON, signed by the register's key.
pub fn signed_text(origin: &str, answer: &Value) -> Result<String, String> {
    let bytes = habeas_register::canonical::to_vec(answer).map_err(|e| e.to_string())?;
    let digest = Sha256::digest(&bytes);
    Ok(format!("{FORMAT}\n{origin}\n{}\n", B64.encode(digest)))
}

/// The whole answer file: the answer, its evidence (each entry's bytes unless withheld, its
/// leaf hash and inclusion proof in the published checkpoint) and the register's signature.
pub(crate) fn answer_file(
    state: &AppState,
    answer: Value,
    evidence: &[(u64, bool)],
    checkpoint: String,
) -> ApiResult<Value> {
    let size = answer["checkpoint"]["size"].as_u64().unwrap_or(0);
    let mut entries = Vec::with_capacity(evidence.len());
    for (index, shown) in evidence {
        let Some(bytes) = state.store.entry(*index)? else {
            continue;
        };
        let leaf = leaf_hash(&bytes);
        let proof = if *index < size {
            Some(
                state
                    .transparency
                    .inclusion_proof(&state.store, *index, size)?
                    .iter()
                    .map(to_hex)
                    .collect::<Vec<_>>(),
            )
        } else {
            None
        };
        entries.push(json!({
            "index": index,
            "leaf_hash": to_hex(&leaf),
            "entry": if *shown { Value::String(B64.encode(&bytes)) } else { Value::Null },
            "withheld": if *shown { Value::Null } else { json!("names other people: proven, not shown") },
            "proof": proof,
            "after_checkpoint": *index >= size,
        }));
    }
    let origin = answer["origin"].as_str().unwrap_or_default().to_owned();
    let signer = state.signer.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "read_only",
            "this server holds no key to sign answers with",
        )
    })?;
    let text = signed_text(&origin, &answer).map_err(ApiError::internal)?;
    let signature = signer.sign_note(&text).map_err(ApiError::internal)?;
    Ok(json!({
        "answer": answer,
        "evidence": {"checkpoint": checkpoint, "entries": entries},
        "signature": signature,
        "verifier_key": signer.verifier().to_string(),
    }))
}

/// Asks and answers, logging the question and the answer (with the checkpoint) before the
/// answer leaves. Shared by the API and the page.
pub(crate) fn ask(state: &AppState, caller: &Caller, q: &Question) -> ApiResult<Value> {
    if !ASKERS.contains(&caller.role) {
        state.refuse(
            caller,
            EVERY_FACILITY,
            "ask whereabouts",
            "only courts and the ombudsman ask whereabouts",
        )?;
        return Err(ApiError::forbidden(
            "whereabouts are asked by courts and the ombudsman",
        ));
    }
    let (sought, purpose, case) = q.checked()?;
    let now = state.clock.now();
    let asked_at = now.to_string();
    let today = habeas_core::dates::Date::of(now).to_string();
    let Drafted {
        answer,
        evidence,
        person,
        checkpoint,
    } = answer_of(state, caller, &sought, &purpose, &case, &asked_at, &today)?;
    let file = answer_file(state, answer, &evidence, checkpoint)?;
    let digest = signed_text(
        file["answer"]["origin"].as_str().unwrap_or_default(),
        &file["answer"],
    )
    .map_err(ApiError::internal)?;
    state.log(&[Event::Whereabouts {
        username: &caller.user.username,
        person,
        detail: json!({
            "purpose": purpose,
            "case_reference": case,
            "asked": sought_json(&sought),
            "status": file["answer"]["status"],
            "facility": file["answer"]["facility"],
            "checkpoint": file["answer"]["checkpoint"],
            "signed": digest,
        }),
    }])?;
    Ok(file)
}

/// `POST /api/whereabouts`: is this person held, where, since when and on what legal basis.
#[utoipa::path(post, path = "/api/whereabouts", tag = "whereabouts", request_body(content = Question, description = "The person, by identity document or by name and birth date, with the purpose and the case it is asked in"), responses((status = 200, description = "The signed answer file (habeas.whereabouts/1): the answer, the entries it rests on with their inclusion proofs and the witnessed checkpoint, and the register's signature; `status` is held, released, transferred, dead, not_held or ambiguous", body = AnswerFile), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role (logged): courts and the ombudsman ask", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 503, description = "No published checkpoint yet, or a server without the key", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
pub(crate) async fn whereabouts(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    bytes: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<Value>> {
    blocking(move || {
        let caller = state.caller(&method, &headers)?;
        let bytes = bytes.map_err(crate::api::body_error)?;
        crate::api::json_body(&headers, &bytes)?;
        let q: Question = crate::api::body(&bytes)?;
        ask(&state, &caller, &q).map(Json)
    })
    .await
}
