-- Serious-harm cases (Mandela Rules 69 and 71(1)): a serious injury, a serious illness or a
-- transfer to a health institution of a person held (`harm.recorded`), and the steps recorded
-- for it (`harm.step`): the designated person told, the person's request that nobody be, the
-- report to an independent authority. Projections, rebuilt from the register like the rest;
-- what happened and who was told stay in the entries.
CREATE TABLE harm_cases (
    idx       INTEGER PRIMARY KEY,   -- the harm entry: the case
    booking   INTEGER NOT NULL,
    facility  TEXT NOT NULL,
    at        TEXT NOT NULL,
    kind      TEXT NOT NULL          -- injury, illness, hospital_transfer
) STRICT;

CREATE INDEX harm_cases_by_facility ON harm_cases (facility, at);
CREATE INDEX harm_cases_by_booking ON harm_cases (booking);

CREATE TABLE harm_steps (
    idx         INTEGER PRIMARY KEY, -- the step entry
    harm_case   INTEGER NOT NULL,
    step        TEXT NOT NULL,       -- designated_informed, notice_declined, independent_authority_informed
    at          TEXT NOT NULL,       -- when it was done (or the person said so)
    recorded_at TEXT NOT NULL        -- when it was written to the register
) STRICT;

CREATE INDEX harm_steps_by_case ON harm_steps (harm_case, step);
