-- Machine accounts and API tokens that end.
--
-- A machine account (`machine` = 1) is a client with no person behind it: it has a role and
-- facilities like any account, but no password sign-in and no second factor; it works only by
-- API token. Its password hash is a value no password matches.
ALTER TABLE users ADD COLUMN machine INTEGER NOT NULL DEFAULT 0;

-- Every token ends (`expires_at`, ms since the epoch) and says who issued it (`issued_by`, the
-- access log's actor: `user:…`, `os:…`, or the command line's actor). Tokens issued before
-- tokens ended are given the default lifetime, 90 days from when they were made.
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN issued_by TEXT NOT NULL DEFAULT '';
UPDATE api_tokens SET expires_at = created_at + 90 * 86400000 WHERE expires_at = 0;
CREATE INDEX api_tokens_by_user ON api_tokens (username, name);
