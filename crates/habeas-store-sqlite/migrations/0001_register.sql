-- The register: every entry's exact bytes, the leaf hash recorded when it was written, and
-- every signed checkpoint. Append-only: the triggers refuse updates and deletes.
CREATE TABLE register_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE register_log (
    idx   INTEGER PRIMARY KEY,
    leaf  BLOB NOT NULL,
    bytes BLOB NOT NULL
) STRICT;

CREATE TABLE register_checkpoints (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    size    INTEGER NOT NULL,
    made_at TEXT NOT NULL,
    note    TEXT NOT NULL
) STRICT;

CREATE TRIGGER register_log_no_update BEFORE UPDATE ON register_log
BEGIN SELECT RAISE(ABORT, 'the register is append-only'); END;
CREATE TRIGGER register_log_no_delete BEFORE DELETE ON register_log
BEGIN SELECT RAISE(ABORT, 'the register is append-only'); END;
CREATE TRIGGER register_checkpoints_no_update BEFORE UPDATE ON register_checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are kept as signed'); END;
CREATE TRIGGER register_checkpoints_no_delete BEFORE DELETE ON register_checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are kept as signed'); END;
