-- Individual sentence plans (`custody.sentence_plan`): for a sentenced person, the programme of
-- treatment drawn up on the knowledge of the person (Mandela Rules 89 and 93-94), who drew it
-- up, and when it is next reviewed. A sentenced person held without one, or whose plan's review
-- is long past, is a finding (`regime.no_sentence_plan`). A projection, rebuilt from the
-- register like the rest; the objectives and programmes stay in the entry.
CREATE TABLE sentence_plans (
    idx          INTEGER PRIMARY KEY,   -- the plan entry
    booking      INTEGER NOT NULL,
    at           TEXT NOT NULL,         -- when it was drawn up (or reviewed)
    drawn_up_by  TEXT NOT NULL,
    next_review  TEXT                   -- the date of its next review, if set
) STRICT;

CREATE INDEX sentence_plans_by_booking ON sentence_plans (booking, at);
