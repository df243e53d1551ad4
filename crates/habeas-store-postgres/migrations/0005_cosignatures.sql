-- Witnesses' cosignatures of the register's checkpoints: the same table as the SQLite store's
-- migration 0017. One per witness and checkpoint size; append-only.
CREATE TABLE register_cosignatures (
    id        BIGSERIAL PRIMARY KEY,
    size      BIGINT NOT NULL,   -- the tree size of the checkpoint cosigned
    witness   TEXT NOT NULL,     -- the witness's verifier key
    timestamp BIGINT NOT NULL,   -- when it cosigned, POSIX seconds (from the cosignature)
    line      TEXT NOT NULL,     -- the signature line, ending in a newline
    UNIQUE (size, witness)
);

CREATE TRIGGER register_cosignatures_append_only BEFORE UPDATE OR DELETE ON register_cosignatures
    FOR EACH ROW EXECUTE FUNCTION register_append_only();
CREATE TRIGGER register_cosignatures_no_truncate BEFORE TRUNCATE ON register_cosignatures
    FOR EACH STATEMENT EXECUTE FUNCTION register_append_only();
