-- Witnesses' cosignatures of the register's checkpoints (C2SP tlog-cosignature), kept with the
-- checkpoint they cosign once they verified: the register's signed note plus these lines is the
-- checkpoint the server publishes (docs/register-format.md §16). One per witness and checkpoint
-- size (a checkpoint's size names it: two checkpoints of one size have one root). Append-only,
-- like the checkpoints.
CREATE TABLE register_cosignatures (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    size      INTEGER NOT NULL,   -- the tree size of the checkpoint cosigned
    witness   TEXT NOT NULL,      -- the witness's verifier key
    timestamp INTEGER NOT NULL,   -- when it cosigned, POSIX seconds (from the cosignature)
    line      TEXT NOT NULL,      -- the signature line, ending in a newline
    UNIQUE (size, witness)
) STRICT;

CREATE TRIGGER register_cosignatures_no_update BEFORE UPDATE ON register_cosignatures
BEGIN SELECT RAISE(ABORT, 'cosignatures are kept as received'); END;
CREATE TRIGGER register_cosignatures_no_delete BEFORE DELETE ON register_cosignatures
BEGIN SELECT RAISE(ABORT, 'cosignatures are kept as received'); END;

-- The checkpoint of a size is looked up to publish it with its cosignatures.
CREATE INDEX register_checkpoints_by_size ON register_checkpoints (size);
