-- The register on PostgreSQL: every entry's exact bytes, the leaf hash recorded when it was
-- written, and every signed checkpoint. The same tables as the SQLite store's migration 0001.
-- Append-only: the triggers refuse updates, deletes and truncation.
CREATE TABLE register_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE register_log (
    idx   BIGINT PRIMARY KEY CHECK (idx >= 0),
    leaf  BYTEA NOT NULL,
    bytes BYTEA NOT NULL
);

CREATE TABLE register_checkpoints (
    id      BIGSERIAL PRIMARY KEY,
    size    BIGINT NOT NULL,
    made_at TEXT NOT NULL,
    note    TEXT NOT NULL
);

CREATE FUNCTION register_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the register is append-only: % on % is refused', TG_OP, TG_TABLE_NAME;
END
$$;

CREATE TRIGGER register_log_append_only BEFORE UPDATE OR DELETE ON register_log
    FOR EACH ROW EXECUTE FUNCTION register_append_only();
CREATE TRIGGER register_log_no_truncate BEFORE TRUNCATE ON register_log
    FOR EACH STATEMENT EXECUTE FUNCTION register_append_only();
CREATE TRIGGER register_checkpoints_append_only BEFORE UPDATE OR DELETE ON register_checkpoints
    FOR EACH ROW EXECUTE FUNCTION register_append_only();
CREATE TRIGGER register_checkpoints_no_truncate BEFORE TRUNCATE ON register_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION register_append_only();
CREATE TRIGGER register_meta_append_only BEFORE UPDATE OR DELETE ON register_meta
    FOR EACH ROW EXECUTE FUNCTION register_append_only();
