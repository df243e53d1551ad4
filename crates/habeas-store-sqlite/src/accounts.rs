//! The accounts of the people who use Habeas: users, failed sign-ins, sessions and API tokens.
//! Plain mutable tables beside the register (see migrations/0005_accounts.sql); the caller
//! passes the time in (milliseconds since the epoch), so that lockout and expiry are tested
//! with a controlled clock. Secrets are never stored: passwords as Argon2id hashes made by the
//! caller, session ids and tokens as SHA-256 digests. The second factors' TOTP secrets, which
//! must be read back to check a code, are sealed at rest (ChaCha20-Poly1305, bound to the
//! username) with a key kept beside the store, `<db>.secrets.key` (mode 0600): a copy of the
//! database alone does not give anyone's second factor.

use habeas_register::store::StoreError;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub use habeas_core::accounts::{
    AccountRows, Session, TokenInfo, TokenRow, User, UserRow as NewUser,
};

/// How long an API token works unless the server is told otherwise (`habeas serve
/// --token-days`), in days.
pub const DEFAULT_TOKEN_DAYS: u32 = 90;
/// The longest an API token may work, in days, whoever issues it.
pub const MAX_TOKEN_DAYS: u32 = 366;
/// A day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// The accounts: the rows (in the SQLite file, or in PostgreSQL), the cache of token owners
/// and the sealing of second-factor secrets.
#[derive(Debug)]
pub struct Accounts {
    rows: Box<dyn AccountRows>,
    owners: Mutex<Owners>,
    sealer: Sealer,
    /// The longest a token issued here may work, in days (and its default).
    token_days: u32,
}

/// The accounts tables of one store file, on read-write connections of their own (a pool:
/// every request of the server checks its caller here).
#[derive(Debug)]
pub struct SqliteAccounts {
    path: std::path::PathBuf,
    pool: Mutex<Vec<Connection>>,
}

/// How a sealed secret begins in the table.
const SEALED: &str = "sealed1:";

/// Seals and opens the TOTP secrets with the store's secrets key.
struct Sealer(ring::aead::LessSafeKey);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

fn sealing(what: &str) -> StoreError {
    StoreError::Backend(format!("the second-factor secrets: {what}"))
}

impl Sealer {
    fn new(key: &[u8; 32]) -> Result<Self, StoreError> {
        let key = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, key)
            .map_err(|_| sealing("the key is unusable"))?;
        Ok(Self(ring::aead::LessSafeKey::new(key)))
    }

    /// `sealed1:` and base64 of a fresh 12-byte nonce, the ciphertext and its tag; the
    /// username is authenticated with it, so a secret moved to another account does not open.
    fn seal(&self, username: &str, secret: &str) -> Result<String, StoreError> {
        use base64::Engine as _;
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| sealing(&format!("no randomness: {e}")))?;
        let mut sealed = secret.as_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(username.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| sealing("cannot seal"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!(
            "{SEALED}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    fn open(&self, username: &str, stored: &str) -> Result<String, StoreError> {
        use base64::Engine as _;
        let Some(b64) = stored.strip_prefix(SEALED) else {
            return Err(sealing(&format!("{username}'s is not sealed")));
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| sealing(&format!("{username}'s is damaged")))?;
        if bytes.len() < 12 {
            return Err(sealing(&format!("{username}'s is damaged")));
        }
        let (nonce, sealed) = bytes.split_at(12);
        let mut nonce_bytes = [0u8; 12];
        nonce_bytes.copy_from_slice(nonce);
        let mut buf = sealed.to_vec();
        let plain = self
            .0
            .open_in_place(
                ring::aead::Nonce::assume_unique_for_key(nonce_bytes),
                ring::aead::Aad::from(username.as_bytes()),
                &mut buf,
            )
            .map_err(|_| {
                sealing(&format!(
                    "{username}'s does not open with this store's secrets key"
                ))
            })?;
        String::from_utf8(plain.to_vec()).map_err(|_| sealing(&format!("{username}'s is damaged")))
    }
}

/// The secrets key's file beside a SQLite store: `<db>.secrets.key`.
pub fn secrets_key_path(db: &Path) -> std::path::PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".secrets.key");
    std::path::PathBuf::from(s)
}

/// Reads the store's secrets key, or makes one (mode 0600) when no sealed secret needs an
/// old one.
fn secrets_key(path: &Path, rows: &dyn AccountRows) -> Result<[u8; 32], StoreError> {
    use base64::Engine as _;
    match std::fs::read_to_string(path) {
        Ok(text) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = std::fs::metadata(path)
                    .map_err(|e| sealing(&format!("{}: {e}", path.display())))?
                    .permissions()
                    .mode()
                    & 0o777;
                if mode & 0o077 != 0 {
                    return Err(sealing(&format!(
                        "the key {} can be read by others (mode {mode:o}); run `chmod 600 {}`",
                        path.display(),
                        path.display()
                    )));
                }
            }
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    sealing(&format!(
                        "the key {} is not 32 bytes of base64",
                        path.display()
                    ))
                })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let sealed = rows.sealed_secrets(SEALED)?;
            if sealed > 0 {
                return Err(sealing(&format!(
                    "the key {} is missing, and {sealed} second factors were sealed with it; restore it from its backup",
                    path.display()
                )));
            }
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| sealing(&format!("no randomness: {e}")))?;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                opts.mode(0o600);
            }
            let mut f = opts
                .open(path)
                .map_err(|e| sealing(&format!("cannot create {}: {e}", path.display())))?;
            use std::io::Write as _;
            writeln!(
                f,
                "{}",
                base64::engine::general_purpose::STANDARD.encode(key)
            )
            .and_then(|()| f.sync_all())
            .map_err(|e| sealing(&format!("cannot write {}: {e}", path.display())))?;
            Ok(key)
        }
        Err(e) => Err(sealing(&format!("cannot read {}: {e}", path.display()))),
    }
}

/// The accounts of API tokens already looked up, so that a machine client's every request
/// does not query the tables. Every change to an account or a token made through this
/// `Accounts` empties it (a lookup that overlapped a change is not kept: the generation
/// tells). Changes from another process are not seen: while the server runs, the command line
/// refuses to change accounts (it cannot open the access log the server holds).
#[derive(Debug, Default)]
struct Owners {
    generation: u64,
    /// The owner and when the token ends: a kept owner is given only before then.
    by_token: std::collections::HashMap<[u8; 32], (User, i64)>,
}

/// How many token owners are kept before the cache starts again.
const OWNERS_KEPT: usize = 10_000;

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(backend)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(backend)?;
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
        .map_err(backend)?;
    Ok(conn)
}

const USER_COLUMNS: &str =
    "username, role, facilities, password_hash, totp_secret, locked_at, language, created_at, machine";

fn user_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let facilities: String = r.get(2)?;
    let mut u = User::from_columns(
        r.get(0)?,
        r.get(1)?,
        &facilities,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    );
    u.machine = r.get(8)?;
    Ok(u)
}

fn token_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenInfo> {
    Ok(TokenInfo {
        username: r.get(0)?,
        name: r.get(1)?,
        issued_by: r.get(2)?,
        created_at: r.get(3)?,
        expires_at: r.get(4)?,
        revoked_at: r.get(5)?,
    })
}

impl Accounts {
    /// Opens the accounts of the SQLite store at `path` (which `SqliteStore::open` has
    /// migrated), their second-factor secrets sealed with `<path>.secrets.key`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let rows = SqliteAccounts::open(path)?;
        Self::with_rows(Box::new(rows), &secrets_key_path(path))
    }

    /// The accounts in `rows`, their second-factor secrets sealed with the key in the file
    /// `secrets_key` (made, mode 0600, the first time; refused if others can read it, or if it
    /// is missing while sealed secrets exist). Secrets stored before sealing existed are
    /// sealed now.
    pub fn with_rows(rows: Box<dyn AccountRows>, secrets_key: &Path) -> Result<Self, StoreError> {
        let sealer = Sealer::new(&self::secrets_key(secrets_key, &*rows)?)?;
        let plain = rows.unsealed_secrets(SEALED)?;
        if !plain.is_empty() {
            let sealed: Vec<(String, String)> = plain
                .iter()
                .map(|(u, s)| Ok((u.clone(), sealer.seal(u, s)?)))
                .collect::<Result<_, StoreError>>()?;
            rows.replace_secrets(&sealed)?;
        }
        Ok(Self {
            rows,
            owners: Mutex::new(Owners::default()),
            sealer,
            token_days: DEFAULT_TOKEN_DAYS,
        })
    }

    /// The longest a token issued through these accounts may work, in days (at most
    /// [`MAX_TOKEN_DAYS`]; also the default lifetime of a token issued without one).
    pub fn with_token_days(mut self, days: u32) -> Self {
        self.token_days = days.clamp(1, MAX_TOKEN_DAYS);
        self
    }

    /// The longest a token may work here, in days.
    pub fn token_days(&self) -> u32 {
        self.token_days
    }

    /// The account as read, its second-factor secret opened.
    fn opened(&self, mut u: User) -> Result<User, StoreError> {
        if let Some(stored) = u.totp_secret.take() {
            u.totp_secret = Some(self.sealer.open(&u.username, &stored)?);
        }
        Ok(u)
    }

    /// Runs a change to accounts or tokens: the cached token owners are forgotten.
    fn changing<T>(
        &self,
        f: impl FnOnce(&dyn AccountRows) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let out = f(&*self.rows);
        let mut owners = self.owners.lock().map_err(|_| StoreError::Closed)?;
        owners.generation += 1;
        owners.by_token.clear();
        out
    }

    /// Adds an account; `Ok(false)` if the username is taken.
    pub fn add_user(&self, u: &NewUser<'_>, now: i64) -> Result<bool, StoreError> {
        let sealed = u
            .totp_secret
            .map(|s| self.sealer.seal(u.username, s))
            .transpose()?;
        let row = NewUser {
            totp_secret: sealed.as_deref(),
            ..u.clone()
        };
        self.changing(|r| r.insert_user(&row, now))
    }

    /// Adds a machine account (its password hash one no password matches, no second
    /// factor); `Ok(false)` if the username is taken.
    pub fn add_machine(&self, u: &NewUser<'_>, now: i64) -> Result<bool, StoreError> {
        let row = NewUser {
            totp_secret: None,
            ..u.clone()
        };
        self.changing(|r| r.insert_machine(&row, now))
    }

    pub fn user(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.rows
            .user(username)?
            .map(|u| self.opened(u))
            .transpose()
    }

    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        self.rows
            .users()?
            .into_iter()
            .map(|u| self.opened(u))
            .collect()
    }

    /// Locks an account (`Some(now)`) or unlocks it (`None`, which also forgets its failed
    /// sign-ins); `Ok(false)` if there is no such account.
    pub fn set_locked(&self, username: &str, locked_at: Option<i64>) -> Result<bool, StoreError> {
        self.changing(|r| r.set_locked(username, locked_at))
    }

    /// The language an account works in (`es` or `en`, checked by the caller).
    pub fn set_language(&self, username: &str, language: &str) -> Result<bool, StoreError> {
        self.changing(|r| r.set_language(username, language))
    }

    /// Replaces a password hash and revokes every session and every API token of the account.
    pub fn set_password(&self, username: &str, hash: &str, now: i64) -> Result<bool, StoreError> {
        self.changing(|r| r.set_password(username, hash, now))
    }

    /// Records a failed sign-in; locks the account when `limit` failures fall within `window`
    /// milliseconds up to `now`. Returns whether the account is now locked.
    pub fn record_failure(
        &self,
        username: &str,
        now: i64,
        limit: u32,
        window: i64,
    ) -> Result<bool, StoreError> {
        self.changing(|r| r.record_failure(username, now, limit, window))
    }

    /// Forgets the failed sign-ins of an account (after a successful one).
    pub fn clear_failures(&self, username: &str) -> Result<(), StoreError> {
        self.rows.clear_failures(username)
    }

    pub fn create_session(
        &self,
        id_hash: &[u8; 32],
        username: &str,
        csrf: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.rows.create_session(id_hash, username, csrf, now)
    }

    /// The session with this id hash if it is live at `now`: not revoked, seen within `idle`
    /// milliseconds and created within `lifetime`. A live session is touched; one found expired
    /// is revoked.
    pub fn session(
        &self,
        id_hash: &[u8; 32],
        now: i64,
        idle: i64,
        lifetime: i64,
    ) -> Result<Option<Session>, StoreError> {
        let Some(s) = self.rows.unrevoked_session(id_hash)? else {
            return Ok(None);
        };
        if now - s.last_seen > idle || now - s.created_at > lifetime {
            self.rows.revoke_session(id_hash, now)?;
            return Ok(None);
        }
        self.rows.touch_session(id_hash, now)?;
        Ok(Some(Session {
            last_seen: now,
            ..s
        }))
    }

    /// Revokes a session; `Ok(false)` if it was not live.
    pub fn revoke_session(&self, id_hash: &[u8; 32], now: i64) -> Result<bool, StoreError> {
        self.rows.revoke_session(id_hash, now)
    }

    /// Adds a token made at `now` that works for the longest this server allows (for tools
    /// and tests that make their own; `habeas user token` and the API issue through
    /// [`Self::issue_token`]).
    pub fn add_token(
        &self,
        id_hash: &[u8; 32],
        username: &str,
        name: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let expires_at = now.saturating_add(i64::from(self.token_days) * DAY_MS);
        self.issue_token(
            &TokenRow {
                id_hash,
                username,
                name,
                issued_by: "",
                expires_at,
            },
            now,
        )
    }

    /// Adds a token as given (its lifetime and issuer checked by the caller).
    pub fn issue_token(&self, t: &TokenRow<'_>, now: i64) -> Result<(), StoreError> {
        self.changing(|r| r.add_token(t, now))
    }

    /// The account a token that is live at `now` (unrevoked, not expired) belongs to, read
    /// from the tables.
    pub fn token_user(&self, id_hash: &[u8; 32], now: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .rows
            .token_owner(id_hash)?
            .filter(|(_, expires_at)| now < *expires_at)
            .map(|(u, _)| u.username))
    }

    /// The owner of a token already looked up, if it is kept and the token is still live at
    /// `now`: no query.
    pub fn cached_token_owner(&self, id_hash: &[u8; 32], now: i64) -> Option<User> {
        let owners = self.owners.lock().ok()?;
        let (u, expires_at) = owners.by_token.get(id_hash)?;
        (now < *expires_at).then(|| u.clone())
    }

    /// The account a token live at `now` belongs to: unrevoked and not expired (every API
    /// request with a token asks: kept once read, until the token ends).
    pub fn token_owner(&self, id_hash: &[u8; 32], now: i64) -> Result<Option<User>, StoreError> {
        let generation = {
            let owners = self.owners.lock().map_err(|_| StoreError::Closed)?;
            if let Some((u, expires_at)) = owners.by_token.get(id_hash) {
                return Ok((now < *expires_at).then(|| u.clone()));
            }
            owners.generation
        };
        let Some((user, expires_at)) = self.rows.token_owner(id_hash)? else {
            return Ok(None);
        };
        if now >= expires_at {
            return Ok(None);
        }
        let user = self.opened(user)?;
        let mut owners = self.owners.lock().map_err(|_| StoreError::Closed)?;
        if owners.generation == generation {
            if owners.by_token.len() >= OWNERS_KEPT {
                owners.by_token.clear();
            }
            owners.by_token.insert(*id_hash, (user.clone(), expires_at));
        }
        Ok(Some(user))
    }

    /// The tokens of an account, or of every account: never a token or its hash.
    pub fn tokens(&self, username: Option<&str>) -> Result<Vec<TokenInfo>, StoreError> {
        self.rows.tokens(username)
    }

    /// Revokes every token of an account with this name; how many.
    pub fn revoke_tokens(&self, username: &str, name: &str, now: i64) -> Result<usize, StoreError> {
        self.changing(|r| r.revoke_tokens(username, name, now))
    }

    /// Takes the TOTP time step `step` for a sign-in of the account: `true` only if no code of
    /// this step or a later one has signed it in before (RFC 6238 §5.2: a code is used once).
    /// Atomic in the store, so two sign-ins with one code never both succeed, on any number of
    /// servers sharing it.
    pub fn claim_totp_step(&self, username: &str, step: u64) -> Result<bool, StoreError> {
        let step = i64::try_from(step)
            .map_err(|_| StoreError::Backend(format!("totp step {step} out of range")))?;
        self.rows.claim_totp_step(username, step)
    }
}

impl SqliteAccounts {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let first = connect(path)?;
        Ok(Self {
            path: path.to_owned(),
            pool: Mutex::new(vec![first]),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let pooled = self.pool.lock().map_err(|_| StoreError::Closed)?.pop();
        let conn = match pooled {
            Some(c) => c,
            None => connect(&self.path)?,
        };
        let out = f(&conn).map_err(backend);
        if let Ok(mut pool) = self.pool.lock() {
            if pool.len() < 64 {
                pool.push(conn);
            }
        }
        out
    }

    /// Like `with`, in one transaction.
    fn in_tx<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.with(|c| {
            c.execute_batch("BEGIN IMMEDIATE")?;
            match f(c) {
                Ok(v) => c.execute_batch("COMMIT").map(|()| v),
                Err(e) => {
                    let _ = c.execute_batch("ROLLBACK");
                    Err(e)
                }
            }
        })
    }
}

impl SqliteAccounts {
    fn insert(&self, u: &NewUser<'_>, machine: bool, now: i64) -> Result<bool, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "INSERT OR IGNORE INTO users (username, role, facilities, password_hash, totp_secret, language, created_at, machine)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                u.username,
                u.role,
                u.facilities.join(","),
                u.password_hash,
                u.totp_secret,
                u.language,
                now,
                machine
            ])
            .map(|n| n == 1)
        })
    }
}

impl AccountRows for SqliteAccounts {
    fn insert_user(&self, u: &NewUser<'_>, now: i64) -> Result<bool, StoreError> {
        self.insert(u, false, now)
    }

    fn insert_machine(&self, u: &NewUser<'_>, now: i64) -> Result<bool, StoreError> {
        self.insert(u, true, now)
    }

    fn user(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE username = ?1"
            ))?
            .query_row([username], user_of)
            .optional()
        })
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {USER_COLUMNS} FROM users ORDER BY username"
            ))?;
            let rows = st.query_map([], user_of)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
    }

    fn set_locked(&self, username: &str, locked_at: Option<i64>) -> Result<bool, StoreError> {
        self.in_tx(|c| {
            let n = c
                .prepare_cached("UPDATE users SET locked_at = ?2 WHERE username = ?1")?
                .execute(params![username, locked_at])?;
            if locked_at.is_none() {
                c.execute("DELETE FROM login_failures WHERE username = ?1", [username])?;
            }
            Ok(n == 1)
        })
    }

    fn set_language(&self, username: &str, language: &str) -> Result<bool, StoreError> {
        self.with(|c| {
            c.prepare_cached("UPDATE users SET language = ?2 WHERE username = ?1")?
                .execute(params![username, language])
                .map(|n| n == 1)
        })
    }

    fn set_password(&self, username: &str, hash: &str, now: i64) -> Result<bool, StoreError> {
        self.in_tx(|c| {
            let n = c
                .prepare_cached("UPDATE users SET password_hash = ?2 WHERE username = ?1")?
                .execute(params![username, hash])?;
            c.prepare_cached(
                "UPDATE sessions SET revoked_at = ?2 WHERE username = ?1 AND revoked_at IS NULL",
            )?
            .execute(params![username, now])?;
            c.prepare_cached(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE username = ?1 AND revoked_at IS NULL",
            )?
            .execute(params![username, now])?;
            Ok(n == 1)
        })
    }

    fn record_failure(
        &self,
        username: &str,
        now: i64,
        limit: u32,
        window: i64,
    ) -> Result<bool, StoreError> {
        self.in_tx(|c| {
            c.prepare_cached("INSERT INTO login_failures (username, at) VALUES (?1, ?2)")?
                .execute(params![username, now])?;
            c.prepare_cached("DELETE FROM login_failures WHERE username = ?1 AND at <= ?2")?
                .execute(params![username, now - window])?;
            let recent: u32 = c.query_row(
                "SELECT count(*) FROM login_failures WHERE username = ?1",
                [username],
                |r| r.get(0),
            )?;
            if recent >= limit {
                c.prepare_cached(
                    "UPDATE users SET locked_at = coalesce(locked_at, ?2) WHERE username = ?1",
                )?
                .execute(params![username, now])?;
            }
            let locked: Option<i64> = c
                .query_row(
                    "SELECT locked_at FROM users WHERE username = ?1",
                    [username],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            Ok(locked.is_some())
        })
    }

    fn clear_failures(&self, username: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute("DELETE FROM login_failures WHERE username = ?1", [username])
                .map(|_| ())
        })
    }

    fn create_session(
        &self,
        id_hash: &[u8; 32],
        username: &str,
        csrf: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "INSERT INTO sessions (id_hash, username, csrf, created_at, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)",
            )?
            .execute(params![&id_hash[..], username, csrf, now])
            .map(|_| ())
        })
    }

    fn unrevoked_session(&self, id_hash: &[u8; 32]) -> Result<Option<Session>, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT username, csrf, created_at, last_seen FROM sessions
                 WHERE id_hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row([&id_hash[..]], |r| {
                Ok(Session {
                    username: r.get(0)?,
                    csrf: r.get(1)?,
                    created_at: r.get(2)?,
                    last_seen: r.get(3)?,
                })
            })
            .optional()
        })
    }

    fn touch_session(&self, id_hash: &[u8; 32], now: i64) -> Result<(), StoreError> {
        self.with(|c| {
            c.prepare_cached("UPDATE sessions SET last_seen = ?2 WHERE id_hash = ?1")?
                .execute(params![&id_hash[..], now])
                .map(|_| ())
        })
    }

    fn revoke_session(&self, id_hash: &[u8; 32], now: i64) -> Result<bool, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "UPDATE sessions SET revoked_at = ?2 WHERE id_hash = ?1 AND revoked_at IS NULL",
            )?
            .execute(params![&id_hash[..], now])
            .map(|n| n == 1)
        })
    }

    fn add_token(&self, t: &TokenRow<'_>, now: i64) -> Result<(), StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "INSERT INTO api_tokens (id_hash, username, name, created_at, expires_at, issued_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                &t.id_hash[..],
                t.username,
                t.name,
                now,
                t.expires_at,
                t.issued_by
            ])
            .map(|_| ())
        })
    }

    fn token_owner(&self, id_hash: &[u8; 32]) -> Result<Option<(User, i64)>, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT u.username, u.role, u.facilities, u.password_hash, u.totp_secret, u.locked_at, u.language, u.created_at, u.machine, t.expires_at
                 FROM api_tokens t JOIN users u ON u.username = t.username
                 WHERE t.id_hash = ?1 AND t.revoked_at IS NULL",
            )?
            .query_row([&id_hash[..]], |r| Ok((user_of(r)?, r.get(9)?)))
            .optional()
        })
    }

    fn tokens(&self, username: Option<&str>) -> Result<Vec<TokenInfo>, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT username, name, issued_by, created_at, expires_at, revoked_at FROM api_tokens
                 WHERE ?1 IS NULL OR username = ?1
                 ORDER BY username, created_at DESC, name",
            )?
            .query_map([username], token_of)?
            .collect()
        })
    }

    fn revoke_tokens(&self, username: &str, name: &str, now: i64) -> Result<usize, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "UPDATE api_tokens SET revoked_at = ?3 WHERE username = ?1 AND name = ?2 AND revoked_at IS NULL",
            )?
            .execute(params![username, name, now])
        })
    }

    fn unsealed_secrets(&self, sealed_prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        self.with(|c| {
            c.prepare(
                "SELECT username, totp_secret FROM users
                 WHERE totp_secret IS NOT NULL AND substr(totp_secret, 1, length(?1)) <> ?1",
            )?
            .query_map([sealed_prefix], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
    }

    fn sealed_secrets(&self, sealed_prefix: &str) -> Result<u64, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT count(*) FROM users WHERE substr(totp_secret, 1, length(?1)) = ?1",
                [sealed_prefix],
                |r| r.get(0),
            )
        })
    }

    fn replace_secrets(&self, secrets: &[(String, String)]) -> Result<(), StoreError> {
        self.in_tx(|c| {
            for (u, s) in secrets {
                c.execute(
                    "UPDATE users SET totp_secret = ?2 WHERE username = ?1",
                    params![u, s],
                )?;
            }
            Ok(())
        })
    }

    fn claim_totp_step(&self, username: &str, step: i64) -> Result<bool, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "UPDATE users SET totp_last_step = ?2
                 WHERE username = ?1 AND (totp_last_step IS NULL OR totp_last_step < ?2)",
            )?
            .execute(params![username, step])
            .map(|n| n == 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use habeas_register::note::Signer;
    use habeas_register::store::RegisterInfo;

    fn accounts() -> (tempfile::TempDir, Accounts) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let signer = Signer::from_seed("habeas.test/accounts", [7; 32]).unwrap();
        crate::SqliteStore::create(
            &path,
            &RegisterInfo {
                origin: "habeas.test/accounts".into(),
                verifier: signer.verifier(),
            },
        )
        .unwrap();
        let a = Accounts::open(&path).unwrap();
        (dir, a)
    }

    #[test]
    fn second_factor_secrets_are_sealed_at_rest() {
        let (dir, a) = accounts();
        let path = dir.path().join("a.db");
        let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let user = |name: &'static str| NewUser {
            username: name,
            role: "director",
            facilities: &[],
            password_hash: "$argon2id$x",
            totp_secret: Some(secret),
            language: "es",
        };
        assert!(a.add_user(&user("dir.uno"), 1).unwrap());
        // Read back for checking a code, but not stored as it is.
        assert_eq!(
            a.user("dir.uno").unwrap().unwrap().totp_secret.as_deref(),
            Some(secret)
        );
        let raw = Connection::open(&path).unwrap();
        let stored: String = raw
            .query_row(
                "SELECT totp_secret FROM users WHERE username = 'dir.uno'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            stored.starts_with(SEALED) && !stored.contains(secret),
            "{stored}"
        );
        // Moved to another account, it does not open.
        assert!(a.add_user(&user("dir.dos"), 1).unwrap());
        raw.execute(
            "UPDATE users SET totp_secret = ?1 WHERE username = 'dir.dos'",
            [&stored],
        )
        .unwrap();
        assert!(a.user("dir.dos").is_err());
        raw.execute("DELETE FROM users WHERE username = 'dir.dos'", [])
            .unwrap();
        // A secret stored before sealing is sealed when the accounts are next opened.
        raw.execute(
            "INSERT INTO users (username, role, facilities, password_hash, totp_secret, language, created_at)
             VALUES ('dir.viejo', 'director', '', 'x', ?1, 'es', 1)",
            [secret],
        )
        .unwrap();
        drop(a);
        let a = Accounts::open(&path).unwrap();
        let stored: String = raw
            .query_row(
                "SELECT totp_secret FROM users WHERE username = 'dir.viejo'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(stored.starts_with(SEALED), "{stored}");
        assert_eq!(
            a.user("dir.viejo").unwrap().unwrap().totp_secret.as_deref(),
            Some(secret)
        );
        drop(a);
        // Without its key the store does not open (a new key would lock everyone out).
        let key = secrets_key_path(&path);
        let kept = std::fs::read(&key).unwrap();
        std::fs::remove_file(&key).unwrap();
        let e = Accounts::open(&path).unwrap_err();
        assert!(e.to_string().contains("restore it from its backup"), "{e}");
        std::fs::write(&key, &kept).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(Accounts::open(&path)
                .unwrap_err()
                .to_string()
                .contains("chmod 600"));
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(Accounts::open(&path).is_ok());
    }

    fn add(a: &Accounts, name: &str) {
        assert!(a
            .add_user(
                &NewUser {
                    username: name,
                    role: "custody",
                    facilities: &["CECOT".to_owned()],
                    password_hash: "$argon2id$x",
                    totp_secret: None,
                    language: "es",
                },
                1_000,
            )
            .unwrap());
    }

    fn five_failures_in_the_window_lock_until_an_administrator_unlocks(a: &Accounts) {
        add(a, "ana");
        let minute = 60_000;
        let window = 15 * minute;
        // Four failures a minute apart; the fifth exactly 15 minutes after the first finds the
        // first out of the window: four in it, not locked.
        for k in 0..4 {
            assert!(!a.record_failure("ana", k * minute, 5, window).unwrap());
        }
        assert!(!a.record_failure("ana", 15 * minute, 5, window).unwrap());
        // One more a millisecond later: five within 15 minutes, locked.
        assert!(a.record_failure("ana", 15 * minute + 1, 5, window).unwrap());
        assert!(a.user("ana").unwrap().unwrap().locked_at.is_some());
        // Time does not unlock it; an administrator does.
        assert!(a.record_failure("ana", 1_000 * minute, 5, window).unwrap());
        assert!(a.set_locked("ana", None).unwrap());
        assert!(a.user("ana").unwrap().unwrap().locked_at.is_none());
        assert!(!a.record_failure("ana", 1_001 * minute, 5, window).unwrap());
        // The same username is not added twice.
        assert!(!a
            .add_user(
                &NewUser {
                    username: "ana",
                    role: "inspector",
                    facilities: &[],
                    password_hash: "h",
                    totp_secret: None,
                    language: "en",
                },
                2_000,
            )
            .unwrap());
    }

    fn a_cached_token_owner_follows_every_change_to_the_account_or_the_token(a: &Accounts) {
        add(a, "ana");
        let t = [9u8; 32];
        assert_eq!(a.token_owner(&t, 2_000).unwrap(), None);
        a.add_token(&t, "ana", "robot", 1_000).unwrap();
        // Looked up twice: the second answer comes from the cache, and is the same.
        let first = a.token_owner(&t, 2_000).unwrap().unwrap();
        assert_eq!(a.token_owner(&t, 2_000).unwrap().unwrap(), first);
        assert!(first.locked_at.is_none());
        // Locking shows at once, and so does unlocking.
        a.set_locked("ana", Some(5_000)).unwrap();
        assert_eq!(
            a.token_owner(&t, 2_000).unwrap().unwrap().locked_at,
            Some(5_000)
        );
        a.set_locked("ana", None).unwrap();
        assert_eq!(a.token_owner(&t, 2_000).unwrap().unwrap().locked_at, None);
        // Failed sign-ins that lock the account show too.
        for k in 0..5 {
            a.record_failure("ana", 10_000 + k, 5, 60_000).unwrap();
        }
        assert!(a
            .token_owner(&t, 2_000)
            .unwrap()
            .unwrap()
            .locked_at
            .is_some());
        // A revoked token has no owner any more.
        assert_eq!(a.revoke_tokens("ana", "robot", 20_000).unwrap(), 1);
        assert_eq!(a.token_owner(&t, 2_000).unwrap(), None);
    }

    fn sessions_expire_when_idle_or_old_and_logout_revokes(a: &Accounts) {
        add(a, "ana");
        let id = [1u8; 32];
        let (idle, life) = (30 * 60_000, 12 * 3_600_000);
        a.create_session(&id, "ana", "csrf", 0).unwrap();
        // Seen at 29 minutes: live and touched; 30 minutes after that still live.
        assert!(a.session(&id, 29 * 60_000, idle, life).unwrap().is_some());
        assert!(a.session(&id, 59 * 60_000, idle, life).unwrap().is_some());
        // 30 minutes and one millisecond idle: gone, and stays gone.
        assert!(a
            .session(&id, 89 * 60_000 + 1, idle, life)
            .unwrap()
            .is_none());
        assert!(a
            .session(&id, 89 * 60_000 + 2, idle, life)
            .unwrap()
            .is_none());
        // The absolute lifetime ends a session however active.
        let id2 = [2u8; 32];
        a.create_session(&id2, "ana", "csrf", 0).unwrap();
        let mut t = 0;
        while t < life {
            t += 20 * 60_000;
            let live = a.session(&id2, t, idle, life).unwrap().is_some();
            assert_eq!(live, t <= life, "at {t}");
        }
        // Logout revokes; a revoked session is not live.
        let id3 = [3u8; 32];
        a.create_session(&id3, "ana", "csrf", 0).unwrap();
        assert!(a.revoke_session(&id3, 1).unwrap());
        assert!(!a.revoke_session(&id3, 2).unwrap());
        assert!(a.session(&id3, 3, idle, life).unwrap().is_none());
        // A new password revokes every session.
        let id4 = [4u8; 32];
        a.create_session(&id4, "ana", "csrf", 0).unwrap();
        assert!(a.set_password("ana", "$argon2id$y", 5).unwrap());
        assert!(a.session(&id4, 6, idle, life).unwrap().is_none());
    }

    fn tokens_are_found_by_hash_until_revoked(a: &Accounts) {
        add(a, "ana");
        a.add_token(&[9u8; 32], "ana", "court-feed", 0).unwrap();
        assert_eq!(a.token_user(&[9u8; 32], 1).unwrap().as_deref(), Some("ana"));
        assert_eq!(
            a.token_owner(&[9u8; 32], 1)
                .unwrap()
                .map(|u| u.username)
                .as_deref(),
            Some("ana")
        );
        assert_eq!(a.token_user(&[8u8; 32], 1).unwrap(), None);
        assert_eq!(a.revoke_tokens("ana", "court-feed", 1).unwrap(), 1);
        assert_eq!(a.token_user(&[9u8; 32], 1).unwrap(), None);
        assert_eq!(a.token_owner(&[9u8; 32], 1).unwrap(), None);
    }

    fn tokens_end_when_they_expire_even_once_their_owner_is_kept(a: &Accounts) {
        add(a, "ana");
        let t = [5u8; 32];
        let (issued, ends) = (10_000, 10_000 + 3 * DAY_MS);
        a.issue_token(
            &TokenRow {
                id_hash: &t,
                username: "ana",
                name: "court feed",
                issued_by: "user:adm",
                expires_at: ends,
            },
            issued,
        )
        .unwrap();
        // Live until the last millisecond before it ends; the owner is then kept…
        assert_eq!(
            a.token_owner(&t, ends - 1).unwrap().map(|u| u.username),
            Some("ana".to_owned())
        );
        assert!(a.cached_token_owner(&t, ends - 1).is_some());
        // …and not given any more once it has ended, kept or not.
        assert_eq!(a.cached_token_owner(&t, ends), None);
        assert_eq!(a.token_owner(&t, ends).unwrap(), None);
        assert_eq!(a.token_user(&t, ends + 1).unwrap(), None);
        // Listed with who issued it and when it ends; never the token or its hash.
        let listed = a.tokens(Some("ana")).unwrap();
        assert_eq!(
            listed,
            [TokenInfo {
                username: "ana".into(),
                name: "court feed".into(),
                issued_by: "user:adm".into(),
                created_at: issued,
                expires_at: ends,
                revoked_at: None,
            }]
        );
        assert_eq!(a.tokens(None).unwrap(), listed);
        assert!(a.tokens(Some("nadie")).unwrap().is_empty());
        // A token made by a tool lasts the server's lifetime.
        a.add_token(&[6u8; 32], "ana", "tool", 0).unwrap();
        assert!(a
            .token_owner(&[6u8; 32], 90 * DAY_MS - 1)
            .unwrap()
            .is_some());
        assert!(a.token_owner(&[6u8; 32], 90 * DAY_MS).unwrap().is_none());
    }

    fn a_new_password_revokes_the_accounts_tokens(a: &Accounts) {
        add(a, "ana");
        add(a, "beto");
        a.add_token(&[1u8; 32], "ana", "uno", 0).unwrap();
        a.add_token(&[2u8; 32], "beto", "dos", 0).unwrap();
        assert!(a.token_owner(&[1u8; 32], 1).unwrap().is_some());
        assert!(a.set_password("ana", "$argon2id$z", 5).unwrap());
        assert_eq!(a.token_owner(&[1u8; 32], 6).unwrap(), None);
        assert_eq!(a.tokens(Some("ana")).unwrap()[0].revoked_at, Some(5));
        // Another account's token stays.
        assert!(a.token_owner(&[2u8; 32], 6).unwrap().is_some());
    }

    fn a_machine_account_is_kept_as_one(a: &Accounts) {
        assert!(a
            .add_machine(
                &NewUser {
                    username: "sensores",
                    role: "custody",
                    facilities: &["CECOT".to_owned()],
                    password_hash: "!",
                    totp_secret: Some("JBSWY3DPEHPK3PXP"),
                    language: "es",
                },
                1,
            )
            .unwrap());
        let m = a.user("sensores").unwrap().unwrap();
        assert!(m.machine && !m.mfa, "{m:?}");
        add(a, "ana");
        assert!(!a.user("ana").unwrap().unwrap().machine);
        a.add_token(&[3u8; 32], "sensores", "feed", 1).unwrap();
        assert!(a.token_owner(&[3u8; 32], 2).unwrap().unwrap().machine);
        assert_eq!(
            a.users()
                .unwrap()
                .iter()
                .map(|u| (u.username.as_str(), u.machine))
                .collect::<Vec<_>>(),
            [("ana", false), ("sensores", true)]
        );
    }

    fn a_totp_step_is_taken_once_and_never_an_earlier_one(a: &Accounts) {
        add(a, "ana");
        assert!(a.claim_totp_step("ana", 100).unwrap(), "the first code");
        assert!(
            !a.claim_totp_step("ana", 100).unwrap(),
            "the same step again"
        );
        assert!(!a.claim_totp_step("ana", 99).unwrap(), "an earlier step");
        assert!(a.claim_totp_step("ana", 101).unwrap(), "the next step");
        assert!(!a.claim_totp_step("ana", 101).unwrap());
        assert!(!a.claim_totp_step("nadie", 5).unwrap(), "no such account");
        // Other accounts keep their own steps.
        add(a, "beto");
        assert!(a.claim_totp_step("beto", 100).unwrap());
        // Many threads racing for one step (as many servers would for one code): one wins.
        let wins: usize = std::thread::scope(|s| {
            let racers: Vec<_> = (0..8)
                .map(|_| s.spawn(|| a.claim_totp_step("ana", 200).unwrap()))
                .collect();
            racers
                .into_iter()
                .map(|r| usize::from(r.join().unwrap()))
                .sum()
        });
        assert_eq!(wins, 1);
    }

    /// Accounts in a scratch PostgreSQL schema, as every server pointed at that database
    /// shares them.
    fn postgres_accounts() -> (
        habeas_store_postgres::testing::ScratchSchema,
        tempfile::TempDir,
        Accounts,
    ) {
        let schema = habeas_store_postgres::testing::ScratchSchema::new().unwrap();
        let signer = Signer::from_seed("habeas.test/accounts", [7; 32]).unwrap();
        let store = habeas_store_postgres::PostgresStore::create(
            &schema.url(),
            &RegisterInfo {
                origin: "habeas.test/accounts".into(),
                verifier: signer.verifier(),
            },
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let a =
            Accounts::with_rows(Box::new(store.accounts()), &dir.path().join("k.secrets")).unwrap();
        (schema, dir, a)
    }

    /// Each case once on a SQLite store's accounts and once on PostgreSQL's: the tests are
    /// `<case>::sqlite` and `<case>::postgres`.
    macro_rules! on_both_backends {
        ($($case:ident),* $(,)?) => {$(
            mod $case {
                #[test]
                fn sqlite() {
                    let (_d, a) = super::accounts();
                    super::$case(&a);
                }

                #[test]
                fn postgres() {
                    let (_schema, _d, a) = super::postgres_accounts();
                    super::$case(&a);
                }
            }
        )*};
    }

    on_both_backends!(
        five_failures_in_the_window_lock_until_an_administrator_unlocks,
        a_cached_token_owner_follows_every_change_to_the_account_or_the_token,
        sessions_expire_when_idle_or_old_and_logout_revokes,
        tokens_are_found_by_hash_until_revoked,
        tokens_end_when_they_expire_even_once_their_owner_is_kept,
        a_new_password_revokes_the_accounts_tokens,
        a_machine_account_is_kept_as_one,
        a_totp_step_is_taken_once_and_never_an_earlier_one,
    );

    /// Two servers on one PostgreSQL database, each with its own `Accounts` (its own
    /// connections), given the same code at once: only one signs in.
    #[test]
    fn postgres_two_servers_never_both_take_one_totp_step() {
        let (schema, dir, a) = postgres_accounts();
        add(&a, "ana");
        let store = habeas_store_postgres::PostgresStore::open(&schema.url()).unwrap();
        let b =
            Accounts::with_rows(Box::new(store.accounts()), &dir.path().join("k.secrets")).unwrap();
        for step in 1_000..1_020 {
            let (x, y) = std::thread::scope(|s| {
                let x = s.spawn(|| a.claim_totp_step("ana", step).unwrap());
                let y = s.spawn(|| b.claim_totp_step("ana", step).unwrap());
                (x.join().unwrap(), y.join().unwrap())
            });
            assert!(x ^ y, "step {step}: exactly one server takes it ({x}, {y})");
        }
    }

    #[test]
    fn postgres_second_factor_secrets_are_sealed_at_rest() {
        let (schema, dir, a) = postgres_accounts();
        let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let user = NewUser {
            username: "dir.uno",
            role: "director",
            facilities: &[],
            password_hash: "$argon2id$x",
            totp_secret: Some(secret),
            language: "es",
        };
        assert!(a.add_user(&user, 1).unwrap());
        assert_eq!(
            a.user("dir.uno").unwrap().unwrap().totp_secret.as_deref(),
            Some(secret)
        );
        let stored: String = schema
            .client()
            .unwrap()
            .query_one(
                "SELECT totp_secret FROM users WHERE username = 'dir.uno'",
                &[],
            )
            .unwrap()
            .get(0);
        assert!(
            stored.starts_with(SEALED) && !stored.contains(secret),
            "{stored}"
        );
        // Another server with another key file would lock everyone out: refused.
        let store = habeas_store_postgres::PostgresStore::open(&schema.url()).unwrap();
        let e = Accounts::with_rows(
            Box::new(store.accounts()),
            &dir.path().join("other.secrets"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("restore it from its backup"), "{e}");
    }
}
