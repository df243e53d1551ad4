-- What the findings on a custody's legal basis and intake need, filled from the admissions
-- already recorded:
--   pending_order  1 when the person was brought without an order in force and held pending
--                  one (`payload.held_pending_order`): legal.no_valid_basis until an order is
--                  in force;
--   arrested_at    the arrest (`payload.arrest.at`), for the first appearance before a judge;
--   recorded_at    when the admission was written to the register, for late registration
--                  (NULL for one transcribed from an earlier register, `payload.transcribed_from`).
ALTER TABLE custodies ADD COLUMN pending_order INTEGER NOT NULL DEFAULT 0;
ALTER TABLE custodies ADD COLUMN arrested_at TEXT;
ALTER TABLE custodies ADD COLUMN recorded_at TEXT;
UPDATE custodies SET
    pending_order = coalesce(
        (SELECT json_extract(CAST(l.bytes AS TEXT), '$.payload.held_pending_order') IS NOT NULL
         FROM register_log l WHERE l.idx = custodies.booking), 0),
    arrested_at = (SELECT json_extract(CAST(l.bytes AS TEXT), '$.payload.arrest.at')
         FROM register_log l WHERE l.idx = custodies.booking),
    recorded_at = (SELECT CASE WHEN json_extract(CAST(l.bytes AS TEXT), '$.payload.transcribed_from') IS NULL
                               THEN json_extract(CAST(l.bytes AS TEXT), '$.time') END
         FROM register_log l WHERE l.idx = custodies.booking);

-- People brought to the gate without a valid order and refused there (`custody.refused_at_gate`):
-- never admitted, never hidden either.
CREATE TABLE gate_refusals (
    idx        INTEGER PRIMARY KEY,   -- the refusal entry
    facility   TEXT NOT NULL,
    at         TEXT NOT NULL,
    name       TEXT NOT NULL,
    brought_by TEXT NOT NULL
) STRICT;

CREATE INDEX gate_refusals_by_facility ON gate_refusals (facility, at);

-- Nobody hidden by a correction: every name a person was recorded under stays searchable
-- ("formerly recorded as"), and corrections of identity have a register of their own for the
-- inspectors. A register with corrections made before this version fills these by
-- `habeas rebuild` (verify names the difference until then).
ALTER TABLE persons ADD COLUMN former_names TEXT NOT NULL DEFAULT '';   -- as written, one a line
ALTER TABLE persons ADD COLUMN former_search TEXT NOT NULL DEFAULT '';  -- folded, as search_name
CREATE TABLE identity_corrections (
    idx       INTEGER PRIMARY KEY,  -- the correction entry
    person    INTEGER NOT NULL,
    facility  TEXT NOT NULL,
    at        TEXT NOT NULL,        -- when it was recorded
    former    TEXT NOT NULL,        -- the name before it
    fields    TEXT NOT NULL,        -- the fields it changed, comma-separated
    reason    TEXT NOT NULL,
    authority TEXT NOT NULL
) STRICT;
CREATE INDEX identity_corrections_by_facility ON identity_corrections (facility, idx);
