//! `habeas user`: the accounts of the people who use Habeas. Passwords are read from standard
//! input (one line), never from the command line; TOTP secrets and API tokens are shown once.
//! Every change is recorded in the access log.

use crate::open::DbArgs;
use crate::system::SystemClock;
use anyhow::{bail, Result};
use habeas_register::time::Clock;
use habeas_web::access::Event;
use habeas_web::users;
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
        /// A machine account: no person behind it, no password (none is read), no second
        /// factor; it works only by API token (`habeas user token`). Registry, custody, legal
        /// or health only.
        #[arg(long, conflicts_with = "totp")]
        machine: bool,
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
    /// Issue an API token for a machine account (shown once; only its hash is kept), revoke
    /// an account's tokens of that name, or list tokens. A person issues their own, signed in
    /// (`POST /api/tokens`).
    Token {
        #[arg(long, required_unless_present = "list")]
        username: Option<String>,
        #[arg(long, required_unless_present = "list")]
        name: Option<String>,
        /// Revoke the account's live tokens of that name.
        #[arg(long, conflicts_with = "list")]
        revoke: bool,
        /// How many days the token works [default and at most: 90].
        #[arg(long, conflicts_with_all = ["list", "revoke"])]
        days: Option<u32>,
        /// List the tokens (of --username, or of every account): owner, name, who issued it,
        /// when, when it ends, whether revoked. Never a token or its hash.
        #[arg(long)]
        list: bool,
        #[arg(long, value_enum, default_value_t = crate::custody_cli::Out::Table)]
        format: crate::custody_cli::Out,
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

fn user(e: users::UserError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Carries out the command through the running server's control socket, when a server answers
/// there and the command is one it takes (`list`, `lock`, `unlock`, `reset-password`, `token
/// --revoke`, which must reach the server's cache of token owners at once): the
/// server checks the same rules and logs the change with the operating-system user as actor.
/// `false`: no server answers; do it here.
fn through_server(db: &DbArgs, command: &UserCommand) -> Result<bool> {
    let (name, args) = match command {
        UserCommand::List { .. } => ("user.list", serde_json::json!({})),
        UserCommand::Lock { username } => ("user.lock", serde_json::json!({"username": username})),
        UserCommand::Unlock { username } => {
            ("user.unlock", serde_json::json!({"username": username}))
        }
        UserCommand::ResetPassword { username } => (
            "user.reset-password",
            serde_json::json!({"username": username}),
        ),
        UserCommand::Token {
            username: Some(username),
            name: Some(name),
            revoke: true,
            ..
        } => (
            "user.token-revoke",
            serde_json::json!({"username": username, "name": name}),
        ),
        _ => return Ok(false),
    };
    if !crate::control::live(db) {
        return Ok(false);
    }
    let mut args = args;
    if let UserCommand::ResetPassword { .. } = command {
        args["password"] = read_password()?.into();
    }
    let Some(result) = crate::control::call(db, name, args)? else {
        return Ok(false);
    };
    let via = "(through the running server's control socket)";
    match command {
        UserCommand::List { format } => print_users(&result["users"], *format)?,
        UserCommand::Lock { username } => println!("locked {username} {via}"),
        UserCommand::Unlock { username } => println!("unlocked {username} {via}"),
        UserCommand::ResetPassword { username } => {
            println!("new password set for {username}; every session and token ended {via}")
        }
        UserCommand::Token {
            username: Some(username),
            name: Some(name),
            ..
        } => println!(
            "revoked {} token(s) named {:?} of {username} {via}",
            result["detail"]["count"],
            name.trim()
        ),
        _ => {}
    }
    Ok(true)
}

/// Accounts as listed (`User` as JSON): as JSON, or a table.
fn print_users(users: &serde_json::Value, format: crate::custody_cli::Out) -> Result<()> {
    if let crate::custody_cli::Out::Json = format {
        println!("{}", serde_json::to_string_pretty(users)?);
        return Ok(());
    }
    println!(
        "{:<24} {:<14} {:<20} {:<4} {:<7} {:<8} created",
        "username", "role", "facilities", "mfa", "locked", "kind"
    );
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    for u in users.as_array().into_iter().flatten() {
        let facilities: Vec<String> = u["facilities"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        println!(
            "{:<24} {:<14} {:<20} {:<4} {:<7} {:<8} {}",
            text(&u["username"]),
            text(&u["role"]),
            if facilities.is_empty() {
                "(all)".to_owned()
            } else {
                facilities.join(",")
            },
            if u["mfa"] == true { "yes" } else { "no" },
            if u["locked_at"].is_null() {
                "no"
            } else {
                "LOCKED"
            },
            if u["machine"] == true {
                "machine"
            } else {
                "person"
            },
            habeas_register::Timestamp(u["created_at"].as_i64().unwrap_or(0))
        );
    }
    Ok(())
}

pub fn run(db: &DbArgs, by: &str, command: UserCommand) -> Result<ExitCode> {
    if through_server(db, &command)? {
        return Ok(ExitCode::SUCCESS);
    }
    let store = db.open_store()?;
    let accounts = db.open_accounts()?;
    let now = SystemClock.now().millis();
    let store_err = |e: habeas_register::store::StoreError| anyhow::anyhow!("{e}");
    // A change is made only with the access log open to record it.
    let log = match &command {
        UserCommand::List { .. } | UserCommand::Token { list: true, .. } => None,
        _ => Some(db.access_log_for_change()?),
    };
    let done = match command {
        UserCommand::List { format } => {
            let users = accounts.users().map_err(store_err)?;
            print_users(&serde_json::to_value(&users)?, format)?;
            return Ok(ExitCode::SUCCESS);
        }
        UserCommand::Add {
            username,
            role,
            facilities,
            language,
            totp,
            machine,
        } => {
            let account = users::NewAccount {
                username,
                role,
                facilities,
                language,
                totp,
                password: String::new(),
                machine,
            };
            if machine {
                let done = users::add(&accounts, &store, &account, now).map_err(user)?;
                println!(
                    "added the machine account {} ({}); it works only by token: habeas user token --username {} --name NAME",
                    done.username, account.role, done.username
                );
                done
            } else {
                // Checked before the password is read, so that a typo costs no typing.
                let precheck = users::add(&accounts, &store, &account, now);
                if let Err(users::UserError::Invalid(e)) = &precheck {
                    if e.field != "password" {
                        bail!("{e}");
                    }
                }
                let account = users::NewAccount {
                    password: read_password()?,
                    ..account
                };
                let done = users::add(&accounts, &store, &account, now).map_err(user)?;
                println!("added {} ({})", done.username, account.role);
                if let Some(uri) = &done.show_once {
                    println!("second factor (shown once; add it to an authenticator app):");
                    println!("  {uri}");
                }
                done
            }
        }
        UserCommand::Lock { username } => {
            let done = users::set_locked(&accounts, &username, true, now).map_err(user)?;
            println!("locked {username}");
            done
        }
        UserCommand::Unlock { username } => {
            let done = users::set_locked(&accounts, &username, false, now).map_err(user)?;
            println!("unlocked {username}");
            done
        }
        UserCommand::ResetPassword { username } => {
            if accounts.user(&username).map_err(store_err)?.is_none() {
                bail!("username: no account {username:?}");
            }
            let password = read_password()?;
            let done = users::reset_password(&accounts, &username, &password, now).map_err(user)?;
            println!("new password set for {username}; every session ended");
            done
        }
        UserCommand::Token {
            list: true,
            username,
            format,
            ..
        } => {
            let tokens = users::tokens(&accounts, username.as_deref()).map_err(user)?;
            print_tokens(&tokens, format, now)?;
            return Ok(ExitCode::SUCCESS);
        }
        UserCommand::Token {
            username,
            name,
            revoke,
            days,
            ..
        } => {
            let (Some(username), Some(name)) = (username, name) else {
                bail!("--username and --name: both are needed to issue or revoke a token");
            };
            if revoke {
                let done = users::revoke_tokens(&accounts, &username, &name, now).map_err(user)?;
                println!(
                    "revoked {} token(s) named {:?} of {username}",
                    done.detail["count"],
                    name.trim()
                );
                done
            } else {
                let done = users::issue_token(
                    &accounts,
                    users::Issuer::ForMachine {
                        username: &username,
                    },
                    &name,
                    days,
                    by,
                    now,
                )
                .map_err(user)?;
                println!(
                    "API token for {username} ({}), until {}, shown once:",
                    name.trim(),
                    habeas_register::Timestamp(done.detail["expires_at"].as_i64().unwrap_or(0))
                );
                println!("  {}", done.show_once.as_deref().unwrap_or_default());
                done
            }
        }
    };
    let Some(log) = log else {
        return Ok(ExitCode::SUCCESS);
    };
    DbArgs::log_to(
        log,
        &[Event::Account {
            by,
            username: &done.username,
            action: done.action,
            detail: done.detail.clone(),
        }],
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Tokens as listed: as JSON, or a table with each one's state at `now`.
fn print_tokens(
    tokens: &[habeas_store_sqlite::TokenInfo],
    format: crate::custody_cli::Out,
    now: i64,
) -> Result<()> {
    if let crate::custody_cli::Out::Json = format {
        println!("{}", serde_json::to_string_pretty(tokens)?);
        return Ok(());
    }
    println!(
        "{:<24} {:<24} {:<20} {:<25} {:<25} state",
        "username", "name", "issued by", "created", "expires"
    );
    for t in tokens {
        let state = match t.revoked_at {
            Some(_) => "revoked",
            None if now >= t.expires_at => "expired",
            None => "live",
        };
        println!(
            "{:<24} {:<24} {:<20} {:<25} {:<25} {state}",
            t.username,
            t.name,
            if t.issued_by.is_empty() {
                "-"
            } else {
                &t.issued_by
            },
            habeas_register::Timestamp(t.created_at).to_string(),
            habeas_register::Timestamp(t.expires_at).to_string(),
        );
    }
    Ok(())
}

/// The demo's accounts: one for each role, in `facility` where the role is scoped, all with
/// `password`; the roles that need a second factor get one. Logged to the access log like any
/// account made with `habeas user add`. Each: role, username, and the second factor's
/// `otpauth://` address.
pub fn demo_accounts(
    db: &DbArgs,
    facility: &str,
    password: &str,
) -> Result<Vec<(&'static str, String, Option<String>)>> {
    let store = db.open_store()?;
    let accounts = db.open_accounts()?;
    let log = db.access_log_for_change()?;
    let now = SystemClock.now().millis();
    let mut made = Vec::new();
    let mut events = Vec::new();
    for (role, name) in [
        ("registry", "registro"),
        ("custody", "custodia"),
        ("legal", "juridico"),
        ("health", "salud"),
        ("director", "director"),
        ("national", "nacional"),
        ("inspector", "inspector"),
        ("administrator", "admin"),
        ("court", "juzgado"),
        ("ombudsman", "pddh"),
    ] {
        let scoped = habeas_web::auth::Role::parse("role", role)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .scoped();
        let username = if scoped {
            format!("{name}.{}", facility.to_lowercase())
        } else {
            name.to_owned()
        };
        let account = users::NewAccount {
            username,
            role: role.to_owned(),
            facilities: if scoped {
                vec![facility.to_owned()]
            } else {
                Vec::new()
            },
            language: "es".to_owned(),
            totp: false,
            password: password.to_owned(),
            machine: false,
        };
        let done = users::add(&accounts, &store, &account, now).map_err(user)?;
        made.push((role, done.username.clone(), done.show_once.clone()));
        events.push(done);
    }
    let by = "user:demo".to_owned();
    let logged: Vec<Event<'_>> = events
        .iter()
        .map(|d| Event::Account {
            by: &by,
            username: &d.username,
            action: d.action,
            detail: d.detail.clone(),
        })
        .collect();
    DbArgs::log_to(log, &logged)?;
    Ok(made)
}
