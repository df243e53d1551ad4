//! The HTTP service (axum): sign-in and sessions, the person file with role × facility
//! authorization, the access log, health and metrics. Every handler that touches SQLite, the
//! register or a password hash runs on the blocking pool. Every read of a person's record and
//! every refusal is appended to the access log before the answer leaves.

use crate::access::{Event, EVERY_FACILITY};
use crate::auth::{self, Role};
use crate::signin::{self, SESSION_IDLE_MS, SESSION_LIFETIME_MS};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use habeas_register::store::{AppendError, Store as _, StoreError};
use habeas_register::time::Clock;
use habeas_register::writer::{Receipt, Register};
use habeas_store_sqlite::{Accounts, SqliteStore, User};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The name of the session cookie.
pub const COOKIE: &str = "habeas_session";
/// The header that carries a session's CSRF token on every request that changes something.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// What the handlers share.
pub struct AppState {
    pub store: Arc<SqliteStore>,
    /// The records' writer; `None` for a server that only reads.
    pub register: Option<Register>,
    pub accounts: Arc<Accounts>,
    /// The access log's writer (a register of its own).
    pub access: Register,
    pub access_store: Arc<SqliteStore>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    /// Served over TLS: answers carry Strict-Transport-Security.
    pub tls: bool,
    /// Signs the session cookies (`<db>.session.key`).
    pub cookie_key: auth::CookieKey,
    /// Compliance evaluations kept for the pages (`evaluations`).
    pub evaluations: crate::evaluations::Evaluations,
    /// The limits on signing in (`limits`).
    pub signin_limits: crate::limits::SignInLimits,
}

/// Request counts and latencies by route and status, for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), Series>>,
}

/// The upper bounds, in seconds, of the request-latency histogram.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// One route and status: how many answers, their total seconds, and how many fell in each
/// latency bucket (not cumulative; the last counts those over every bound).
#[derive(Debug, Clone, Default)]
struct Series {
    count: u64,
    seconds: f64,
    buckets: [u64; LATENCY_BUCKETS.len() + 1],
}

impl Metrics {
    pub fn observe(&self, route: &str, status: u16, seconds: f64) {
        if let Ok(mut m) = self.requests.lock() {
            let e = m.entry((route.to_owned(), status)).or_default();
            e.count += 1;
            e.seconds += seconds;
            let k = LATENCY_BUCKETS
                .iter()
                .position(|b| seconds <= *b)
                .unwrap_or(LATENCY_BUCKETS.len());
            if let Some(b) = e.buckets.get_mut(k) {
                *b += 1;
            }
        }
    }
}

/// A Prometheus histogram's lines: cumulative buckets, `+Inf`, sum and count. `labels` are
/// the series' own, already formatted (`route="…",status="…"`).
fn histogram(
    out: &mut String,
    name: &str,
    labels: &str,
    bounds: &[String],
    counts: &[u64],
    sum: f64,
) {
    use std::fmt::Write as _;
    let mut seen = 0;
    for (bound, n) in bounds.iter().zip(counts) {
        seen += n;
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {seen}");
    }
    let total: u64 = counts.iter().sum();
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {total}");
    let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
    let _ = writeln!(out, "{name}_count{{{labels}}} {total}");
}

/// An error answer: `{"error": {"code", "message", "field"}}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
    field: Option<String>,
    /// Seconds for `Retry-After` (a 429); small, so that the error stays small.
    retry_after: Option<u16>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }
    /// Adds `Retry-After` (at most 65,535 seconds).
    pub(crate) fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(u16::try_from(seconds).unwrap_or(u16::MAX));
        self
    }
    /// The seconds of `Retry-After`, if the answer has one.
    pub(crate) fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(u64::from)
    }
    pub(crate) fn field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }
    pub(crate) fn field_owned(mut self, field: String) -> Self {
        self.field = Some(field);
        self
    }
    pub(crate) fn code_owned(&mut self, code: String) {
        self.code = code;
    }
    pub(crate) fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in first (POST /api/session) or give an API token",
        )
    }
    /// The error's code (`bad_credentials`, `forbidden`…).
    pub(crate) fn code(&self) -> &str {
        &self.code
    }
    /// The error's sentence.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub(crate) fn internal(e: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            Json(
                json!({"error": {"code": self.code, "message": self.message, "field": self.field}}),
            ),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// A query string that does not parse: 400 in the one error shape.
pub(crate) fn query_error(e: axum::extract::rejection::QueryRejection) -> ApiError {
    ApiError::bad_request("invalid_field", e.body_text()).field("query")
}

/// Runs blocking work (SQLite, Argon2, the register) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

/// Queues drafts with a writer and waits, without holding a thread, until they are durable.
pub(crate) async fn durable(
    register: &Register,
    drafts: Vec<habeas_register::Draft>,
) -> Result<Vec<Receipt>, AppendError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    register.submit_then(drafts, None, move |outcome| {
        let _ = tx.send(outcome);
    })?;
    rx.await
        .map_err(|_| AppendError::Store(StoreError::Closed))?
}

/// Who is asking.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub role: Role,
    /// The session's CSRF token; `None` for an API token (no cookie, no CSRF).
    pub csrf: Option<String>,
}

impl Caller {
    /// Whether the caller works in `facility`.
    pub fn covers(&self, facility: &str) -> bool {
        !self.role.scoped() || self.user.facilities.iter().any(|f| f == facility)
    }
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

impl AppState {
    pub(crate) fn now(&self) -> i64 {
        self.clock.now().millis()
    }

    /// Appends access-log events and waits for them to be durable.
    /// The day a page or report shows when none is asked for: today, or the register's last
    /// recorded day when that is earlier.
    pub(crate) fn default_day(&self) -> habeas_core::dates::DefaultDay {
        let last = self.store.last_recorded_day().ok().flatten();
        habeas_core::dates::DefaultDay::new(
            habeas_core::dates::Date::of(self.clock.now()),
            last.as_deref(),
        )
    }

    pub(crate) fn log(&self, events: &[Event<'_>]) -> ApiResult<()> {
        self.access
            .append_all(events.iter().map(Event::to_draft).collect())
            .map(|_| ())
            .map_err(|e| ApiError::internal(format!("access log: {e}")))
    }

    /// Logs a list that names people (a search and its words, a report) before it is answered.
    pub(crate) fn listed(
        &self,
        caller: &Caller,
        facility: &str,
        what: &str,
        query: Option<&str>,
        people: u64,
    ) -> ApiResult<()> {
        self.log(&[Event::Listed {
            username: &caller.user.username,
            facility,
            what,
            query,
            people,
        }])
    }

    /// Appends access-log events; resolves once they are durable, holding no thread meanwhile.
    pub(crate) async fn log_async(&self, events: &[Event<'_>]) -> ApiResult<()> {
        durable(&self.access, events.iter().map(Event::to_draft).collect())
            .await
            .map(|_| ())
            .map_err(|e| ApiError::internal(format!("access log: {e}")))
    }

    /// The caller of a request made with an API token whose owner is already known: found
    /// without a query, so on any thread. `None`: ask [`Self::caller`] on the blocking pool.
    pub(crate) fn cached_caller(&self, headers: &HeaderMap) -> Option<Caller> {
        let token = headers
            .get(header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")?;
        let user = self
            .accounts
            .cached_token_owner(&auth::secret_hash(token.trim()), self.now())?;
        if user.locked_at.is_some() {
            return None;
        }
        let role = Role::parse("role", &user.role).ok()?;
        Some(Caller {
            user,
            role,
            csrf: None,
        })
    }

    /// The caller of a request, from its API token or its session cookie; for a request that
    /// changes something with a cookie, the CSRF header must match the session's.
    pub(crate) fn caller(&self, method: &Method, headers: &HeaderMap) -> ApiResult<Caller> {
        let now = self.now();
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let (user, csrf) = if let Some(token) = bearer {
            match self
                .accounts
                .token_owner(&auth::secret_hash(token.trim()), now)?
            {
                Some(u) => (u, None),
                None => return Err(ApiError::unauthenticated()),
            }
        } else if let Some(value) = cookie_value(headers) {
            // A cookie this server did not sign is refused before any lookup.
            let Some(secret) = self.cookie_key.verify(&value) else {
                return Err(ApiError::unauthenticated());
            };
            let Some(s) = self.accounts.session(
                &auth::secret_hash(secret),
                now,
                SESSION_IDLE_MS,
                SESSION_LIFETIME_MS,
            )?
            else {
                return Err(ApiError::unauthenticated());
            };
            match self.accounts.user(&s.username)? {
                Some(u) => (u, Some(s.csrf)),
                None => return Err(ApiError::unauthenticated()),
            }
        } else {
            return Err(ApiError::unauthenticated());
        };
        if user.locked_at.is_some() {
            return Err(ApiError::unauthenticated());
        }
        let role = Role::parse("role", &user.role)
            .map_err(|e| ApiError::internal(format!("account {}: {e}", user.username)))?;
        let caller = Caller { user, role, csrf };
        if let Some(expected) = &caller.csrf {
            let changes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
            let given = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if changes && given != Some(expected.as_str()) {
                self.refuse(
                    &caller,
                    EVERY_FACILITY,
                    "csrf",
                    "missing or wrong CSRF token",
                )?;
                return Err(ApiError::forbidden(
                    "a request that changes something needs the session's x-csrf-token header",
                )
                .field(CSRF_HEADER));
            }
        }
        Ok(caller)
    }

    /// Logs a refused authorization.
    pub(crate) fn refuse(
        &self,
        caller: &Caller,
        facility: &str,
        action: &str,
        reason: &str,
    ) -> ApiResult<()> {
        self.log(&[Event::Refused {
            username: &caller.user.username,
            facility,
            action,
            reason,
        }])
    }
}

/// The largest sign-in a client may send, in bytes (a username, a password of at most 256
/// characters and a code fit many times): a sign-in waiting for its turn holds little.
pub(crate) const SIGN_IN_BODY_MAX: usize = 8 * 1024;

/// The routes.
pub fn router(state: Arc<AppState>) -> Router {
    let routes = Router::new()
        .route("/healthz", get(healthz))
        .route("/api/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .route(
            "/api/session",
            axum::routing::post(sign_in)
                .layer(axum::extract::DefaultBodyLimit::max(SIGN_IN_BODY_MAX))
                .delete(sign_out)
                .get(me),
        )
        .route("/api/persons", get(crate::api::search))
        .route("/api/persons/{person}", get(person_file))
        .route(
            "/api/admissions",
            axum::routing::post(crate::api::admissions),
        )
        .route(
            "/api/allocations",
            axum::routing::post(crate::api::allocations),
        )
        .route("/api/movements", axum::routing::post(crate::api::movements))
        .route(
            "/api/counts",
            axum::routing::post(crate::api::counts).get(crate::api::count_report),
        )
        .route("/api/releases", axum::routing::post(crate::api::releases))
        .route("/api/records", axum::routing::post(crate::api::records))
        .route("/api/population", get(crate::api::population))
        .route("/api/reports/compliance", get(crate::api::compliance))
        .route("/api/reports/statistics", get(crate::api::statistics))
        .route(
            "/api/logbook",
            axum::routing::post(crate::api::logbook_add).get(crate::api::logbook_list),
        )
        .route(
            "/api/environment",
            axum::routing::post(crate::api::environment),
        )
        .route("/api/estate", axum::routing::post(crate::api::estate))
        .route(
            "/api/certifications",
            axum::routing::post(crate::api::certifications),
        )
        .route("/api/register", get(crate::api::register_status))
        .route(
            "/api/users",
            get(crate::api::users_list).post(crate::api::users_add),
        )
        .route(
            "/api/users/changes",
            axum::routing::post(crate::api::users_change),
        )
        .route(
            "/api/tokens",
            get(crate::api::tokens_list).post(crate::api::tokens_issue),
        )
        .route(
            "/api/tokens/{name}",
            axum::routing::delete(crate::api::tokens_revoke),
        )
        .route(
            "/api/register/verify",
            axum::routing::post(crate::api::register_verify),
        )
        .route("/api/orders", axum::routing::post(crate::api::orders))
        .route("/api/transfers", axum::routing::post(crate::api::transfers))
        .route(
            "/api/deaths",
            axum::routing::post(crate::api::deaths).get(crate::api::death_list),
        )
        .route(
            "/api/death-steps",
            axum::routing::post(crate::api::death_steps),
        )
        .route(
            "/api/agreements",
            axum::routing::post(crate::api::agreements),
        )
        .route(
            "/api/non-associations",
            axum::routing::post(crate::api::non_associations),
        )
        .route(
            "/api/identity-corrections",
            axum::routing::post(crate::api::identity_corrections),
        )
        .route("/api/access-log", get(access_log))
        .merge(crate::ui::routes())
        .fallback(|uri: axum::http::Uri| async move {
            // A page that does not exist is a page saying so, with the way back; the API's
            // unknown routes answer in its JSON error shape.
            if uri.path().starts_with("/ui/") {
                (
                    StatusCode::NOT_FOUND,
                    [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    crate::ui::NOT_FOUND_PAGE,
                )
                    .into_response()
            } else {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response()
            }
        });
    with_layers(routes, state)
}

/// What every answer passes through: the request's log line and metrics, and the security
/// headers. (The benchmarks put their constant handler behind the same.)
pub fn with_layers(routes: Router<Arc<AppState>>, state: Arc<AppState>) -> Router {
    routes
        .layer(axum::middleware::from_fn(limits))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}

/// The longest request target (path and query) the server reads.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names and values) a request may carry.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Requests over the server's limits are answered in the one error shape: 414 for a request
/// target over [`MAX_URI_BYTES`], 431 for headers over [`MAX_HEADER_BYTES`]. (A body over its
/// limit is 413, in the same shape, from the handlers.) These limits sit well inside the HTTP
/// library's own (64 KiB of target, about 400 KiB of head), which close the connection with a
/// bare status before the request reaches the service.
async fn limits(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request's address has {target} bytes; at most {MAX_URI_BYTES}"),
        )
        .field("uri")
        .into_response();
    }
    let head: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if head > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("the request's headers have {head} bytes; at most {MAX_HEADER_BYTES}"),
        )
        .field("headers")
        .into_response();
    }
    next.run(req).await
}

#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, description = "The service answers", body = String, content_type = "text/plain")))]
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "service", responses((status = 200, description = "This document", body = Object)))]
pub(crate) async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}

/// The security headers of every answer.
async fn security_headers(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // The pages may load the server's own style sheet and script (htmx), fetch from and post
    // forms to it; nothing else.
    let page = req.uri().path() == "/" || req.uri().path().starts_with("/ui/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let csp = if page {
        "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    } else {
        "default-src 'none'; frame-ancestors 'none'"
    };
    h.insert("content-security-policy", HeaderValue::from_static(csp));
    if state.tls {
        h.insert(
            "strict-transport-security",
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    for (k, v) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
    res
}

/// Counts each request by its route (the pattern, never the path: no ids in metrics).
async fn observe(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // The state's clock, so that time stays a parameter (millisecond resolution).
    let started = state.now();
    let method = req.method().clone();
    // One span per request, named by the route's pattern: never a person's id, a query string,
    // a header or a body.
    let span = tracing::info_span!("request", %method, route = %route);
    let res = tracing::Instrument::instrument(next.run(req), span.clone()).await;
    let ms = state.now() - started;
    let status = res.status().as_u16();
    span.in_scope(|| tracing::info!(status, ms, "answered"));
    state.metrics.observe(&route, status, ms as f64 / 1000.0);
    res
}

#[utoipa::path(get, path = "/metrics", tag = "service", responses((status = 200, description = "Prometheus text: requests by route pattern and status, their seconds, register and access-log sizes", body = String, content_type = "text/plain"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "Not for this role (logged)", body = crate::openapi::ErrorBody)), security(("session" = []), ("token" = [])))]
pub(crate) async fn metrics(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let s = state.clone();
    let (size, access) = blocking(move || {
        // Not public: the service's figures are for those who oversee it (a scraper uses an
        // API token of such an account).
        let caller = s.caller(&method, &headers)?;
        if !matches!(
            caller.role,
            Role::National | Role::Inspector | Role::Administrator
        ) {
            s.refuse(
                &caller,
                EVERY_FACILITY,
                "read metrics",
                "only national administration, inspectors and administrators",
            )?;
            return Err(ApiError::forbidden(
                "the metrics are for national administration, inspectors and administrators",
            ));
        }
        Ok((s.store.size()?, s.access_store.size()?))
    })
    .await?;
    let mut out = String::new();
    out.push_str("# TYPE habeas_http_requests_total counter\n");
    let m = state
        .metrics
        .requests
        .lock()
        .map_err(|_| ApiError::internal("metrics"))?
        .clone();
    for ((route, status), series) in &m {
        out.push_str(&format!(
            "habeas_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {}\n",
            series.count
        ));
    }
    out.push_str("# TYPE habeas_http_request_duration_seconds histogram\n");
    let bounds: Vec<String> = LATENCY_BUCKETS.iter().map(|b| b.to_string()).collect();
    for ((route, status), series) in &m {
        histogram(
            &mut out,
            "habeas_http_request_duration_seconds",
            &format!("route=\"{route}\",status=\"{status}\""),
            &bounds,
            &series.buckets,
            series.seconds,
        );
    }
    out.push_str(&format!(
        "# TYPE habeas_register_entries gauge\nhabeas_register_entries {size}\n# TYPE habeas_access_log_entries gauge\nhabeas_access_log_entries {access}\n"
    ));
    // Group commit at work: entries written and the commits that carried them (their ratio is
    // the mean batch size), for the records and for the access log.
    out.push_str("# TYPE habeas_writer_entries_total counter\n# TYPE habeas_writer_commits_total counter\n# TYPE habeas_writer_checkpoints_total counter\n");
    let writers = [
        ("records", state.register.as_ref()),
        ("access_log", Some(&state.access)),
    ];
    let batch_bounds: Vec<String> = habeas_register::writer::BATCH_BUCKETS
        .iter()
        .map(|b| b.to_string())
        .collect();
    let mut batches = String::from("# TYPE habeas_writer_batch_entries histogram\n");
    for (name, register) in writers {
        if let Some(r) = register {
            let counts: Vec<u64> = r
                .stats()
                .batch_sizes
                .iter()
                .map(|a| a.load(std::sync::atomic::Ordering::Relaxed))
                .collect();
            histogram(
                &mut batches,
                "habeas_writer_batch_entries",
                &format!("register=\"{name}\""),
                &batch_bounds,
                &counts,
                r.stats().entries.load(std::sync::atomic::Ordering::Relaxed) as f64,
            );
            let st = r.stats();
            let get =
                |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
            out.push_str(&format!(
                "habeas_writer_entries_total{{register=\"{name}\"}} {}\nhabeas_writer_commits_total{{register=\"{name}\"}} {}\nhabeas_writer_checkpoints_total{{register=\"{name}\"}} {}\n",
                get(&st.entries),
                get(&st.batches),
                get(&st.checkpoints)
            ));
        }
    }
    out.push_str(&batches);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response())
}

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
#[utoipa::path(post, path = "/api/session", tag = "session", request_body = SignIn, responses((status = 200, description = "Signed in: the account and the CSRF token; the session cookie is set (HttpOnly, Secure, SameSite=Strict)", body = crate::openapi::Who), (status = 400, description = "Bad input", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in: one answer (bad_credentials) whatever failed — the username, the password, a missing, wrong or already used code, a locked account", body = crate::openapi::ErrorBody), (status = 429, description = "Not checked (too_many_attempts): too many attempts for this username or from this address, or too many sign-ins being checked; try again after Retry-After seconds", body = crate::openapi::ErrorBody, headers(("retry-after" = u64, description = "Seconds to wait before trying again")))))]
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
    let (user, cookie, csrf) = crate::limits::sign_in(
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
#[utoipa::path(delete, path = "/api/session", tag = "session", params(("x-csrf-token" = String, Header, description = "The session's CSRF token")), responses((status = 204, description = "Signed out: the session is revoked"), (status = 400, description = "Bad input: the field is named", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::openapi::ErrorBody)), security(("session" = [])))]
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
#[utoipa::path(get, path = "/api/session", tag = "session", responses((status = 200, description = "Who is signed in", body = crate::openapi::Who), (status = 400, description = "Bad input: the field is named", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::openapi::ErrorBody)), security(("session" = []), ("token" = [])))]
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

/// The refusal of a role that reads no person file (administrators manage accounts).
fn not_for_role(caller: &Caller) -> Option<Refusal> {
    (caller.role == Role::Administrator).then(|| Refusal {
        facility: EVERY_FACILITY.to_owned(),
        reason: "administrators manage accounts, not records",
        answer: ApiError::forbidden("administrators do not read person files"),
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
#[utoipa::path(get, path = "/api/persons/{person}", tag = "records", params(("person" = u64, Path, description = "The person's id (the index of the admission that first recorded them)"), ("purpose" = String, Query, description = "Why the file is read (required); kept in the access log")), responses((status = 200, description = "The file and the history of every custody; health content only for health staff and inspectors", body = crate::openapi::PersonFileAnswer), (status = 400, description = "Bad input: the field is named", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "Not for this role (logged)", body = crate::openapi::ErrorBody), (status = 404, description = "No such person, or none ever held in the caller's facilities (the same answer; a refusal is logged)", body = crate::openapi::ErrorBody)), security(("session" = []), ("token" = [])))]
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
#[utoipa::path(get, path = "/api/access-log", tag = "access log", params(("from" = Option<u64>, Query, description = "The first index"), ("limit" = Option<u64>, Query, description = "1 to 1000")), responses((status = 200, description = "Entries of the access log", body = crate::openapi::AccessLogPage), (status = 400, description = "Bad input: the field is named", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "Not for this role or facility (logged)", body = crate::openapi::ErrorBody)), security(("session" = []), ("token" = [])))]
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
                entries.push(json!({"index": i, "time": e.time.to_string(), "actor": e.actor, "facility": e.facility, "kind": e.kind, "subject": e.subject, "payload": e.payload}));
            }
        }
        Ok(Json(json!({"size": size, "entries": entries})))
    })
    .await
}
