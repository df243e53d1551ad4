//! Reading a person's file, and the access log: the reads that are logged before they are
//! answered.

use crate::access::{Event, EVERY_FACILITY};
use crate::auth::Role;
use crate::error::{query_error, ApiError, ApiResult};
use crate::state::{blocking, AppState, Caller};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use habeas_register::store::Store as _;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Debug, Deserialize)]
pub(crate) struct Purpose {
    purpose: Option<String>,
}

/// A person's file and history as `caller` may read them (health content taken out for the
/// roles that do not read it), with the facility that holds or last held them: 404 for no such
/// person, 403 (logged) for one never held in the caller's facilities.
pub(crate) fn readable_file(
    state: &AppState,
    caller: &Caller,
    person: u64,
) -> ApiResult<(habeas_store_sqlite::PersonFile, Vec<Value>, String)> {
    match file_for(state, caller, person)? {
        Ok(read) => Ok(read),
        Err(refusal) => {
            state.refuse(
                caller,
                &refusal.facility,
                "read person file",
                refusal.reason,
            )?;
            Err(refusal.answer)
        }
    }
}

/// The refusal of a role that reads no person file: administrators manage accounts; courts
/// and the ombudsman ask where a person is (`/api/whereabouts`) and get nothing else of it.
fn not_for_role(caller: &Caller) -> Option<Refusal> {
    if caller.role == Role::Administrator {
        return Some(Refusal {
            facility: EVERY_FACILITY.to_owned(),
            reason: "administrators manage accounts, not records",
            answer: ApiError::forbidden("administrators do not read person files"),
        });
    }
    caller.role.asks_whereabouts().then(|| Refusal {
        facility: EVERY_FACILITY.to_owned(),
        reason: "courts and the ombudsman ask where a person is, not for the file",
        answer: ApiError::forbidden(
            "courts and the ombudsman ask where a person is held (POST /api/whereabouts), not for the file",
        ),
    })
}

/// The answer for a person who does not exist.
fn no_such_person(person: u64) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("there is no person {person}"),
    )
    .field("person")
}

/// The facility that holds or last held the person whose file this is, if the caller works
/// in one that has held them. A person never held in the caller's facilities is answered as
/// one who does not exist (404), so that the answer says nothing of other facilities' people;
/// the refusal, with its real reason, is for the access log.
fn scope(
    caller: &Caller,
    person: u64,
    file: &habeas_store_sqlite::PersonFile,
) -> Result<String, Refusal> {
    let facility = file
        .custodies
        .last()
        .map_or(EVERY_FACILITY.to_owned(), |c| c.facility.clone());
    if !file.custodies.iter().any(|c| caller.covers(&c.facility)) {
        return Err(Refusal {
            facility,
            reason: "outside the caller's facilities",
            answer: no_such_person(person),
        });
    }
    Ok(facility)
}

/// A person's file, its history and the facility that holds or last held them.
pub(crate) type Readable = (habeas_store_sqlite::PersonFile, Vec<Value>, String);

/// A refused read, to be logged before it is answered.
pub(crate) struct Refusal {
    pub(crate) facility: String,
    pub(crate) reason: &'static str,
    pub(crate) answer: ApiError,
}

/// A person's file and history as `caller` may read them, or the refusal to log.
pub(crate) fn file_for(
    state: &AppState,
    caller: &Caller,
    person: u64,
) -> ApiResult<Result<Readable, Refusal>> {
    if let Some(refusal) = not_for_role(caller) {
        return Ok(Err(refusal));
    }
    let Some((file, mut history)) = state.store.person_record(person)? else {
        return Err(no_such_person(person));
    };
    let facility = match scope(caller, person, &file) {
        Ok(facility) => facility,
        Err(refusal) => return Ok(Err(refusal)),
    };
    redact_health(&mut history, caller.role);
    habeas_core::record::without_images(&mut history);
    Ok(Ok((file, history, facility)))
}

/// What reading a person's file for the API gave.
pub(crate) enum FileRead {
    /// The answer's body and the facility that holds or last held the person.
    Answer(String, String),
    Refused(Refusal),
    /// More entries than the reader would take on this thread.
    TooLong,
}

/// How many entries a person's file may have to be read on an async thread; a longer one is
/// read again on the blocking pool, so that no request waits behind it.
const INLINE_ENTRIES: usize = 100;

/// The API's answer for a person's file, as `caller` may read it: `{"history": [...],
/// "person": {...}}`, written from the stored entries without decoding the payloads that need
/// no change (health content for roles that do not read it, and images, are changed as
/// [`readable_file`] changes them). The refusal to log, when there is one.
pub(crate) fn file_json_for(
    state: &AppState,
    caller: &Caller,
    person: u64,
    at_most: Option<usize>,
) -> ApiResult<FileRead> {
    use std::fmt::Write as _;
    #[derive(serde::Deserialize)]
    struct Stored<'a> {
        #[serde(borrow)]
        actor: &'a serde_json::value::RawValue,
        #[serde(borrow, default)]
        corrects: Option<&'a serde_json::value::RawValue>,
        #[serde(borrow)]
        kind: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        payload: &'a serde_json::value::RawValue,
        #[serde(borrow)]
        time: &'a serde_json::value::RawValue,
    }
    if let Some(refusal) = not_for_role(caller) {
        return Ok(FileRead::Refused(refusal));
    }
    let mut history = String::from("[");
    let mut entries = 0usize;
    let file = state.store.person_entries(person, &mut |booking, idx, bytes| {
        entries += 1;
        if at_most.is_some_and(|n| entries > n) {
            return Ok(false);
        }
        let corrupt = |e: serde_json::Error| {
            habeas_register::store::StoreError::Corrupt(format!("entry {idx}: {e}"))
        };
        let e: Stored<'_> = serde_json::from_slice(bytes).map_err(corrupt)?;
        if history.len() > 1 {
            history.push(',');
        }
        if e.kind == habeas_core::kinds::HEALTH || e.kind == habeas_core::kinds::PHOTO {
            let mut one = [json!({
                "index": idx,
                "time": serde_json::from_str::<Value>(e.time.get()).map_err(corrupt)?,
                "kind": e.kind,
                "actor": serde_json::from_str::<Value>(e.actor.get()).map_err(corrupt)?,
                "booking": booking,
                "corrects": e.corrects.map(|c| serde_json::from_str::<Value>(c.get())).transpose().map_err(corrupt)?,
                "payload": serde_json::from_str::<Value>(e.payload.get()).map_err(corrupt)?,
            })];
            redact_health(&mut one, caller.role);
            habeas_core::record::without_images(&mut one);
            let _ = write!(history, "{}", one[0]);
        } else {
            let _ = write!(
                history,
                r#"{{"actor":{},"booking":{booking},"corrects":{},"index":{idx},"kind":{},"payload":{},"time":{}}}"#,
                e.actor.get(),
                e.corrects.map_or("null", |c| c.get()),
                Value::from(e.kind.as_ref()),
                e.payload.get(),
                e.time.get(),
            );
        }
        Ok(true)
    })?;
    if at_most.is_some_and(|n| entries > n) {
        return Ok(FileRead::TooLong);
    }
    history.push(']');
    let Some(file) = file else {
        return Err(no_such_person(person));
    };
    let facility = match scope(caller, person, &file) {
        Ok(facility) => facility,
        Err(refusal) => return Ok(FileRead::Refused(refusal)),
    };
    let person = serde_json::to_string(&file).map_err(ApiError::internal)?;
    Ok(FileRead::Answer(
        format!(r#"{{"history":{history},"person":{person}}}"#),
        facility,
    ))
}

/// Health content is for health staff and inspectors: others see that a record exists, and
/// its kind, not what it says.
pub(crate) fn redact_health(history: &mut [Value], role: Role) {
    if matches!(role, Role::Health | Role::Inspector) {
        return;
    }
    for h in history.iter_mut() {
        if h["kind"] == habeas_core::kinds::HEALTH {
            let kind = h["payload"]["kind"].clone();
            h["payload"] = json!({"kind": kind, "restricted": true});
        }
    }
}

/// `GET /api/persons/{person}?purpose=…`: the person's file and history, for a caller whose
/// role reads person files and who works in a facility that has held the person.
#[utoipa::path(get, path = "/api/persons/{person}", tag = "records", params(("person" = u64, Path, description = "The person's id (the index of the admission that first recorded them)"), ("purpose" = String, Query, description = "Why the file is read (required); kept in the access log")), responses((status = 200, description = "The file and the history of every custody; health content only for health staff and inspectors", body = crate::schema::PersonFileAnswer), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role (logged)", body = crate::schema::ErrorBody), (status = 404, description = "No such person, or none ever held in the caller's facilities (the same answer; a refusal is logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
pub(crate) async fn person_file(
    State(state): State<Arc<AppState>>,
    person: Result<Path<u64>, axum::extract::rejection::PathRejection>,
    query: Result<Query<Purpose>, axum::extract::rejection::QueryRejection>,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Response> {
    // The request's own checks, made once the caller is known (a request without a valid
    // session or token is 401 whatever it asks): the person's id, and the purpose, which the
    // access log keeps and the API requires as the web UI does.
    let asked = person
        .map_err(|e| ApiError::bad_request("invalid_field", e.body_text()).field("person"))
        .and_then(|Path(person)| {
            let Query(q) = query.map_err(query_error)?;
            let purpose = q
                .purpose
                .as_deref()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_field",
                        "purpose: say why the file is read (?purpose=…); the access log keeps it",
                    )
                    .field("purpose")
                })?
                .chars()
                .take(200)
                .collect::<String>();
            Ok((person, purpose))
        });
    let shared = state.clone();
    let quick = match state.cached_caller(&headers) {
        // A machine client already known: a file of usual length is read on this thread.
        Some(caller) => {
            let (person, _) = asked.clone()?;
            match file_json_for(&state, &caller, person, Some(INLINE_ENTRIES))? {
                FileRead::TooLong => None,
                read => Some((caller, read)),
            }
        }
        None => None,
    };
    let checked = asked.clone();
    let (caller, read) = match quick {
        Some(done) => done,
        // Otherwise the caller and the read on the blocking pool.
        None => {
            blocking(move || {
                let caller = state.caller(&method, &headers)?;
                let (person, _) = checked?;
                let read = file_json_for(&state, &caller, person, None)?;
                Ok((caller, read))
            })
            .await?
        }
    };
    let (person, purpose) = asked?;
    let username = caller.user.username;
    let (body, facility) = match read {
        FileRead::Answer(body, facility) => (body, facility),
        FileRead::Refused(refusal) => {
            // Logged durably before the answer, without holding a thread.
            shared
                .log_async(&[Event::Refused {
                    username: &username,
                    facility: &refusal.facility,
                    action: "read person file",
                    reason: refusal.reason,
                }])
                .await?;
            return Err(refusal.answer);
        }
        FileRead::TooLong => return Err(ApiError::internal("the file was not read")),
    };
    // The file is answered only once its reading is logged durably; the wait holds no thread.
    shared
        .log_async(&[Event::Read {
            username: &username,
            facility: &facility,
            person,
            part: "file",
            purpose: Some(&purpose),
        }])
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct Page {
    #[serde(default)]
    from: u64,
    #[serde(default = "default_limit")]
    limit: u64,
}

fn default_limit() -> u64 {
    100
}

/// `GET /api/access-log?from=N&limit=M`: the access log, for inspectors and administrators.
#[utoipa::path(get, path = "/api/access-log", tag = "access log", params(("from" = Option<u64>, Query, description = "The first index"), ("limit" = Option<u64>, Query, description = "1 to 1000")), responses((status = 200, description = "Entries of the access log", body = crate::schema::AccessLogPage), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
pub(crate) async fn access_log(
    State(state): State<Arc<AppState>>,
    query: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    blocking(move || {
        let caller = state.caller(&method, &headers)?;
        let Query(page) = query.map_err(query_error)?;
        if !matches!(caller.role, Role::Inspector | Role::Administrator) {
            state.refuse(&caller, EVERY_FACILITY, "read access log", "only inspectors and administrators")?;
            return Err(ApiError::forbidden("the access log is for inspectors and administrators"));
        }
        if page.limit == 0 || page.limit > 1000 {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "between 1 and 1000").field("limit"));
        }
        let size = state.access_store.size()?;
        let mut entries = Vec::new();
        let end = size.min(page.from.saturating_add(page.limit));
        for i in page.from..end {
            if let Some(bytes) = state.access_store.entry(i)? {
                let e = habeas_register::Entry::decode(&bytes).map_err(ApiError::internal)?;
                // Who asked where a person is, and about whom: for inspectors only (an
                // administrator sees that an entry is there, not what it says).
                if e.kind == crate::access::kinds::WHEREABOUTS && caller.role != Role::Inspector {
                    entries.push(json!({"index": i, "time": e.time.to_string(), "actor": "-", "facility": e.facility, "kind": e.kind, "subject": "-", "payload": {"withheld": "whereabouts questions are read by inspectors only"}}));
                    continue;
                }
                entries.push(json!({"index": i, "time": e.time.to_string(), "actor": e.actor, "facility": e.facility, "kind": e.kind, "subject": e.subject, "payload": e.payload}));
            }
        }
        Ok(Json(json!({"size": size, "entries": entries})))
    })
    .await
}
