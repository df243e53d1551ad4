//! What an account is, and what any store of accounts must do: the tables behind
//! `habeas_store_sqlite::Accounts`, kept in the SQLite file or in PostgreSQL. The rules
//! (passwords, second factors, sealing, lockout policy) are not here: the rows are.
//!
//! Times are milliseconds since the epoch, passed in by the caller. Secrets are never given
//! to a store: passwords arrive hashed, session ids and tokens as SHA-256 digests, second
//! factors sealed.

use habeas_register::store::StoreError;

/// One account: its name, role, facilities, second factor and lock (never its password hash
/// or its second factor's secret).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub username: String,
    pub role: String,
    pub facilities: Vec<String>,
    #[serde(skip)]
    pub password_hash: String,
    /// As the store holds it (sealed) or, from `Accounts`, opened.
    #[serde(skip)]
    pub totp_secret: Option<String>,
    /// Whether a second factor is enrolled.
    pub mfa: bool,
    /// When the account was locked (milliseconds since 1970, UTC), until an administrator
    /// unlocks it.
    pub locked_at: Option<i64>,
    pub language: String,
    /// When the account was made (milliseconds since 1970, UTC).
    pub created_at: i64,
    /// A machine account: no person behind it, no password sign-in, no second factor; it
    /// works only by API token.
    pub machine: bool,
}

impl User {
    /// An account from its stored columns (`facilities` comma-separated).
    #[expect(clippy::too_many_arguments, reason = "one per column")]
    pub fn from_columns(
        username: String,
        role: String,
        facilities: &str,
        password_hash: String,
        totp_secret: Option<String>,
        locked_at: Option<i64>,
        language: String,
        created_at: i64,
    ) -> Self {
        Self {
            username,
            role,
            facilities: facilities
                .split(',')
                .filter(|f| !f.is_empty())
                .map(String::from)
                .collect(),
            password_hash,
            mfa: totp_secret.is_some(),
            totp_secret,
            locked_at,
            language,
            created_at,
            machine: false,
        }
    }
}

/// An API token as it is listed: who owns it, its name, who issued it and when it ends (never
/// the token or its hash).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    /// The account the token acts as.
    pub username: String,
    pub name: String,
    /// Who issued it, as the access log names them (`user:…`, `os:…`).
    pub issued_by: String,
    /// When it was issued (milliseconds since 1970, UTC).
    pub created_at: i64,
    /// When it stops working (milliseconds since 1970, UTC).
    pub expires_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// A new API token as stored: its SHA-256, its owner and name, who issued it, when it ends.
#[derive(Debug, Clone)]
pub struct TokenRow<'a> {
    pub id_hash: &'a [u8; 32],
    pub username: &'a str,
    pub name: &'a str,
    pub issued_by: &'a str,
    pub expires_at: i64,
}

/// A new account as stored: its password hashed, its second factor sealed.
#[derive(Debug, Clone)]
pub struct UserRow<'a> {
    pub username: &'a str,
    pub role: &'a str,
    pub facilities: &'a [String],
    pub password_hash: &'a str,
    pub totp_secret: Option<&'a str>,
    pub language: &'a str,
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub username: String,
    pub csrf: String,
    pub created_at: i64,
    pub last_seen: i64,
}

/// The tables of accounts, failed sign-ins, sessions and API tokens. Every method is one
/// transaction.
pub trait AccountRows: Send + Sync + std::fmt::Debug {
    /// Adds an account; `false` if the username is taken.
    fn insert_user(&self, u: &UserRow<'_>, now: i64) -> Result<bool, StoreError>;
    /// Adds a machine account (no person behind it: it works only by token); `false` if the
    /// username is taken.
    fn insert_machine(&self, u: &UserRow<'_>, now: i64) -> Result<bool, StoreError>;
    fn user(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// Every account, by username.
    fn users(&self) -> Result<Vec<User>, StoreError>;
    /// Locks (`Some`) or unlocks (`None`, forgetting the failed sign-ins); `false` if there is
    /// no such account.
    fn set_locked(&self, username: &str, locked_at: Option<i64>) -> Result<bool, StoreError>;
    fn set_language(&self, username: &str, language: &str) -> Result<bool, StoreError>;
    /// Replaces the password hash and revokes every session and every API token of the
    /// account.
    fn set_password(&self, username: &str, hash: &str, now: i64) -> Result<bool, StoreError>;
    /// Records a failed sign-in, forgets those older than `window`, and locks the account
    /// when `limit` remain. Whether the account is now locked.
    fn record_failure(
        &self,
        username: &str,
        now: i64,
        limit: u32,
        window: i64,
    ) -> Result<bool, StoreError>;
    fn clear_failures(&self, username: &str) -> Result<(), StoreError>;
    fn create_session(
        &self,
        id_hash: &[u8; 32],
        username: &str,
        csrf: &str,
        now: i64,
    ) -> Result<(), StoreError>;
    /// A session that has not been revoked.
    fn unrevoked_session(&self, id_hash: &[u8; 32]) -> Result<Option<Session>, StoreError>;
    /// Records that a session was seen at `now`.
    fn touch_session(&self, id_hash: &[u8; 32], now: i64) -> Result<(), StoreError>;
    /// Revokes a session; `false` if it was not live.
    fn revoke_session(&self, id_hash: &[u8; 32], now: i64) -> Result<bool, StoreError>;
    fn add_token(&self, t: &TokenRow<'_>, now: i64) -> Result<(), StoreError>;
    /// The owner of an unrevoked token, and when the token ends (the caller compares).
    fn token_owner(&self, id_hash: &[u8; 32]) -> Result<Option<(User, i64)>, StoreError>;
    /// Revokes every token of an account with this name; how many.
    fn revoke_tokens(&self, username: &str, name: &str, now: i64) -> Result<usize, StoreError>;
    /// The tokens of an account, or of every account (`None`), by account, then newest first.
    fn tokens(&self, username: Option<&str>) -> Result<Vec<TokenInfo>, StoreError>;
    /// The second-factor secrets stored before sealing existed: (username, secret).
    fn unsealed_secrets(&self, sealed_prefix: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// How many second-factor secrets are sealed.
    fn sealed_secrets(&self, sealed_prefix: &str) -> Result<u64, StoreError>;
    /// Replaces second-factor secrets, all in one transaction.
    fn replace_secrets(&self, secrets: &[(String, String)]) -> Result<(), StoreError>;
    /// Records that the TOTP code of time step `step` signed the account in, if no code of
    /// that step or a later one has: one conditional UPDATE, so that of two sign-ins with one
    /// code (on any number of servers sharing the store) only one wins. `false`: the step, or
    /// a later one, was already used (or there is no such account).
    fn claim_totp_step(&self, username: &str, step: i64) -> Result<bool, StoreError>;
}
