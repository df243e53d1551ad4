//! What the handlers share: the state (stores, writers, clock, keys, limits), the caller of a
//! request, and the helpers that run work off the async threads. Pages, API handlers and the
//! route table depend on this module; it depends on none of them.

use crate::access::{Event, EVERY_FACILITY};
use crate::auth::{self, Role};
use crate::error::{ApiError, ApiResult};
use crate::signin::{SESSION_IDLE_MS, SESSION_LIFETIME_MS};
use axum::http::{header, HeaderMap, Method};
use habeas_register::store::{AppendError, StoreError};
use habeas_register::time::Clock;
use habeas_register::writer::{Receipt, Register};
use habeas_store_sqlite::{Accounts, SqliteStore, User};
use std::collections::BTreeMap;
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
    /// The public tiles, proofs, witnesses and published checkpoint (`transparency`).
    pub transparency: Arc<crate::transparency::Transparency>,
    /// The register's key, for signing whereabouts answers (`whereabouts`); `None` for a
    /// server that cannot sign (it answers 503 to the question).
    pub signer: Option<Arc<habeas_register::note::Signer>>,
}

/// Request counts and latencies by route and status, for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub(crate) requests: Mutex<BTreeMap<(String, u16), Series>>,
}

/// The upper bounds, in seconds, of the request-latency histogram.
pub(crate) const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// One route and status: how many answers, their total seconds, and how many fell in each
/// latency bucket (not cumulative; the last counts those over every bound).
#[derive(Debug, Clone, Default)]
pub(crate) struct Series {
    pub(crate) count: u64,
    pub(crate) seconds: f64,
    pub(crate) buckets: [u64; LATENCY_BUCKETS.len() + 1],
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
pub(crate) fn histogram(
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
        if self.role.asks_whereabouts() {
            return false;
        }
        !self.role.scoped() || self.user.facilities.iter().any(|f| f == facility)
    }
}

pub(crate) fn cookie_value(headers: &HeaderMap) -> Option<String> {
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

    /// The day a page of a facility `offset_minutes` from UTC shows when none is asked for:
    /// its local today, or the local day of the register's last entry when that is earlier.
    pub(crate) fn default_day_at(&self, offset_minutes: i32) -> habeas_core::dates::DefaultDay {
        if offset_minutes == 0 {
            return self.default_day();
        }
        use habeas_register::store::Store as _;
        let shift = i64::from(offset_minutes) * 60_000;
        let local = |t: habeas_register::Timestamp| {
            habeas_core::dates::Date::of(habeas_register::Timestamp(t.millis() + shift))
        };
        let last = self
            .store
            .size()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| self.store.entry(i).ok().flatten())
            .and_then(|b| habeas_register::entry::decode_header(&b).ok())
            .map(|(_, time)| local(time).to_string());
        habeas_core::dates::DefaultDay::new(local(self.clock.now()), last.as_deref())
    }

    /// A facility's local time, in minutes from UTC (its estate's `utc_offset`; 0 for a
    /// facility the register does not know).
    pub(crate) fn utc_offset(&self, facility: &str) -> ApiResult<i32> {
        Ok(self
            .store
            .facility(facility)?
            .map_or(0, |f| f.utc_offset_minutes))
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
