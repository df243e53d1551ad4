-- Admissions imported in bulk from an earlier register (`payload.imported` on
-- `custody.admitted`, written by `habeas import population`): the facility, the person's number in
-- the earlier system (`ref`), the file's name and SHA-256 and the line. An import that is
-- interrupted and run again reads this table to write nothing twice; the person file shows where
-- an admission came from. A rebuild from the register fills it like every projection.
CREATE TABLE imported_admissions (
    booking  INTEGER PRIMARY KEY,
    facility TEXT NOT NULL,
    ref      TEXT NOT NULL,
    source   TEXT NOT NULL,
    sha256   TEXT NOT NULL,
    line     INTEGER NOT NULL
) STRICT;
CREATE INDEX imported_admissions_by_ref ON imported_admissions (facility, ref);
