//! The accounts tables in PostgreSQL (migration 0002), shared by every server pointed at the
//! database: a sign-in, a lockout or a revoked session on one is seen by all.

use crate::{backend, PostgresStore};
use habeas_core::accounts::{AccountRows, Session, TokenInfo, TokenRow, User, UserRow};
use habeas_register::store::StoreError;
use postgres::{Client, Config, GenericClient, NoTls, Row};
use std::sync::Mutex;

/// The accounts of the register's database, on connections of their own.
pub struct PostgresAccounts {
    config: Config,
    place: String,
    pool: Mutex<Vec<Client>>,
}

impl std::fmt::Debug for PostgresAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresAccounts")
            .field("place", &self.place)
            .finish()
    }
}

const POOL_MAX: usize = 32;

/// The accounts are read by an async server's handlers, and may be dropped on one of its
/// threads; a client of the `postgres` crate cannot be closed there (it runs a runtime of its
/// own), so the pool is closed on a thread of its own.
impl Drop for PostgresAccounts {
    fn drop(&mut self) {
        let clients = match self.pool.get_mut() {
            Ok(pool) => std::mem::take(pool),
            Err(_) => return,
        };
        if !clients.is_empty() {
            let _ = std::thread::spawn(move || drop(clients)).join();
        }
    }
}

const USER_COLUMNS: &str =
    "username, role, facilities, password_hash, totp_secret, locked_at, language, created_at, machine";

fn user_of(r: &Row) -> Result<User, postgres::Error> {
    let facilities: String = r.try_get(2)?;
    let mut u = User::from_columns(
        r.try_get(0)?,
        r.try_get(1)?,
        &facilities,
        r.try_get(3)?,
        r.try_get(4)?,
        r.try_get(5)?,
        r.try_get(6)?,
        r.try_get(7)?,
    );
    u.machine = r.try_get(8)?;
    Ok(u)
}

impl PostgresStore {
    /// The accounts kept in this register's database (and schema).
    pub fn accounts(&self) -> PostgresAccounts {
        PostgresAccounts {
            config: self.config.clone(),
            place: self.place.clone(),
            pool: Mutex::new(Vec::new()),
        }
    }
}

impl PostgresAccounts {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let pooled = self.pool.lock().map_err(|_| StoreError::Closed)?.pop();
        let mut client = match pooled {
            Some(c) if !c.is_closed() => c,
            _ => self.config.connect(NoTls).map_err(|e| {
                StoreError::Backend(format!(
                    "cannot connect to the {}: {}",
                    self.place,
                    crate::describe(&e)
                ))
            })?,
        };
        let out = f(&mut client).map_err(backend);
        if !client.is_closed() {
            if let Ok(mut pool) = self.pool.lock() {
                if pool.len() < POOL_MAX {
                    pool.push(client);
                }
            }
        }
        out
    }

    /// Like `with`, in one transaction.
    fn in_tx<T>(
        &self,
        f: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            let out = f(&mut tx)?;
            tx.commit()?;
            Ok(out)
        })
    }
}

fn one_user(
    c: &mut impl GenericClient,
    sql: &str,
    key: &(dyn postgres::types::ToSql + Sync),
) -> Result<Option<User>, postgres::Error> {
    c.query_opt(sql, &[key])?.as_ref().map(user_of).transpose()
}

impl PostgresAccounts {
    fn insert(&self, u: &UserRow<'_>, machine: bool, now: i64) -> Result<bool, StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO users (username, role, facilities, password_hash, totp_secret, language, created_at, machine)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (username) DO NOTHING",
                &[
                    &u.username,
                    &u.role,
                    &u.facilities.join(","),
                    &u.password_hash,
                    &u.totp_secret,
                    &u.language,
                    &now,
                    &machine,
                ],
            )
            .map(|n| n == 1)
        })
    }
}

impl AccountRows for PostgresAccounts {
    fn insert_user(&self, u: &UserRow<'_>, now: i64) -> Result<bool, StoreError> {
        self.insert(u, false, now)
    }

    fn insert_machine(&self, u: &UserRow<'_>, now: i64) -> Result<bool, StoreError> {
        self.insert(u, true, now)
    }

    fn user(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.with(|c| {
            one_user(
                c,
                &format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1"),
                &username,
            )
        })
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        self.with(|c| {
            c.query(
                &format!("SELECT {USER_COLUMNS} FROM users ORDER BY username"),
                &[],
            )?
            .iter()
            .map(user_of)
            .collect()
        })
    }

    fn set_locked(&self, username: &str, locked_at: Option<i64>) -> Result<bool, StoreError> {
        self.in_tx(|c| {
            let n = c.execute(
                "UPDATE users SET locked_at = $2 WHERE username = $1",
                &[&username, &locked_at],
            )?;
            if locked_at.is_none() {
                c.execute(
                    "DELETE FROM login_failures WHERE username = $1",
                    &[&username],
                )?;
            }
            Ok(n == 1)
        })
    }

    fn set_language(&self, username: &str, language: &str) -> Result<bool, StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE users SET language = $2 WHERE username = $1",
                &[&username, &language],
            )
            .map(|n| n == 1)
        })
    }

    fn set_password(&self, username: &str, hash: &str, now: i64) -> Result<bool, StoreError> {
        self.in_tx(|c| {
            let n = c.execute(
                "UPDATE users SET password_hash = $2 WHERE username = $1",
                &[&username, &hash],
            )?;
            c.execute(
                "UPDATE sessions SET revoked_at = $2 WHERE username = $1 AND revoked_at IS NULL",
                &[&username, &now],
            )?;
            c.execute(
                "UPDATE api_tokens SET revoked_at = $2 WHERE username = $1 AND revoked_at IS NULL",
                &[&username, &now],
            )?;
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
            // One server's failures and another's count together: the account's row is locked
            // while they are counted.
            c.execute(
                "SELECT 1 FROM users WHERE username = $1 FOR UPDATE",
                &[&username],
            )?;
            c.execute(
                "INSERT INTO login_failures (username, at) VALUES ($1, $2)",
                &[&username, &now],
            )?;
            c.execute(
                "DELETE FROM login_failures WHERE username = $1 AND at <= $2",
                &[&username, &(now - window)],
            )?;
            let recent: i64 = c
                .query_one(
                    "SELECT count(*) FROM login_failures WHERE username = $1",
                    &[&username],
                )?
                .try_get(0)?;
            if recent >= i64::from(limit) {
                c.execute(
                    "UPDATE users SET locked_at = coalesce(locked_at, $2) WHERE username = $1",
                    &[&username, &now],
                )?;
            }
            let locked: Option<i64> = c
                .query_opt(
                    "SELECT locked_at FROM users WHERE username = $1",
                    &[&username],
                )?
                .map(|r| r.try_get(0))
                .transpose()?
                .flatten();
            Ok(locked.is_some())
        })
    }

    fn clear_failures(&self, username: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM login_failures WHERE username = $1",
                &[&username],
            )
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
            c.execute(
                "INSERT INTO sessions (id_hash, username, csrf, created_at, last_seen) VALUES ($1, $2, $3, $4, $4)",
                &[&&id_hash[..], &username, &csrf, &now],
            )
            .map(|_| ())
        })
    }

    fn unrevoked_session(&self, id_hash: &[u8; 32]) -> Result<Option<Session>, StoreError> {
        self.with(|c| {
            c.query_opt(
                "SELECT username, csrf, created_at, last_seen FROM sessions
                 WHERE id_hash = $1 AND revoked_at IS NULL",
                &[&&id_hash[..]],
            )?
            .map(|r| {
                Ok(Session {
                    username: r.try_get(0)?,
                    csrf: r.try_get(1)?,
                    created_at: r.try_get(2)?,
                    last_seen: r.try_get(3)?,
                })
            })
            .transpose()
        })
    }

    fn touch_session(&self, id_hash: &[u8; 32], now: i64) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE sessions SET last_seen = $2 WHERE id_hash = $1",
                &[&&id_hash[..], &now],
            )
            .map(|_| ())
        })
    }

    fn revoke_session(&self, id_hash: &[u8; 32], now: i64) -> Result<bool, StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE sessions SET revoked_at = $2 WHERE id_hash = $1 AND revoked_at IS NULL",
                &[&&id_hash[..], &now],
            )
            .map(|n| n == 1)
        })
    }

    fn add_token(&self, t: &TokenRow<'_>, now: i64) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO api_tokens (id_hash, username, name, created_at, expires_at, issued_by)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &&t.id_hash[..],
                    &t.username,
                    &t.name,
                    &now,
                    &t.expires_at,
                    &t.issued_by,
                ],
            )
            .map(|_| ())
        })
    }

    fn token_owner(&self, id_hash: &[u8; 32]) -> Result<Option<(User, i64)>, StoreError> {
        self.with(|c| {
            c.query_opt(
                "SELECT u.username, u.role, u.facilities, u.password_hash, u.totp_secret, u.locked_at, u.language, u.created_at, u.machine, t.expires_at
                 FROM api_tokens t JOIN users u ON u.username = t.username
                 WHERE t.id_hash = $1 AND t.revoked_at IS NULL",
                &[&&id_hash[..]],
            )?
            .map(|r| Ok((user_of(&r)?, r.try_get(9)?)))
            .transpose()
        })
    }

    fn tokens(&self, username: Option<&str>) -> Result<Vec<TokenInfo>, StoreError> {
        self.with(|c| {
            c.query(
                "SELECT username, name, issued_by, created_at, expires_at, revoked_at FROM api_tokens
                 WHERE $1::text IS NULL OR username = $1
                 ORDER BY username, created_at DESC, name",
                &[&username],
            )?
            .iter()
            .map(|r| {
                Ok(TokenInfo {
                    username: r.try_get(0)?,
                    name: r.try_get(1)?,
                    issued_by: r.try_get(2)?,
                    created_at: r.try_get(3)?,
                    expires_at: r.try_get(4)?,
                    revoked_at: r.try_get(5)?,
                })
            })
            .collect()
        })
    }

    fn revoke_tokens(&self, username: &str, name: &str, now: i64) -> Result<usize, StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE api_tokens SET revoked_at = $3 WHERE username = $1 AND name = $2 AND revoked_at IS NULL",
                &[&username, &name, &now],
            )
            .map(|n| n as usize)
        })
    }

    fn unsealed_secrets(&self, sealed_prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        self.with(|c| {
            c.query(
                "SELECT username, totp_secret FROM users
                 WHERE totp_secret IS NOT NULL AND NOT starts_with(totp_secret, $1)",
                &[&sealed_prefix],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
        })
    }

    fn sealed_secrets(&self, sealed_prefix: &str) -> Result<u64, StoreError> {
        self.with(|c| {
            c.query_one(
                "SELECT count(*) FROM users WHERE starts_with(totp_secret, $1)",
                &[&sealed_prefix],
            )?
            .try_get::<_, i64>(0)
        })
        .map(|n| n.max(0) as u64)
    }

    fn replace_secrets(&self, secrets: &[(String, String)]) -> Result<(), StoreError> {
        self.in_tx(|c| {
            for (u, s) in secrets {
                c.execute(
                    "UPDATE users SET totp_secret = $2 WHERE username = $1",
                    &[u, s],
                )?;
            }
            Ok(())
        })
    }

    fn claim_totp_step(&self, username: &str, step: i64) -> Result<bool, StoreError> {
        // One statement: of two servers given the same code, PostgreSQL lets one UPDATE take
        // the row; the other then finds the step used and changes nothing.
        self.with(|c| {
            c.execute(
                "UPDATE users SET totp_last_step = $2
                 WHERE username = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
                &[&username, &step],
            )
            .map(|n| n == 1)
        })
    }
}
