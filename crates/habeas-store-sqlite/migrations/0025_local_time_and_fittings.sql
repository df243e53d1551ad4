-- What an estate file may say of a facility and its cells since the conditions findings:
-- the facility's local time as a fixed offset from UTC, in minutes (-360 for El Salvador; 0,
-- UTC, when not given), which tells its night from its day (Rules 14 and 43(1)(c)); a cell's
-- mattresses (Rule 21) and whether its toilet is private (Rules 15-16), NULL when not recorded
-- (nothing is then found on them). Filled from the entries already recorded (payload
-- `utc_offset` as +HH:MM, `mattresses`, `toilet_private`), which before this migration carried
-- none of them; a rebuild fills them the same way.
ALTER TABLE facilities ADD COLUMN utc_offset_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cells ADD COLUMN mattresses INTEGER;
ALTER TABLE cells ADD COLUMN toilet_private INTEGER;
UPDATE facilities SET utc_offset_minutes = coalesce(
    (SELECT (CASE substr(o, 1, 1) WHEN '-' THEN -1 ELSE 1 END)
            * (CAST(substr(o, 2, 2) AS INTEGER) * 60 + CAST(substr(o, 5, 2) AS INTEGER))
     FROM (SELECT json_extract(CAST(l.bytes AS TEXT), '$.payload.utc_offset') AS o
           FROM register_log l WHERE l.idx = facilities.idx)
     WHERE o IS NOT NULL), 0);
UPDATE cells SET
    mattresses = (SELECT json_extract(CAST(l.bytes AS TEXT), '$.payload.mattresses')
                  FROM register_log l WHERE l.idx = cells.idx),
    toilet_private = (SELECT json_extract(CAST(l.bytes AS TEXT), '$.payload.toilet_private')
                      FROM register_log l WHERE l.idx = cells.idx);
