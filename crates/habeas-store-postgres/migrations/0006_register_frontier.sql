-- The tree's frontier at the latest checkpoint: the same table as the SQLite store's migration
-- 0031. The roots of the tree's perfect subtrees, largest first, 32 bytes each; one row,
-- replaced with each checkpoint in the statement that writes it. A writer starting checks it
-- against that checkpoint's signed root and reads only the leaf hashes after it.
CREATE TABLE register_frontier (
    id     SMALLINT PRIMARY KEY CHECK (id = 1),
    size   BIGINT NOT NULL,
    hashes BYTEA NOT NULL
);
