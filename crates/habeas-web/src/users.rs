//! Account administration, shared by `habeas user` and the administrators' routes: every rule
//! is checked here (and named by field) before anything is written, and every change returns
//! the access-log event's action and detail for the caller to record.

use crate::auth::{self, Invalid, Role};
use habeas_register::store::StoreError;
use habeas_store_sqlite::{Accounts, NewUser, SqliteStore, TokenInfo, TokenRow, User, DAY_MS};
use serde_json::{json, Value};

/// Why an administration request failed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Not for this caller (an administrator asking for a person's token): refused and logged.
    #[error("{0}")]
    Forbidden(Invalid),
    /// It would leave the accounts in a state nobody can get out of (the last administrator
    /// locked).
    #[error("{0}")]
    Conflict(Invalid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UserError {
    /// The field at fault, when there is one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            UserError::Invalid(i) | UserError::Forbidden(i) | UserError::Conflict(i) => {
                Some(i.field)
            }
            UserError::Store(_) => None,
        }
    }
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
    #[schema(schema_with = role_schema)]
    pub role: String,
    /// The facilities a scoped role works in (every role but national, inspector and
    /// administrator needs at least one).
    #[serde(default)]
    pub facilities: Vec<String>,
    #[serde(default = "spanish")]
    #[schema(schema_with = language_schema)]
    pub language: String,
    /// Enrol a second factor even where the role does not require one.
    #[serde(default)]
    pub totp: bool,
    /// At least 8 characters, not the username, not a common password. None for a machine
    /// account.
    #[serde(default)]
    #[schema(max_length = 256)]
    pub password: String,
    /// A machine account: no person behind it, no password, no second factor; it works only
    /// by API token, issued by an administrator. Only the roles a person holds without a
    /// second factor (registry, custody, legal, health).
    #[serde(default)]
    pub machine: bool,
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
    "court",
    "ombudsman",
];

/// The languages of the interface.
pub(crate) const LANGUAGES: &[&str] = &["es", "en"];

/// An account's role.
pub(crate) fn role_schema() -> utoipa::openapi::Object {
    crate::schema::one_of(ROLES)
}

/// The language of an account's interface.
pub(crate) fn language_schema() -> utoipa::openapi::Object {
    crate::schema::one_of(LANGUAGES)
}

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
/// (none for the others), the password rule; a TOTP secret for the roles that require one. A
/// machine account takes no password and no second factor, and only a role a person holds
/// without a second factor.
pub fn add(
    accounts: &Accounts,
    store: &SqliteStore,
    a: &NewAccount,
    now: i64,
) -> Result<Done, UserError> {
    let username = auth::username(&a.username)?;
    let role = Role::parse("role", &a.role)?;
    if a.machine && role.requires_mfa() {
        return Err(invalid(
            "role",
            format!(
                "a machine account cannot be {}: that role needs a person who proves it is them with a second factor; a machine may be registry, custody, legal or health",
                role.as_str()
            ),
        ));
    }
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
    if a.machine {
        if !a.password.is_empty() {
            return Err(invalid(
                "password",
                "a machine account has no password: it works only by API token",
            ));
        }
        if a.totp {
            return Err(invalid(
                "totp",
                "a machine account has no second factor: it works only by API token",
            ));
        }
        let added = accounts.add_machine(
            &NewUser {
                username: &username,
                role: role.as_str(),
                facilities: &a.facilities,
                password_hash: NO_PASSWORD,
                totp_secret: None,
                language: &a.language,
            },
            now,
        )?;
        if !added {
            return Err(invalid("username", format!("{username:?} is taken")));
        }
        return Ok(Done {
            detail: json!({"role": role.as_str(), "facilities": a.facilities, "mfa": false, "machine": true}),
            show_once: None,
            username,
            action: "added",
        });
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

/// A machine account's password hash: no password matches it (it is not a PHC string).
const NO_PASSWORD: &str = "!machine";

/// Whether the account is an administrator who can act: a person, not locked.
fn active_administrator(u: &User) -> bool {
    u.role == Role::Administrator.as_str() && !u.machine && u.locked_at.is_none()
}

/// Locks or unlocks an account. The last active administrator (unlocked, a person) is never
/// locked by hand: nobody would be left to unlock anyone (failed sign-ins still lock it; the
/// server's control socket unlocks it then).
pub fn set_locked(
    accounts: &Accounts,
    username: &str,
    lock: bool,
    now: i64,
) -> Result<Done, UserError> {
    let Some(target) = accounts.user(username)? else {
        return Err(invalid("username", format!("no account {username:?}")));
    };
    if lock && active_administrator(&target) {
        let others = accounts
            .users()?
            .iter()
            .filter(|u| u.username != target.username && active_administrator(u))
            .count();
        if others == 0 {
            return Err(UserError::Conflict(Invalid {
                field: "username",
                message: format!(
                    "{username} is the last active administrator; locking it would leave nobody to manage the accounts (add or unlock another administrator first)"
                ),
            }));
        }
    }
    accounts.set_locked(username, lock.then_some(now))?;
    Ok(Done {
        username: username.to_owned(),
        action: if lock { "locked" } else { "unlocked" },
        detail: json!({}),
        show_once: None,
    })
}

/// Sets a new password (the rule applies) and ends every session and every API token of the
/// account. A machine account has no password to set.
pub fn reset_password(
    accounts: &Accounts,
    username: &str,
    password: &str,
    now: i64,
) -> Result<Done, UserError> {
    let Some(target) = accounts.user(username)? else {
        return Err(invalid("username", format!("no account {username:?}")));
    };
    if target.machine {
        return Err(invalid(
            "username",
            format!(
                "{username} is a machine account: it has no password (revoke its tokens instead)"
            ),
        ));
    }
    auth::check_password(password, username)?;
    let hash = auth::hash_password(password)?;
    accounts.set_password(username, &hash, now)?;
    Ok(Done {
        username: username.to_owned(),
        action: "password_reset",
        detail: json!({"sessions_and_tokens_revoked": true}),
        show_once: None,
    })
}

/// Who asks for a token, which decides whose token it may be.
#[derive(Debug, Clone, Copy)]
pub enum Issuer<'a> {
    /// The account itself, signed in with a session (and its second factor where it has
    /// one). A caller authenticated by a token mints no more tokens.
    Own { caller: &'a User, by_session: bool },
    /// An administrator (API) or the machine's operator (`habeas user token`): only for a
    /// machine account. An administrator never receives a person's credential.
    ForMachine { username: &'a str },
}

fn token_name(name: &str) -> Result<String, UserError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            "1 to 100 characters, no control characters",
        ));
    }
    Ok(name.to_owned())
}

/// Issues an API token (shown once; kept as its hash) that works for `days` (by default the
/// longest the server allows, `accounts.token_days()`), named uniquely among the account's
/// live tokens. `by` is who issues it, as the access log names them.
pub fn issue_token(
    accounts: &Accounts,
    issuer: Issuer<'_>,
    name: &str,
    days: Option<u32>,
    by: &str,
    now: i64,
) -> Result<Done, UserError> {
    let owner = match issuer {
        Issuer::Own { caller, by_session } => {
            if !by_session {
                return Err(UserError::Forbidden(Invalid {
                    field: "authorization",
                    message: "a token does not mint tokens: sign in (with your second factor) to issue one".into(),
                }));
            }
            if caller.machine {
                return Err(UserError::Forbidden(Invalid {
                    field: "username",
                    message: "a machine account's tokens are issued by an administrator".into(),
                }));
            }
            caller.clone()
        }
        Issuer::ForMachine { username } => {
            let Some(u) = accounts.user(username)? else {
                return Err(invalid("username", format!("no account {username:?}")));
            };
            if !u.machine {
                return Err(UserError::Forbidden(Invalid {
                    field: "username",
                    message: format!(
                        "{username} is a person: only they can issue their own tokens (signed in, POST /api/tokens); tokens are issued for others only to machine accounts"
                    ),
                }));
            }
            u
        }
    };
    let name = token_name(name)?;
    let max = accounts.token_days();
    let days = days.unwrap_or(max);
    if days == 0 || days > max {
        return Err(invalid(
            "days",
            format!("1 to {max} (the longest this server lets a token work)"),
        ));
    }
    let taken = accounts
        .tokens(Some(&owner.username))?
        .iter()
        .any(|t| t.name == name && t.revoked_at.is_none() && now < t.expires_at);
    if taken {
        return Err(invalid(
            "name",
            format!(
                "{} already has a live token named {name:?}; revoke it or choose another name",
                owner.username
            ),
        ));
    }
    let token = auth::new_secret()?;
    let expires_at = now.saturating_add(i64::from(days) * DAY_MS);
    accounts.issue_token(
        &TokenRow {
            id_hash: &auth::secret_hash(&token),
            username: &owner.username,
            name: &name,
            issued_by: by,
            expires_at,
        },
        now,
    )?;
    Ok(Done {
        username: owner.username,
        action: "token_issued",
        detail: json!({"name": name, "days": days, "expires_at": expires_at}),
        show_once: Some(token),
    })
}

/// Revokes the account's live tokens of that name (an account its own; an administrator or the
/// operator anyone's): how many, in the detail.
pub fn revoke_tokens(
    accounts: &Accounts,
    username: &str,
    name: &str,
    now: i64,
) -> Result<Done, UserError> {
    existing(accounts, username)?;
    let name = token_name(name)?;
    let n = accounts.revoke_tokens(username, &name, now)?;
    Ok(Done {
        username: username.to_owned(),
        action: "token_revoked",
        detail: json!({"name": name, "count": n}),
        show_once: None,
    })
}

/// The tokens of an account or of every account, as listed (never a token or its hash).
pub fn tokens(accounts: &Accounts, username: Option<&str>) -> Result<Vec<TokenInfo>, UserError> {
    Ok(accounts.tokens(username)?)
}
