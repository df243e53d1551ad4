-- Projection: the occurrence book (entries of kind logbook.note).
CREATE TABLE logbook (
    idx               INTEGER PRIMARY KEY,
    time              TEXT NOT NULL,
    facility          TEXT NOT NULL,
    actor             TEXT NOT NULL,
    place             TEXT,
    text              TEXT NOT NULL,
    corrects          INTEGER,
    correction_reason TEXT,
    corrected_by      INTEGER
) STRICT;

CREATE INDEX logbook_by_facility ON logbook (facility, idx);
