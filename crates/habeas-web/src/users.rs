//! Account administration, shared by `habeas user` and the administrators' routes: every rule
//! is checked here (and named by field) before anything is written, and every change returns
//! the access-log event's action and detail for the caller to record.

use crate::auth::{self, Invalid, Role};
use habeas_register::store::StoreError;
use habeas_store_sqlite::{Accounts, NewUser, SqliteStore};
use serde_json::{json, Value};

/// Why an administration request failed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> UserError {
    UserError::Invalid(Invalid {
        field,
        message: message.into(),
    })
}

/// A new account as asked for.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    #[schema(pattern = r"^[a-z0-9._-]{3,64}$")]
    pub username: String,
    #[schema(schema_with = crate::openapi::role_schema)]
    pub role: String,
    /// The facilities a scoped role works in (every role but national, inspector and
    /// administrator needs at least one).
    #[serde(default)]
    pub facilities: Vec<String>,
    #[serde(default = "spanish")]
    #[schema(schema_with = crate::openapi::language_schema)]
    pub language: String,
    /// Enrol a second factor even where the role does not require one.
    #[serde(default)]
    pub totp: bool,
    /// At least 8 characters, not the username, not a common password.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
}

/// Every role, as an account names it.
pub(crate) const ROLES: &[&str] = &[
    "registry",
    "custody",
    "legal",
    "health",
    "director",
    "national",
    "inspector",
    "administrator",
];

/// The languages of the interface.
pub(crate) const LANGUAGES: &[&str] = &["es", "en"];

fn spanish() -> String {
    "es".to_owned()
}

/// A change made: the access-log action and detail, and what to show once (a TOTP address, a
/// token).
#[derive(Debug, Clone)]
pub struct Done {
    pub username: String,
    pub action: &'static str,
    pub detail: Value,
    pub show_once: Option<String>,
}

fn existing(accounts: &Accounts, username: &str) -> Result<(), UserError> {
    match accounts.user(username)? {
        Some(_) => Ok(()),
        None => Err(invalid("username", format!("no account {username:?}"))),
    }
}

/// Adds an account: a plain username, a known role, facilities that exist for the scoped roles
/// (none for the others), the password rule; a TOTP secret for the roles that require one.
pub fn add(
    accounts: &Accounts,
    store: &SqliteStore,
    a: &NewAccount,
    now: i64,
) -> Result<Done, UserError> {
    let username = auth::username(&a.username)?;
    let role = Role::parse("role", &a.role)?;
    if role.scoped() && a.facilities.is_empty() {
        return Err(invalid(
            "facility",
            format!(
                "a {} account works in named facilities; give at least one",
                role.as_str()
            ),
        ));
    }
    if !role.scoped() && !a.facilities.is_empty() {
        return Err(invalid(
            "facility",
            format!(
                "a {} account covers every facility; give none",
                role.as_str()
            ),
        ));
    }
    for f in &a.facilities {
        if store.facility(f)?.is_none() {
            return Err(invalid(
                "facility",
                format!("no facility {f:?} in this register"),
            ));
        }
    }
    if !LANGUAGES.contains(&a.language.as_str()) {
        return Err(invalid("language", "es or en"));
    }
    if accounts.user(&username)?.is_some() {
        return Err(invalid("username", format!("{username:?} is taken")));
    }
    auth::check_password(&a.password, &username)?;
    let hash = auth::hash_password(&a.password)?;
    let secret = if a.totp || role.requires_mfa() {
        Some(auth::new_totp_secret()?)
    } else {
        None
    };
    let added = accounts.add_user(
        &NewUser {
            username: &username,
            role: role.as_str(),
            facilities: &a.facilities,
            password_hash: &hash,
            totp_secret: secret.as_deref(),
            language: &a.language,
        },
        now,
    )?;
    if !added {
        return Err(invalid("username", format!("{username:?} is taken")));
    }
    Ok(Done {
        detail: json!({"role": role.as_str(), "facilities": a.facilities, "mfa": secret.is_some()}),
        show_once: secret.map(|s| auth::totp_uri(&s, &username)),
        username,
        action: "added",
    })
}

/// Locks or unlocks an account.
pub fn set_locked(
    accounts: &Accounts,
    username: &str,
    lock: bool,
    now: i64,
) -> Result<Done, UserError> {
    existing(accounts, username)?;
    accounts.set_locked(username, lock.then_some(now))?;
    Ok(Done {
        username: username.to_owned(),
        action: if lock { "locked" } else { "unlocked" },
        detail: json!({}),
        show_once: None,
    })
}

/// Sets a new password (the rule applies) and ends every session of the account.
pub fn reset_password(
    accounts: &Accounts,
    username: &str,
    password: &str,
    now: i64,
) -> Result<Done, UserError> {
    existing(accounts, username)?;
    auth::check_password(password, username)?;
    let hash = auth::hash_password(password)?;
    accounts.set_password(username, &hash, now)?;
    Ok(Done {
        username: username.to_owned(),
        action: "password_reset",
        detail: json!({}),
        show_once: None,
    })
}

/// Issues an API token (shown once; kept as its hash), or revokes the account's tokens of that
/// name.
pub fn token(
    accounts: &Accounts,
    username: &str,
    name: &str,
    revoke: bool,
    now: i64,
) -> Result<Done, UserError> {
    existing(accounts, username)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            "1 to 100 characters, no control characters",
        ));
    }
    if revoke {
        let n = accounts.revoke_tokens(username, name, now)?;
        return Ok(Done {
            username: username.to_owned(),
            action: "token_revoked",
            detail: json!({"name": name, "count": n}),
            show_once: None,
        });
    }
    let token = auth::new_secret()?;
    accounts.add_token(&auth::secret_hash(&token), username, name, now)?;
    Ok(Done {
        username: username.to_owned(),
        action: "token_issued",
        detail: json!({"name": name}),
        show_once: Some(token),
    })
}
