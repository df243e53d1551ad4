-- Accounts of the people who use Habeas: not register entries (a password hash must never be
-- exported with the register), and not projections (they are not rebuilt from the register).
-- Every change to them, every sign-in and every refusal is recorded in the access log, the
-- second tamper-evident register (see docs/security.md).
CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    facilities    TEXT NOT NULL DEFAULT '',   -- comma-separated; empty for system-wide roles
    password_hash TEXT NOT NULL,              -- Argon2id, PHC string
    totp_secret   TEXT,                       -- base32; NULL: no second factor enrolled
    locked_at     INTEGER,                    -- ms since the epoch; NULL: not locked
    language      TEXT NOT NULL DEFAULT 'es',
    created_at    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Failed sign-ins, kept for the lockout window (5 within 15 minutes lock the account).
CREATE TABLE login_failures (
    username TEXT NOT NULL,
    at       INTEGER NOT NULL
) STRICT;
CREATE INDEX login_failures_by_user ON login_failures (username, at);

-- Server-side sessions: only the SHA-256 of the cookie's secret is kept.
CREATE TABLE sessions (
    id_hash    BLOB PRIMARY KEY,
    username   TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT, WITHOUT ROWID;

-- API tokens for machine clients: only the SHA-256 of the token is kept.
CREATE TABLE api_tokens (
    id_hash    BLOB PRIMARY KEY,
    username   TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT, WITHOUT ROWID;
