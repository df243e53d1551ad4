//! The limits on signing in, so that a flood of sign-ins (for accounts that exist or not)
//! cannot take the server down or fill the access log:
//!
//! * **Argon2 is gated.** Each check of a password costs 19 MiB and tens of milliseconds of a
//!   core. At most [`LimitsConfig::hashing`] run at once (half the cores, at least one: the
//!   other half serves everyone else); a sign-in waits for its turn at most
//!   [`LimitsConfig::wait_ms`], and at most [`LimitsConfig::waiting`] wait at once. Beyond
//!   either it is answered `429` with `Retry-After`, unchecked.
//! * **Rate limits per account and per client address**: a token bucket each (GCRA: one
//!   number per key, the time the bucket would be full again), checked before anything else.
//!   The account's key is the username as typed (trimmed, lowercase), whether or not the
//!   account exists; the address's is the peer's IP address (an IPv6 address by its /64, the
//!   least a client is given), or, behind a reverse proxy ([`LimitsConfig::trust_forwarded`]),
//!   the last address of `X-Forwarded-For`, the one the proxy itself saw. A request that
//!   reached the router without the peer's address (tests calling it directly) counts under
//!   one address of its own, "unknown". A successful sign-in gives its tokens back, as does
//!   one refused because the server was busy, so that only failures use the buckets up. Each
//!   map keeps at most [`LimitsConfig::kept`] keys: full buckets are forgotten first (they are
//!   as good as absent), then the ones closest to full.
//! * **A refused request is answered after a pause** ([`LimitsConfig::pause_ms`], at most
//!   [`LimitsConfig::paused`] at once), so that a client that ignores `Retry-After` and asks
//!   again at once costs one answer per pause per connection, not thousands a second.
//! * **The access log gets every attempt, counted.** Every attempt on an account that exists
//!   is an entry of its own, as before. Of the attempts for unknown users, the first
//!   [`LimitsConfig::logged_unknown`] of each window of [`LimitsConfig::window_ms`] are
//!   entries of their own; the rest are counted, and so is every attempt refused by a limit
//!   (never checked, so its username says nothing). The counts become one entry
//!   ([`Event::SignInSummary`]) with the next entry written for a sign-in, or when the window
//!   closes (the server looks every window), or when the server stops: the entries of
//!   single attempts and the summaries' counts add up to every attempt made.
//!
//! Time is the server's clock (`AppState::now`), passed in.

use crate::access::{Event, SignInOutcome};
use crate::error::{ApiError, ApiResult};
use axum::http::{HeaderMap, StatusCode};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A rate: `burst` attempts at once, then one every `every_ms` milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub every_ms: i64,
}

/// The limits; [`LimitsConfig::default`] gives the server's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Password checks (Argon2) at once.
    pub hashing: usize,
    /// Sign-ins waiting for a check at once.
    pub waiting: usize,
    /// How long a sign-in waits for its check, in milliseconds.
    pub wait_ms: u64,
    /// Attempts per username typed.
    pub account: Rate,
    /// Attempts per client address.
    pub address: Rate,
    /// Keys kept in each of the two maps.
    pub kept: usize,
    /// Unknown-user attempts logged one by one in each window; the rest are counted.
    pub logged_unknown: u32,
    /// The window of the summary, in milliseconds.
    pub window_ms: i64,
    /// How long a refused (429) request waits before its answer, in milliseconds…
    pub pause_ms: u64,
    /// …and how many may wait at once (beyond that, answered at once).
    pub paused: usize,
    /// Behind a reverse proxy: the client is the last address of `X-Forwarded-For`.
    pub trust_forwarded: bool,
}

/// The wait for a password check, in milliseconds.
pub const WAIT_MS: u64 = 2_000;

impl Default for LimitsConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let hashing = (cores / 2).max(1);
        Self {
            hashing,
            waiting: 32 * hashing,
            wait_ms: WAIT_MS,
            account: Rate {
                burst: 10,
                every_ms: 6_000,
            },
            address: Rate {
                burst: 30,
                every_ms: 1_000,
            },
            kept: 10_000,
            logged_unknown: 20,
            window_ms: 60_000,
            pause_ms: 1_000,
            paused: 1_024,
            trust_forwarded: false,
        }
    }
}

/// Why a sign-in was refused unchecked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// A rate limit: try again after this many milliseconds.
    Limited(i64),
    /// Every password check is taken and the wait was too long, or too many wait.
    Busy,
}

/// The sign-in limits of one server.
#[derive(Debug)]
pub struct SignInLimits {
    config: LimitsConfig,
    gate: Arc<Semaphore>,
    waiting: AtomicUsize,
    paused: AtomicUsize,
    accounts: Mutex<Buckets<String>>,
    addresses: Mutex<Buckets<Option<IpAddr>>>,
    tally: Mutex<Tally>,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self::new(LimitsConfig::default())
    }
}

/// One bucket per key: the time (ms) at which it would be full again (GCRA's "theoretical
/// arrival time"). A key whose time has passed is full, as if absent.
#[derive(Debug)]
struct Buckets<K> {
    kept: usize,
    full_at: HashMap<K, i64>,
}

impl<K: std::hash::Hash + Eq + Clone> Buckets<K> {
    fn new(kept: usize) -> Self {
        Self {
            kept: kept.max(1),
            full_at: HashMap::new(),
        }
    }

    /// Takes one attempt for `key` at `now`, or says in how many milliseconds one is free.
    fn take(&mut self, key: &K, rate: Rate, now: i64) -> Result<(), i64> {
        let every = rate.every_ms.max(1);
        let tolerance = every.saturating_mul(i64::from(rate.burst) - 1);
        let known = self.full_at.get(key).copied();
        let full_at = known.unwrap_or(now).max(now);
        if full_at - now > tolerance {
            return Err(full_at - now - tolerance);
        }
        if known.is_none() && self.full_at.len() >= self.kept {
            self.evict(now);
        }
        self.full_at
            .insert(key.clone(), full_at.saturating_add(every));
        Ok(())
    }

    /// Gives back an attempt taken by [`Self::take`].
    fn give_back(&mut self, key: &K, rate: Rate, now: i64) {
        if let Some(t) = self.full_at.get_mut(key) {
            *t = (*t - rate.every_ms.max(1)).max(now);
        }
    }

    /// Makes room: forgets the full buckets, then, if that was not enough, the eighth of the
    /// buckets closest to full.
    fn evict(&mut self, now: i64) {
        self.full_at.retain(|_, t| *t > now);
        if self.full_at.len() < self.kept {
            return;
        }
        let mut times: Vec<i64> = self.full_at.values().copied().collect();
        let k = (times.len() / 8).max(1) - 1;
        let (_, cut, _) = times.select_nth_unstable(k);
        let cut = *cut;
        self.full_at.retain(|_, t| *t > cut);
    }

    fn len(&self) -> usize {
        self.full_at.len()
    }
}

/// The attempts of the current window not logged one by one.
#[derive(Debug, Default)]
struct Tally {
    /// When the window began (`None`: no attempt yet).
    window_start: Option<i64>,
    /// Unknown-user attempts logged one by one in this window.
    unknown_logged: u32,
    /// Counted, not yet written: since when, and how many of each.
    since: Option<i64>,
    unknown_user: u64,
    limited: u64,
    busy: u64,
}

/// What the summary entry says: the attempts counted between `since` and `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub since: i64,
    pub until: i64,
    pub unknown_user: u64,
    pub limited: u64,
    pub busy: u64,
}

impl Summary {
    pub fn event(&self) -> Event<'static> {
        Event::SignInSummary {
            since: self.since,
            until: self.until,
            unknown_user: self.unknown_user,
            limited: self.limited,
            busy: self.busy,
        }
    }
}

impl Tally {
    /// Starts a new window if the current one has closed; the counts of the closed one.
    fn roll(&mut self, now: i64, window: i64) -> Option<Summary> {
        match self.window_start {
            Some(start) if now - start < window => None,
            _ => {
                self.window_start = Some(now);
                self.unknown_logged = 0;
                self.take(now)
            }
        }
    }

    /// The counts so far, now written: `None` if there are none.
    fn take(&mut self, now: i64) -> Option<Summary> {
        let since = self.since.take()?;
        let s = Summary {
            since,
            until: now,
            unknown_user: std::mem::take(&mut self.unknown_user),
            limited: std::mem::take(&mut self.limited),
            busy: std::mem::take(&mut self.busy),
        };
        Some(s)
    }

    /// Puts back counts whose entry could not be written.
    fn restore(&mut self, s: Summary) {
        self.since = Some(self.since.map_or(s.since, |t| t.min(s.since)));
        self.unknown_user += s.unknown_user;
        self.limited += s.limited;
        self.busy += s.busy;
    }

    fn count(&mut self, now: i64) {
        if self.since.is_none() {
            self.since = Some(now);
        }
    }
}

/// A turn at checking a password: held while Argon2 runs, given back when dropped.
#[derive(Debug)]
pub struct Turn {
    _permit: OwnedSemaphorePermit,
}

/// Decrements a counter when dropped (a waiting request whose client went away included).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The key of a username as typed.
fn account_key(username: &str) -> String {
    username
        .trim()
        .chars()
        .take(64)
        .collect::<String>()
        .to_lowercase()
}

/// An address as a key: IPv4 as it is (also when mapped into IPv6), IPv6 by its /64.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl SignInLimits {
    pub fn new(config: LimitsConfig) -> Self {
        Self {
            gate: Arc::new(Semaphore::new(config.hashing)),
            waiting: AtomicUsize::new(0),
            paused: AtomicUsize::new(0),
            accounts: Mutex::new(Buckets::new(config.kept)),
            addresses: Mutex::new(Buckets::new(config.kept)),
            tally: Mutex::new(Tally::default()),
            config,
        }
    }

    pub fn config(&self) -> &LimitsConfig {
        &self.config
    }

    /// The client's address: the peer's, or behind a proxy the last of `X-Forwarded-For`
    /// (the one the proxy appended) when there is one that parses. `None`: not known.
    pub fn client(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        if self.config.trust_forwarded {
            let forwarded = headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok());
            if let Some(ip) = forwarded {
                return Some(ip);
            }
        }
        peer.map(|p| p.ip())
    }

    /// Takes an attempt from the address's bucket, then the account's.
    pub fn admit(&self, address: Option<IpAddr>, username: &str, now: i64) -> Result<(), Refused> {
        let address = address.map(address_key);
        self.addresses
            .lock()
            .map_err(|_| Refused::Busy)?
            .take(&address, self.config.address, now)
            .map_err(Refused::Limited)?;
        let taken = self.accounts.lock().map_err(|_| Refused::Busy)?.take(
            &account_key(username),
            self.config.account,
            now,
        );
        if let Err(ms) = taken {
            // The address's attempt was not used: give it back.
            if let Ok(mut a) = self.addresses.lock() {
                a.give_back(&address, self.config.address, now);
            }
            return Err(Refused::Limited(ms));
        }
        Ok(())
    }

    /// Gives back the attempts [`Self::admit`] took (a sign-in that succeeded, or that the
    /// server was too busy to check).
    pub fn give_back(&self, address: Option<IpAddr>, username: &str, now: i64) {
        let address = address.map(address_key);
        if let Ok(mut a) = self.addresses.lock() {
            a.give_back(&address, self.config.address, now);
        }
        if let Ok(mut a) = self.accounts.lock() {
            a.give_back(&account_key(username), self.config.account, now);
        }
    }

    /// Waits for a turn at checking a password: at most the configured wait, and only if
    /// fewer than the configured number are waiting.
    pub async fn turn(&self) -> Result<Turn, Refused> {
        if let Ok(p) = self.gate.clone().try_acquire_owned() {
            return Ok(Turn { _permit: p });
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.config.waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Refused::Busy);
        }
        let _waiting = Waiting(&self.waiting);
        let wait = std::time::Duration::from_millis(self.config.wait_ms);
        match tokio::time::timeout(wait, self.gate.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(Turn { _permit: p }),
            _ => Err(Refused::Busy),
        }
    }

    /// Pauses a refused request before its answer (unless too many are paused already).
    pub async fn pause(&self) {
        if self.config.pause_ms == 0 {
            return;
        }
        if self.paused.fetch_add(1, Ordering::AcqRel) >= self.config.paused {
            self.paused.fetch_sub(1, Ordering::AcqRel);
            return;
        }
        let _paused = Waiting(&self.paused);
        tokio::time::sleep(std::time::Duration::from_millis(self.config.pause_ms)).await;
    }

    fn tally(&self) -> ApiResult<std::sync::MutexGuard<'_, Tally>> {
        self.tally
            .lock()
            .map_err(|_| ApiError::internal("the sign-in tally"))
    }

    /// Counts an attempt refused unchecked; the summary of a window that closed, to write.
    pub fn count_refused(&self, refused: Refused, now: i64) -> ApiResult<Option<Summary>> {
        let mut t = self.tally()?;
        let closed = t.roll(now, self.config.window_ms);
        t.count(now);
        match refused {
            Refused::Limited(_) => t.limited += 1,
            Refused::Busy => t.busy += 1,
        }
        Ok(closed)
    }

    /// Whether a checked attempt with this outcome gets an entry of its own, and the counts
    /// to write with it (a closed window's, or those pending when it is written). An
    /// attempt without an entry is counted.
    pub fn checked(&self, outcome: SignInOutcome, now: i64) -> ApiResult<(bool, Option<Summary>)> {
        let mut t = self.tally()?;
        let closed = t.roll(now, self.config.window_ms);
        let own = if outcome == SignInOutcome::UnknownUser {
            if t.unknown_logged < self.config.logged_unknown {
                t.unknown_logged += 1;
                true
            } else {
                t.count(now);
                t.unknown_user += 1;
                false
            }
        } else {
            true
        };
        let mut summary = closed;
        if own {
            // An entry is written anyway: the counts so far go with it.
            if let Some(more) = t.take(now) {
                summary = Some(match summary {
                    Some(s) => Summary {
                        since: s.since.min(more.since),
                        until: now,
                        unknown_user: s.unknown_user + more.unknown_user,
                        limited: s.limited + more.limited,
                        busy: s.busy + more.busy,
                    },
                    None => more,
                });
            }
        }
        Ok((own, summary))
    }

    /// The counts to write now: those of a window that has closed, or (`force`, when the
    /// server stops) all.
    pub fn due(&self, now: i64, force: bool) -> ApiResult<Option<Summary>> {
        let mut t = self.tally()?;
        if force {
            return Ok(t.take(now));
        }
        Ok(t.roll(now, self.config.window_ms))
    }

    /// Puts back counts whose entry could not be written, so that none is lost.
    pub fn restore(&self, s: Summary) {
        if let Ok(mut t) = self.tally.lock() {
            t.restore(s);
        }
    }

    /// How many keys each map holds: (accounts, addresses).
    pub fn kept(&self) -> (usize, usize) {
        (
            self.accounts.lock().map_or(0, |a| a.len()),
            self.addresses.lock().map_or(0, |a| a.len()),
        )
    }
}

/// The answer to a sign-in refused unchecked: `429` with `Retry-After`, in the one error
/// shape.
pub(crate) fn too_many(refused: Refused, config: &LimitsConfig) -> ApiError {
    let (secs, message) = match refused {
        Refused::Limited(ms) => (
            u64::try_from(ms.max(1)).unwrap_or(1).div_ceil(1000),
            "too many sign-in attempts: try again later",
        ),
        Refused::Busy => (
            config.wait_ms.max(1).div_ceil(1000),
            "the server is checking too many sign-ins: try again shortly",
        ),
    };
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", message).retry_after(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(burst: u32, every_ms: i64) -> Rate {
        Rate { burst, every_ms }
    }

    #[test]
    fn a_bucket_allows_its_burst_then_one_per_interval() {
        let mut b = Buckets::new(100);
        let r = rate(3, 1_000);
        for _ in 0..3 {
            assert_eq!(b.take(&"ana", r, 0), Ok(()));
        }
        // Full: the next is free in a second.
        assert_eq!(b.take(&"ana", r, 0), Err(1_000));
        assert_eq!(b.take(&"ana", r, 999), Err(1));
        assert_eq!(b.take(&"ana", r, 1_000), Ok(()));
        assert_eq!(b.take(&"ana", r, 1_000), Err(1_000));
        // Another key has its own bucket.
        assert_eq!(b.take(&"beto", r, 1_000), Ok(()));
        // Given back, an attempt can be taken again.
        b.give_back(&"ana", r, 1_000);
        assert_eq!(b.take(&"ana", r, 1_000), Ok(()));
        // Long after, the whole burst again.
        for _ in 0..3 {
            assert_eq!(b.take(&"ana", r, 60_000), Ok(()));
        }
        assert!(b.take(&"ana", r, 60_000).is_err());
    }

    #[test]
    fn the_maps_stay_bounded_forgetting_full_buckets_first() {
        let mut b = Buckets::new(100);
        let r = rate(2, 1_000);
        // A hundred keys that emptied a bucket each, and one key refused.
        for k in 0..100 {
            b.take(&k, r, 0).unwrap();
            b.take(&k, r, 0).unwrap();
        }
        assert!(b.take(&7, r, 0).is_err());
        // Ten thousand keys more: never over the bound.
        for k in 100..10_100 {
            b.take(&k, r, 1).unwrap();
            assert!(b.len() <= 100, "{}", b.len());
        }
        // Once their buckets are full again, old keys are forgotten before others.
        let mut b = Buckets::new(3);
        b.take(&"old", r, 0).unwrap();
        b.take(&"busy", r, 5_000).unwrap();
        b.take(&"busy", r, 5_000).unwrap();
        b.take(&"new", r, 5_000).unwrap();
        b.take(&"newer", r, 5_000).unwrap();
        assert!(!b.full_at.contains_key("old"));
        assert!(b.take(&"busy", r, 5_000).is_err(), "still limited");
    }

    fn limits(config: LimitsConfig) -> SignInLimits {
        SignInLimits::new(config)
    }

    fn small() -> LimitsConfig {
        LimitsConfig {
            hashing: 1,
            waiting: 1,
            wait_ms: 0,
            account: rate(3, 10_000),
            address: rate(5, 1_000),
            kept: 100,
            logged_unknown: 2,
            window_ms: 60_000,
            pause_ms: 0,
            paused: 0,
            trust_forwarded: false,
        }
    }

    #[test]
    fn per_account_and_per_address_limits_apply_to_known_and_unknown_names_alike() {
        let l = limits(small());
        let a: Option<IpAddr> = "10.0.0.1".parse().ok();
        let b: Option<IpAddr> = "10.0.0.2".parse().ok();
        // One username from two addresses: three, then refused, whoever asks.
        assert!(l.admit(a, "nadie", 0).is_ok());
        assert!(l.admit(b, "nadie", 0).is_ok());
        assert!(l.admit(a, " NADIE ", 0).is_ok(), "the same name as typed");
        assert_eq!(l.admit(b, "nadie", 0), Err(Refused::Limited(10_000)));
        // The refusal by account did not use the address's attempts: b has four left.
        for name in ["uno", "dos", "tres", "cuatro"] {
            assert!(l.admit(b, name, 0).is_ok(), "{name}");
        }
        assert_eq!(l.admit(b, "cinco", 0), Err(Refused::Limited(1_000)));
        // A success gives them back.
        l.give_back(b, "cuatro", 0);
        assert!(l.admit(b, "cuatro", 0).is_ok());
        // Without the peer's address, every request counts under one "unknown" address.
        for k in 0..5 {
            assert!(l.admit(None, &format!("u{k}"), 0).is_ok());
        }
        assert!(l.admit(None, "u5", 0).is_err());
        // IPv6 addresses count by their /64.
        let v6 = |s: &str| s.parse::<IpAddr>().ok();
        for k in 0..5 {
            assert!(l
                .admit(v6(&format!("2001:db8::{k}")), &format!("v{k}"), 0)
                .is_ok());
        }
        assert!(l.admit(v6("2001:db8::ffff:1"), "v9", 0).is_err());
        assert!(l.admit(v6("2001:db8:0:1::1"), "v9", 0).is_ok());
    }

    #[test]
    fn behind_a_proxy_the_client_is_the_last_forwarded_address() {
        let peer: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", "1.1.1.1, 203.0.113.7".parse().unwrap());
        let direct = limits(small());
        assert_eq!(direct.client(Some(peer), &h), Some(peer.ip()));
        let proxied = limits(LimitsConfig {
            trust_forwarded: true,
            ..small()
        });
        assert_eq!(proxied.client(Some(peer), &h), "203.0.113.7".parse().ok());
        // Without the header (or with nonsense), the peer.
        assert_eq!(
            proxied.client(Some(peer), &HeaderMap::new()),
            Some(peer.ip())
        );
        let mut bad = HeaderMap::new();
        bad.append("x-forwarded-for", "nonsense".parse().unwrap());
        assert_eq!(proxied.client(Some(peer), &bad), Some(peer.ip()));
    }

    #[tokio::test]
    async fn password_checks_are_bounded_and_so_are_those_waiting() {
        let l = limits(LimitsConfig {
            wait_ms: 10,
            ..small()
        });
        let first = l.turn().await.unwrap();
        // One may wait; it waits its 10 ms and is refused.
        assert_eq!(l.turn().await.err(), Some(Refused::Busy));
        // Given back, the turn is free again.
        drop(first);
        let again = l.turn().await.unwrap();
        // With nobody allowed to wait, refused at once.
        let none = limits(LimitsConfig {
            waiting: 0,
            ..small()
        });
        let _held = none.turn().await.unwrap();
        assert_eq!(none.turn().await.err(), Some(Refused::Busy));
        assert_eq!(none.waiting.load(Ordering::Acquire), 0);
        drop(again);
        assert_eq!(l.waiting.load(Ordering::Acquire), 0);
    }

    #[test]
    fn unknown_users_beyond_the_first_are_counted_and_the_counts_add_up() {
        let l = limits(small());
        let mut own = 0u64;
        let mut summaries = Vec::new();
        let mut t = 0;
        // 50 unknown-user attempts and 7 refused by limits, over three windows, with a
        // known user's attempt in the middle.
        for k in 0..50 {
            t = k * 3_000;
            let (alone, s) = l.checked(SignInOutcome::UnknownUser, t).unwrap();
            own += u64::from(alone);
            summaries.extend(s);
            if k % 7 == 0 {
                summaries.extend(l.count_refused(Refused::Busy, t).unwrap());
            }
            if k == 25 {
                let (alone, s) = l.checked(SignInOutcome::BadPassword, t).unwrap();
                assert!(alone);
                own += 1;
                summaries.extend(s);
            }
        }
        summaries.extend(l.due(t, true).unwrap());
        assert!(l.due(t, true).unwrap().is_none(), "nothing left");
        let counted: u64 = summaries
            .iter()
            .map(|s| s.unknown_user + s.limited + s.busy)
            .sum();
        assert_eq!(own + counted, 50 + 8 + 1, "{summaries:?}");
        // The first two unknown users of each window are logged (3 windows of 60 s over
        // 150 s), and the known user's attempt.
        assert_eq!(own, 2 * 3 + 1);
        assert!(summaries.iter().all(|s| s.since <= s.until));
        // A summary that could not be written is counted again.
        let l = limits(small());
        l.count_refused(Refused::Limited(5), 0).unwrap();
        let s = l.due(10, true).unwrap().unwrap();
        l.restore(s);
        assert_eq!(l.due(20, true).unwrap().map(|s| s.limited), Some(1));
    }

    #[test]
    fn a_refusal_is_429_with_retry_after_in_the_one_error_shape() {
        use axum::response::IntoResponse as _;
        let res = too_many(Refused::Limited(4_500), &small()).into_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()["retry-after"], "5");
        let res = too_many(Refused::Busy, &LimitsConfig::default()).into_response();
        assert_eq!(res.headers()["retry-after"], "2");
    }
}
