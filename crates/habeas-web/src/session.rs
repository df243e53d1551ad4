//! Signing in and out: sessions with their cookie and CSRF token, under the limits on
//! signing in (`limits`).

use crate::access::Event;
use crate::auth::{self};
use crate::error::{ApiError, ApiResult};
use crate::signin::{self, SESSION_LIFETIME_MS};
use crate::state::{blocking, cookie_value, AppState, COOKIE};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use habeas_store_sqlite::User;
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignIn {
    username: String,
    password: String,
    #[serde(default)]
    code: Option<String>,
}

fn who(user: &User, csrf: Option<&str>) -> Value {
    json!({"username": user.username, "role": user.role, "facilities": user.facilities, "language": user.language, "mfa": user.mfa, "csrf": csrf})
}

/// `POST /api/session`: password (and code) in, session cookie out. Every attempt is logged;
/// a refusal never says which part was wrong.
#[utoipa::path(post, path = "/api/session", tag = "session", request_body = SignIn, responses((status = 200, description = "Signed in: the account and the CSRF token; the session cookie is set (HttpOnly, Secure, SameSite=Strict)", body = crate::schema::Who), (status = 400, description = "Bad input", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in: one answer (bad_credentials) whatever failed — the username, the password, a missing, wrong or already used code, a locked account", body = crate::schema::ErrorBody), (status = 429, description = "Not checked (too_many_attempts): too many attempts for this username or from this address, or too many sign-ins being checked; try again after Retry-After seconds", body = crate::schema::ErrorBody, headers(("retry-after" = u64, description = "Seconds to wait before trying again")))))]
pub(crate) async fn sign_in(
    State(state): State<Arc<AppState>>,
    peer: Result<ConnectInfo<SocketAddr>, axum::extract::rejection::ExtensionRejection>,
    headers: HeaderMap,
    body: Result<Json<SignIn>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(body) = body.map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()).field("body")
    })?;
    let peer = peer.ok().map(|ConnectInfo(a)| a);
    let (user, cookie, csrf) = crate::session::sign_in_limited(
        state,
        peer,
        &headers,
        body.username,
        body.password,
        body.code,
        "api",
    )
    .await?;
    let mut res = Json(who(&user, Some(&csrf))).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
    );
    Ok(res)
}

/// The one answer to every failed sign-in, whatever failed (an unknown user, the password, a
/// missing, wrong or replayed code, a locked account): only the access log says which.
pub(crate) fn bad_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
        "the username, password or code is wrong, or the account is locked",
    )
}

/// Checks a sign-in (logged, by `via`) and opens a session: the account, the `Set-Cookie`
/// value and the session's CSRF token. A refusal never says which part was wrong. `turn` is
/// the sign-in's turn at checking a password (`limits`), given back once it is checked.
pub(crate) fn start_session(
    state: &AppState,
    username: &str,
    password: &str,
    code: Option<&str>,
    via: &str,
    turn: crate::limits::Turn,
) -> ApiResult<(User, String, String)> {
    let now = state.now();
    let attempt = signin::sign_in(&state.accounts, username, password, code, now);
    drop(turn);
    let attempt = attempt?;
    // Unknown users beyond the first of a window are counted, not logged one by one; the
    // counts go with the next entry (`limits`).
    let (own, summary) = state.signin_limits.checked(attempt.outcome, now)?;
    let one = Event::SignIn {
        username,
        outcome: attempt.outcome,
        via,
    };
    let mut events: Vec<Event<'_>> = Vec::with_capacity(2);
    if let Some(s) = &summary {
        events.push(s.event());
    }
    if own {
        events.push(one);
    }
    if !events.is_empty() {
        if let Err(e) = state.log(&events) {
            if let Some(s) = summary {
                state.signin_limits.restore(s);
            }
            return Err(e);
        }
    }
    let Some(user) = attempt.user else {
        return Err(bad_credentials());
    };
    let secret = auth::new_secret().map_err(ApiError::internal)?;
    let csrf = auth::new_secret().map_err(ApiError::internal)?;
    state
        .accounts
        .create_session(&auth::secret_hash(&secret), &user.username, &csrf, now)?;
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        state.cookie_key.sign(&secret).map_err(ApiError::internal)?,
        SESSION_LIFETIME_MS / 1000
    );
    Ok((user, cookie, csrf))
}

/// Revokes the session a request's cookie names, if its signature is right.
pub(crate) fn end_session(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    if let Some(secret) = cookie_value(headers)
        .as_deref()
        .and_then(|v| state.cookie_key.verify(v))
    {
        state
            .accounts
            .revoke_session(&auth::secret_hash(secret), state.now())?;
    }
    Ok(())
}

/// The `Set-Cookie` value that removes the session cookie.
pub(crate) const CLEAR_COOKIE: &str =
    "habeas_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0";

/// `DELETE /api/session`: revokes the session (with its CSRF token).
#[utoipa::path(delete, path = "/api/session", tag = "session", params(("x-csrf-token" = String, Header, description = "The session's CSRF token")), responses((status = 204, description = "Signed out: the session is revoked"), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody)), security(("session" = [])))]
pub(crate) async fn sign_out(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Response> {
    blocking(move || {
        // Only a signed-in caller (with the CSRF token) signs out.
        state.caller(&method, &headers)?;
        end_session(&state, &headers)?;
        let mut res = StatusCode::NO_CONTENT.into_response();
        res.headers_mut()
            .insert(header::SET_COOKIE, HeaderValue::from_static(CLEAR_COOKIE));
        Ok(res)
    })
    .await
}

/// `GET /api/session`: who is signed in.
#[utoipa::path(get, path = "/api/session", tag = "session", responses((status = 200, description = "Who is signed in", body = crate::schema::Who), (status = 400, description = "Bad input: the field is named", body = crate::schema::ErrorBody), (status = 401, description = "Not signed in", body = crate::schema::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::schema::ErrorBody)), security(("session" = []), ("token" = [])))]
pub(crate) async fn me(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    blocking(move || {
        let c = state.caller(&method, &headers)?;
        Ok(Json(who(&c.user, c.csrf.as_deref())))
    })
    .await
}

/// Writes the counts that are due (a closed window's; all of them with `force`), without
/// holding a thread. Counts whose entry fails stay counted.
pub async fn write_due(state: &AppState, force: bool) -> ApiResult<()> {
    let now = state.now();
    if let Some(s) = state.signin_limits.due(now, force)? {
        if let Err(e) = state.log_async(&[s.event()]).await {
            state.signin_limits.restore(s);
            return Err(e);
        }
    }
    Ok(())
}

/// A sign-in under the limits, as the API and the web UI make it: the rate limits, a turn at
/// checking the password, then [`start_session`] on the blocking pool. The
/// account, the `Set-Cookie` value and the CSRF token; a refusal is `401 bad_credentials`
/// whatever failed, or `429` (with `Retry-After`) when a limit refused it unchecked.
pub(crate) async fn sign_in_limited(
    state: Arc<AppState>,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    username: String,
    password: String,
    code: Option<String>,
    via: &'static str,
) -> ApiResult<(habeas_store_sqlite::User, String, String)> {
    let limits = &state.signin_limits;
    let address = limits.client(peer, headers);
    let refused = match limits.admit(address, &username, state.now()) {
        Ok(()) => match limits.turn().await {
            Ok(turn) => {
                let s = state.clone();
                let name = username.clone();
                let out = blocking(move || {
                    start_session(&s, &name, &password, code.as_deref(), via, turn)
                })
                .await;
                if out.is_ok() {
                    limits.give_back(address, &username, state.now());
                }
                return out;
            }
            Err(busy) => {
                limits.give_back(address, &username, state.now());
                busy
            }
        },
        Err(limited) => limited,
    };
    if let Some(s) = limits.count_refused(refused, state.now())? {
        if let Err(e) = state.log_async(&[s.event()]).await {
            limits.restore(s);
            return Err(e);
        }
    }
    limits.pause().await;
    Err(crate::limits::too_many(refused, limits.config()))
}
