-- The accounts of the people who use Habeas, shared by every server pointed at the database:
-- the same tables as the SQLite store's migration 0005. Not register entries (a password hash
-- is never exported with the register) and not projections. Every change to them, every
-- sign-in and every refusal is recorded in the access log.
CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    facilities    TEXT NOT NULL DEFAULT '',   -- comma-separated; empty for system-wide roles
    password_hash TEXT NOT NULL,              -- Argon2id, PHC string
    totp_secret   TEXT,                       -- sealed; NULL: no second factor enrolled
    locked_at     BIGINT,                     -- ms since the epoch; NULL: not locked
    language      TEXT NOT NULL DEFAULT 'es',
    created_at    BIGINT NOT NULL
);

-- Failed sign-ins, kept for the lockout window.
CREATE TABLE login_failures (
    username TEXT NOT NULL,
    at       BIGINT NOT NULL
);
CREATE INDEX login_failures_by_user ON login_failures (username, at);

-- Server-side sessions: only the SHA-256 of the cookie's secret is kept.
CREATE TABLE sessions (
    id_hash    BYTEA PRIMARY KEY,
    username   TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    revoked_at BIGINT
);

-- API tokens for machine clients: only the SHA-256 of the token is kept.
CREATE TABLE api_tokens (
    id_hash    BYTEA PRIMARY KEY,
    username   TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
