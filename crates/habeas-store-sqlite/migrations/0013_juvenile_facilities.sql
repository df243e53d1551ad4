-- Facilities designated for people under 18 (Rule 11(d); CRC art. 37(c)): anywhere else a
-- child's admission asks for confirmation naming the rule and is a grave finding. Filled from
-- the facility entries already recorded (`payload.juvenile`).
ALTER TABLE facilities ADD COLUMN juvenile INTEGER NOT NULL DEFAULT 0;
UPDATE facilities SET juvenile = coalesce(
    (SELECT json_extract(CAST(l.bytes AS TEXT), '$.payload.juvenile') = 1
     FROM register_log l WHERE l.idx = facilities.idx), 0);
