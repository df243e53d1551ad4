-- Projection: the occurrence book (entries of kind logbook.note). The occurrence book is a log
-- itself, so its projection is an index over the register: what notes are filtered and
-- linked by. The text, time and correction reason are read from the entry.
CREATE TABLE logbook (
    idx          INTEGER PRIMARY KEY,
    facility     TEXT NOT NULL,
    place        TEXT,
    actor        TEXT NOT NULL,
    corrects     INTEGER,
    corrected_by INTEGER
) STRICT;
