//! `habeas user`: the accounts of the people who use Habeas. Passwords are read from standard
//! input (one line), never from the command line; TOTP secrets and API tokens are shown once.
//! Every change is recorded in the access log.

use crate::open::DbArgs;
use crate::system::SystemClock;
use anyhow::{bail, Result};
use habeas_register::time::Clock;
use habeas_store_sqlite::{Accounts, NewUser};
use habeas_web::access::Event;
use habeas_web::auth::{self, Role};
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Add an account; the password is read from standard input.
    Add {
        #[arg(long)]
        username: String,
        /// registry, custody, legal, health, director, national, inspector or administrator.
        #[arg(long)]
        role: String,
        /// A facility the account works in (repeat for several); required for the scoped roles
        /// (registry, custody, legal, health, director), refused for the others.
        #[arg(long = "facility")]
        facilities: Vec<String>,
        /// es or en.
        #[arg(long, default_value = "es")]
        language: String,
        /// Enrol a second factor even where the role does not require one.
        #[arg(long)]
        totp: bool,
    },
    /// Every account, with its role, facilities, second factor and lock.
    List {
        #[arg(long, value_enum, default_value_t = crate::custody_cli::Out::Table)]
        format: crate::custody_cli::Out,
    },
    /// Lock an account.
    Lock {
        #[arg(long)]
        username: String,
    },
    /// Unlock an account locked by failed sign-ins or by an administrator.
    Unlock {
        #[arg(long)]
        username: String,
    },
    /// Set a new password (read from standard input); ends every session of the account.
    ResetPassword {
        #[arg(long)]
        username: String,
    },
    /// Issue an API token for a machine client (shown once; only its hash is kept), or revoke
    /// the account's tokens of that name.
    Token {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        revoke: bool,
    },
}

fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let pw = line.trim_end_matches(['\n', '\r']).to_owned();
    if pw.is_empty() {
        bail!("password: give it on standard input (one line)");
    }
    Ok(pw)
}

fn web(e: auth::Invalid) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

pub fn run(db: &DbArgs, by: &str, command: UserCommand) -> Result<ExitCode> {
    let store = db.open_store()?;
    let accounts = Accounts::open(&db.db).map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = SystemClock.now().millis();
    let store_err = |e: habeas_register::store::StoreError| anyhow::anyhow!("{e}");
    // Checks first; the access log is opened only for a change that will be made.
    let (username, action, detail) = match command {
        UserCommand::List { format } => {
            let users = accounts.users().map_err(store_err)?;
            match format {
                crate::custody_cli::Out::Json => {
                    println!("{}", serde_json::to_string_pretty(&users)?)
                }
                _ => {
                    println!(
                        "{:<24} {:<14} {:<20} {:<4} {:<7} created",
                        "username", "role", "facilities", "mfa", "locked"
                    );
                    for u in &users {
                        println!(
                            "{:<24} {:<14} {:<20} {:<4} {:<7} {}",
                            u.username,
                            u.role,
                            if u.facilities.is_empty() {
                                "(all)".to_owned()
                            } else {
                                u.facilities.join(",")
                            },
                            if u.mfa { "yes" } else { "no" },
                            if u.locked_at.is_some() {
                                "LOCKED"
                            } else {
                                "no"
                            },
                            habeas_register::Timestamp(u.created_at)
                        );
                    }
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        UserCommand::Add {
            username,
            role,
            facilities,
            language,
            totp,
        } => {
            let username = auth::username(&username).map_err(web)?;
            let role = Role::parse("role", &role).map_err(web)?;
            if role.scoped() && facilities.is_empty() {
                bail!(
                    "facility: a {} account works in named facilities; give --facility",
                    role.as_str()
                );
            }
            if !role.scoped() && !facilities.is_empty() {
                bail!(
                    "facility: a {} account covers every facility; give no --facility",
                    role.as_str()
                );
            }
            for f in &facilities {
                if store.facility(f).map_err(store_err)?.is_none() {
                    bail!("facility: no facility {f:?} in this register");
                }
            }
            if !["es", "en"].contains(&language.as_str()) {
                bail!("language: es or en");
            }
            if accounts.user(&username).map_err(store_err)?.is_some() {
                bail!("username: {username:?} is taken");
            }
            let password = read_password()?;
            auth::check_password(&password, &username).map_err(web)?;
            let hash = auth::hash_password(&password).map_err(web)?;
            let secret = if totp || role.requires_mfa() {
                Some(auth::new_totp_secret().map_err(web)?)
            } else {
                None
            };
            let added = accounts
                .add_user(
                    &NewUser {
                        username: &username,
                        role: role.as_str(),
                        facilities: &facilities,
                        password_hash: &hash,
                        totp_secret: secret.as_deref(),
                        language: &language,
                    },
                    now,
                )
                .map_err(store_err)?;
            if !added {
                bail!("username: {username:?} is taken");
            }
            println!("added {username} ({})", role.as_str());
            if let Some(s) = &secret {
                println!("second factor (shown once; add it to an authenticator app):");
                println!("  {}", auth::totp_uri(s, &username));
            }
            (
                username,
                "added",
                json!({"role": role.as_str(), "facilities": facilities, "mfa": secret.is_some()}),
            )
        }
        UserCommand::Lock { username } | UserCommand::Unlock { username }
            if accounts.user(&username).map_err(store_err)?.is_none() =>
        {
            bail!("username: no account {username:?}");
        }
        UserCommand::Lock { username } => {
            accounts
                .set_locked(&username, Some(now))
                .map_err(store_err)?;
            println!("locked {username}");
            (username, "locked", json!({}))
        }
        UserCommand::Unlock { username } => {
            accounts.set_locked(&username, None).map_err(store_err)?;
            println!("unlocked {username}");
            (username, "unlocked", json!({}))
        }
        UserCommand::ResetPassword { username } => {
            if accounts.user(&username).map_err(store_err)?.is_none() {
                bail!("username: no account {username:?}");
            }
            let password = read_password()?;
            auth::check_password(&password, &username).map_err(web)?;
            let hash = auth::hash_password(&password).map_err(web)?;
            accounts
                .set_password(&username, &hash, now)
                .map_err(store_err)?;
            println!("new password set for {username}; every session ended");
            (username, "password_reset", json!({}))
        }
        UserCommand::Token {
            username,
            name,
            revoke,
        } => {
            if accounts.user(&username).map_err(store_err)?.is_none() {
                bail!("username: no account {username:?}");
            }
            let name =
                habeas_core::dates::text("name", &name, 100).map_err(|e| anyhow::anyhow!("{e}"))?;
            if revoke {
                let n = accounts
                    .revoke_tokens(&username, &name, now)
                    .map_err(store_err)?;
                println!("revoked {n} token(s) named {name:?} of {username}");
                (username, "token_revoked", json!({"name": name, "count": n}))
            } else {
                let token = auth::new_secret().map_err(web)?;
                accounts
                    .add_token(&auth::secret_hash(&token), &username, &name, now)
                    .map_err(store_err)?;
                println!("API token for {username} ({name}), shown once:");
                println!("  {token}");
                (username, "token_issued", json!({"name": name}))
            }
        }
    };
    db.log_access(&[Event::Account {
        by,
        username: &username,
        action,
        detail,
    }])?;
    Ok(ExitCode::SUCCESS)
}
