-- A movement names its facility. Cell codes are unique only within a facility (S1-C01 exists
-- at every facility built from the same template), and a whole-cell movement was matched to
-- the people of a cell by its code alone: in a report over several facilities, and on a cell's
-- page, one facility's cell going out was counted for the same-named cell of every other.
-- Filled from the entries already recorded (the entry's `facility`); a rebuild fills it the
-- same way. Whole-cell movements are read by facility, cell and time.
ALTER TABLE movements ADD COLUMN facility TEXT NOT NULL DEFAULT '';
UPDATE movements SET facility = coalesce(
    (SELECT json_extract(CAST(l.bytes AS TEXT), '$.facility')
     FROM register_log l WHERE l.idx = movements.idx), '');
DROP INDEX movements_by_cell;
CREATE INDEX movements_by_cell ON movements (facility, cell, at) WHERE booking IS NULL;
