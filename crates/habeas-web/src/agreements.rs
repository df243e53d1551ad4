//! Custody agreements with other states: the account of one for a period (`GET
//! /api/reports/agreement`, and its page) — the people held under it, person-days, the amount
//! due at its rate, the references recorded and every finding about those people — for the
//! director of its facility, the national administration and inspectors.
//!
//! An agreement is an object of its facility: a director of another facility is answered 404,
//! as for one that does not exist, and the refusal is logged. The account names people: it is
//! in the access log before it is answered.

use crate::access::EVERY_FACILITY;
use crate::auth::Role;
use crate::error::{ApiError, ApiResult};
use crate::state::{blocking, AppState, Caller};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method};
use axum::Json;
use habeas_core::dates::Date;
use habeas_store_sqlite::{Agreement, AgreementReport};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

/// Who reads the accounts of agreements.
pub(crate) const ROLES: &[Role] = &[Role::Director, Role::National, Role::Inspector];

/// Refuses (and logs) a role that does not read agreements.
pub(crate) fn may_read(state: &AppState, caller: &Caller) -> ApiResult<()> {
    if ROLES.contains(&caller.role) {
        return Ok(());
    }
    let reason = format!(
        "the {} role may not read custody agreements",
        caller.role.as_str()
    );
    state.refuse(caller, EVERY_FACILITY, "read agreements", &reason)?;
    Err(ApiError::forbidden(reason))
}

/// The agreements a caller may read: their facilities' (a director), or all.
pub(crate) fn visible(state: &AppState, caller: &Caller) -> ApiResult<Vec<Agreement>> {
    Ok(state
        .store
        .agreements(None)?
        .into_iter()
        .filter(|a| caller.covers(&a.facility))
        .collect())
}

/// Agreement `id`, for a caller who may read it: one of another facility is not found, as one
/// that does not exist is, and the refusal is logged either way.
pub(crate) fn in_scope(state: &AppState, caller: &Caller, id: u64) -> ApiResult<Agreement> {
    may_read(state, caller)?;
    let found = state.store.agreement(id)?;
    match found {
        Some(a) if caller.covers(&a.facility) => Ok(a),
        other => {
            let facility = other
                .as_ref()
                .map_or(EVERY_FACILITY, |a| a.facility.as_str());
            state.refuse(
                caller,
                facility,
                "read an agreement",
                &format!("agreement {id}: not one of the caller's facilities, or none"),
            )?;
            Err(ApiError::not_found(format!("id: no custody agreement {id}")).field("id"))
        }
    }
}

/// A day of the query, named by its field.
fn day(field: &'static str, raw: Option<&str>) -> ApiResult<Option<Date>> {
    raw.filter(|d| !d.is_empty())
        .map(|d| {
            Date::parse(field, d).map_err(|e| {
                ApiError::bad_request("invalid_field", format!("{field}: {}", e.message))
                    .field(field)
            })
        })
        .transpose()
}

/// The account of `agreement` from `from` to `to` (the agreement's whole time to the day shown
/// when not given), with the findings of kept evaluations as of its last day; logged as a list
/// that names people before it is returned.
pub(crate) fn account(
    state: &AppState,
    caller: &Caller,
    agreement: &Agreement,
    from: Option<&str>,
    to: Option<&str>,
) -> ApiResult<AgreementReport> {
    let shown = state.default_day();
    let (from, to) = agreement
        .period(day("from", from)?, day("to", to)?, shown.day, shown.today)
        .map_err(|e| ApiError::bad_request("invalid_field", e.to_string()).field(e.field))?;
    let Some(mut report) = state.store.agreement_report(agreement.id, from, to)? else {
        return Err(
            ApiError::not_found(format!("id: no custody agreement {}", agreement.id)).field("id"),
        );
    };
    for facility in report.facilities() {
        let evaluation = state
            .evaluations
            .get(&state.store, &*state.clock, Some(&facility), to)?;
        report.add_findings(&evaluation.policy, &evaluation.findings);
    }
    if report.policy.is_none() {
        let policy = habeas_core::compliance::Policy::mandela_minimum()
            .map_err(|e| ApiError::internal(e.message))?;
        report.policy = Some(policy.source().name.clone());
        report.policy_sha256 = Some(policy.source().sha256.clone());
    }
    state.listed(
        caller,
        &agreement.facility,
        "agreement report",
        Some(&format!("agreement {} {from}..{to}", agreement.id)),
        report.people.len() as u64,
    )?;
    Ok(report)
}

#[derive(Debug, Deserialize)]
pub(crate) struct AgreementQuery {
    id: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// The agreement's id, named `id` when missing or not a number.
pub(crate) fn id_of(raw: Option<&str>) -> ApiResult<u64> {
    raw.and_then(|i| i.trim().parse().ok()).ok_or_else(|| {
        ApiError::bad_request("invalid_field", "id: give the agreement's entry number").field("id")
    })
}

/// `GET /api/reports/agreement?id=N&from=D&to=D`: the account of a custody agreement.
#[utoipa::path(get, path = "/api/reports/agreement", tag = "records", params(("id" = u64, Query, description = "The agreement's entry number"), ("from" = Option<String>, Query, format = Date, description = "YYYY-MM-DD, the period's first day [default: the agreement's first day]"), ("to" = Option<String>, Query, format = Date, description = "YYYY-MM-DD, the period's last day [default: today, or the register's last recorded day when earlier, or the agreement's last day]")), responses((status = 200, description = "The people held under the agreement on the days counted (the period within its dates), their custodies and references, person-days, the amount due (person-days × the rate, in the smallest unit of the currency) and every finding about them as of the period's last day", body = habeas_store_sqlite::AgreementReport), (status = 400, description = "Bad input: the field is named (a period that ends before it begins, after today, or outside the agreement)", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role (logged): directors, the national administration and inspectors read agreements", body = crate::schema::ErrorBody), (status = 404, description = "No such agreement, or one of a facility the caller does not work in: the same answer either way (the refusal is logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
pub(crate) async fn agreement_report(
    State(state): State<Arc<AppState>>,
    query: Result<Query<AgreementQuery>, axum::extract::rejection::QueryRejection>,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    blocking(move || {
        // Who asks comes first: a request without a valid session or token is 401 whatever
        // its parameters.
        let caller = state.caller(&method, &headers)?;
        let Query(q) = query.map_err(crate::error::query_error)?;
        may_read(&state, &caller)?;
        let id = id_of(q.id.as_deref())?;
        let agreement = in_scope(&state, &caller, id)?;
        let report = account(
            &state,
            &caller,
            &agreement,
            q.from.as_deref(),
            q.to.as_deref(),
        )?;
        Ok(Json(
            serde_json::to_value(report).map_err(ApiError::internal)?,
        ))
    })
    .await
}
