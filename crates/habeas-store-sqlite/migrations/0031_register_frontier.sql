-- The tree's frontier at the latest checkpoint: the roots of its perfect subtrees, largest
-- first, 32 bytes each (one per bit set in the size). A writer starting checks it against that
-- checkpoint's signed root and reads only the leaf hashes after it, instead of every leaf hash
-- of the register (four million of them, 1.7 s, in a register of two million people). One row,
-- replaced with each checkpoint, in the same commit. Absent, or not of the latest checkpoint's
-- size, or not its root: the writer reads every leaf hash as before.
CREATE TABLE register_frontier (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    size   INTEGER NOT NULL,
    hashes BLOB NOT NULL
) STRICT;
