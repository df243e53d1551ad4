-- Machine accounts and API tokens that end: the same as the SQLite store's migration 0011.
--
-- A machine account (`machine`) is a client with no person behind it: a role and facilities
-- like any account, but no password sign-in and no second factor; it works only by API token.
ALTER TABLE users ADD COLUMN machine BOOLEAN NOT NULL DEFAULT false;

-- Every token ends (`expires_at`, ms since the epoch) and says who issued it (`issued_by`).
-- Tokens issued before tokens ended get the default lifetime, 90 days from when they were made.
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN issued_by TEXT NOT NULL DEFAULT '';
UPDATE api_tokens SET expires_at = created_at + 90 * 86400000::bigint WHERE expires_at = 0;
CREATE INDEX api_tokens_by_user ON api_tokens (username, name);
