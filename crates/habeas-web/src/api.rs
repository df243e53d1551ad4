//! The write and read API of the records: admissions, allocations, movements, roll counts,
//! releases and the Rule 8 record, population, person search and compliance. Every write is
//! checked (400 naming the field), authorized by role and facility (403, logged), then goes
//! through the register's single writer with group commit (422 naming the field when the
//! projections refuse it). Nothing refused is written.

use crate::access::EVERY_FACILITY;
use crate::auth::Role;
use crate::error::{ApiError, ApiResult};
use crate::state::{blocking, durable, AppState, Caller};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::Json;
use habeas_core::compliance::Policy;
use habeas_core::dates::Date;
use habeas_core::ids::Actor;
use habeas_register::store::AppendError;
use habeas_register::Draft;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// Parses a JSON body, naming the field at fault. Nothing but white space may follow the
/// JSON value.
pub(crate) fn body<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        ApiError::bad_request(
            "invalid_field",
            format!(
                "{}: {}",
                if path == "." { "body" } else { &path },
                e.inner()
            ),
        )
        .field_owned(if path == "." { "body".to_owned() } else { path })
    })?;
    de.end().map_err(|e| {
        ApiError::bad_request(
            "invalid_field",
            format!("body: one JSON value and nothing after it ({e})"),
        )
        .field("body")
    })?;
    Ok(value)
}

/// A request's body is JSON: a body with another `Content-Type` (or none) is refused with 415
/// before it is read. An empty body (a route that takes none) needs no type.
pub(crate) fn json_body(headers: &HeaderMap, bytes: &[u8]) -> ApiResult<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    let given = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = given.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "content-type: the body must be application/json, not {:?}",
                if given.is_empty() { "(none)" } else { given }
            ),
        )
        .field("content-type"))
    }
}

/// A body over the server's limit: 413 in the one error shape.
pub(crate) fn body_error(e: axum::extract::rejection::BytesRejection) -> ApiError {
    ApiError::new(
        e.status(),
        "body_too_large",
        format!("body: {}", e.body_text()),
    )
    .field("body")
}

fn domain(e: habeas_core::DomainError) -> ApiError {
    ApiError::bad_request(e.code, format!("{}: {}", e.field, e.message)).field_owned(e.field)
}

/// The register actor of a user.
pub(crate) fn actor(caller: &Caller) -> ApiResult<Actor> {
    Actor::parse("actor", &format!("user:{}", caller.user.username)).map_err(domain)
}

/// Refuses (and logs) a caller whose role may not do `action`, or who does not work in
/// `facility`.
fn authorize(
    state: &AppState,
    caller: &Caller,
    facility: &str,
    action: &str,
    roles: &[Role],
) -> ApiResult<()> {
    match refusal(caller, facility, action, roles) {
        None => Ok(()),
        Some(r) => {
            state.refuse(caller, facility, action, &r)?;
            Err(ApiError::forbidden(r))
        }
    }
}

/// Why a caller may not do `action` in `facility`, if they may not.
fn refusal(caller: &Caller, facility: &str, action: &str, roles: &[Role]) -> Option<String> {
    if !roles.contains(&caller.role) {
        Some(format!(
            "the {} role may not {action}",
            caller.role.as_str()
        ))
    } else if !caller.covers(facility) {
        Some(format!("{facility} is not one of the caller's facilities"))
    } else {
        None
    }
}

/// The writer's refusal or failure as an answer: 422 naming the field, 404 for an object the
/// facility does not hold (whether it exists elsewhere or not at all), or 500.
fn append_error(e: AppendError) -> ApiError {
    match e {
        AppendError::Rejected(r) => {
            let status = if r.code == habeas_store_sqlite::NOT_HELD_HERE {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let mut e = ApiError::new(
                status,
                "refused",
                format!("{}: {}", r.field.clone().unwrap_or_default(), r.message),
            );
            e.code_owned(r.code);
            match r.field {
                Some(f) => e.field_owned(f),
                None => e,
            }
        }
        AppendError::Store(e) => ApiError::internal(format!("nothing was recorded: {e}")),
    }
}

/// Appends one checked draft through the group-committing writer and waits, without holding
/// a thread, until it is durable; the register index.
async fn append(state: &AppState, draft: Draft) -> ApiResult<u64> {
    let register = state
        .register
        .as_ref()
        .ok_or_else(|| ApiError::internal("this server does not write the register"))?;
    let receipts = durable(register, vec![draft]).await.map_err(append_error)?;
    receipts
        .first()
        .map(|r| r.index)
        .ok_or_else(|| ApiError::internal("no receipt"))
}

/// What the checked part of a write handler (on the blocking pool) decided.
pub(crate) enum Outcome {
    /// The answer, complete.
    Done(StatusCode, Value),
    /// A checked and authorized draft: appended, then answered `201 {"entry": N}`; `then`
    /// adds to the answer afterwards (on the blocking pool).
    Append(Draft, Option<Then>),
}

pub(crate) type Then = Box<dyn FnOnce(&AppState, &mut Value) -> ApiResult<()> + Send>;

/// Carries out an [`Outcome`] of `username`'s request: the wait for the commit holds no
/// thread, so the writer's batches fill with every request in flight. A draft that names an
/// object its facility does not hold is answered 404 and logged as a refusal.
async fn finish(state: Arc<AppState>, username: String, outcome: Outcome) -> Created {
    match outcome {
        Outcome::Done(status, v) => Ok((status, Json(v))),
        Outcome::Append(draft, then) => {
            let (facility, action) = (draft.facility.clone(), format!("write {}", draft.kind));
            let entry = match append(&state, draft).await {
                Ok(entry) => entry,
                Err(e) if e.code() == habeas_store_sqlite::NOT_HELD_HERE => {
                    state
                        .log_async(&[crate::access::Event::Refused {
                            username: &username,
                            facility: &facility,
                            action: &action,
                            reason: e.message(),
                        }])
                        .await?;
                    return Err(e);
                }
                Err(e) => return Err(e),
            };
            let mut v = json!({"entry": entry});
            if let Some(then) = then {
                v = blocking(move || {
                    then(&state, &mut v)?;
                    Ok(v)
                })
                .await?;
            }
            Ok((StatusCode::CREATED, Json(v)))
        }
    }
}

/// Checks and authorizes a draft for appending.
fn write(
    state: &AppState,
    caller: &Caller,
    draft: Draft,
    action: &str,
    roles: &[Role],
) -> ApiResult<Outcome> {
    authorize(state, caller, &draft.facility, action, roles)?;
    Ok(Outcome::Append(draft, None))
}

const REGISTRY: &[Role] = &[Role::Registry, Role::Director];
const CUSTODY: &[Role] = &[Role::Custody, Role::Director];

type Created = ApiResult<(StatusCode, Json<Value>)>;

macro_rules! handler {
    ($(#[$meta:meta])* $name:ident, |$state:ident, $caller:ident, $bytes:ident| $body:expr) => {
        $(#[$meta])*
        pub(crate) async fn $name(
            State($state): State<Arc<AppState>>,
            method: Method,
            headers: HeaderMap,
            $bytes: Result<Bytes, axum::extract::rejection::BytesRejection>,
        ) -> Created {
            let shared = $state.clone();
            let (username, outcome) = blocking(move || {
                let $caller = $state.caller(&method, &headers)?;
                let $bytes = $bytes.map_err(body_error)?;
                json_body(&headers, &$bytes)?;
                let username = $caller.user.username.clone();
                $body.map(|outcome| (username, outcome))
            })
            .await?;
            finish(shared, username, outcome).await
        }
    };
}

/// A read: the caller from the request, the query parsed, the work on the blocking pool.
macro_rules! reader {
    ($(#[$doc:meta])* $name:ident, $query:ty, |$state:ident, $caller:ident, $q:ident| $body:expr) => {
        $(#[$doc])*
        pub(crate) async fn $name(
            State($state): State<Arc<AppState>>,
            query: Result<Query<$query>, axum::extract::rejection::QueryRejection>,
            method: Method,
            headers: HeaderMap,
        ) -> ApiResult<Json<Value>> {
            blocking(move || {
                // Who asks comes first: a request without a valid session or token is 401
                // whatever its parameters.
                let $caller = $state.caller(&method, &headers)?;
                let Query($q) = query.map_err(crate::error::query_error)?;
                $body
            })
            .await
        }
    };
}

handler!(
    #[utoipa::path(post, path = "/api/admissions", tag = "records", request_body(content = habeas_core::custody::AdmissionInput, description = "An admission (Rule 7): identity, commitment orders (refused without one), arrest, legal status… (the JSON of `habeas admit`)"), responses((status = 201, description = "Recorded: `{\"entry\": N}`, the register entry", body = crate::schema::Recorded), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody), (status = 404, description = "A booking, person, case, complaint or incident that the facility named does not hold, or that does not exist: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody), (status = 422, description = "Refused by the state of the records (capacity, separation…): the field is named", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    admissions,
    |state, caller, bytes| {
        let input: habeas_core::custody::AdmissionInput = body(&bytes)?;
        let draft = input
            .validate(state.clock.now())
            .map_err(domain)?
            .to_draft(&actor(&caller)?);
        write(&state, &caller, draft, "admit", REGISTRY)
    }
);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AllocationBody {
    facility: String,
    booking: u64,
    cell: String,
    #[serde(default)]
    override_reason: Option<String>,
    #[serde(default)]
    override_authority: Option<String>,
    /// A second authority besides the first: an override of Rule 11(a) (sex) or 11(d) (young
    /// people) needs one.
    #[serde(default)]
    override_second_authority: Option<String>,
    /// When the person was placed there, if before the record (a placement written up
    /// afterwards); by default, now.
    #[serde(default)]
    #[schema(schema_with = habeas_core::dates::time_schema)]
    at: Option<String>,
}

handler!(
    #[utoipa::path(post, path = "/api/allocations", tag = "records", request_body(content = crate::api::AllocationBody, description = "A placement in a cell; an override (reason and authority) is for the direction"), responses((status = 201, description = "Recorded: `{\"entry\": N}`, the register entry", body = crate::schema::Recorded), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody), (status = 404, description = "A booking, person, case, complaint or incident that the facility named does not hold, or that does not exist: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody), (status = 422, description = "Refused by the state of the records (capacity, separation…): the field is named", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    allocations,
    |state, caller, bytes| {
        let b: AllocationBody = body(&bytes)?;
        let a = habeas_core::allocation::Allocation::new(
            &b.facility,
            b.booking,
            &b.cell,
            b.override_reason.as_deref(),
            b.override_authority.as_deref(),
        )
        .and_then(|a| a.with_second_authority(b.override_second_authority.as_deref()))
        .and_then(|a| a.with_at(b.at.as_deref(), state.clock.now()))
        .map_err(domain)?;
        // Only the direction overrides Rule 11 or a non-association.
        let roles: &[Role] = if a.override_.is_some() {
            &[Role::Director]
        } else {
            CUSTODY
        };
        let draft = a.to_draft(&actor(&caller)?);
        write(&state, &caller, draft, "allocate", roles)
    }
);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MovementBody {
    facility: String,
    kind: String,
    #[serde(default)]
    bookings: Vec<u64>,
    #[serde(default)]
    cell: Option<String>,
    #[serde(default)]
    open_air: bool,
    #[serde(default)]
    destination: Option<String>,
    #[serde(default)]
    #[schema(schema_with = habeas_core::dates::time_schema)]
    at: Option<String>,
}

handler!(
    #[utoipa::path(post, path = "/api/movements", tag = "records", request_body(content = crate::api::MovementBody, description = "A movement of one person, several or a whole cell"), responses((status = 201, description = "Recorded: `{\"entry\": N}`, the register entry", body = crate::schema::Recorded), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody), (status = 404, description = "A booking, person, case, complaint or incident that the facility named does not hold, or that does not exist: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody), (status = 422, description = "Refused by the state of the records (capacity, separation…): the field is named", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    movements,
    |state, caller, bytes| {
        let b: MovementBody = body(&bytes)?;
        let now = state.clock.now();
        let at = b.at.unwrap_or_else(|| now.to_string());
        let m = habeas_core::events::Movement::new(
            &b.facility,
            &b.kind,
            &b.bookings,
            b.cell.as_deref(),
            b.open_air,
            b.destination.as_deref(),
            &at,
            now,
        )
        .map_err(domain)?;
        let draft = m.to_draft(&actor(&caller)?);
        write(&state, &caller, draft, "record a movement", CUSTODY)
    }
);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CountBody {
    facility: String,
    #[serde(default)]
    #[schema(schema_with = habeas_core::dates::time_schema)]
    at: Option<String>,
    /// `{"cell", "counted", "present": [bookings]?}` for each cell counted.
    #[schema(value_type = Vec<Object>)]
    cells: Vec<habeas_core::events::CellCount>,
}

handler!(
    #[utoipa::path(post, path = "/api/counts", tag = "records", request_body(content = crate::api::CountBody, description = "A roll count; the answer holds the day's reconciliation"), responses((status = 201, description = "Recorded: `{\"entry\": N, \"report\": {…}}`, the register entry and the count's report", body = crate::schema::RecordedCount), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody), (status = 404, description = "A booking, person, case, complaint or incident that the facility named does not hold, or that does not exist: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody), (status = 422, description = "Refused by the state of the records (capacity, separation…): the field is named", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    counts,
    |state, caller, bytes| {
        let b: CountBody = body(&bytes)?;
        let now = state.clock.now();
        let at = b.at.unwrap_or_else(|| now.to_string());
        let count =
            habeas_core::events::RollCount::new(&b.facility, &at, &b.cells, now).map_err(domain)?;
        let draft = count.to_draft(&actor(&caller)?);
        authorize(
            &state,
            &caller,
            &draft.facility,
            "record a roll count",
            CUSTODY,
        )?;
        // The reconciliation of the day, as the count left it.
        let (facility, day) = (b.facility, count.at.date_string());
        let then: Then = Box::new(move |state, v| {
            let report = state.store.count_report(&facility, &day)?;
            v["report"] = serde_json::to_value(report).map_err(ApiError::internal)?;
            Ok(())
        });
        Ok(Outcome::Append(draft, Some(then)))
    }
);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReleaseBody {
    facility: String,
    booking: u64,
    /// The legal reason: sentence_served, bail, acquittal, charges_dropped, court_order,
    /// detention_order_expired, transfer_out, transfer_to_another_state, released_in_error; or
    /// escape (the person left custody unlawfully: not a release; it opens a Rule 71(1) case
    /// owing its report to an independent authority).
    reason: String,
    /// The authority that ordered or certified it.
    authority: String,
    reference: String,
    #[serde(default)]
    #[schema(schema_with = habeas_core::dates::time_schema)]
    at: Option<String>,
}

handler!(
    #[utoipa::path(post, path = "/api/releases", tag = "records", request_body(content = crate::api::ReleaseBody, description = "A release with its legal reason, or an escape"), responses((status = 201, description = "Recorded: `{\"entry\": N}`, the register entry", body = crate::schema::Recorded), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody), (status = 404, description = "A booking, person, case, complaint or incident that the facility named does not hold, or that does not exist: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody), (status = 422, description = "Refused by the state of the records (capacity, separation…): the field is named", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    releases,
    |state, caller, bytes| {
        let b: ReleaseBody = body(&bytes)?;
        let now = state.clock.now();
        let at = b.at.unwrap_or_else(|| now.to_string());
        let who = actor(&caller)?;
        let r = habeas_core::custody::Release::new(
            &b.facility,
            b.booking,
            Some(&b.reason),
            &b.authority,
            &b.reference,
            &at,
            now,
            &who,
        )
        .map_err(domain)?;
        write(&state, &caller, r.to_draft(&who), "release", REGISTRY)
    }
);

/// The largest record checked on an async thread (a photograph's is larger: the blocking
/// pool checks it, so that no request waits behind it).
const INLINE_BODY: usize = 16 * 1024;

/// The draft of a record and who may make it: checked without reading anything.
fn record_draft(
    state: &AppState,
    caller: &Caller,
    bytes: &Bytes,
) -> ApiResult<(Draft, String, &'static [Role])> {
    let input: habeas_core::record::RecordInput = body(bytes)?;
    let draft = input
        .validate(state.clock.now(), &actor(caller)?)
        .map_err(domain)?;
    // Health records for health staff; sanctions for the direction; visits from outside for
    // the registry and the direction; the rest of the file for the staff who keep it.
    let roles: &'static [Role] = match draft.kind.as_str() {
        habeas_core::kinds::HEALTH => &[Role::Health],
        // A serious injury, illness or hospital transfer, and its notifications: the health
        // staff who see it, the direction that notifies (Rule 69), and the staff of the file.
        habeas_core::kinds::HARM | habeas_core::kinds::HARM_STEP => &[
            Role::Health,
            Role::Director,
            Role::Registry,
            Role::Custody,
            Role::Legal,
        ],
        k if k.starts_with("discipline.") => &[Role::Director],
        // The visit register is kept by the registry and the direction.
        habeas_core::kinds::OVERSIGHT_VISIT => &[Role::Registry, Role::Director],
        _ => &[Role::Registry, Role::Custody, Role::Legal, Role::Director],
    };
    let action = format!("record {}", draft.kind);
    Ok((draft, action, roles))
}

#[utoipa::path(post, path = "/api/records", tag = "records", request_body(content = habeas_core::record::RecordInput, description = "The rest of the file (the JSON of `habeas record`: charge, hearing, review, contact, complaint, incident, sanction, health, programme…)"), responses((status = 201, description = "Recorded: `{\"entry\": N}`, the register entry", body = crate::schema::Recorded), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody), (status = 404, description = "A booking, person, case, complaint or incident that the facility named does not hold, or that does not exist: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody), (status = 422, description = "Refused by the state of the records (capacity, separation…): the field is named", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
pub(crate) async fn records(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    bytes: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Created {
    // A machine client already known: the record is checked on this thread (it reads
    // nothing), and a refusal is logged durably before the answer without holding a thread.
    if let Some(caller) = state
        .cached_caller(&headers)
        .filter(|_| bytes.as_ref().is_ok_and(|b| b.len() <= INLINE_BODY))
    {
        let bytes = bytes.map_err(body_error)?;
        json_body(&headers, &bytes)?;
        let (draft, action, roles) = record_draft(&state, &caller, &bytes)?;
        if let Some(reason) = refusal(&caller, &draft.facility, &action, roles) {
            state
                .log_async(&[crate::access::Event::Refused {
                    username: &caller.user.username,
                    facility: &draft.facility,
                    action: &action,
                    reason: &reason,
                }])
                .await?;
            return Err(ApiError::forbidden(reason));
        }
        return finish(state, caller.user.username, Outcome::Append(draft, None)).await;
    }
    let shared = state.clone();
    let (username, outcome) = blocking(move || {
        let caller = state.caller(&method, &headers)?;
        let bytes = bytes.map_err(body_error)?;
        json_body(&headers, &bytes)?;
        let (draft, action, roles) = record_draft(&state, &caller, &bytes)?;
        write(&state, &caller, draft, &action, roles).map(|o| (caller.user.username, o))
    })
    .await?;
    finish(shared, username, outcome).await
}

/// The roles that read records (everyone but administrators).
pub(crate) const READERS: &[Role] = &[
    Role::Registry,
    Role::Custody,
    Role::Legal,
    Role::Health,
    Role::Director,
    Role::National,
    Role::Inspector,
];

#[derive(Debug, Deserialize)]
pub(crate) struct FacilityQuery {
    facility: Option<String>,
}

/// A scoped caller names one of their facilities; the others may name any or none.
fn facility_for(
    state: &AppState,
    caller: &Caller,
    facility: Option<String>,
    action: &str,
) -> ApiResult<Option<String>> {
    match facility {
        Some(f) => {
            habeas_core::ids::FacilityCode::parse("facility", &f).map_err(domain)?;
            authorize(state, caller, &f, action, READERS)?;
            if state.store.facility(&f)?.is_none() {
                return Err(ApiError::not_found(format!("no facility {f:?}"))
                    .field_owned("facility".into()));
            }
            Ok(Some(f))
        }
        None if caller.role.scoped() => match caller.user.facilities.as_slice() {
            [only] => Ok(Some(only.clone())),
            _ => Err(ApiError::bad_request(
                "invalid_field",
                "facility: name one of your facilities",
            )
            .field_owned("facility".into())),
        },
        None => {
            authorize(state, caller, EVERY_FACILITY, action, READERS)?;
            Ok(None)
        }
    }
}

reader!(
    /// `GET /api/population?facility=F`: population, capacity and space per cell.
    #[utoipa::path(get, path = "/api/population", tag = "records", params(("facility" = Option<String>, Query, description = "A facility code (required for scoped roles with several facilities)")), responses((status = 200, description = "Every cell, with its capacity and population, and each facility's head count: every open custody, in a cell or in none", body = crate::schema::Cells), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    population,
    FacilityQuery,
    |state, caller, q| {
        let facility = facility_for(&state, &caller, q.facility, "read population")?;
        let cells = state.store.cells(facility.as_deref())?;
        let head_counts = state.store.head_counts(facility.as_deref())?;
        Ok(Json(
            json!({"facility": facility, "cells": cells, "head_counts": head_counts}),
        ))
    }
);

/// People whose name holds every word, among those the caller may read (a scoped role: those
/// held in one of its facilities at some time).
pub(crate) fn visible_people(
    state: &AppState,
    caller: &Caller,
    words: &[String],
    limit: u32,
) -> ApiResult<Vec<habeas_store_sqlite::PersonHit>> {
    let mut hits = Vec::new();
    for h in state.store.find_people(words, limit)? {
        let visible = !caller.role.scoped()
            || state
                .store
                .person_file(h.person)?
                .is_some_and(|f| f.custodies.iter().any(|c| caller.covers(&c.facility)));
        if visible {
            hits.push(h);
        }
    }
    Ok(hits)
}

#[derive(Debug, Deserialize)]
pub(crate) struct SearchQuery {
    q: String,
    #[serde(default)]
    limit: Option<u32>,
}

reader!(
    /// `GET /api/persons?q=NAME`: people whose name holds every word (accents and case ignored),
    /// among those the caller may read.
    #[utoipa::path(get, path = "/api/persons", tag = "records", params(("q" = String, Query, description = "Words of the name"), ("limit" = Option<u32>, Query, description = "At most 200")), responses((status = 200, description = "The people found", body = crate::schema::PeopleFound), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    search,
    SearchQuery,
    |state, caller, q| {
        // Scoped roles search within their facilities (checked per person below): only a
        // role that reads no records is refused (and logged).
        if !(caller.role.scoped() && READERS.contains(&caller.role)) {
            authorize(&state, &caller, EVERY_FACILITY, "search people", READERS)?;
        }
        let words: Vec<String> = q.q.split_whitespace().map(String::from).collect();
        if words.is_empty() {
            return Err(
                ApiError::bad_request("invalid_field", "q: give a name").field_owned("q".into())
            );
        }
        let limit = q.limit.unwrap_or(50).clamp(1, 200);
        let people = visible_people(&state, &caller, &words, limit)?;
        state.listed(&caller, EVERY_FACILITY, "person search", Some(&words.join(" ")), people.len() as u64)?;
        Ok(Json(json!({"people": people})))
    }
);

#[derive(Debug, Deserialize)]
pub(crate) struct ComplianceQuery {
    facility: Option<String>,
    as_of: Option<String>,
}

reader!(
    /// `GET /api/reports/compliance?facility=F&as_of=D`: the findings of a facility (or all, for
    /// the roles that see all) under the built-in policy.
    #[utoipa::path(get, path = "/api/reports/compliance", tag = "records", params(("facility" = Option<String>, Query, description = "A facility code"), ("as_of" = Option<String>, Query, format = Date, description = "YYYY-MM-DD")), responses((status = 200, description = "Every finding of the Mandela Rules' minimum on the day", body = crate::schema::ComplianceReport), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    compliance,
    ComplianceQuery,
    |state, caller, q| {
        let facility = facility_for(&state, &caller, q.facility, "read compliance")?;
        let as_of = match q.as_of {
            Some(d) => Date::parse("as_of", &d).map_err(domain)?,
            None => state.default_day().day,
        };
        let policy = Policy::mandela_minimum().map_err(domain)?;
        let facts = state.store.compliance_facts(facility.as_deref(), as_of)?;
        let findings = habeas_core::compliance::evaluate(&policy, &facts, as_of);
        let no_food_records = habeas_core::compliance::food_gaps(
            &policy,
            &facts.food_services,
            &facts.occupied_units,
            as_of,
        );
        state.listed(
            &caller,
            facility.as_deref().unwrap_or(EVERY_FACILITY),
            "compliance report",
            None,
            habeas_core::compliance::people_named(&findings),
        )?;
        Ok(Json(
            json!({"policy": policy.name, "policy_sha256": policy.source().sha256, "policy_relaxes": policy.source().relaxed, "as_of": as_of.to_string(), "facility": facility, "findings": findings, "no_food_records": no_food_records}),
        ))
    }
);

handler!(
    #[utoipa::path(post, path = "/api/orders", tag = "records", request_body(content = habeas_core::events::OrderInput, description = "A commitment order and legal status (the JSON of `habeas order`)"), responses((status = 201, description = "Recorded: `{\"entry\": N}`, the register entry", body = crate::schema::Recorded), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody), (status = 404, description = "A booking, person, case, complaint or incident that the facility named does not hold, or that does not exist: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody), (status = 422, description = "Refused by the state of the records (capacity, separation…): the field is named", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    orders,
    |state, caller, bytes| {
        let input: habeas_core::events::OrderInput = body(&bytes)?;
        let draft = input
            .validate(state.clock.now(), &actor(&caller)?)
            .map_err(domain)?;
        write(
            &state,
            &caller,
            draft,
            "record an order",
            &[Role::Registry, Role::Legal, Role::Director],
        )
    }
);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TransferBody {
    facility: String,
    booking: u64,
    to: String,
    authority: String,
    reference: String,
    #[serde(default)]
    #[schema(schema_with = habeas_core::dates::time_schema)]
    at: Option<String>,
}

handler!(
    #[utoipa::path(post, path = "/api/transfers", tag = "records", request_body(content = crate::api::TransferBody, description = "A transfer to another facility of the system"), responses((status = 201, description = "Recorded: `{\"entry\": N}`, the register entry", body = crate::schema::Recorded), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody), (status = 404, description = "A booking, person, case, complaint or incident that the facility named does not hold, or that does not exist: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody), (status = 422, description = "Refused by the state of the records (capacity, separation…): the field is named", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    transfers,
    |state, caller, bytes| {
        let b: TransferBody = body(&bytes)?;
        let now = state.clock.now();
        let at = b.at.unwrap_or_else(|| now.to_string());
        let t = habeas_core::events::Transfer::new(
            &b.facility,
            b.booking,
            &b.to,
            &b.authority,
            &b.reference,
            &at,
            now,
        )
        .map_err(domain)?;
        let draft = t.to_draft(&actor(&caller)?);
        write(
            &state,
            &caller,
            draft,
            "transfer",
            &[Role::Registry, Role::Director, Role::National],
        )
    }
);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeathBody {
    facility: String,
    booking: u64,
    #[schema(schema_with = habeas_core::dates::time_schema)]
    at: String,
    place: String,
    circumstances: String,
    #[serde(default)]
    violent: bool,
}

handler!(
    #[utoipa::path(post, path = "/api/deaths", tag = "records", request_body(content = crate::api::DeathBody, description = "A death in custody: opens its case"), responses((status = 201, description = "Recorded: `{\"entry\": N}`, the register entry", body = crate::schema::Recorded), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody), (status = 404, description = "A booking, person, case, complaint or incident that the facility named does not hold, or that does not exist: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody), (status = 422, description = "Refused by the state of the records (capacity, separation…): the field is named", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    deaths,
    |state, caller, bytes| {
        let b: DeathBody = body(&bytes)?;
        let d = habeas_core::events::Death::new(
            &b.facility,
            b.booking,
            &b.at,
            &b.place,
            &b.circumstances,
            b.violent,
            state.clock.now(),
        )
        .map_err(domain)?;
        let draft = d.to_draft(&actor(&caller)?);
        write(
            &state,
            &caller,
            draft,
            "record a death",
            &[Role::Custody, Role::Health, Role::Director],
        )
    }
);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeathStepBody {
    facility: String,
    case: u64,
    step: String,
    detail: String,
    #[serde(default)]
    #[schema(schema_with = habeas_core::dates::time_schema)]
    at: Option<String>,
}

handler!(
    #[utoipa::path(post, path = "/api/death-steps", tag = "records", request_body(content = crate::api::DeathStepBody, description = "A step of a death case"), responses((status = 201, description = "Recorded: `{\"entry\": N}`, the register entry", body = crate::schema::Recorded), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody), (status = 404, description = "A booking, person, case, complaint or incident that the facility named does not hold, or that does not exist: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody), (status = 422, description = "Refused by the state of the records (capacity, separation…): the field is named", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    death_steps,
    |state, caller, bytes| {
        let b: DeathStepBody = body(&bytes)?;
        let now = state.clock.now();
        let at = b.at.unwrap_or_else(|| now.to_string());
        let draft = habeas_core::events::death_step(
            &b.facility,
            b.case,
            &b.step,
            &at,
            &b.detail,
            now,
            &actor(&caller)?,
        )
        .map_err(domain)?;
        write(
            &state,
            &caller,
            draft,
            "record a death-case step",
            &[Role::Health, Role::Director, Role::National],
        )
    }
);

handler!(
    #[utoipa::path(post, path = "/api/agreements", tag = "records", request_body(content = habeas_core::events::AgreementInput, description = "A custody agreement with another state"), responses((status = 201, description = "Recorded: `{\"entry\": N}`, the register entry", body = crate::schema::Recorded), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody), (status = 404, description = "A booking, person, case, complaint or incident that the facility named does not hold, or that does not exist: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody), (status = 422, description = "Refused by the state of the records (capacity, separation…): the field is named", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    agreements,
    |state, caller, bytes| {
        let input: habeas_core::events::AgreementInput = body(&bytes)?;
        let draft = input.validate(&actor(&caller)?).map_err(domain)?;
        write(
            &state,
            &caller,
            draft,
            "record a custody agreement",
            &[Role::National],
        )
    }
);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NonAssociationBody {
    facility: String,
    a: u64,
    b: u64,
    scope: String,
    reason: String,
    authority: String,
}

handler!(
    #[utoipa::path(post, path = "/api/non-associations", tag = "records", request_body(content = crate::api::NonAssociationBody, description = "Two people kept apart"), responses((status = 201, description = "Recorded: `{\"entry\": N}`, the register entry", body = crate::schema::Recorded), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody), (status = 404, description = "A booking, person, case, complaint or incident that the facility named does not hold, or that does not exist: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody), (status = 422, description = "Refused by the state of the records (capacity, separation…): the field is named", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    non_associations,
    |state, caller, bytes| {
        let b: NonAssociationBody = body(&bytes)?;
        let n = habeas_core::custody::NonAssociation::new(
            &b.facility,
            b.a,
            b.b,
            &b.scope,
            &b.reason,
            &b.authority,
        )
        .map_err(domain)?;
        let draft = n.to_draft(&actor(&caller)?);
        write(&state, &caller, draft, "keep two people apart", CUSTODY)
    }
);

handler!(
    #[utoipa::path(post, path = "/api/identity-corrections", tag = "records", request_body(content = habeas_core::events::IdentityCorrection, description = "A correction of identity naming the entry it corrects"), responses((status = 201, description = "Recorded: `{\"entry\": N}`, the register entry", body = crate::schema::Recorded), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody), (status = 404, description = "A booking, person, case, complaint or incident that the facility named does not hold, or that does not exist: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody), (status = 422, description = "Refused by the state of the records (capacity, separation…): the field is named", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    identity_corrections,
    |state, caller, bytes| {
        let input: habeas_core::events::IdentityCorrection = body(&bytes)?;
        let draft = input
            .validate(state.clock.now(), &actor(&caller)?)
            .map_err(domain)?;
        write(&state, &caller, draft, "correct an identity", REGISTRY)
    }
);

#[derive(Debug, Deserialize)]
pub(crate) struct DayQuery {
    facility: Option<String>,
    date: Option<String>,
}

reader!(
    /// `GET /api/counts?facility=F&date=D`: the day's roll counts reconciled, and the cells not
    /// counted.
    #[utoipa::path(get, path = "/api/counts", tag = "records", params(("facility" = Option<String>, Query, description = "A facility code"), ("date" = Option<String>, Query, format = Date, description = "YYYY-MM-DD")), responses((status = 200, description = "The day's counts of the facility and the cells not counted", body = habeas_store_sqlite::CountReport), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    count_report,
    DayQuery,
    |state, caller, q| {
        let Some(facility) = facility_for(&state, &caller, q.facility, "read roll counts")? else {
            return Err(
                ApiError::bad_request("invalid_field", "facility: name the facility")
                    .field_owned("facility".into()),
            );
        };
        let date = match q.date {
            Some(d) => Date::parse("date", &d).map_err(domain)?,
            None => state.default_day().day,
        };
        let report = state.store.count_report(&facility, &date.to_string())?;
        Ok(Json(
            serde_json::to_value(report).map_err(ApiError::internal)?,
        ))
    }
);

reader!(
    /// `GET /api/deaths?facility=F`: deaths in custody and the steps of their cases.
    #[utoipa::path(get, path = "/api/deaths", tag = "records", params(("facility" = Option<String>, Query, description = "A facility code")), responses((status = 200, description = "Each death in custody and its steps", body = crate::schema::DeathCases), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    death_list,
    FacilityQuery,
    |state, caller, q| {
        let facility = facility_for(&state, &caller, q.facility, "read deaths")?;
        let cases = state.store.death_cases(facility.as_deref())?;
        state.listed(
            &caller,
            facility.as_deref().unwrap_or(EVERY_FACILITY),
            "deaths",
            None,
            cases.len() as u64,
        )?;
        Ok(Json(json!({"facility": facility, "cases": cases})))
    }
);

reader!(
    /// `GET /api/harms?facility=F`: serious injuries, serious illnesses and transfers to a
    /// health institution, the steps of their cases and what is still pending.
    #[utoipa::path(get, path = "/api/harms", tag = "records", params(("facility" = Option<String>, Query, description = "A facility code")), responses((status = 200, description = "Each serious-harm case, its steps and what is pending (Rules 69, 71(1))", body = crate::schema::HarmCases), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    harm_list,
    FacilityQuery,
    |state, caller, q| {
        let facility = facility_for(&state, &caller, q.facility, "read serious harms")?;
        let cases = state.store.harm_cases(facility.as_deref())?;
        state.listed(
            &caller,
            facility.as_deref().unwrap_or(EVERY_FACILITY),
            "serious harms",
            None,
            cases.len() as u64,
        )?;
        Ok(Json(json!({"facility": facility, "cases": cases})))
    }
);

#[derive(Debug, Deserialize)]
pub(crate) struct StatisticsQuery {
    facility: Option<String>,
    as_of: Option<String>,
    months: Option<u32>,
}

reader!(
    /// `GET /api/reports/statistics?facility=F&as_of=D&months=N`: Rule 10 statistics.
    #[utoipa::path(get, path = "/api/reports/statistics", tag = "records", params(("facility" = Option<String>, Query, description = "A facility code"), ("as_of" = Option<String>, Query, format = Date, description = "YYYY-MM-DD"), ("months" = Option<u32>, Query, description = "1 to 1200")), responses((status = 200, description = "The statistics of Rule 10: population, occupancy and flows", body = habeas_core::statistics::Statistics), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    statistics,
    StatisticsQuery,
    |state, caller, q| {
        let facility = facility_for(&state, &caller, q.facility, "read statistics")?;
        let as_of = match q.as_of {
            Some(d) => Date::parse("as_of", &d).map_err(domain)?,
            None => state.default_day().day,
        };
        let months = q.months.unwrap_or(12);
        if !(1..=1200).contains(&months) {
            return Err(
                ApiError::bad_request("invalid_field", "months: between 1 and 1200")
                    .field_owned("months".into()),
            );
        }
        let s = state.store.statistics(facility.as_deref(), as_of, months)?;
        Ok(Json(serde_json::to_value(s).map_err(ApiError::internal)?))
    }
);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoteBody {
    facility: String,
    text: String,
    #[serde(default)]
    place: Option<String>,
    /// The note this one corrects…
    #[serde(default)]
    corrects: Option<u64>,
    /// …and why.
    #[serde(default)]
    reason: Option<String>,
}

handler!(
    #[utoipa::path(post, path = "/api/logbook", tag = "records", request_body = NoteBody, responses((status = 201, description = "Recorded: `{\"entry\": N}`, the register entry", body = crate::schema::Recorded), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody), (status = 404, description = "A booking, person, case, complaint or incident that the facility named does not hold, or that does not exist: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody), (status = 422, description = "Refused by the records", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    logbook_add,
    |state, caller, bytes| {
        let b: NoteBody = body(&bytes)?;
        let corrects = match (b.corrects, b.reason) {
            (None, None) => None,
            (Some(n), Some(r)) => Some((n, r)),
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_field",
                    "reason: a correction names the note it corrects and why",
                )
                .field_owned("reason".into()))
            }
        };
        let note = habeas_core::logbook::NewNote {
            facility: b.facility,
            actor: actor(&caller)?.as_str().to_owned(),
            text: b.text,
            place: b.place,
            corrects,
        }
        .validate()
        .map_err(domain)?;
        write(
            &state,
            &caller,
            note.to_draft(),
            "write in the occurrence book",
            &[
                Role::Registry,
                Role::Custody,
                Role::Legal,
                Role::Health,
                Role::Director,
            ],
        )
    }
);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadingBody {
    facility: String,
    /// A cell or a unit.
    place: String,
    #[serde(default)]
    #[schema(schema_with = habeas_core::dates::time_schema)]
    at: Option<String>,
    #[serde(default)]
    temperature_c: Option<String>,
    /// Relative humidity in %, 0 to 100: with a temperature, the reading's heat index.
    #[serde(default)]
    humidity_pct: Option<String>,
    /// `on` or `off`.
    #[serde(default)]
    lighting: Option<String>,
    /// `on` or `off`.
    #[serde(default)]
    ventilation: Option<String>,
}

handler!(
    #[utoipa::path(post, path = "/api/environment", tag = "records", request_body = ReadingBody, responses((status = 201, description = "Recorded: `{\"entry\": N}`, the register entry", body = crate::schema::Recorded), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody), (status = 404, description = "A booking, person, case, complaint or incident that the facility named does not hold, or that does not exist: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody), (status = 422, description = "Refused by the records", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    environment,
    |state, caller, bytes| {
        let b: ReadingBody = body(&bytes)?;
        let now = state.clock.now();
        let at = b.at.unwrap_or_else(|| now.to_string());
        let measured = habeas_core::environment::Measured {
            temperature_c: b.temperature_c.as_deref(),
            humidity_pct: b.humidity_pct.as_deref(),
            lighting: b.lighting.as_deref(),
            ventilation: b.ventilation.as_deref(),
        };
        let r = habeas_core::environment::Reading::new(&b.facility, &b.place, &at, measured, now)
            .map_err(domain)?;
        let draft = r.to_draft(&actor(&caller)?);
        write(
            &state,
            &caller,
            draft,
            "record an environment reading",
            CUSTODY,
        )
    }
);

#[derive(Debug, Deserialize)]
pub(crate) struct LogbookQuery {
    facility: Option<String>,
    place: Option<String>,
    before: Option<u64>,
    limit: Option<u32>,
}

reader!(
    /// `GET /api/logbook?facility=F&place=P&before=N&limit=L`: the occurrence book, newest first.
    #[utoipa::path(get, path = "/api/logbook", tag = "records", params(("facility" = Option<String>, Query, description = "A facility code"), ("place" = Option<String>, Query, description = "A place within it"), ("before" = Option<u64>, Query, description = "Notes before this entry (paging back)"), ("limit" = Option<u32>, Query, description = "1 to 1000")), responses((status = 200, description = "Notes of the occurrence book", body = crate::schema::LogbookNotes), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    logbook_list,
    LogbookQuery,
    |state, caller, q| {
        let facility = facility_for(&state, &caller, q.facility, "read the occurrence book")?;
        let limit = q.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(ApiError::bad_request("invalid_field", "limit: between 1 and 1000")
                .field_owned("limit".into()));
        }
        let rows = state.store.logbook(&habeas_store_sqlite::LogbookFilter {
            facility,
            place: q.place,
            before: q.before,
            limit,
        })?;
        Ok(Json(json!({"notes": rows})))
    }
);

#[derive(Debug, Deserialize)]
pub(crate) struct NoQuery {}

reader!(
    /// `GET /api/register`: the register's origin, verifier key, size and latest signed
    /// checkpoint, for those who oversee it.
    #[utoipa::path(get, path = "/api/register", tag = "register", responses((status = 200, description = "The register's status", body = crate::schema::RegisterStatus), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role (logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    register_status,
    NoQuery,
    |state, caller, _q| {
        use habeas_register::store::Store as _;
        authorize(&state, &caller, EVERY_FACILITY, "read the register's status", OVERSEERS)?;
        let info = state.store.info()?;
        let latest = state.store.checkpoints()?.pop();
        Ok(Json(json!({
            "origin": info.origin,
            "verifier_key": info.verifier.to_string(),
            "size": state.store.size()?,
            "latest_checkpoint": latest.map(|c| json!({"size": c.size, "made_at": c.made_at.to_string(), "note": c.note})),
            "access_log_size": state.access_store.size()?,
        })))
    }
);

/// Who oversees the register: national administration, inspectors and administrators.
const OVERSEERS: &[Role] = &[Role::National, Role::Inspector, Role::Administrator];

handler!(
    #[utoipa::path(post, path = "/api/register/verify", tag = "register", responses((status = 201, description = "The result", body = crate::schema::Verification), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role (logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    register_verify,
    |state, caller, _bytes| {
        use habeas_register::store::Store as _;
        authorize(
            &state,
            &caller,
            EVERY_FACILITY,
            "verify the register",
            &[Role::Inspector, Role::National],
        )?;
        let info = state.store.info()?;
        let result = match habeas_register::verify::verify(&*state.store, &info.verifier) {
            Err(e) => {
                json!({"ok": false, "failure": e.to_string(), "first_bad_index": e.first_bad_index()})
            }
            Ok(report) => match state.store.check_projections()? {
                Err(m) => {
                    json!({"ok": false, "entries": report.entries, "failure": format!("table {}: {m}", m.table)})
                }
                Ok(()) => json!({
                    "ok": true,
                    "entries": report.entries,
                    "checkpoints": report.checkpoints,
                    "root": report.root.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                }),
            },
        };
        Ok(Outcome::Done(StatusCode::CREATED, result))
    }
);

fn user_error(e: crate::users::UserError) -> ApiError {
    match e {
        crate::users::UserError::Invalid(i) => {
            ApiError::bad_request("invalid_field", i.to_string()).field_owned(i.field.to_owned())
        }
        crate::users::UserError::Forbidden(i) => {
            ApiError::forbidden(i.message).field_owned(i.field.to_owned())
        }
        crate::users::UserError::Conflict(i) => {
            ApiError::new(StatusCode::CONFLICT, "conflict", i.to_string())
                .field_owned(i.field.to_owned())
        }
        crate::users::UserError::Store(e) => ApiError::from(e),
    }
}

/// An account rule's refusal as an answer; one that is not for this caller is logged first.
fn user_refused(
    state: &AppState,
    caller: &Caller,
    action: &str,
    e: crate::users::UserError,
) -> ApiError {
    if let crate::users::UserError::Forbidden(i) = &e {
        if let Err(log) = state.refuse(caller, EVERY_FACILITY, action, &i.message) {
            return log;
        }
    }
    user_error(e)
}

/// Records an account change in the access log; the answer, with what is shown once.
fn account_done(state: &AppState, caller: &Caller, done: crate::users::Done) -> ApiResult<Outcome> {
    log_account(state, caller, &done)?;
    Ok(Outcome::Done(
        StatusCode::CREATED,
        json!({"username": done.username, "action": done.action, "show_once": done.show_once}),
    ))
}

/// The access-log entry of an account change made by `caller`.
fn log_account(state: &AppState, caller: &Caller, done: &crate::users::Done) -> ApiResult<()> {
    state.log(&[crate::access::Event::Account {
        by: &format!("user:{}", caller.user.username),
        username: &done.username,
        action: done.action,
        detail: done.detail.clone(),
    }])
}

/// Only administrators manage accounts (and every refusal is logged).
fn administrator(state: &AppState, caller: &Caller, action: &str) -> ApiResult<()> {
    authorize(
        state,
        caller,
        EVERY_FACILITY,
        action,
        &[Role::Administrator],
    )
}

reader!(
    /// `GET /api/users`: every account (never a hash or a secret).
    #[utoipa::path(get, path = "/api/users", tag = "accounts", responses((status = 200, description = "The accounts", body = crate::schema::Users), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not an administrator or inspector (logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    users_list,
    NoQuery,
    |state, caller, _q| {
        authorize(&state, &caller, EVERY_FACILITY, "list accounts", &[Role::Administrator, Role::Inspector])?;
        Ok(Json(json!({"users": state.accounts.users()?})))
    }
);

handler!(
    #[utoipa::path(post, path = "/api/users", tag = "accounts", request_body = crate::users::NewAccount, responses((status = 201, description = "Added; `show_once` holds the second factor's otpauth address when there is one", body = crate::schema::AccountDone), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not an administrator (logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    users_add,
    |state, caller, bytes| {
        administrator(&state, &caller, "add an account")?;
        let a: crate::users::NewAccount = body(&bytes)?;
        let done = crate::users::add(&state.accounts, &state.store, &a, state.now())
            .map_err(|e| user_refused(&state, &caller, "add an account", e))?;
        account_done(&state, &caller, done)
    }
);

/// What an administrator can do to an account.
pub(crate) const ACCOUNT_ACTIONS: &[&str] = &[
    "lock",
    "unlock",
    "reset_password",
    "issue_token",
    "revoke_tokens",
];

/// What an administrator can do to an account.
pub(crate) fn account_action_schema() -> utoipa::openapi::Object {
    crate::schema::one_of(ACCOUNT_ACTIONS)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountChange {
    #[schema(pattern = r"^[a-z0-9._-]{3,64}$")]
    username: String,
    /// `lock`, `unlock`, `reset_password` (with `password`), `issue_token` (with `name`, for a
    /// machine account only) or `revoke_tokens` (with `name`).
    #[schema(schema_with = account_action_schema)]
    action: String,
    #[serde(default)]
    #[schema(min_length = 8, max_length = 256)]
    password: Option<String>,
    #[serde(default)]
    name: Option<String>,
    /// How many days a machine's new token works (at most the server's maximum, its
    /// default).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 366)]
    days: Option<u32>,
}

handler!(
    #[utoipa::path(post, path = "/api/users/changes", tag = "accounts", request_body = AccountChange, responses((status = 201, description = "Done; `show_once` holds a machine account's new token", body = crate::schema::AccountDone), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not an administrator; a token for a person, or asked for with a token (logged)", body = crate::schema::ErrorBody), (status = 409, description = "It would lock the last active administrator: the field is named", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    users_change,
    |state, caller, bytes| {
        administrator(&state, &caller, "change an account")?;
        let c: AccountChange = body(&bytes)?;
        let now = state.now();
        let a = &state.accounts;
        let need = |v: &Option<String>, field: &'static str| {
            v.clone().ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_field",
                    format!("{field}: required for this action"),
                )
                .field_owned(field.into())
            })
        };
        let by = format!("user:{}", caller.user.username);
        let done = match c.action.as_str() {
        "lock" => crate::users::set_locked(a, &c.username, true, now),
        "unlock" => crate::users::set_locked(a, &c.username, false, now),
        "reset_password" => crate::users::reset_password(a, &c.username, &need(&c.password, "password")?, now),
        // A token mints no tokens, not even a machine's.
        "issue_token" if caller.csrf.is_none() => Err(crate::users::UserError::Forbidden(crate::auth::Invalid {
            field: "authorization",
            message: "a token does not mint tokens: sign in (with your second factor) to issue one".into(),
        })),
        "issue_token" => crate::users::issue_token(a, crate::users::Issuer::ForMachine { username: &c.username }, &need(&c.name, "name")?, c.days, &by, now),
        "revoke_tokens" => crate::users::revoke_tokens(a, &c.username, &need(&c.name, "name")?, now),
        other => {
            return Err(ApiError::bad_request(
                "invalid_field",
                format!("action: {other:?} is not lock, unlock, reset_password, issue_token or revoke_tokens"),
            )
            .field_owned("action".into()))
        }
    }
    .map_err(|e| user_refused(&state, &caller, &format!("change an account: {}", c.action), e))?;
        account_done(&state, &caller, done)
    }
);

/// Whose tokens a request is about: the caller's own, unless an administrator names another
/// account.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenOwner {
    #[serde(default)]
    username: Option<String>,
}

/// The account whose tokens `caller` asks about: their own, or (administrators only, refusal
/// logged) the one named; `None` for every account (administrators, naming none).
fn token_owner(
    state: &AppState,
    caller: &Caller,
    named: Option<String>,
    every: bool,
    action: &str,
) -> ApiResult<Option<String>> {
    let own = &caller.user.username;
    match named {
        Some(u) if &u != own => {
            administrator(state, caller, action)?;
            Ok(Some(u))
        }
        Some(u) => Ok(Some(u)),
        None if every && caller.role == Role::Administrator => Ok(None),
        None => Ok(Some(own.clone())),
    }
}

reader!(
    /// `GET /api/tokens[?username=]`: the caller's API tokens; for an administrator, every
    /// account's (or the one named). Never a token or its hash.
    #[utoipa::path(get, path = "/api/tokens", tag = "accounts", params(("username" = Option<String>, Query, description = "Another account's tokens (administrators only)")), responses((status = 200, description = "The tokens: owner, name, who issued it, when, when it ends, whether revoked", body = crate::schema::TokenList), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Another account's, and not an administrator (logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    tokens_list,
    TokenOwner,
    |state, caller, q| {
        let owner = token_owner(&state, &caller, q.username, true, "list another account's tokens")?;
        let tokens = crate::users::tokens(&state.accounts, owner.as_deref()).map_err(user_error)?;
        Ok(Json(json!({"tokens": tokens})))
    }
);

/// A token asked for by the account that will use it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenRequest {
    /// What the token is for, unique among the account's live tokens.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// How many days it works (at most the server's maximum, its default).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 366)]
    days: Option<u32>,
}

handler!(
    #[utoipa::path(post, path = "/api/tokens", tag = "accounts", request_body = TokenRequest, responses((status = 201, description = "Issued to the signed-in account itself; `token` is shown this once", body = crate::schema::TokenIssued), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Asked with a token, or by a machine account (logged)", body = crate::schema::ErrorBody)), security(("session" = [])))]
    tokens_issue,
    |state, caller, bytes| {
        let r: TokenRequest = body(&bytes)?;
        let by = format!("user:{}", caller.user.username);
        let done = crate::users::issue_token(
            &state.accounts,
            crate::users::Issuer::Own {
                caller: &caller.user,
                by_session: caller.csrf.is_some(),
            },
            &r.name,
            r.days,
            &by,
            state.now(),
        )
        .map_err(|e| user_refused(&state, &caller, "issue a token", e))?;
        log_account(&state, &caller, &done)?;
        Ok(Outcome::Done(
            StatusCode::CREATED,
            json!({
                "username": done.username,
                "name": done.detail["name"],
                "expires_at": done.detail["expires_at"],
                "token": done.show_once,
            }),
        ))
    }
);

/// `DELETE /api/tokens/{name}[?username=]`: revokes the caller's live tokens of that name (an
/// administrator: the named account's).
#[utoipa::path(delete, path = "/api/tokens/{name}", tag = "accounts", params(("name" = String, Path, description = "The token's name"), ("username" = Option<String>, Query, description = "Another account's token (administrators only)")), responses((status = 200, description = "Revoked: how many tokens of that name", body = crate::schema::TokensRevoked), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Another account's, and not an administrator (logged)", body = crate::schema::ErrorBody), (status = 404, description = "No live token of that name", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
pub(crate) async fn tokens_revoke(
    State(state): State<Arc<AppState>>,
    name: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
    query: Result<Query<TokenOwner>, axum::extract::rejection::QueryRejection>,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    blocking(move || {
        // Who asks first, then what they ask (401 whatever the parameters).
        let caller = state.caller(&method, &headers)?;
        let axum::extract::Path(name) =
            name.map_err(|e| ApiError::bad_request("invalid_field", e.body_text()).field("name"))?;
        let Query(q) = query.map_err(crate::error::query_error)?;
        let owner = token_owner(
            &state,
            &caller,
            q.username,
            false,
            "revoke another account's tokens",
        )?
        .unwrap_or_else(|| caller.user.username.clone());
        let done = crate::users::revoke_tokens(&state.accounts, &owner, &name, state.now())
            .map_err(user_error)?;
        let revoked = done.detail["count"].as_u64().unwrap_or(0);
        if revoked == 0 {
            return Err(
                ApiError::not_found(format!("{owner} has no live token named {name:?}"))
                    .field("name"),
            );
        }
        log_account(&state, &caller, &done)?;
        Ok(Json(
            json!({"username": done.username, "name": done.detail["name"], "revoked": revoked}),
        ))
    })
    .await
}

handler!(
    #[utoipa::path(post, path = "/api/estate", tag = "records", request_body(content = habeas_core::estate::EstateDocument, description = "A facility, its units and cells (the estate file of `habeas estate load`, as JSON); what is new or changed is written, all or nothing"), responses((status = 201, description = "Recorded: the entries written and how many cells were unchanged", body = crate::schema::EstateRecorded), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody), (status = 404, description = "A booking, person, case, complaint or incident that the facility named does not hold, or that does not exist: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody), (status = 422, description = "Refused by the records", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    estate,
    |state, caller, bytes| {
        let file: habeas_core::estate::EstateDocument = body(&bytes)?;
        let estate = file.validate().map_err(domain)?;
        authorize(
            &state,
            &caller,
            estate.facility.code.as_str(),
            "change the estate",
            &[Role::Director, Role::National],
        )?;
        let (drafts, unchanged) = state
            .store
            .estate_changes(&estate, &actor(&caller)?)?
            .map_err(domain)?;
        let entries: Vec<u64> = if drafts.is_empty() {
            Vec::new()
        } else {
            let register = state
                .register
                .as_ref()
                .ok_or_else(|| ApiError::internal("this server does not write the register"))?;
            // One request: every entry or none.
            // (Rare and large: this one waits on the blocking pool.)
            register
                .append_all(drafts)
                .map_err(append_error)?
                .iter()
                .map(|r| r.index)
                .collect()
        };
        Ok(Outcome::Done(
            StatusCode::CREATED,
            json!({"entries": entries, "unchanged": unchanged}),
        ))
    }
);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CertificationBody {
    facility: String,
    cell: String,
    cna: u32,
    operational_capacity: u32,
    /// Who approved the capacity.
    authority: String,
    reason: String,
}

handler!(
    #[utoipa::path(post, path = "/api/certifications", tag = "records", request_body = CertificationBody, responses((status = 201, description = "Recorded: `{\"entry\": N}`, the register entry", body = crate::schema::Recorded), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 413, description = "The body is over 2 MiB", body = crate::schema::ErrorBody), (status = 415, description = "The body is not application/json", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody), (status = 404, description = "A booking, person, case, complaint or incident that the facility named does not hold, or that does not exist: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody), (status = 422, description = "Refused by the records", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
    certifications,
    |state, caller, bytes| {
        let b: CertificationBody = body(&bytes)?;
        let facility =
            habeas_core::ids::FacilityCode::parse("facility", &b.facility).map_err(domain)?;
        let c = habeas_core::estate::Certification::new(
            &b.cell,
            b.cna,
            b.operational_capacity,
            &b.authority,
            &b.reason,
        )
        .map_err(domain)?;
        let draft = c.to_draft(&facility, &actor(&caller)?);
        write(
            &state,
            &caller,
            draft,
            "certify a cell's capacity",
            &[Role::National],
        )
    }
);
